"""Hostile input through the Slack adapter over signed HTTP (as Slack delivers in HTTP mode): malformed and
hostile requests get a clear answer or are dropped safely; nothing crashes and nothing already stored is lost."""

from __future__ import annotations

import json
import re

from bots.slack.http import serve_http
from core.keys import ConversationKey
from core.records import Scope
from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack, post_signed
from tests.support.slack import CHANNEL, running_bot, visible

PINGS = "@everyone @here <!channel> <!everyone> <!here> <@U0ADMIN001> <!subteam^S0TEAM> <@&123456>"


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
            conversation = await bot.core.chat.conversations.for_key(
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
                stored = await bot.core.chat.conversations.for_key(
                    ConversationKey("slack", fake.team_id, CHANNEL, event["ts"])
                )
                assert stored is None
            # no user-chosen model was stored from the odd names
            assert await bot.core.store.get_setting("slack", "", Scope.USER, fake.default_user_id, "model") is None
        finally:
            await runner.cleanup()
