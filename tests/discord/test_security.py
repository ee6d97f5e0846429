"""Acting as the wrong user through Discord: strangers and other servers' admins are refused, by slash
command and by button, and nothing of the owner's conversation changes."""

from __future__ import annotations

import pytest

from bots.discord.app import build_bot
from core.keys import ConversationKey
from core.records import Scope
from core.streaming import PlatformLimits
from tests.fakes.discord import FakeDiscord, Perm, running_client
from tests.fakes.fake_router import Sleep, chunk, text_script

pytestmark = pytest.mark.usefixtures("no_proxy")

MODEL = "Qwen/Qwen3-32B"
FAST = PlatformLimits(max_chars=2000, edit_interval=0.05, bucket_rate=200.0, bucket_burst=50)


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
            await core.chat.replies.wait_idle()
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
            await core.chat.replies.wait_idle()
            assert live()[-1].content.startswith("Counting: one, two")
        stored = await core.store.recent_messages(conversation.id, 10)
        assert [m.role for m in stored] == ["user", "assistant", "user", "assistant"]
        assert await core.store.get_setting("discord", key.workspace, Scope.CONVERSATION, cid, "model") is None
        assert fake.threads() and not any(r.method == "DELETE" for r in fake.requests)
