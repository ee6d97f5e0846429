"""Errors providers write inside a 200 stream, served byte for byte from recordings (tests/fixtures/provider_streams):
shown in the provider's own words, classified, and acted on by class (fail over, retry once, or neither)."""

from __future__ import annotations

import logging

import pytest

from core.models import omni
from core.records import MessageStatus
from core.router.provider_errors import shown
from tests.fakes.fake_router import Recording, Status, text_script
from tests.support.chat import ask

LLAMA = "meta-llama/Llama-3.3-70B-Instruct"  # the tests' default model
QWEN = "Qwen/Qwen3-32B"  # the first model of omni's default route the fake router serves: the stand-in


def models_asked(fake_router) -> list[str]:
    return [r["model"] for r in fake_router.requests]


@pytest.fixture(autouse=True)
def _quick_retry(monkeypatch):
    monkeypatch.setattr(omni, "IN_STREAM_RETRY_SECONDS", 0.01)


@pytest.mark.parametrize(
    ("recording", "kind", "said"),
    [
        ("hf-inference-tgi-validation-error.sse", "context", "must be <= 4096"),
        ("groq-event-error-tool-use-failed.sse", "tool_failed", "Failed to call a function"),
    ],
)
async def test_an_error_about_the_request_is_shown_and_not_sent_elsewhere(core, fake_router, recording, kind, said):
    fake_router.queue([Recording.named(recording)], model=LLAMA)
    _, outcome, out = await ask(core, "hello")
    assert models_asked(fake_router) == [LLAMA]  # the same request would fail the same way on another model
    final = out.texts()[-1]
    assert outcome.state.status == MessageStatus.ERROR and outcome.state.error.kind == kind
    assert said in final and "connection to the model was cut" not in final
    assert "answered instead" not in final


@pytest.mark.parametrize(
    ("recording", "said"),
    [
        ("anthropic-event-error-overloaded.sse", "«Overloaded»"),
        ("openrouter-midstream-error.sse", "«Provider disconnected unexpectedly»"),
    ],
)
async def test_a_provider_in_trouble_before_the_first_token_fails_over(core, fake_router, recording, said):
    fake_router.queue([Recording.named(recording)], model=LLAMA)
    fake_router.queue(text_script("Qwen stands in."), model=QWEN)
    _, outcome, out = await ask(core, "hello")
    assert models_asked(fake_router) == [LLAMA, QWEN]
    final = out.texts()[-1]
    assert final.startswith("Qwen stands in.") and f"`{QWEN}` answered instead" in final
    assert f"`{LLAMA}` could not answer: its provider is having trouble" in final
    assert outcome.state.status == MessageStatus.COMPLETE


async def test_with_no_fallback_an_overloaded_provider_is_asked_once_more(core_factory, fake_router):
    core = await core_factory(fake_router.url, fallback_models="none")
    fake_router.queue([Recording.named("anthropic-event-error-overloaded.sse")], model=LLAMA)
    fake_router.queue(text_script("Second time lucky."), model=LLAMA)
    _, outcome, out = await ask(core, "hello")
    assert models_asked(fake_router) == [LLAMA, LLAMA]
    assert out.texts()[-1] == "Second time lucky." and outcome.state.status == MessageStatus.COMPLETE


async def test_an_error_after_some_text_keeps_the_text_and_says_what_the_provider_said(core, fake_router):
    fake_router.queue([Recording.named("openai-content-then-server-error.sse")], model=LLAMA)
    _, outcome, out = await ask(core, "hello")
    assert models_asked(fake_router) == [LLAMA]  # it had started: no failover
    final = out.texts()[-1]
    assert final.startswith(' "')
    assert "«The server had an error while processing your request. Sorry about that!»" in final
    assert "The part already written is kept above." in final
    stored = await core.store.get_message(outcome.reply_id)
    assert stored.status == MessageStatus.ERROR and stored.content == ' "'


async def test_an_error_after_reasoning_keeps_the_reasoning_and_is_not_failed_over(core, fake_router):
    fake_router.queue([Recording.named("tgi-openai-error-after-reasoning.sse")], model=LLAMA)
    _, outcome, out = await ask(core, "hello")
    assert models_asked(fake_router) == [LLAMA]
    assert outcome.state.error.kind == "context" and outcome.state.error.status == 422
    assert outcome.state.reasoning == "The user asks for a very long answer."
    assert "must be <= 32768" in out.texts()[-1]


async def test_a_content_chunk_then_a_string_error(core, fake_router):
    fake_router.queue([Recording.named("tgi-content-then-validation-error.sse")], model=LLAMA)
    _, outcome, out = await ask(core, "hello")
    assert out.texts()[-1].startswith("Both") and outcome.state.error.kind == "context"


async def test_streams_without_done_or_usage_still_complete(core, fake_router):
    fake_router.queue([Recording.named("cerebras-via-router-no-done.sse")], model=LLAMA)
    _, outcome, out = await ask(core, "What is deep learning?")
    expected = (
        "Deep learning is a subset of machine learning that involves the use of artificial neural networks"
        " to analyze and interpret"
    )
    assert out.texts()[-1].startswith(expected)
    assert outcome.state.status == MessageStatus.TRUNCATED  # finish_reason "length"
    assert (outcome.state.prompt_tokens, outcome.state.completion_tokens) == (46, 20)

    fake_router.queue([Recording.named("sambanova-no-usage.sse")], model=LLAMA)
    _, outcome, out = await ask(core, "What is deep learning?")
    assert outcome.state.answer == (
        "Deep learning is a subset of machine learning that involves the use of artificial neural networks"
        " with multiple layers to"
    )


async def test_the_providers_words_never_reach_the_logs(core, fake_router, caplog):
    fake_router.queue([Recording.named("groq-event-error-tool-use-failed.sse")], model=LLAMA)
    with caplog.at_level(logging.DEBUG):
        await ask(core, "hello")
    assert caplog.records
    assert not [r for r in caplog.records if "Failed to call a function" in r.getMessage()]


def test_what_is_shown_of_a_providers_message():
    assert shown("bad token hf_abcdefghijklmnopqrstuvwx here") == "bad token [redacted] here"
    assert shown("header Authorization: Bearer abc.def-ghi was refused") == "header [redacted] was refused"
    assert shown("sent Bearer abc.def-ghi") == "sent [redacted]"
    assert "sk-" not in shown("key sk-proj-0123456789abcdef rejected")
    assert shown("api_key=12345 wrong") == "[redacted] wrong"
    assert shown("a\n\nmulti   line") == "a multi line"
    assert len(shown("x" * 5000)) == 300


async def test_http_errors_keep_their_own_messages(core, fake_router):
    fake_router.queue([Status(503)], model=LLAMA)
    fake_router.queue(text_script("ok"), model=QWEN)
    _, outcome, _ = await ask(core, "hello")
    assert outcome.state.status == MessageStatus.COMPLETE
