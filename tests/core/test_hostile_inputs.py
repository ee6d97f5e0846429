"""Hostile input through the core: every odd, empty, huge or malformed thing gets a clear message or is dropped
safely; nothing crashes and nothing already stored is lost. Through the Slack adapter over signed HTTP:
tests/slack/test_hostile_inputs.py."""

from __future__ import annotations

import re

import pytest

from core.errors import UserFacingError
from core.keys import Actor, ConversationKey
from core.records import Scope
from tests.support.sinks import RecordingSink

ACTOR = Actor("console", "u1", "tester")
PINGS = "@everyone @here <!channel> <!everyone> <!here> <@U0ADMIN001> <!subteam^S0TEAM> <@&123456>"
INVISIBLE_ONLY = [
    "",
    "   \n\t ",
    "\u200b\u200c\u200d\u2060\ufeff",
    "\u202e\u202d\u200f",
    "\x00\x01\x02\x1b",
    "\x00 \u200b",
]
ODD_MODELS = [
    "../../etc/passwd",
    "a" * 500,
    "model\nwith newline",
    "<!channel>",
    "\u202egpt",
    "'; DROP TABLE settings; --",
    "no/such-model:fastest",
]


def _key(thread: str) -> ConversationKey:
    return ConversationKey("console", "", "local", thread)


@pytest.mark.parametrize("text", INVISIBLE_ONLY)
async def test_empty_or_invisible_prompts_are_refused_and_nothing_is_stored(core, text):
    with pytest.raises(UserFacingError) as refused:
        await core.chat.submit(_key("empty"), ACTOR, text, RecordingSink())
    assert str(refused.value).strip()
    assert await core.store.get_conversation(_key("empty")) is None


async def test_a_huge_prompt_gets_its_size_and_the_limit(core):
    limit = core.settings.max_prompt_chars
    with pytest.raises(UserFacingError, match=f"{limit:,}"):
        await core.chat.submit(_key("huge"), ACTOR, "x" * (limit + 1), RecordingSink())
    with pytest.raises(UserFacingError):
        await core.chat.submit(_key("huge"), ACTOR, "word " * 1_000_000, RecordingSink())
    assert await core.store.get_conversation(_key("huge")) is None


async def test_control_zero_width_and_rtl_text_is_kept_readable(core, fake_router):
    text = (
        "he\x00llo\x07 \u200bw\u200dorld \u05e9\u05dc\u05d5\u05dd \u202eevil\u202c"
        " \u0645\u0631\u062d\u0628\u0627\r\nend"
    )
    submitted = await core.chat.submit(_key("odd"), ACTOR, text, RecordingSink())
    await submitted.reply
    stored = await core.store.recent_messages(submitted.conversation.id, 10)
    assert stored[0].content.startswith("hello \u200bw\u200dorld \u05e9\u05dc\u05d5\u05dd")
    assert not re.search(r"[\x00-\x08\x0b-\x1f]", stored[0].content)
    assert stored[-1].role == "assistant" and stored[-1].status == "complete"
    sent = fake_router.requests[-1]["messages"][-1]["content"]
    assert "\x00" not in sent and "\x07" not in sent


async def test_mentions_in_prompts_are_stored_as_written(core, fake_router):
    submitted = await core.chat.submit(_key("pings"), ACTOR, f"repeat {PINGS}", RecordingSink())
    await submitted.reply
    stored = await core.store.recent_messages(submitted.conversation.id, 10)
    assert stored[0].content == f"repeat {PINGS}"  # what they wrote, untouched; only output is neutralised


@pytest.mark.parametrize("name", ODD_MODELS)
async def test_odd_model_names_get_a_clear_refusal(core, name):
    with pytest.raises(UserFacingError) as refused:
        await core.chat.preferences.set_model(ACTOR, _key("models"), Scope.USER, name)
    message = str(refused.value)
    assert message and len(message) < 2000
    assert await core.store.get_setting("console", "", Scope.USER, "u1", "model") is None


async def test_unknown_conversation_ids_and_strangers_are_refused(core, fake_router):
    for bad in (0, -1, 2**62):
        with pytest.raises(UserFacingError):
            await core.chat.conversations.delete(bad, ACTOR)
        with pytest.raises(UserFacingError):
            await core.chat.conversations.export_markdown(bad, ACTOR)
    submitted = await core.chat.submit(_key("mine"), ACTOR, "keep me", RecordingSink())
    await submitted.reply
    stranger = Actor("console", "u2", "stranger")
    with pytest.raises(UserFacingError):
        await core.chat.conversations.delete(submitted.conversation.id, stranger)
    assert await core.store.count_messages(submitted.conversation.id) == 2
