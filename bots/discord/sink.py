"""How the streaming engine talks to Discord: post, edit and upload with the bot token, and the one place where
every request the bot makes meets Discord's global limit.

The engine in `core.streaming` decides what to show and when; this sink only performs the calls,
with mentions disabled, and turns Discord's answers into what the engine understands:
a 429 becomes `RateLimited` (the engine slows the lane) instead of discord.py sleeping inside the
call, a message deleted under us becomes `MessageGone`, and a 403/404 on the channel (no access, DMs
closed, the channel gone) becomes `Undeliverable`: retrying cannot help.

Discord allows a bot 50 requests a second in all (interaction callbacks and webhooks aside). The streamed
answers take theirs from the engine's budget (`GLOBAL_BUCKET`); every other request discord.py sends (a thread
opened, a rename, a command's message, command sync) takes its share of the same budget in `budget_trace`, the
aiohttp trace discord.py offers (`Client(http_trace=...)`), classed by `request_priority`.
"""

from __future__ import annotations

import contextlib
import contextvars
import io
import json
import logging
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import discord
import yarl

from bots.discord.buttons import reply_controls
from bots.discord.edits import Budget, edit_path
from core.replies.actions import reply_actions
from core.streaming import MessageGone, PlatformLimits, RateLimited, ReplyView, Undeliverable
from core.streaming.throttle import LocalPacer, Priority, Throttle

log = logging.getLogger(__name__)

# Discord: 2000 characters a message; message create and edit allow 5 requests / 5 s per channel,
# and 50 requests / s per bot overall. Every request the bot makes draws on one budget paced evenly (no burst),
# under 50 because requests reach Discord later than the budget let them go, some later than others (a busy
# event loop bunches them); `WIRE_RATE` spaces them again just before they are sent.
DISCORD_LIMITS = PlatformLimits(
    max_chars=2000,
    edit_interval=1.0,
    bucket_rate=44.0,
    bucket_burst=1,
    file_after_messages=4,
    budget="discord-global",
)
GLOBAL_BUCKET = ("discord", "bot")
# requests leave this process at most this often: however the event loop bunched them after the budget let them go,
# no second (sliding) holds more than 49
WIRE_RATE = 46.0
NO_MENTIONS = discord.AllowedMentions.none()
_NO_MENTIONS_JSON = NO_MENTIONS.to_dict()

# Set while the sink makes a request: a 429 then raises at once instead of being slept on and retried.
_fail_fast: contextvars.ContextVar[bool] = contextvars.ContextVar("hfchat_discord_fail_fast", default=False)
# Set while the sink makes a request the engine already took from the budget: the first HTTP request under it is
# paid (a retry discord.py makes after a 5xx is another request and pays again).
_paid: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("hfchat_discord_paid", default=None)

_CHANNEL = re.compile(r"/channels/\d+")
_CHANNEL_MESSAGES = re.compile(r"/channels/\d+/messages")


def request_priority(method: str, path: str) -> Priority | None:
    """The class of a request to Discord's API (`path` below the API base) in the bot's global budget; None for
    the requests outside the global limit: interaction callbacks and webhooks (an interaction's follow-ups)."""
    if path.startswith(("/interactions/", "/webhooks/")):
        return None
    if method == "POST" and path.endswith("/threads"):
        return Priority.START  # a thread for a new answer: when the answers streaming leave room for one more
    if method == "PATCH" and _CHANNEL.fullmatch(path):
        return Priority.BACKGROUND  # a rename (the auto title) or an archive: nobody waits on it
    if path.endswith("/typing") or "/reactions/" in path or (path.startswith("/applications/") and "/commands" in path):
        return Priority.BACKGROUND
    if method == "POST" and _CHANNEL_MESSAGES.fullmatch(path):
        return Priority.URGENT  # a message a person waits for (an error, a notice): first visible text
    return Priority.UPDATE


def _api_path(url: yarl.URL) -> str | None:
    """`url`'s path below discord.py's API base, or None for anything else (the gateway, the CDN)."""
    base = yarl.URL(discord.http.Route.BASE)
    if url.host != base.host or url.port != base.port or not url.path.startswith(base.path + "/"):
        return None
    return url.path[len(base.path) :]


def budget_trace(throttle: Throttle, bucket: Any = None) -> aiohttp.TraceConfig:
    """An aiohttp trace that holds each of discord.py's requests until the bot's global budget has room for it
    (aiohttp awaits it before sending), in its class; the sink's requests were paid for by the engine."""
    trace = rate_limit_trace()
    bucket = GLOBAL_BUCKET if bucket is None else bucket
    # never slower than the budget itself (a budget above Discord's, as in tests, is not re-spaced to Discord's);
    # no budget (the global limit lifted), no spacing: the wire pacer only re-spaces what the budget let go
    wire = LocalPacer(max(WIRE_RATE, throttle.bucket_rate * 1.05), 1, throttle.clock) if throttle.bucket_rate else None

    budget = Budget(throttle, bucket, wire)

    async def on_request_start(session: Any, context: Any, params: aiohttp.TraceRequestStartParams) -> None:
        path = _api_path(params.url)
        priority = None if path is None else request_priority(params.method.upper(), path)
        if priority is None:
            return
        credit = _paid.get()
        paid = bool(credit and credit[0] > 0)
        if paid:
            credit[0] -= 1
        await budget.admit(priority, paid=paid)

    async def on_request_end(session: Any, context: Any, params: aiohttp.TraceRequestEndParams) -> None:
        response = params.response
        # a global 429 however it came (one that slipped through holds the whole budget back, in every process)
        if response.status == 429 and response.headers.get("X-RateLimit-Global", "").lower() == "true":
            retry_after = None
            with contextlib.suppress(Exception):  # the body's retry_after is exact; Retry-After is whole seconds
                retry_after = float(json.loads(await response.read())["retry_after"])
            if retry_after is None:
                with contextlib.suppress(ValueError):
                    retry_after = float(response.headers.get("Retry-After") or 1)
            budget.limited(retry_after or 1.0)

    trace.on_request_start.append(on_request_start)
    trace.on_request_end.insert(0, on_request_end)  # before rate_limit_trace's, which raises for the sink's 429s
    trace.hfchat_budget = budget  # the same budget for the edits sent past discord.py (bots.discord.edits)
    return trace


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
def fail_fast_on_429(*, paid: bool = False) -> Iterator[None]:
    """`paid`: the engine took this request from the budget already (its first HTTP request goes at once)."""
    token = _fail_fast.set(True)
    credit = _paid.set([1] if paid else None)
    try:
        yield
    except Discord429 as exc:
        raise RateLimited(exc.retry_after, scope_global=exc.is_global) from None
    except discord.RateLimited as exc:  # discord.py refused to wait longer than max_ratelimit_timeout
        raise RateLimited(exc.retry_after) from None
    finally:
        _paid.reset(credit)
        _fail_fast.reset(token)


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
        nobody else wants (`request_priority`: background), and a refused rename is not retried."""
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
