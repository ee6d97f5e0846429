"""After `/delete` on Discord the place starts fresh: the next message's router request carries only that message,
and the database holds none of the erased text, before and after a restart (a thread the bot could not delete,
so it was archived and renamed, and a DM's current conversation)."""

from __future__ import annotations

import pytest

from bots.discord.app import build_bot
from bots.discord.commands.conversations import DELETED_THREAD_NAME
from core.streaming import PlatformLimits
from tests.fakes.discord import FakeDiscord, Perm, running_client
from tests.fakes.fake_router import text_script
from tests.support.stores import sqlite_files_holding

CANARY = "CANARY-erased-discord-41b7"
FAST = PlatformLimits(max_chars=2000, edit_interval=0.02, bucket_rate=200.0, bucket_burst=50)


def _sent(router) -> list[tuple[str, str]]:
    return [(m["role"], m["content"]) for m in router.requests[-1]["messages"] if m["role"] != "system"]


async def _answered(fake, channel_id: str, text: str) -> None:
    await fake.wait_until(lambda: any(m.content == text for m in fake.channel_messages(channel_id)))


@pytest.mark.parametrize("restart", [False, True], ids=["same-process", "after-restart"])
@pytest.mark.parametrize("place", ["thread", "dm"])
async def test_after_delete_the_next_message_starts_fresh(core_factory, fake_router, tmp_path, place, restart):
    # without Manage Threads the bot archives and renames the thread instead of deleting it: people can go on there
    async with FakeDiscord(bot_permissions=Perm.DEFAULT_BOT & ~Perm.MANAGE_THREADS) as fake:
        alice = fake.default_user
        mention = f"<@{fake.bot_user['id']}>"
        core = await core_factory(fake_router.url)
        bot = build_bot(core, limits=FAST, print_invite=False, guild_ready_timeout=0.05)
        async with running_client(fake, bot):
            fake_router.queue(text_script(f"Noted: {CANARY}."))
            if place == "thread":
                await fake.message_create(fake.default_channel["id"], alice, f"{mention} remember {CANARY}")
                await fake.wait_until(lambda: len(fake.threads()) == 1)
                where = fake.threads()[0]["id"]
            else:
                where = fake.add_dm_channel(alice)["id"]
                await fake.message_create(where, alice, f"remember {CANARY}")
            await _answered(fake, where, f"Noted: {CANARY}.")
            await core.chat.replies.wait_idle()
            assert sqlite_files_holding(tmp_path, CANARY)

            delete = await fake.slash_command(where, alice, "delete")
            await fake.wait_until(lambda: delete.acknowledged)
            assert "Deleted" in delete.callbacks[0].data.get("content", "")
            if place == "thread":
                await fake.wait_until(lambda: fake.threads()[0]["name"] == DELETED_THREAD_NAME)
            assert sqlite_files_holding(tmp_path, CANARY) == []
        if restart:
            await core.close()
            core = await core_factory(fake_router.url)
        bot = build_bot(core, limits=FAST, print_invite=False, guild_ready_timeout=0.05)  # a client runs once
        async with running_client(fake, bot):
            fake_router.queue(text_script("A fresh start."))
            question = "what did I ask you to remember?"
            await fake.message_create(where, alice, f"{mention} {question}" if place == "thread" else question)
            await _answered(fake, where, "A fresh start.")
            await core.chat.replies.wait_idle()
            assert _sent(fake_router) == [("user", question)]
            assert sqlite_files_holding(tmp_path, CANARY) == []
