"""Answers a dead process left unfinished, closed in place once the gateway is ready: the text that was saved (or
what the answer's last message shows, less the typing indicator), the core's "interrupted" notice, and the buttons
of an answer cut short (core.replies.interrupted) instead of Stop."""

from __future__ import annotations

import asyncio
import logging

import discord

from bots.discord import PLATFORM
from bots.discord.buttons import reply_controls
from bots.discord.sink import NO_MENTIONS
from core.records import StoredMessage
from core.replies.interrupted import notice_room, with_notice

log = logging.getLogger(__name__)


class InterruptedAnswers:
    """Mixed into the client (bots.discord.app); the core calls `show_interrupted` (Core.on_interrupted)."""

    async def show_interrupted(self, replies: list[StoredMessage]) -> None:
        """Runs in a task of its own (it waits for the gateway to be ready), so the core's heartbeat that reports
        them never waits."""
        if self.is_closed():
            return
        task = asyncio.create_task(self._mark_interrupted(replies), name="discord-interrupted")
        self._marking.add(task)
        task.add_done_callback(self._marking.discard)

    async def _mark_interrupted(self, replies: list[StoredMessage]) -> None:
        await self.wait_until_ready()
        for reply in replies:
            if not reply.platform_message_id.isdigit():
                continue  # nothing was posted (or not by Discord)
            try:
                answer = await self.chat.interrupted_answer(reply, PLATFORM)
                if answer is None:
                    continue
                key = answer.conversation.key
                channel = self.get_partial_messageable(int(key.thread if key.thread.isdigit() else key.channel))
                last = int(answer.last_message)
                text = answer.saved_text(self.limits.max_chars)
                if text is None:  # the answer's last message, as it was left, less the typing indicator
                    text = (await channel.fetch_message(last)).content.removesuffix(self.limits.typing_indicator)
                    text = text[: notice_room(self.limits.max_chars)]
                await channel.get_partial_message(last).edit(
                    content=with_notice(text),
                    view=reply_controls(answer.view, answer.conversation.id),
                    allowed_mentions=NO_MENTIONS,
                )
            except discord.HTTPException as exc:
                log.warning("could not mark interrupted reply %s: %s", reply.id, exc.status)
            except Exception as exc:  # the database or the network: the answer stays marked in the database
                log.warning("could not mark interrupted reply %s: %s", reply.id, type(exc).__name__)
