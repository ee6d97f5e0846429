"""Acting as the wrong user through Slack: strangers and other workspaces' admins are refused, by button and
by mention, and nothing of the owner's conversation changes."""

from __future__ import annotations

from core.keys import ConversationKey
from core.records import Scope
from tests.fakes.fake_router import Sleep, chunk, text_script
from tests.fakes.slack import FakeSlack
from tests.support.slack import ADMIN, ALICE, BOB, CHANNEL, running_bot, visible
from tests.support.waits import wait_for

MODEL = "Qwen/Qwen3-32B"


async def test_slack_strangers_and_other_workspaces_admins_are_refused(core_factory, fake_router):
    async with FakeSlack(echo_events=True) as fake:
        fake.add_user(BOB, "bob")
        fake.add_user(ADMIN, "boss", is_admin=True)
        async with running_bot(core_factory, fake_router, fake) as bot:
            fake_router.queue(text_script("Alice's answer."))
            post = await fake.user_posts("alice's secret", channel=CHANNEL, user=ALICE)
            await bot.settle()
            key = ConversationKey("slack", fake.team_id, CHANNEL, post.ts)
            conversation = await bot.core.chat.conversations.for_key(key)
            [answer] = bot.answers(CHANNEL, post.ts)
            values = {
                e["action_id"]: e["value"] for b in answer.blocks if b["type"] == "actions" for e in b["elements"]
            }
            for action in ("hfchat_regenerate", "hfchat_delete"):
                await bot.interact(
                    fake.build_block_actions(
                        action_id=action, value=values[action], channel=CHANNEL, message_ts=answer.ts, user=BOB
                    )
                )
                assert "Only the conversation's owner" in bot.responses()[-1]
            # an admin of another workspace (same user id, another team) gets "no longer exists"
            for action in ("hfchat_regenerate", "hfchat_delete"):
                payload = fake.build_block_actions(
                    action_id=action, value=values[action], channel=CHANNEL, message_ts=answer.ts, user=ADMIN
                )
                payload["team"] = {"id": "T0OTHER001", "domain": "other"}
                payload["user"]["team_id"] = "T0OTHER001"
                await bot.interact(payload)
                assert "no longer exists" in bot.responses()[-1]
            # `@bot model X`, `@bot delete` and `@bot stop` in alice's thread, by bob
            for text in (f"model {MODEL}", "delete"):
                await fake.user_posts(text, channel=CHANNEL, thread_ts=post.ts, user=BOB)
                await bot.settle()
                assert "Only the conversation's owner" in bot.ephemeral_texts()[-1]
            fake_router.queue([chunk("Counting: one"), Sleep(0.6), chunk(", two")])
            await fake.user_posts("count", channel=CHANNEL, thread_ts=post.ts, user=ALICE)
            await wait_for(lambda: bot.core.chat.replies.is_streaming(conversation.id), what="the answer to stream")
            await bot.fake.wait_ack(
                await fake.socket_send_event(
                    fake.build_app_mention("stop", channel=CHANNEL, thread_ts=post.ts, user=BOB)
                )
            )
            await bot.settle()
            assert "Only the person who asked" in bot.ephemeral_texts()[-1]
            assert visible(bot.answers(CHANNEL, post.ts)[-1]).startswith("Counting: one, two")
            stored = await bot.core.store.recent_messages(conversation.id, 10)
            assert [m.role for m in stored] == ["user", "assistant", "user", "assistant"]
            assert (
                await bot.core.store.get_setting(
                    "slack", fake.team_id, Scope.CONVERSATION, str(conversation.id), "model"
                )
                is None
            )
