"""Workspace limits set by admins: rate, daily tokens, message length and allowed models."""

from __future__ import annotations

import pytest

from core.errors import NotAllowed
from core.keys import Actor, ConversationKey
from core.records import Scope
from core.usage.limits import LimitReached
from tests.support.sinks import RecordingSink

KEY = ConversationKey("test", "W1", "C1", "lim")
ALICE = Actor("test", "alice", "Alice", "W1")
BOB = Actor("test", "bob", "Bob", "W1")
ADMIN = Actor("test", "root", "Root", "W1", is_admin=True)
OTHER_ADMIN = Actor("test", "root2", "Root", "W2", is_admin=True)


async def ask(core, text, actor=ALICE, key=KEY):
    submitted = await core.chat.submit(key, actor, text, RecordingSink())
    await submitted.reply
    return submitted


async def test_only_admins_of_the_workspace_set_limits(core):
    with pytest.raises(NotAllowed):
        await core.chat.limits.set(ALICE, KEY, "messages_per_minute", "3")
    with pytest.raises(NotAllowed):
        await core.chat.limits.set(OTHER_ADMIN, KEY, "messages_per_minute", "3")
    limits = await core.chat.limits.set(ADMIN, KEY, "messages-per-minute", "3")
    assert limits.messages_per_minute == 3 and "3" in limits.describe()
    assert (await core.chat.limits.set(ADMIN, KEY, "messages_per_minute", "none")).messages_per_minute is None


async def test_messages_per_minute_per_user_says_when_to_continue(core, fake_router):
    now = [1_000_000.0]
    core.chat.limits.clock = lambda: now[0]
    await core.chat.limits.set(ADMIN, KEY, "messages_per_minute", "2")
    await ask(core, "one")
    now[0] += 10
    await ask(core, "two")
    with pytest.raises(LimitReached, match=r"2 messages a minute.*continue in 50 seconds"):
        await ask(core, "three")
    await ask(core, "bob is counted apart", actor=BOB)
    now[0] += 51
    await ask(core, "three again")


async def test_tokens_per_day_counts_usage_until_midnight_utc(core, fake_router):
    await core.chat.limits.set(ADMIN, KEY, "tokens_per_day", "20")
    await ask(core, "first")  # the fake router reports 18 tokens
    await ask(core, "second")  # 18 < 20: allowed
    with pytest.raises(LimitReached, match=r"used 36 of your 20 tokens.*00:00 UTC, in"):
        await ask(core, "third")
    await ask(core, "bob still can", actor=BOB)


async def test_max_message_length(core):
    await core.chat.limits.set(ADMIN, KEY, "max_message_chars", "10")
    with pytest.raises(LimitReached, match="this workspace allows 10"):
        await ask(core, "x" * 11)
    assert await core.store.get_conversation(KEY) is None  # nothing stored


async def test_allowed_models_in_set_model_submit_and_compare(core, fake_router):
    await core.chat.preferences.set_model(ALICE, KEY, Scope.USER, "Qwen/Qwen3-32B")
    limits = await core.chat.limits.set(ADMIN, KEY, "allowed_models", "meta-llama/llama-3.3-70b-instruct, omni")
    assert limits.allowed_models == ["meta-llama/Llama-3.3-70B-Instruct", "omni"]
    with pytest.raises(LimitReached, match="`Qwen/Qwen3-32B` is not allowed"):
        await core.chat.preferences.set_model(ALICE, KEY, Scope.CONVERSATION, "Qwen/Qwen3-32B")
    with pytest.raises(LimitReached, match="not allowed in this workspace"):
        await ask(core, "hello")  # Alice's own choice is no longer allowed here
    await core.chat.preferences.set_model(ALICE, KEY, Scope.CONVERSATION, "meta-llama/Llama-3.3-70B-Instruct:groq")
    await ask(core, "hello")
    with pytest.raises(LimitReached):
        await core.chat.comparer.compare(
            KEY, ALICE, "x", ["meta-llama/Llama-3.3-70B-Instruct", "Qwen/Qwen3-32B"], RecordingSink
        )


async def test_limits_do_not_leak_across_workspaces(core):
    await core.chat.limits.set(ADMIN, KEY, "max_message_chars", "5")
    other = ConversationKey("test", "W2", "C1", "lim")
    await ask(core, "a longer message", actor=Actor("test", "alice", "Alice", "W2"), key=other)
