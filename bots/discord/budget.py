"""Discord's global limit: the one place where every request the bot makes meets it, and where 429s on the sink's
requests surface instead of being slept on.

Discord allows a bot 50 requests a second in all (interaction callbacks and webhooks aside). The streamed
answers take theirs from the engine's budget (`GLOBAL_BUCKET`); every other request discord.py sends (a thread
opened, a rename, a command's message, command sync) takes its share of the same budget in `budget_trace`, the
aiohttp trace discord.py offers (`Client(http_trace=...)`), classed by `request_priority`: this module only
classes requests, the order of the classes is `core.streaming.throttle.Priority`'s.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import re
from collections.abc import Iterator
from typing import Any

import aiohttp
import discord
import yarl

from bots.discord.edits import Budget
from core.streaming import RateLimited
from core.streaming.throttle import LocalPacer, Priority, Throttle

GLOBAL_BUCKET = ("discord", "bot")
# requests leave this process at most this often: however the event loop bunched them after the budget let them go,
# no second (sliding) holds more than 49
WIRE_RATE = 46.0

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
        return Priority.START  # a thread for a new answer: its first text needs it, before the streaming updates
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
