"""Acting as the wrong user in every front end, and keeping secrets out of logs, chat and exports.

A user never reads (exports), deletes, stops, regenerates, continues or re-models someone else's
conversation; an admin acts only in the workspace they administer. Tokens and secrets never reach a log
record (DEBUG included), a message shown in chat, an export, or a configuration error.
"""

from __future__ import annotations

import logging

import pytest

from bots.discord.app import build_bot
from core.config import ConfigError, load_settings
from core.errors import NotAllowed, NotFound
from core.keys import Actor, ConversationKey
from core.records import Scope
from core.streaming import PlatformLimits
from tests.fakes.discord import FakeDiscord, Perm, running_client
from tests.fakes.fake_router import Sleep, Status, chunk, text_script
from tests.fakes.slack import FakeSlack
from tests.support.sinks import RecordingSink
from tests.support.slack import ADMIN, ALICE, BOB, CHANNEL, running_bot, visible, wait_for

MODEL = "Qwen/Qwen3-32B"
FAST = PlatformLimits(max_chars=2000, edit_interval=0.05, bucket_rate=200.0, bucket_burst=50)


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


# ---------------------------------------------------------------- the core API (what the console calls)

OWNER = Actor("console", "alice", "alice", "A")
STRANGER = Actor("console", "bob", "bob", "A")
ADMIN_A = Actor("console", "boss", "boss", "A", is_admin=True)
ADMIN_B = Actor("console", "other-boss", "other boss", "B", is_admin=True)
OTHER_PLATFORM = Actor("slack", "alice", "alice", "A", is_admin=True)


async def test_core_refuses_every_action_on_someone_elses_conversation(core, fake_router):
    key = ConversationKey("console", "A", "terminal", "t1")
    fake_router.queue(text_script("the first answer"))
    submitted = await core.chat.submit(key, OWNER, "secret plans", RecordingSink())
    await submitted.reply
    conversation_id = submitted.conversation.id
    before = [(m.role, m.content) for m in await core.store.recent_messages(conversation_id, 10)]

    for intruder in (STRANGER, ADMIN_B, OTHER_PLATFORM):
        with pytest.raises((NotAllowed, NotFound)):
            await core.chat.export_markdown(conversation_id, intruder)
        with pytest.raises((NotAllowed, NotFound)):
            await core.chat.delete_conversation(conversation_id, intruder)
        with pytest.raises((NotAllowed, NotFound)):
            await core.chat.regenerate(conversation_id, intruder, RecordingSink())
        with pytest.raises((NotAllowed, NotFound)):
            await core.chat.continue_reply(conversation_id, intruder, RecordingSink())
        with pytest.raises((NotAllowed, NotFound)):
            await core.chat.set_model(intruder, key, Scope.CONVERSATION, MODEL)
        with pytest.raises((NotAllowed, NotFound)):
            await core.chat.set_option(intruder, key, Scope.CONVERSATION, "temperature", "0.1")
        assert intruder.user_id == "alice" or await core.chat.list_conversations(intruder) == []
    # a stranger cannot stop an answer being written
    fake_router.queue([chunk("slow"), Sleep(1.0), chunk(" end")])
    follow = await core.chat.submit(key, OWNER, "more plans", RecordingSink())
    for intruder in (STRANGER, ADMIN_B):
        await wait_for(lambda: core.chat.is_streaming(conversation_id), what="the answer to stream")
        with pytest.raises(NotAllowed):
            await core.chat.stop(conversation_id, intruder)
    outcome = await follow.reply
    assert outcome.state.answer == "slow end"
    stored = [(m.role, m.content) for m in await core.store.recent_messages(conversation_id, 10)]
    assert stored[: len(before)] == before and len(stored) == 4
    assert await core.store.get_setting("console", "A", Scope.CONVERSATION, str(conversation_id), "model") is None
    # the admin of the conversation's own workspace may
    assert "secret plans" in await core.chat.export_markdown(conversation_id, ADMIN_A)
    await core.chat.delete_conversation(conversation_id, ADMIN_A)


# ---------------------------------------------------------------- Discord


def _interaction_text(interaction) -> str:
    return " ".join(str(cb.data.get("content", "")) for cb in interaction.callbacks)


async def test_discord_strangers_and_other_servers_admins_are_refused(core_factory, fake_router):
    core = await core_factory(fake_router.url)
    async with FakeDiscord() as fake:
        bob = fake.add_user("bob")
        fake.add_member(fake.default_guild, bob)
        other = fake.add_guild("Other Guild", owner=fake.add_user("other-owner"))
        mods = fake.add_role(other, "mods", permissions=Perm.DEFAULT_EVERYONE | Perm.MANAGE_GUILD)
        mod = fake.add_user("mod")
        fake.add_member(other, mod, roles=[mods])
        # the other server's admin is a member here too, without rights
        fake.add_member(fake.default_guild, mod)
        other_channel = fake.add_text_channel(other, "elsewhere")
        thread = fake.add_thread(fake.default_channel, "alice's")
        key = ConversationKey("discord", fake.default_guild["id"], fake.default_channel["id"], thread["id"])
        bot = build_bot(core, limits=FAST, print_invite=False, guild_ready_timeout=0.05)
        async with running_client(fake, bot):
            fake_router.queue(text_script("Alice's private answer."))
            await fake.message_create(thread["id"], fake.default_user, f"<@{fake.bot_user['id']}> alice's secret")
            await fake.wait_until(
                lambda: any(m.content == "Alice's private answer." for m in fake.channel_messages(thread["id"]))
            )
            await core.chat.wait_idle()
            conversation = await core.store.get_conversation(key)
            assert conversation is not None and conversation.owner_id == fake.default_user["id"]
            cid = str(conversation.id)

            attempts = [
                (bob, thread["id"], "export", {"conversation": cid}),
                (bob, thread["id"], "export", None),
                (bob, fake.default_channel["id"], "delete", {"conversation": cid}),
                (bob, thread["id"], "delete", None),
                (bob, thread["id"], "model", {"name": MODEL}),
                (mod, other_channel["id"], "export", {"conversation": cid}),
                (mod, other_channel["id"], "delete", {"conversation": cid}),
                (mod, thread["id"], "delete", None),
            ]
            for user, channel, name, options in attempts:
                interaction = await fake.slash_command(channel, user, name, options)
                await fake.wait_until(lambda i=interaction: i.acknowledged)
                text = _interaction_text(interaction)
                assert "Only the conversation's owner" in text or "no longer exists" in text, (name, text)
                assert not any(cb.files for cb in interaction.callbacks)  # no export file
            # buttons on alice's answer: regenerate by bob
            [answer] = [m for m in fake.channel_messages(thread["id"]) if m.content == "Alice's private answer."]
            regen = answer.data["components"][0]["components"][0]["custom_id"]
            assert regen.startswith("hfchat:regen:")
            click = await fake.component_click(thread["id"], bob, answer.id, regen)
            await fake.wait_until(lambda: click.acknowledged)
            assert "Only the conversation's owner" in _interaction_text(click)
            # stop by bob while alice's next answer streams
            fake_router.queue([chunk("Counting: one"), Sleep(0.6), chunk(", two")])
            await fake.message_create(thread["id"], fake.default_user, "count")

            def live():
                return [m for m in fake.channel_messages(thread["id"]) if m.content.startswith("Counting")]

            await fake.wait_until(lambda: bool(live()))
            stop = live()[-1].data["components"][0]["components"][0]["custom_id"]
            assert stop.startswith("hfchat:stop:")
            click = await fake.component_click(thread["id"], bob, live()[-1].id, stop)
            await fake.wait_until(lambda: click.acknowledged)
            assert "Only the person who asked" in _interaction_text(click)
            await core.chat.wait_idle()
            assert live()[-1].content.startswith("Counting: one, two")
        stored = await core.store.recent_messages(conversation.id, 10)
        assert [m.role for m in stored] == ["user", "assistant", "user", "assistant"]
        assert await core.store.get_setting("discord", key.workspace, Scope.CONVERSATION, cid, "model") is None
        assert fake.threads() and not any(r.method == "DELETE" for r in fake.requests)


# ---------------------------------------------------------------- Slack


async def test_slack_strangers_and_other_workspaces_admins_are_refused(core_factory, fake_router):
    async with FakeSlack(echo_events=True) as fake:
        fake.add_user(BOB, "bob")
        fake.add_user(ADMIN, "boss", is_admin=True)
        async with running_bot(core_factory, fake_router, fake) as bot:
            fake_router.queue(text_script("Alice's answer."))
            post = await fake.user_posts("alice's secret", channel=CHANNEL, user=ALICE)
            await bot.settle()
            key = ConversationKey("slack", fake.team_id, CHANNEL, post.ts)
            conversation = await bot.core.chat.conversation_for(key)
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
            await wait_for(lambda: bot.core.chat.is_streaming(conversation.id), what="the answer to stream")
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


# ---------------------------------------------------------------- secrets

CANARIES = {
    "hf": "hf_CANARYhfTOKEN0123456789",
    "discord": "CANARY.discord.TOKEN-0123456789",
    "slack_bot": "xoxb-CANARY-slack-bot-0123456789",
    "slack_app": "xapp-1-CANARY-slack-app-0123456789",
    "signing": "CANARYsigningSECRET0123456789",
    "client": "CANARYclientSECRET0123456789",
}


def _assert_no_canary(texts: list[str], where: str) -> None:
    for text in texts:
        for name, canary in CANARIES.items():
            assert canary not in text and "CANARY" not in text, f"{name} secret in {where}: {text[:200]}"


async def test_secrets_never_reach_logs_chat_or_exports(core_factory, fake_router, debug_logs):
    core = await core_factory(
        fake_router.url,
        hf_token=CANARIES["hf"],
        discord_token=CANARIES["discord"],
        slack_bot_token=CANARIES["slack_bot"],
        slack_app_token=CANARIES["slack_app"],
        slack_signing_secret=CANARIES["signing"],
        slack_client_secret=CANARIES["client"],
        log_level="DEBUG",
    )
    shown: list[str] = []
    # Discord: a conversation, a router failure shown in chat, and an export
    async with FakeDiscord(token=CANARIES["discord"]) as fake:
        thread = fake.add_thread(fake.default_channel, "t")
        bot = build_bot(core, limits=FAST, print_invite=False, guild_ready_timeout=0.05)
        async with running_client(fake, bot):
            fake_router.queue(text_script("A fine answer."))
            await fake.message_create(thread["id"], fake.default_user, f"<@{fake.bot_user['id']}> hello")
            fake_router.queue([Status(401, {"error": {"message": "Invalid credentials in Authorization header"}})])
            await fake.wait_until(
                lambda: any(m.content == "A fine answer." for m in fake.channel_messages(thread["id"]))
            )
            await core.chat.wait_idle()
            await fake.message_create(thread["id"], fake.default_user, "again")
            await fake.wait_until(lambda: len(fake.channel_messages(thread["id"])) >= 4, within=10)
            await core.chat.wait_idle()
            export = await fake.slash_command(thread["id"], fake.default_user, "export")
            await fake.wait_until(lambda: export.acknowledged)
            await fake.wait_until(lambda: any(cb.files for cb in export.callbacks))
            shown += [f.data.decode("utf-8", "replace") for cb in export.callbacks for f in cb.files]
            shown += [m.content for m in fake.channel_messages(thread["id"])]
            shown += [str(r.json) for r in fake.requests if r.json is not None]
    # Slack: Socket Mode with the canary tokens
    async with FakeSlack(bot_token=CANARIES["slack_bot"], app_token=CANARIES["slack_app"]) as slack:
        async with running_bot(core_factory, fake_router, slack) as harness:
            fake_router.queue(text_script("Slack answer."))
            post = await slack.user_posts("hello", channel=CHANNEL)
            fake_router.queue([Status(500, {"error": {"message": "upstream exploded"}})])
            await harness.settle()
            await slack.user_posts("again", channel=CHANNEL, thread_ts=post.ts)
            await harness.settle()
            shown += [visible(m) for m in slack.bot_messages()] + harness.ephemeral_texts() + harness.responses()
    assert any("Slack answer." in s for s in shown) and any("A fine answer." in s for s in shown)
    _assert_no_canary(shown, "chat or export")
    _assert_no_canary(debug_logs.texts(), "logs")
    assert any(r.levelno == logging.DEBUG for r in debug_logs.records)
    _assert_no_canary([repr(core.settings), str(core.settings.model_dump())], "settings repr")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("hf_router_url", "ftp://CANARY-in-a-url"),
        ("database_url", "mysql://user:CANARYpassword@host/db"),
        ("max_tokens", "CANARY"),
        ("local_mode", "CANARY"),
        ("log_level", "CANARY"),
        ("request_timeout", "CANARY"),
        ("discord_api_url", "ftp://CANARY-in-a-url"),
        ("discord_gateway_url", "https://CANARY-in-a-url"),
    ],
)
def test_config_errors_name_the_variable_not_its_value(variable, value, monkeypatch):
    monkeypatch.setenv(variable.upper(), value)
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None)
    message = str(error.value)
    assert variable.upper() in message and "CANARY" not in message
    assert "\n" not in message.strip()


def test_bad_secret_values_never_echo_in_config_errors(monkeypatch):
    monkeypatch.setenv("DISCORD_SHARD_COUNT", "0")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", CANARIES["signing"])
    monkeypatch.setenv("HF_TOKEN", CANARIES["hf"])
    with pytest.raises(ConfigError) as error:
        load_settings(_env_file=None)
    assert "DISCORD_SHARD_COUNT" in str(error.value) and "CANARY" not in str(error.value)
