"""Hostile input: every odd, empty, huge or malformed thing gets a clear message or is dropped safely;
nothing crashes and nothing already stored is lost. Through the core, then through the Slack adapter
over signed HTTP (as Slack delivers in HTTP mode)."""

from __future__ import annotations

import json
import re

import pytest

from bots.slack.http import serve_http
from core.errors import UserFacingError
from core.keys import Actor, ConversationKey
from core.records import Scope
from tests.fakes.fake_router import text_script
from tests.fakes.slack_server import FakeSlack, post_signed
from tests.slack.conftest import CHANNEL, running_bot, visible
from tests.support import RecordingSink

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


# ---------------------------------------------------------------- through the core


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
        await core.chat.set_model(ACTOR, _key("models"), Scope.USER, name)
    message = str(refused.value)
    assert message and len(message) < 2000
    assert await core.store.get_setting("console", "", Scope.USER, "u1", "model") is None


async def test_unknown_conversation_ids_and_strangers_are_refused(core, fake_router):
    for bad in (0, -1, 2**62):
        with pytest.raises(UserFacingError):
            await core.chat.delete_conversation(bad, ACTOR)
        with pytest.raises(UserFacingError):
            await core.chat.export_markdown(bad, ACTOR)
    submitted = await core.chat.submit(_key("mine"), ACTOR, "keep me", RecordingSink())
    await submitted.reply
    stranger = Actor("console", "u2", "stranger")
    with pytest.raises(UserFacingError):
        await core.chat.delete_conversation(submitted.conversation.id, stranger)
    assert await core.store.count_messages(submitted.conversation.id) == 2


# ---------------------------------------------------------------- through the Slack adapter (signed HTTP)


async def test_slack_survives_malformed_and_hostile_requests(core_factory, fake_router):
    async with FakeSlack() as fake, running_bot(core_factory, fake_router, fake, socket=False) as bot:
        runner = await serve_http(bot.adapter, "127.0.0.1", 0)
        url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
        secret = fake.signing_secret
        try:
            # something stored before the storm, which must survive it
            fake_router.queue(text_script("First answer."))
            first = fake.build_event_callback(fake.build_app_mention("before the storm", channel=CHANNEL))
            assert (await fake.http_send(url, first)).status == 200
            await bot.settle()
            conversation = await bot.core.chat.conversation_for(
                ConversationKey("slack", fake.team_id, CHANNEL, first["event"]["ts"])
            )
            assert conversation is not None

            statuses = []
            raw_bodies = [
                b"",
                b"{",
                b"null",
                b"[]",
                b'{"type": "event_callback"}',
                b'{"type": "event_callback", "event": null}',
                b'{"type": "event_callback", "event": "text"}',
                b'{"type": "event_callback", "event": {}}',
                b'{"type": "event_callback", "event": {"type": "app_mention"}}',
                b'{"type": "event_callback", "event": {"type": "app_mention", "channel": "C0CHAN0001"}}',
                b'{"type": "event_callback", "event": {"type": "message", "channel": 5, "ts": [], "user": {}}}',
                b'{"type": "event_callback", "event": {"type": "no_such_event"}}',
                b'{"type": "not_a_type"}',
                b"\xff\xfe\x00garbage",
                json.dumps(
                    {"type": "event_callback", "event": {"type": "app_mention", "text": "x" * 3_000_000}}
                ).encode(),
            ]
            for body in raw_bodies:
                response = await post_signed(url, secret, raw=body, content_type="application/json")
                statuses.append(response.status)
            # well-formed events with hostile content
            hostile_texts = [
                "",
                "\u200b\u200d\ufeff",
                "\x00\x01\x02",
                "y" * 50_000,
                f"say exactly: {PINGS}",
                "\u202e\u05e9\u05dc\u05d5\u05dd \u0645\u0631\u062d\u0628\u0627",
            ]
            fake_router.default_script = text_script(f"Sure: {PINGS} <!channel|channel> @channel")
            events = [fake.build_app_mention(text, channel=CHANNEL) for text in hostile_texts]
            for event in events:
                statuses.append((await fake.http_send(url, event)).status)
            for text in ("no_such_subcommand", "model " + "z" * 300, "delete not-a-link", "\u202e"):
                command = fake.build_slash_command("/hfchat", text, channel=CHANNEL)
                statuses.append((await fake.http_send(url, command, kind="command")).status)
            for name, text in (("/model", "../../etc/passwd"), ("/model", "<!channel>"), ("/delete", "https://x/")):
                command = fake.build_slash_command(name, text, channel=CHANNEL)
                statuses.append((await fake.http_send(url, command, kind="command")).status)
            unknown = fake.build_slash_command("/definitely-unknown", "hi", channel=CHANNEL)
            statuses.append((await fake.http_send(url, unknown, kind="command")).status)
            button = fake.build_block_actions(action_id="hfchat_regenerate", value="not-a-number")
            statuses.append((await fake.http_send(url, button, kind="interactive")).status)
            button = fake.build_block_actions(action_id="hfchat_delete", value=str(2**62))
            statuses.append((await fake.http_send(url, button, kind="interactive")).status)
            await bot.settle(20)

            # nothing answered with a server error; the app is alive and answers normally afterwards
            assert all(status < 500 for status in statuses), statuses
            fake_router.default_script = text_script("Still here.")
            after = fake.build_event_callback(fake.build_app_mention("after the storm", channel=CHANNEL))
            assert (await fake.http_send(url, after)).status == 200
            await bot.settle()
            assert [visible(m) for m in bot.answers(CHANNEL, after["event"]["ts"])] == ["Still here."]

            # what was stored before is intact
            assert await bot.core.store.count_messages(conversation.id) == 2

            # users got clear notes for the prompts that were refused
            notes = bot.ephemeral_texts()
            assert any("characters" in note for note in notes)  # the 50,000-character one
            # model output never pings: every mention escaped in what was sent
            for event in events:
                for message in bot.answers(CHANNEL, event["ts"]):
                    shown = visible(message)
                    assert "<!channel>" not in shown and "<!everyone>" not in shown and "<!here>" not in shown
                    assert "<@U0ADMIN001>" not in shown and "<!subteam" not in shown
                    assert not re.search(r"(?<!\u2060)@(everyone|here|channel)\b", shown.replace("@\u2060", ""))
            # empty and invisible prompts were not stored as conversations with empty questions
            for event in events[:3]:
                stored = await bot.core.chat.conversation_for(
                    ConversationKey("slack", fake.team_id, CHANNEL, event["ts"])
                )
                assert stored is None
            # no user-chosen model was stored from the odd names
            assert await bot.core.store.get_setting("slack", "", Scope.USER, fake.default_user_id, "model") is None
        finally:
            await runner.cleanup()
