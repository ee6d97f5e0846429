"""/catchup [channel] [since] and the "Summarize thread" message command: what the person may read there, summarized
for them alone in a DM with the bot, where they can go on asking.

Their access is Discord's answer for them: the permissions Discord resolves for the invoking member in the channel
(View Channel and Read Message History, overwrites included), and for a private thread their membership. The rules,
limits and the prompt are the core's (core.catchup); this reads Discord's history and opens the DM.
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bots.discord import PLATFORM
from bots.discord.commands.messages import summarize_picked
from bots.discord.commands.slash import on_message, slash
from core.catchup import Digest, HistoryLimits, HistoryMessage, HistoryPage, ReadAccess
from core.errors import NotAllowed
from core.keys import ConversationKey

log = logging.getLogger(__name__)

# Discord returns at most 100 messages a read; two reads is the latest 200 (no per-minute limit beyond the usual)
DISCORD_HISTORY = HistoryLimits(per_request=100, requests=2, explained="I read at most the latest 200 messages.")


def _readable(permissions: discord.Permissions) -> bool:
    return permissions.view_channel and permissions.read_message_history


class DiscordHistory:
    """A channel or thread as the core's HistorySource sees it, for the member who asked."""

    platform = PLATFORM
    limits = DISCORD_HISTORY

    def __init__(self, bot: Any, guild_id: int, channel_id: int, name: str, *, thread: bool, permissions, member):
        self.bot = bot
        self.workspace = str(guild_id)
        self.channel_id = channel_id
        self.channel = str(channel_id)
        self.thread = thread
        self.place = f"the thread “{name}”" if thread else f"#{name}"
        self.permissions = permissions  # the member's, as Discord resolved them for this channel
        self.member = member

    async def access(self) -> ReadAccess:
        if not _readable(self.permissions):
            return ReadAccess(False, f"You can't read the history of {self.place}, so I won't summarize it for you.")
        channel = await self._channel()
        if isinstance(channel, discord.Thread) and channel.type is discord.ChannelType.private_thread:
            try:  # a private thread is read by its members (and moderators, who hold Manage Threads)
                if not self.permissions.manage_threads:
                    await channel.fetch_member(self.member.id)
            except discord.NotFound:
                return ReadAccess(False, "You are not in that private thread.")
        return ReadAccess(True)

    async def _channel(self) -> Any:
        channel = self.bot.get_channel(self.channel_id)
        if channel is None:
            try:
                channel = await self.bot.fetch_channel(self.channel_id)
            except discord.HTTPException:
                raise NotAllowed(f"I can't see {self.place}.") from None
        return channel

    async def read(self, since: float, limit: int) -> HistoryPage:
        channel = await self._channel()
        found: list[discord.Message] = []
        more = False
        try:
            async for message in channel.history(limit=limit + 1):  # newest first, one page of 100 at a time
                if message.created_at.timestamp() <= since:
                    break
                if len(found) == limit:
                    more = True
                    break
                found.append(message)
        except discord.Forbidden:
            raise NotAllowed(f"I'm not allowed to read {self.place} (Read Message History).") from None
        if isinstance(channel, discord.Thread) and since == 0 and not more:
            starter = await _starter(channel)
            if starter is not None and all(m.id != starter.id for m in found):
                found.append(starter)  # a thread started from a message: that message opens it
        return HistoryPage([_history_message(m) for m in reversed(found) if _worth_reading(m)], more)


async def _starter(thread: discord.Thread) -> discord.Message | None:
    parent = thread.parent
    if parent is None:
        return None
    try:
        return await parent.fetch_message(thread.id)
    except discord.HTTPException:
        return None


def _worth_reading(message: discord.Message) -> bool:
    return message.type in (discord.MessageType.default, discord.MessageType.reply) and bool(
        message.content or message.attachments
    )


def _history_message(message: discord.Message) -> HistoryMessage:
    thread = message.thread
    return HistoryMessage(
        author=message.author.display_name,
        text=message.content,
        link=message.jump_url,
        sent_at=message.created_at.timestamp(),
        files=tuple(a.filename for a in message.attachments),
        replies=(thread.message_count or 0) if thread is not None else 0,
    )


async def catch_up(interaction: discord.Interaction[Any], source: DiscordHistory, since: str) -> None:
    """Read (the core checks and limits), then open a conversation in the person's DM with the bot for the summary."""
    bot = interaction.client
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=True, thinking=True)
    actor = bot.interaction_actor(interaction)
    posted: list[discord.Message] = []

    async def open_in_dm(digest: Digest) -> tuple[ConversationKey, Any]:
        dm = await interaction.user.create_dm()
        try:
            header = await dm.send(digest.header, allowed_mentions=discord.AllowedMentions.none())
        except discord.Forbidden:
            raise NotAllowed("I can't send you direct messages (they are closed to me) to catch you up.") from None
        posted.append(header)
        key = await bot.chat.dms.key(PLATFORM, "", str(dm.id), new=True)
        return key, bot.sink(dm, reply_to=header, interaction=interaction)

    await bot.chat.catch_up(actor, source, since, open_in_dm)
    await bot.respond(interaction, f"Your catch-up is in our DMs: {posted[0].jump_url}")


def _source_for_channel(interaction: discord.Interaction[Any], channel: Any) -> DiscordHistory:
    bot = interaction.client
    if interaction.guild_id is None:
        raise NotAllowed("Use /catchup in a server channel (or on a thread there).")
    if channel is None:
        here = interaction.channel
        return DiscordHistory(
            bot,
            interaction.guild_id,
            here.id,
            getattr(here, "name", "this channel"),
            thread=isinstance(here, discord.Thread),
            permissions=interaction.permissions,
            member=interaction.user,
        )
    # the member's permissions there, as Discord resolved them with the command (overwrites included)
    resolved = ((interaction.data or {}).get("resolved") or {}).get("channels") or {}
    permissions = discord.Permissions(int((resolved.get(str(channel.id)) or {}).get("permissions") or 0))
    thread = isinstance(channel, (discord.Thread, app_commands.AppCommandThread))
    return DiscordHistory(
        bot, interaction.guild_id, channel.id, channel.name, thread=thread, permissions=permissions,
        member=interaction.user,
    )  # fmt: skip


def register(tree: app_commands.CommandTree) -> None:
    @slash(tree, "catchup")
    async def catchup(
        interaction: discord.Interaction[Any],
        channel: discord.TextChannel | discord.Thread | None = None,
        since: app_commands.Range[str, 1, 40] | None = None,
    ) -> None:
        await catch_up(interaction, _source_for_channel(interaction, channel), since or "")

    register_summarize_thread(tree)


def register_summarize_thread(tree: app_commands.CommandTree) -> None:
    """The "Summarize thread" message command (the registry's `summarize_thread`): in a server where the bot is, the
    thread as the person may read it, with links; where it is not (a user install), the message picked alone."""

    @on_message(tree, "summarize_thread")
    async def summarize_thread(interaction: discord.Interaction[Any], message: discord.Message) -> None:
        bot = interaction.client
        if interaction.guild is None or not bot.is_present(interaction):
            return await summarize_picked(interaction, message)
        thread = message.channel if isinstance(message.channel, discord.Thread) else message.thread
        thread = thread or interaction.guild.get_thread(message.id)
        if thread is None:
            raise NotAllowed("That message is not in a thread, and started none. `/catchup` summarizes a channel.")
        source = DiscordHistory(
            bot, interaction.guild_id, thread.id, thread.name, thread=True, permissions=interaction.permissions,
            member=interaction.user,
        )  # fmt: skip
        await catch_up(interaction, source, "")
