"""A scheduled prompt's run on Discord: a message in its channel says whose prompt it is and when it runs, a thread
opens from it, and the answer streams there as any conversation in the bot's threads (people go on in it)."""

from __future__ import annotations

import logging
from typing import Any

import discord

from bots.discord import PLATFORM
from bots.discord.commands.chat import thread_title
from bots.discord.sink import NO_MENTIONS
from core.errors import UserFacingError
from core.keys import Actor, ConversationKey
from core.records import Schedule

log = logging.getLogger(__name__)


def announcement(schedule: Schedule) -> str:
    owner = discord.utils.escape_markdown(schedule.owner_name or "someone")
    quoted = "\n".join("> " + line if line else ">" for line in schedule.prompt[:1800].split("\n"))
    return f"⏰ **Scheduled prompt** by {owner} ({schedule.described}):\n{quoted}"


class DiscordSchedules:
    """The core's ScheduleTarget for Discord: runs the schedules of the servers this process (its shards) holds."""

    def __init__(self, bot: Any):
        self.bot = bot

    def handles(self, schedule: Schedule) -> bool:
        return schedule.workspace.isdigit() and self.bot.get_guild(int(schedule.workspace)) is not None

    async def run(self, schedule: Schedule) -> None:
        bot = self.bot
        channel = bot.get_channel(int(schedule.channel))
        if channel is None:
            channel = await bot.fetch_channel(int(schedule.channel))
        title = thread_title(schedule.prompt)
        try:
            opening = await channel.send(announcement(schedule), allowed_mentions=NO_MENTIONS)
            thread = await opening.create_thread(name=title, auto_archive_duration=1440)
        except discord.HTTPException as exc:
            log.warning("schedule %s: could not open its thread: %s", schedule.id, exc.status)
            return
        key = ConversationKey(PLATFORM, schedule.workspace, schedule.channel, str(thread.id))
        actor = Actor(PLATFORM, schedule.owner_id, schedule.owner_name, schedule.workspace)
        try:
            await bot.submit(key, actor, schedule.prompt, bot.sink(thread), title=title)
        except UserFacingError as exc:  # past the owner's limits, a model gone: said where the answer would be
            await thread.send(str(exc), allowed_mentions=NO_MENTIONS)
