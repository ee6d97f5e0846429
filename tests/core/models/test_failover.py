"""Failover for a model chosen by name: the same path as omni's routes, to FALLBACK_MODELS or omni's default route."""

import pytest

from core.models.omni import fallbacks_for, standing_in
from core.records import MessageStatus, Scope
from tests.fakes.fake_router import Cut, Status, chunk, text_script
from tests.support.chat import ADMIN, ALICE, KEY, ask

LLAMA = "meta-llama/Llama-3.3-70B-Instruct"  # the tests' default model; supports tools, 131k context
QWEN = "Qwen/Qwen3-32B"  # supports tools
GEMMA = "google/gemma-3-27b-it"  # vision, no tools
TINY = "tiny/context-512"
NOT_SUPPORTED = {
    "error": {
        "message": f"The requested model '{LLAMA}' is not supported by any provider you have enabled.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_supported",
    }
}


def models_asked(fake_router) -> list[str]:
    return [r["model"] for r in fake_router.requests]


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (Status(503), "its provider is having trouble (503)"),
        (Status(429, headers={"Retry-After": "1"}), "it is rate limited (429)"),
        (Status(400, NOT_SUPPORTED), "it is not served right now (400)"),
    ],
)
async def test_a_chosen_model_fails_over_to_omnis_default_route(core, fake_router, failure, reason):
    # FALLBACK_MODELS unset: omni's default route (gpt-oss is not served by the fake router, Llama is the model itself)
    fake_router.queue([failure], model=LLAMA)
    fake_router.queue(text_script("Qwen stands in."), model=QWEN)
    _, outcome, out = await ask(core, "hello")
    assert models_asked(fake_router) == [LLAMA, QWEN]  # no retry of Llama while Qwen waits
    final = out.texts()[-1]
    assert final.startswith("Qwen stands in.")
    assert f"`{LLAMA}` could not answer: {reason}. `{QWEN}` answered instead." in final
    assert out.calls[-1].view.model == QWEN  # the footer names the model that answered
    stored = await core.store.get_message(outcome.reply_id)
    assert stored.model == QWEN and stored.status == MessageStatus.COMPLETE
    assert stored.content == "Qwen stands in."  # the note is shown, not stored as the answer


async def test_configured_fallbacks_in_order_without_the_chosen_model(core_factory, fake_router):
    core = await core_factory(fake_router.url, fallback_models=f"{QWEN}, {GEMMA}, {LLAMA}")
    await core.chat.preferences.set_model(ALICE, KEY, Scope.USER, QWEN)
    fake_router.queue([Status(502)], model=QWEN)
    fake_router.queue([Status(503)], model=GEMMA)
    fake_router.queue(text_script("Llama, third in line."), model=LLAMA)
    _, outcome, out = await ask(core, "hello")
    assert models_asked(fake_router) == [QWEN, GEMMA, LLAMA]
    final = out.texts()[-1]
    assert final.startswith("Llama, third in line.")
    assert f"`{QWEN}` could not answer" in final and f"`{GEMMA}` could not answer" in final
    assert f"`{LLAMA}` answered instead" in final and outcome.state.model == LLAMA
    assert f"`{GEMMA}` answered instead" not in final  # only the model that produced the answer is credited
    assert final.count("answered instead") == 1


async def test_when_every_model_fails_one_message_says_what_was_tried(core_factory, fake_router):
    core = await core_factory(fake_router.url, fallback_models=f"{QWEN}, {GEMMA}")
    fake_router.queue([Status(503)], model=LLAMA)
    fake_router.queue([Status(502)], model=QWEN)
    for _ in range(3):  # the last model keeps the client's retries
        fake_router.queue([Status(429, headers={"Retry-After": "0"})], model=GEMMA)
    _, outcome, out = await ask(core, "hello")
    assert models_asked(fake_router) == [LLAMA, QWEN, GEMMA, GEMMA, GEMMA]
    final = out.texts()[-1]
    assert "answered instead" not in final
    assert final.count("⚠️") == 1 and "None of the models could answer" in final
    for model, status in ((LLAMA, 503), (QWEN, 502), (GEMMA, 429)):
        assert f"`{model}`" in final and f"({status})" in final
    assert "The last error: The router is rate limiting requests (429)" in final
    assert outcome.state.status == MessageStatus.ERROR
    assert out.calls[-1].view.model == ""  # no footer credits a model that produced nothing


async def test_a_stream_cut_before_its_first_token_credits_only_the_stand_in(core, fake_router):
    fake_router.queue([chunk(""), Cut()], model=LLAMA)  # the stream opened (StreamStarted), then nothing
    fake_router.queue(text_script("Qwen after a cut."), model=QWEN)
    _, _, out = await ask(core, "hello")
    final = out.texts()[-1]
    assert final.startswith("Qwen after a cut.") and f"`{QWEN}` answered instead" in final
    assert [c.view.model for c in out.calls] == [QWEN] * len(out.calls)  # never LLAMA, not even while streaming


@pytest.mark.parametrize(("status", "words"), [(401, "HF_TOKEN"), (402, "credits")])
async def test_account_errors_never_fail_over(core, fake_router, status, words):
    fake_router.queue([Status(status)], model=LLAMA)
    _, outcome, out = await ask(core, "hello")
    assert models_asked(fake_router) == [LLAMA]
    assert words in out.texts()[-1] and outcome.state.status == MessageStatus.ERROR
    assert "answered instead" not in out.texts()[-1]


async def test_no_failover_once_the_answer_started(core, fake_router):
    fake_router.queue([chunk("Half an ans"), Cut()], model=LLAMA)
    _, outcome, out = await ask(core, "hello")
    assert models_asked(fake_router) == [LLAMA]
    assert outcome.state.status == MessageStatus.ERROR and out.texts()[-1].startswith("Half an ans")


async def test_fallback_models_none_keeps_the_usual_retries(core_factory, fake_router):
    core = await core_factory(fake_router.url, fallback_models="none")
    for _ in range(3):
        fake_router.queue([Status(503)], model=LLAMA)
    _, outcome, out = await ask(core, "hello")
    assert models_asked(fake_router) == [LLAMA] * 3  # the first try and the client's two retries
    assert outcome.state.status == MessageStatus.ERROR and "(503)" in out.texts()[-1]


async def test_a_fallback_the_workspace_does_not_allow_is_skipped(core, fake_router):
    await core.chat.limits.set(ADMIN, KEY, "allowed_models", LLAMA)
    for _ in range(3):
        fake_router.queue([Status(503)], model=LLAMA)
    _, outcome, _ = await ask(core, "hello")
    assert QWEN not in models_asked(fake_router) and outcome.state.status == MessageStatus.ERROR


async def test_fallbacks_without_tools_are_skipped_when_tools_run(core_factory, fake_router):
    core = await core_factory(fake_router.url, fallback_models=f"{GEMMA}, {QWEN}")
    await core.chat.preferences.set_option(ALICE, KEY, Scope.USER, "web_search", "on")
    fake_router.queue([Status(503)], model=LLAMA)
    fake_router.queue(text_script("Qwen, with tools."), model=QWEN)
    _, outcome, out = await ask(core, "search something")
    assert models_asked(fake_router) == [LLAMA, QWEN]  # Gemma has no tools: the request carries tool specs
    assert fake_router.requests[-1]["tools"] and outcome.state.model == QWEN
    assert f"`{QWEN}` answered instead" in out.texts()[-1]


async def test_a_fallback_whose_context_cannot_hold_the_prompt_is_skipped(core_factory, fake_router):
    core = await core_factory(fake_router.url, fallback_models=f"{TINY}, {QWEN}")
    fake_router.queue([Status(503)], model=LLAMA)
    fake_router.queue(text_script("Qwen reads it all."), model=QWEN)
    _, outcome, _ = await ask(core, "a long question " * 150)  # ~800 tokens: more than 512
    assert models_asked(fake_router) == [LLAMA, QWEN] and outcome.state.model == QWEN


async def test_an_admins_omni_default_route_is_the_fallback_list(core, fake_router):
    await core.chat.preferences.set_option(ADMIN, KEY, Scope.CHANNEL, "omni_default", f"{GEMMA}, {QWEN}")
    fake_router.queue([Status(500)], model=LLAMA)
    fake_router.queue(text_script("Gemma here."), model=GEMMA)
    _, outcome, _ = await ask(core, "hi")
    assert models_asked(fake_router) == [LLAMA, GEMMA] and outcome.state.model == GEMMA


async def test_fallbacks_follow_the_provider_preference(core, fake_router):
    await core.chat.preferences.set_option(ALICE, KEY, Scope.USER, "provider", "cheapest")
    fake_router.queue([Status(503)], model=f"{LLAMA}:cheapest")
    fake_router.queue(text_script("Cheap Qwen."), model=f"{QWEN}:cheapest")
    _, outcome, _ = await ask(core, "hi")
    assert models_asked(fake_router) == [f"{LLAMA}:cheapest", f"{QWEN}:cheapest"]
    assert outcome.state.status == MessageStatus.COMPLETE


async def test_fallback_lists_from_the_catalog(core):
    catalog = core.catalog
    configured = f"nope/missing, {LLAMA}, {QWEN}, {GEMMA}"
    assert fallbacks_for(f"{LLAMA}:groq", configured, catalog) == [QWEN, GEMMA]  # itself left out, any suffix
    assert fallbacks_for(LLAMA, "off", catalog) == []
    assert standing_in([GEMMA, QWEN, LLAMA], catalog, vision=True) == [GEMMA]  # images: text-only ones skipped
    assert standing_in([LLAMA, GEMMA, QWEN], catalog, tools=True) == [LLAMA, QWEN]
    assert standing_in([LLAMA, TINY, QWEN], catalog, prompt_tokens=600) == [LLAMA, QWEN]
    assert standing_in([LLAMA, QWEN], catalog, allowed=lambda m: m != QWEN) == [LLAMA]
