"""How the streaming engine talks to Discord: post, edit and upload with the bot token.

The engine in `core.streaming` decides what to show and when; this sink only performs the calls,
with mentions disabled, and turns Discord's answers into what the engine understands:
a 429 becomes `RateLimited` (the engine slows the lane) instead of discord.py sleeping inside the
call, a message deleted under us becomes `MessageGone`, and a 403/404 on the channel (no access, DMs
closed, the channel gone) becomes `Undeliverable`: retrying cannot help. Every request, the sink's and
discord.py's own, meets Discord's global limit in `bots.discord.budget`.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import discord

from bots.discord.budget import GLOBAL_BUCKET, fail_fast_on_429
from bots.discord.buttons import reply_controls
from bots.discord.edits import edit_path
from core.replies.actions import reply_actions
from core.streaming import MessageGone, PlatformLimits, ReplyView, Undeliverable

log = logging.getLogger(__name__)

# Discord: 2000 characters a message; message create and edit allow 5 requests / 5 s per channel,
# and 50 requests / s per bot overall. Every request the bot makes draws on one budget paced evenly (no burst),
# under 50 because requests reach Discord later than the budget let them go, some later than others (a busy
# event loop bunches them); `bots.discord.budget.WIRE_RATE` spaces them again just before they are sent.
DISCORD_LIMITS = PlatformLimits(
    max_chars=2000,
    edit_interval=1.0,
    bucket_rate=44.0,
    bucket_burst=1,
    file_after_messages=4,
    budget="discord-global",
)
NO_MENTIONS = discord.AllowedMentions.none()
_NO_MENTIONS_JSON = NO_MENTIONS.to_dict()


def _edit_route(ref: discord.Message) -> discord.http.Route:
    path = "/channels/{channel_id}/messages/{message_id}"
    return discord.http.Route("PATCH", path, channel_id=ref.channel.id, message_id=ref.id)


UNKNOWN_MESSAGE = 10008  # the message to edit was deleted: go on in a new one
CANNOT_DM = 50007  # "Cannot send messages to this user": DMs closed to the bot, or no server in common


def undeliverable(exc: discord.HTTPException) -> Undeliverable:
    return Undeliverable(f"HTTP {exc.status} ({exc.code})", code=exc.code)


def undelivered_notice(exc: Undeliverable) -> str:
    """What the user reads when the answer could not be posted where it was meant to go."""
    if exc.code == CANNOT_DM:
        why = "Discord won't let me send you direct messages (they are closed to me, or we share no server)."
    elif isinstance(exc.code, int) and exc.code >= 50000:
        why = "I'm not allowed to write there."
    else:
        why = "that channel is gone, or I can no longer see it."
    return f"⚠️ I couldn't deliver the answer: {why} Your message is kept; ask again where I can write."


class DiscordSink:
    """Posts one answer into one channel, thread or DM; `lane` is that channel."""

    limits = DISCORD_LIMITS
    bucket = GLOBAL_BUCKET

    def __init__(
        self,
        channel: discord.abc.Messageable,
        *,
        reply_to: discord.abc.Snowflake | None = None,
        conversation_id: int | None = None,
        limits: PlatformLimits | None = None,
        interaction: discord.Interaction | None = None,
    ):
        self.channel = channel
        self.lane = ("discord", getattr(channel, "id", id(channel)))
        self.reply_to = reply_to
        self.interaction = interaction  # the command answered: it can reach the user whatever the channel
        self.conversation_id = conversation_id
        if limits is not None:
            self.limits = limits
        self.posted: list[discord.Message] = []
        self._renamed = False
        self._components_of: tuple[Any, list[dict]] = (None, [])  # (what they show, the buttons as components)

    def _reference(self) -> discord.MessageReference | None:
        target = self.posted[-1] if self.posted else self.reply_to
        if target is None:
            return None
        channel_id = getattr(getattr(target, "channel", None), "id", None) or getattr(self.channel, "id", None)
        return discord.MessageReference(message_id=target.id, channel_id=channel_id, fail_if_not_exists=False)

    async def post(self, text: str, view: ReplyView) -> discord.Message:
        kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
        reference = self._reference()
        if reference is not None:
            kwargs.update(reference=reference, mention_author=False)
        controls = reply_controls(view, self.conversation_id)
        if controls is not None:
            kwargs["view"] = controls
        try:
            with fail_fast_on_429(paid=True):
                message = await self.channel.send(text, **kwargs)
        except (discord.Forbidden, discord.NotFound) as exc:
            raise undeliverable(exc) from None
        self.posted.append(message)
        return message

    async def edit(self, ref: discord.Message, text: str, view: ReplyView) -> None:
        """PATCH the message (bots.discord.edits: the budget, per-channel bucket, 429s and retries kept, discord.py's
        per-request work not), without what `Message.edit` adds for each of a streamed answer's edits: a new View
        and Message built, the view stored again. The buttons are the same dynamic items, as components."""
        payload = {"content": text, "components": self._components(view), "allowed_mentions": _NO_MENTIONS_JSON}
        lean = edit_path(ref._state.http)  # the same budget and limits, without discord.py's per-request work
        try:
            with fail_fast_on_429(paid=True):
                if lean is not None:
                    await lean.edit(ref.channel.id, ref.id, payload)
                else:
                    await ref._state.http.request(_edit_route(ref), json=payload)
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_MESSAGE:
                raise MessageGone() from None
            raise undeliverable(exc) from None  # the channel or thread itself is gone
        except discord.Forbidden as exc:
            raise undeliverable(exc) from None

    def _components(self, view: ReplyView) -> list[dict]:
        key = (reply_actions(view), view.reply_id)
        if self._components_of[0] != key:
            controls = reply_controls(view, self.conversation_id)
            self._components_of = (key, controls.to_components() if controls is not None else [])
        return self._components_of[1]

    async def undeliverable(self, exc: Undeliverable) -> None:
        """The engine gave up on this channel: a /chat command still has its own response to say so in."""
        if self.interaction is not None:
            await self.interaction.followup.send(undelivered_notice(exc), ephemeral=True, allowed_mentions=NO_MENTIONS)

    async def upload(self, filename: str, content: str, view: ReplyView) -> None:
        file = discord.File(io.BytesIO(content.encode("utf-8")), filename=filename.removesuffix(".md") + ".md")
        kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS, "file": file}
        reference = self._reference()
        if reference is not None:
            kwargs.update(reference=reference, mention_author=False)
        with fail_fast_on_429():
            self.posted.append(await self.channel.send("📄 The whole answer as a file:", **kwargs))

    def ref_id(self, ref: discord.Message) -> str:
        return str(ref.id)

    async def set_title(self, title: str) -> None:
        """The core named the conversation: a thread takes the name (DMs and inline answers have none), once and
        only if it changes it (Discord allows 2 renames per 10 minutes a channel). The request waits for a budget
        nobody else wants (`request_priority` in bots.discord.budget: background); a refused rename is not retried."""
        name = title[:100]
        if isinstance(self.channel, discord.Thread) and not self._renamed and self.channel.name != name:
            self._renamed = True
            with fail_fast_on_429():
                await self.channel.edit(name=name)

    # Discord has no native append streaming (limits.native_append is False): never called
    async def stream_start(self, text: str, view: ReplyView) -> Any:
        raise NotImplementedError

    async def stream_append(self, ref: Any, delta: str, view: ReplyView) -> None:
        raise NotImplementedError

    async def stream_stop(self, ref: Any, delta: str, view: ReplyView) -> None:
        raise NotImplementedError
