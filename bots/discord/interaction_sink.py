"""An answer written through an interaction instead of a channel: `/ask`, the message commands, and `/chat` where the
bot is not present (a user-installed app in a group DM, in a DM between people, in a server the bot is not in).

The engine in core.streaming streams it as it does everywhere; this sink only performs the calls: the first message
is the interaction's original response (edited as the answer grows) or its first follow-up, later ones are
follow-ups. Discord's limits for it are declared, not worked around: the token lives 15 minutes (`expires_at`: the
engine stops the answer in time for its final text, Continue picks it up with a fresh token) and a user-installed
command used where the bot is not present gets at most 5 follow-ups. So an answer gets at most as many messages as
leave one follow-up for a clarifying question and one for the whole answer as a file (`max_messages`).
"""

from __future__ import annotations

import dataclasses
import io
import time
from typing import Any

import discord

from bots.discord.budget import fail_fast_on_429
from bots.discord.buttons import reply_controls
from bots.discord.questions import question_text, question_view
from bots.discord.sharing import ShareButton
from bots.discord.sink import DISCORD_LIMITS, NO_MENTIONS, undeliverable
from core.replies.clarify import Question
from core.streaming import MessageGone, PlatformLimits, ReplyView

FOLLOWUPS = 5  # Discord: a user-installed command used where the bot is not present
KEPT_FOLLOWUPS = 2  # one for a clarifying question, one for the whole answer as a file
TOKEN_SECONDS = 15 * 60.0
UNKNOWN_MESSAGE = 10008
# interactions are outside the bot's global limit: no shared bucket; edits paced per interaction like a channel's
INTERACTION_LIMITS = dataclasses.replace(DISCORD_LIMITS, bucket_rate=None, file_after_messages=0)


def received_at(interaction: discord.Interaction) -> float:
    """When Discord created the interaction, on this process's monotonic clock (its token's age counts from it)."""
    age = (discord.utils.utcnow() - interaction.created_at).total_seconds()
    return time.monotonic() - max(0.0, age)


class InteractionSink:
    bucket = None

    def __init__(
        self,
        interaction: discord.Interaction,
        *,
        ephemeral: bool,
        original: bool,
        conversation_id: int | None = None,
        limits: PlatformLimits | None = None,
        token_seconds: float = TOKEN_SECONDS,
    ):
        """`original`: the answer's first message is the interaction's original response (deferred before); else
        every message is a follow-up. `ephemeral`: only the person who used the command sees the answer."""
        self.interaction = interaction
        self.ephemeral = ephemeral
        self.original = original
        self.conversation_id = conversation_id
        self.lane = ("discord", "interaction", interaction.id)
        messages = (1 if original else 0) + FOLLOWUPS - KEPT_FOLLOWUPS
        self.limits = dataclasses.replace(limits or INTERACTION_LIMITS, max_messages=messages)
        # stop early enough for the final text to go out while the token still works
        self.expires_at = received_at(interaction) + token_seconds - min(30.0, token_seconds / 4)
        self.posted: list[Any] = []
        self.followups = 0

    def _controls(self, view: ReplyView) -> discord.ui.View | None:
        controls = reply_controls(view, self.conversation_id)
        if self.ephemeral and view.phase == "done" and view.is_last and view.reply_id is not None:
            controls = controls or discord.ui.View(timeout=None)
            controls.add_item(ShareButton(view.reply_id))
        return controls

    async def _followup(self, content: str, **kwargs: Any) -> discord.WebhookMessage:
        self.followups += 1
        kwargs = {k: v for k, v in kwargs.items() if v is not None}
        return await self.interaction.followup.send(
            content, ephemeral=self.ephemeral, allowed_mentions=NO_MENTIONS, wait=True, **kwargs
        )

    async def post(self, text: str, view: ReplyView) -> Any:
        controls = self._controls(view)
        try:
            with fail_fast_on_429():
                if self.original and not self.posted:
                    message = await self.interaction.edit_original_response(
                        content=text, view=controls, allowed_mentions=NO_MENTIONS
                    )
                else:
                    message = await self._followup(text, view=controls)
        except (discord.Forbidden, discord.NotFound) as exc:
            raise undeliverable(exc) from None
        except discord.HTTPException as exc:
            if exc.status in (400, 401):  # 40094: no follow-ups left; 50027: the token died
                raise undeliverable(exc) from None
            raise
        self.posted.append(message)
        return message

    async def edit(self, ref: Any, text: str, view: ReplyView) -> None:
        try:
            with fail_fast_on_429():
                await ref.edit(content=text, view=self._controls(view), allowed_mentions=NO_MENTIONS)
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_MESSAGE:
                raise MessageGone() from None
            raise undeliverable(exc) from None
        except discord.HTTPException as exc:
            if exc.status in (401, 403):
                raise undeliverable(exc) from None
            raise

    async def upload(self, filename: str, content: str, view: ReplyView) -> None:
        file = discord.File(io.BytesIO(content.encode("utf-8")), filename=filename.removesuffix(".md") + ".md")
        with fail_fast_on_429():
            self.posted.append(await self._followup("📄 The whole answer as a file:", file=file))

    async def ask(self, question: Question) -> None:
        """A clarifying question, as a follow-up only its asker sees when the answer is theirs alone."""
        with fail_fast_on_429():
            await self._followup(question_text(question), view=question_view(question))

    propose = (
        None  # no memory suggestions here: its follow-ups are kept for a question and the file (core.replies.memory)
    )

    def ref_id(self, ref: Any) -> str:
        return str(ref.id)

    async def stream_start(self, text: str, view: ReplyView) -> Any:  # limits.native_append is False: never called
        raise NotImplementedError

    async def stream_append(self, ref: Any, delta: str, view: ReplyView) -> None:
        raise NotImplementedError

    async def stream_stop(self, ref: Any, delta: str, view: ReplyView) -> None:
        raise NotImplementedError
