""" "Delete from here", a message command: a message of one of our conversations and everything after it are deleted
(the stored messages, owner or admin, checked by the core), and so are the bot's own messages that showed the
deleted answers."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bots.discord import PLATFORM
from bots.discord.commands.slash import on_message
from core.chat import DeletedFrom
from core.errors import NotFound

log = logging.getLogger(__name__)

EARLIER_PARTS = 20  # messages looked back through for the start of a long answer split over several


async def delete_from(interaction: discord.Interaction[Any], message: discord.Message) -> None:
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        deleted = await bot.chat.conversations.delete_from_message(str(message.id), actor)
    except NotFound:
        start = await _answer_started_before(bot, message)
        if start is None:
            raise
        deleted = await bot.chat.conversations.delete_from_message(str(start.id), actor)
        message = start
    removed = await _remove_bot_messages(bot, message, deleted)
    count = len(deleted.messages)
    await bot.respond(
        interaction,
        f"Deleted {count} stored message{'s' if count != 1 else ''} from there on"
        + (f" and {removed} of my messages." if removed else "."),
    )


async def _answer_started_before(bot: Any, message: discord.Message) -> discord.Message | None:
    """For a later part of a long answer (only an answer's first message is stored): that first message."""
    if bot.user is None or message.author.id != bot.user.id:
        return None
    async for earlier in message.channel.history(before=message, limit=EARLIER_PARTS):
        if earlier.author.id != bot.user.id:
            return None
        if await bot.chat.conversations.of_message(PLATFORM, str(earlier.id)) is not None:
            return earlier
    return None


async def _remove_bot_messages(bot: Any, target: discord.Message, deleted: DeletedFrom) -> int:
    """In the conversation's own thread, every message of ours from `target` on; elsewhere (DMs, inline
    answers in a channel, where other conversations share the channel) the messages of each deleted answer."""
    channel = target.channel
    mine = bot.user.id if bot.user is not None else 0
    found: list[discord.Message] = [target] if target.author.id == mine else []
    key = deleted.conversation.key
    if isinstance(channel, discord.Thread) and key.thread == str(channel.id):
        found += [m async for m in channel.history(after=target, limit=None, oldest_first=True) if m.author.id == mine]
    else:
        for answer in deleted.messages:
            first = int(answer.platform_message_id) if answer.platform_message_id.isdigit() else 0
            if answer.role != "assistant" or not first:
                continue
            last = int(str(answer.extra.get("last_message") or first))
            span = channel.history(after=discord.Object(first - 1), before=discord.Object(last + 1), limit=None)
            found += [m async for m in span if m.author.id == mine and m.id != target.id]
    removed = 0
    for item in found:
        try:
            await item.delete()
            removed += 1
        except discord.NotFound:
            pass  # already gone
        except discord.HTTPException as exc:
            log.warning("could not delete message %s: %s", item.id, exc.status)
    return removed


def register(tree: app_commands.CommandTree) -> None:
    @on_message(tree, "delete_from_here", everywhere=False)
    async def delete_from_here(interaction: discord.Interaction[Any], message: discord.Message) -> None:
        await delete_from(interaction, message)
