"""/compare: one prompt, several models, side by side and outside the conversation's history."""

from __future__ import annotations

import asyncio

import pytest

from core.errors import InvalidSetting, UnknownModel
from core.keys import Actor, ConversationKey
from core.records import Scope
from core.streaming import PlatformLimits
from tests.fakes.fake_router import Sleep, Status, chunk, text_script
from tests.support.sinks import RecordingSink

KEY = ConversationKey("test", "W1", "C1", "cmp")
ALICE = Actor("test", "alice", "Alice", "W1")
LLAMA, QWEN, GEMMA = "meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen3-32B", "google/gemma-3-27b-it"


def sinks():
    made: dict[str, RecordingSink] = {}

    def factory(model: str) -> RecordingSink:
        made[model] = RecordingSink(PlatformLimits(max_chars=2000, edit_interval=0.01), lane=("cmp", model))
        return made[model]

    return made, factory


async def test_each_model_answers_in_its_own_message_with_its_name(core, fake_router):
    # slow first tokens on both: concurrent runs take about one delay, not two
    fake_router.queue([Sleep(0.3), *text_script("Llama says hi.")], model=LLAMA)
    fake_router.queue([Sleep(0.3), *text_script("Qwen says hi.")], model=QWEN)
    made, factory = sinks()
    loop = asyncio.get_running_loop()
    start = loop.time()
    results = await core.chat.comparer.compare(
        KEY, ALICE, "Say hi", ["meta-llama/llama-3.3-70b-instruct", QWEN], factory
    )
    assert loop.time() - start < 0.55
    assert [r.model for r in results] == [LLAMA, QWEN]
    assert made[LLAMA].texts() == [f"**{LLAMA}**\nLlama says hi."]
    assert made[QWEN].texts() == [f"**{QWEN}**\nQwen says hi."]
    assert {r["model"] for r in fake_router.requests} == {LLAMA, QWEN}
    assert all(r["messages"][-1] == {"role": "user", "content": "Say hi"} for r in fake_router.requests)
    # not part of any conversation, but counted as usage
    assert await core.store.get_conversation(KEY) is None
    rows = await core.store.usage_rows("test", user_id="alice")
    assert {r.model for r in rows} == {LLAMA, QWEN}


async def test_compare_keeps_the_conversation_history_clean(core, fake_router):
    fake_router.queue(text_script("First answer."))
    submitted = await core.chat.submit(KEY, ALICE, "Hello", RecordingSink())
    await submitted.reply
    _, factory = sinks()
    await core.chat.comparer.compare(KEY, ALICE, "Compare me", [LLAMA, GEMMA], factory)
    messages = await core.store.recent_messages(submitted.conversation.id, 10)
    assert [m.content for m in messages] == ["Hello", "First answer."]


async def test_one_failing_model_does_not_stop_the_others(core, fake_router):
    fake_router.queue([chunk("partial")], model=LLAMA)  # no finish: still delivered
    fake_router.queue([Status(400, {"error": {"message": "bad request"}})], model=QWEN)
    made, factory = sinks()
    results = await core.chat.comparer.compare(KEY, ALICE, "Go", [LLAMA, QWEN], factory)
    assert "partial" in made[LLAMA].full_text()
    assert results[1].state.error is not None and made[QWEN].full_text().startswith(f"**{QWEN}**")


@pytest.mark.parametrize(
    "models", [[LLAMA], [LLAMA, "meta-llama/Llama-3.3-70B-Instruct"], [LLAMA, QWEN, GEMMA, "a", "b"]]
)
async def test_compare_needs_two_to_four_different_models(core, models):
    with pytest.raises(InvalidSetting, match="2 to 4 different models"):
        await core.chat.comparer.compare(KEY, ALICE, "x", models, sinks()[1])


async def test_unknown_model_is_refused_with_suggestions(core):
    with pytest.raises(UnknownModel, match="Did you mean"):
        await core.chat.comparer.compare(KEY, ALICE, "x", [LLAMA, "Qwen/Qwen3-33B"], sinks()[1])


def system_prompt(request: dict) -> str:
    first = request["messages"][0]
    return first["content"] if first["role"] == "system" else ""


async def test_each_model_is_asked_with_the_settings_an_answer_here_would_have(core, fake_router):
    # the person's system prompt, their default assistant's instructions and their generation settings
    chat = core.chat
    await chat.preferences.set_option(ALICE, KEY, Scope.USER, "system_prompt", "Answer in French.")
    await chat.preferences.set_option(ALICE, KEY, Scope.USER, "temperature", "0.4")
    await chat.preferences.set_option(ALICE, KEY, Scope.USER, "max_tokens", "300")
    await chat.assistants.create(ALICE, KEY, "Pirate", instructions="Talk like a pirate.")
    await chat.assistants.use(ALICE, KEY, "Pirate")
    await chat.comparer.compare(KEY, ALICE, "Say hi", [LLAMA, QWEN], sinks()[1])
    assert sorted(r["model"] for r in fake_router.requests) == sorted([LLAMA, QWEN])
    for request in fake_router.requests:
        assert "Answer in French." in system_prompt(request) and "Talk like a pirate." in system_prompt(request)
        assert request["temperature"] == 0.4 and request["max_tokens"] == 300
        assert request["messages"][-1] == {"role": "user", "content": "Say hi"}


async def test_each_model_is_asked_with_the_askers_memory(core, fake_router):
    await core.chat.memory.command(ALICE, KEY, "on")
    await core.chat.memory.keep(ALICE, KEY, "I keep bees on the roof")
    await core.chat.comparer.compare(KEY, ALICE, "What should I plant?", [LLAMA, QWEN], sinks()[1])
    assert len(fake_router.requests) == 2
    assert all("I keep bees on the roof" in system_prompt(r) for r in fake_router.requests)
