"""Discord's message events: a message turned into the core's IncomingMessage, answered where the core's routing
says (core.conversations.routing), and edits and deletions of what people wrote passed on. Whether to answer and
where are the core's (other bots included: ALLOW_BOTS); what stays here is Discord's: message types, the Message
Content intent, forwarded messages (their snapshots read as what was sent), opening a thread."""

from __future__ import annotations

import re

import discord

from bots.discord import PLATFORM
from bots.discord.commands.chat import thread_title
from bots.discord.sink import NO_MENTIONS
from core.chat import NOT_SAVED
from core.conversations.routing import IncomingMessage
from core.errors import StoreUnavailable, UserFacingError
from core.keys import ConversationKey
from core.ops import metrics
from core.prompts import clean_prompt
from core.replies.picked import Picked, forwarded_text

MESSAGE_CONTENT_HELP = (
    "I can't read messages here: this bot runs without Discord's **Message Content** intent. "
    "Mention me (or reply to one of my answers) and I'll answer that message. "
    "The bot's owner can enable it in the Developer Portal → *Bot* → *Privileged Gateway Intents* → "
    "**Message Content Intent**, then restart the bot."
)
ANSWERED_TYPES = (discord.MessageType.default, discord.MessageType.reply)


def picked_snapshot(snapshot: discord.MessageSnapshot) -> Picked:
    """A forwarded message as the core reads it (a snapshot does not say who wrote it)."""
    return Picked("", snapshot.content, tuple(a.filename for a in snapshot.attachments))


class MessageEvents:
    """Mixed into the client (bots.discord.app): discord.py calls `on_<event>` methods of the client."""

    def prompt_text(self, content: str) -> str:
        if self.user is not None:
            content = re.sub(rf"<@!?{self.user.id}>", "", content)
        return content.strip()

    def incoming(self, message: discord.Message) -> IncomingMessage:
        """The message as the core's routing reads it."""
        channel = message.channel
        in_thread = isinstance(channel, discord.Thread)
        replied = message.reference.resolved if message.reference else None
        replied_to_bot = (
            isinstance(replied, discord.Message) and self.user is not None and replied.author.id == self.user.id
        )
        can_thread = (
            message.guild is not None
            and isinstance(channel, discord.TextChannel)
            and channel.permissions_for(message.guild.me).create_public_threads
        )
        return IncomingMessage(
            PLATFORM,
            str(message.guild.id) if message.guild else "",
            str(channel.parent_id if in_thread else channel.id),
            str(message.id),
            thread=str(channel.id) if in_thread else "",
            is_dm=message.guild is None,
            mentioned=self.user is not None and self.user in message.mentions,
            from_bot=message.author.bot,
            replied_to=str(replied.id) if replied_to_bot else "",
            can_open_thread=can_thread,
            in_bot_thread=in_thread and self.user is not None and channel.owner_id == self.user.id,
        )

    async def on_message(self, message: discord.Message) -> None:
        if self.user is not None and message.author.id == self.user.id:
            return  # the echo of our own answers
        metrics.event_received(PLATFORM, "message")
        if message.type not in ANSWERED_TYPES:
            return
        incoming = self.incoming(message)
        try:
            await self._answer(message, incoming)
        except UserFacingError as exc:
            await message.channel.send(
                str(exc), allowed_mentions=NO_MENTIONS, reference=message.to_reference(fail_if_not_exists=False)
            )
        except StoreUnavailable:
            # Discord never delivers a message again: give the claim back (a gateway replay would then be
            # handled) and ask for it again, where the message was meant for the bot
            await self.chat.claims.release(PLATFORM, f"message:{message.id}")
            if incoming.meant_for_bot:
                await message.channel.send(
                    NOT_SAVED, allowed_mentions=NO_MENTIONS, reference=message.to_reference(fail_if_not_exists=False)
                )

    async def _claim(self, message: discord.Message) -> bool:
        if await self.chat.claims.claim(PLATFORM, f"message:{message.id}"):
            return True
        metrics.duplicate_dropped(PLATFORM)
        return False

    async def _answer(self, message: discord.Message, incoming: IncomingMessage) -> None:
        channel = message.channel
        route = await self.chat.routing.route(incoming)
        if route.key is None:
            return
        forwarded = message.message_snapshots
        if not message.content and not message.attachments and not forwarded and not self.intents.message_content:
            return await self._explain_missing_intent(channel)
        if not await self._claim(message):
            return
        actor, text = self.message_actor(message), self.prompt_text(message.content)
        files = [*message.attachments, *(a for snapshot in forwarded for a in snapshot.attachments)]
        if forwarded:  # a forwarded message is read as what was sent, its files included
            text = forwarded_text(text, [picked_snapshot(snapshot) for snapshot in forwarded])
        key, sink, title = route.key, self.sink(channel), ""
        await self.chat.routing.follow(route)
        if message.guild is None or route.inline:
            sink = self.sink(channel, reply_to=message)
        if route.starts_here:
            if not files:
                clean_prompt(text)  # an empty mention gets its explanation before any thread exists
            # as would a refused one (too long, past a limit): nothing is opened for a message that is not answered
            await self.chat.intake.check(ConversationKey(PLATFORM, key.workspace, key.channel, ""), actor, text)
            title = thread_title(text)
        if route.open_thread:
            thread = await message.create_thread(name=title, auto_archive_duration=1440)
            key = ConversationKey(PLATFORM, key.workspace, key.channel, str(thread.id))
            sink = self.sink(thread)
        await self.submit(
            key, actor, text, sink, platform_message_id=str(message.id), title=title, message=message, attachments=files
        )

    async def _explain_missing_intent(self, channel: discord.abc.Messageable) -> None:
        channel_id = getattr(channel, "id", 0)
        if channel_id in self._told_no_content:
            return
        self._told_no_content.add(channel_id)
        await channel.send(MESSAGE_CONTENT_HELP, allowed_mentions=NO_MENTIONS)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        metrics.event_received(PLATFORM, interaction.type.name)  # the command tree and the views handle it

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        metrics.event_received(PLATFORM, "message_edit")
        data = payload.data
        if (data.get("author") or {}).get("bot") or not data.get("content"):
            return
        try:
            await self.chat.conversations.on_message_edited(
                PLATFORM, str(payload.message_id), self.prompt_text(data["content"])
            )
        except UserFacingError:
            pass  # edited down to nothing: keep what was stored

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        metrics.event_received(PLATFORM, "message_delete")
        await self.chat.conversations.on_message_deleted(PLATFORM, str(payload.message_id))
