"""The gateway's echo of the bot's own edits (MESSAGE_UPDATE for every edit of a streamed answer) updates the
cached message and nothing more; other people's edits still reach the handlers."""

from __future__ import annotations

from bots.discord.app import build_bot
from tests.fakes.discord import FakeDiscord, running_client


async def test_own_edit_echoes_are_not_dispatched_but_others_are(core_factory, fake_router):
    core = await core_factory(fake_router.url)
    async with FakeDiscord() as fake:
        bot = build_bot(core, print_invite=False, guild_ready_timeout=0.05)
        seen: list[str] = []

        handler = bot.on_raw_message_edit

        async def on_raw_message_edit(payload):
            seen.append(str(payload.message_id))
            await handler(payload)

        bot.on_raw_message_edit = on_raw_message_edit  # discord.py looks the handler up at each dispatch
        async with running_client(fake, bot):
            bot_user = {"id": str(bot.user.id), "username": bot.user.name, "bot": True}
            mine = await fake.message_create(fake.default_channel["id"], bot_user, "first", dispatch=True)
            theirs = await fake.message_create(fake.default_channel["id"], fake.default_user, "hello", dispatch=True)
            await fake.wait_until(lambda: bot._connection._get_message(int(mine["id"])) is not None)
            for message, text in ((mine, "first, edited"), (theirs, "hello, edited")):
                await fake.dispatch("MESSAGE_UPDATE", {**message, "content": text})
            await fake.wait_until(lambda: theirs["id"] in seen)
            assert mine["id"] not in seen
            assert bot._connection._get_message(int(mine["id"])).content == "first, edited"  # the cache follows
