"""How the streaming engine talks to Discord: post, edit and upload with the bot token.

The engine in `core.streaming` decides what to show and when; this sink only performs the calls,
with mentions disabled, and turns Discord's answers into what the engine understands:
a 429 becomes `RateLimited` (the engine slows the lane) instead of discord.py sleeping inside the
call, a message deleted under us becomes `MessageGone`, and a 403/404 on the channel (no access, DMs
closed, the channel gone) becomes `Undeliverable`: retrying cannot help.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import aiohttp
import discord

from bots.discord.buttons import reply_controls
from core.streaming import MessageGone, PlatformLimits, RateLimited, ReplyView, Undeliverable

log = logging.getLogger(__name__)

# Discord: 2000 characters a message; message create and edit allow 5 requests / 5 s per channel,
# and 50 requests / s per bot overall, counted per second: the shared bucket keeps rate + burst <= 44, so no
# second holds more than 44 of the streams' requests, leaving room for requests that reach Discord later than
# the bucket let them go (a busy event loop bunches them) and for everything else the bot does.
DISCORD_LIMITS = PlatformLimits(
    max_chars=2000,
    edit_interval=1.0,
    bucket_rate=42.0,
    bucket_burst=2,
    file_after_messages=4,
)
GLOBAL_BUCKET = ("discord", "bot")
NO_MENTIONS = discord.AllowedMentions.none()

# Set while the sink makes a request: a 429 then raises at once instead of being slept on and retried.
_fail_fast: contextvars.ContextVar[bool] = contextvars.ContextVar("hfchat_discord_fail_fast", default=False)


class Discord429(Exception):
    def __init__(self, retry_after: float, is_global: bool):
        super().__init__(f"429 for {retry_after:.2f}s")
        self.retry_after = retry_after
        self.is_global = is_global


def rate_limit_trace() -> aiohttp.TraceConfig:
    """An aiohttp trace for the bot's HTTP session that surfaces 429s on the sink's requests.

    discord.py retries a 429 itself after sleeping `retry_after` (unless it exceeds
    `max_ratelimit_timeout`, whose minimum is 30 s). For streamed replies the core's throttle owns the
    pacing, so the sink's requests raise instead and the engine renders the newest text later.
    """
    trace = aiohttp.TraceConfig()

    async def on_request_end(session: Any, context: Any, params: aiohttp.TraceRequestEndParams) -> None:
        response = params.response
        # without Via it is Cloudflare, not Discord: leave it to discord.py (it raises HTTPException)
        if response.status != 429 or not _fail_fast.get() or not response.headers.get("Via"):
            return
        retry_after = None
        is_global = response.headers.get("X-RateLimit-Global", "").lower() == "true"
        with contextlib.suppress(Exception):
            body = json.loads(await response.read())
            retry_after = float(body["retry_after"])
            is_global = is_global or bool(body.get("global"))
        if retry_after is None:
            header = response.headers.get("X-RateLimit-Reset-After") or response.headers.get("Retry-After") or "1"
            retry_after = float(header)
        raise Discord429(retry_after, is_global)

    trace.on_request_end.append(on_request_end)
    return trace


@contextlib.contextmanager
def fail_fast_on_429() -> Iterator[None]:
    token = _fail_fast.set(True)
    try:
        yield
    except Discord429 as exc:
        raise RateLimited(exc.retry_after, scope_global=exc.is_global) from None
    except discord.RateLimited as exc:  # discord.py refused to wait longer than max_ratelimit_timeout
        raise RateLimited(exc.retry_after) from None
    finally:
        _fail_fast.reset(token)


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
            with fail_fast_on_429():
                message = await self.channel.send(text, **kwargs)
        except (discord.Forbidden, discord.NotFound) as exc:
            raise undeliverable(exc) from None
        self.posted.append(message)
        return message

    async def edit(self, ref: discord.Message, text: str, view: ReplyView) -> None:
        try:
            with fail_fast_on_429():
                controls = reply_controls(view, self.conversation_id)
                await ref.edit(content=text, view=controls, allowed_mentions=NO_MENTIONS)
        except discord.NotFound as exc:
            if exc.code == UNKNOWN_MESSAGE:
                raise MessageGone() from None
            raise undeliverable(exc) from None  # the channel or thread itself is gone
        except discord.Forbidden as exc:
            raise undeliverable(exc) from None

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
        """The core named the conversation: a thread takes the name (DMs and inline answers have none)."""
        if isinstance(self.channel, discord.Thread):
            with fail_fast_on_429():  # a refused rename is not retried (the core tries it once: two per 10 minutes)
                await self.channel.edit(name=title[:100])

    # Discord has no native append streaming (limits.native_append is False): never called
    async def stream_start(self, text: str, view: ReplyView) -> Any:
        raise NotImplementedError

    async def stream_append(self, ref: Any, delta: str, view: ReplyView) -> None:
        raise NotImplementedError

    async def stream_stop(self, ref: Any, delta: str, view: ReplyView) -> None:
        raise NotImplementedError
