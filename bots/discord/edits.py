"""A streamed answer's edits to Discord on a lean path: one PATCH through one aiohttp session, with the headers
built once, inside the same budget and rate limits as every other request the bot makes.

A process streaming a thousand answers sends about a thousand edits a second; through discord.py's HTTP client
each one also costs a Route, a sweep of its expired rate-limit buckets, the aiohttp traces (the budget's class
lookup), and a parse of the returned message nobody reads: about a third of the bot's CPU (bench/capacity.py).
This path keeps what matters of that and nothing else:

- the bot's global budget (`Budget`, the one `budget.budget_trace` holds discord.py's requests to): the engine took
  the edit from it already; a retry (after a 5xx) takes again, and every request is spaced by the same wire pacer;
- a global 429 holds the whole budget back (`Throttle.budget_limited`), as the trace does for discord.py's;
- the per-route bucket (message edits in one channel): its `X-RateLimit-Remaining` / `Reset-After` are kept per
  channel and an exhausted bucket is waited out before the next edit, as discord.py does;
- discord.py's global lock (`_global_over`: it is sleeping out a global 429 of its own) is waited for;
- a 429 raises `RateLimited` at once (the engine renders the newest text later), never slept on; one without
  `Via` is Cloudflare's and raises `HTTPException`, as in discord.py; 403/404 raise `Forbidden`/`NotFound`;
  500/502/504/524 are retried as discord.py retries them.

The session shares discord.py's connector (its connection pool, closed with the client), without its traces.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord
import yarl

from core.streaming import RateLimited
from core.streaming.throttle import LocalPacer, Priority, Throttle

_RETRIED = frozenset({500, 502, 504, 524})  # discord.py retries these unconditionally
_TRIES = 5


@dataclass(slots=True)
class Budget:
    """The bot's global budget as `budget.budget_trace` applies it: `wire` (None with the global limit lifted)
    spaces requests again just before they are sent."""

    throttle: Throttle
    bucket: Any
    wire: LocalPacer | None

    async def admit(self, priority: Priority, *, paid: bool = False) -> None:
        if not paid:
            await self.throttle.take(self.bucket, priority)
        while self.wire is not None and (wait := await self.wire.try_take()):
            await self.throttle.clock.sleep(wait)

    def limited(self, retry_after: float) -> None:
        self.throttle.budget_limited(self.bucket, retry_after)


class EditPath:
    """Message edits for one discord.py HTTP client (`HTTPClient`), in its budget."""

    def __init__(self, http: Any, budget: Budget):
        self.http = http
        self.budget = budget
        self.base = discord.http.Route.BASE
        self.headers = {
            "Authorization": f"Bot {http.token}",
            "User-Agent": http.user_agent,
            "Content-Type": "application/json",
        }
        self.session = aiohttp.ClientSession(connector=http.connector, connector_owner=False)
        self.buckets: dict[int, _Bucket] = {}  # by channel id

    def usable(self) -> bool:
        return not self.session.closed and self.http.connector is self.session.connector

    async def edit(self, channel_id: int, message_id: int, payload: dict) -> None:
        """PATCH the message; raises as discord.py would (`NotFound`, `Forbidden`, `HTTPException`), and
        `RateLimited` for a 429."""
        url = yarl.URL(f"{self.base}/channels/{channel_id}/messages/{message_id}", encoded=True)
        body = json.dumps(payload, separators=(",", ":"), ensure_ascii=True).encode()
        response: aiohttp.ClientResponse | None = None
        data: Any = None
        for tries in range(_TRIES):
            bucket = await self._bucket_room(channel_id)
            await self.budget.admit(Priority.UPDATE, paid=tries == 0)  # the engine paid for the first one
            global_over = getattr(self.http, "_global_over", None)
            if global_over is not None and not global_over.is_set():
                await global_over.wait()
            try:
                response, data = await self._send(url, body, bucket)
            except OSError as exc:  # connection reset by peer: discord.py's retry
                if tries < _TRIES - 1 and exc.errno in (54, 10054):
                    await asyncio.sleep(1 + tries * 2)
                    continue
                raise
            status = response.status
            if 200 <= status < 300:
                return
            if status == 429:
                self._rate_limited(response, data)
            if status in _RETRIED and tries < _TRIES - 1:
                await asyncio.sleep(1 + tries * 2)
                continue
            if status == 403:
                raise discord.Forbidden(response, data)
            if status == 404:
                raise discord.NotFound(response, data)
            if status >= 500:
                raise discord.DiscordServerError(response, data)
            raise discord.HTTPException(response, data)
        raise discord.DiscordServerError(response, data)  # retries ran out (only 5xx continue)

    async def _send(self, url: yarl.URL, body: bytes, bucket: _Bucket) -> tuple[aiohttp.ClientResponse, Any]:
        """One PATCH: the response and, unless it succeeded, its body (JSON or text)."""
        headers: Any = {}
        try:
            async with self.session.patch(
                url, data=body, headers=self.headers, proxy=self.http.proxy, proxy_auth=self.http.proxy_auth
            ) as response:
                raw = await response.read()  # read whole, so the connection goes back to the pool
                if response.status != 429:  # discord.py does not learn the bucket from a 429 either
                    headers = response.headers
                return response, None if response.status < 300 else _json_or_text(raw, response)
        finally:
            bucket.done(headers)  # however it ended: a request waiting for this one's answer may go on

    def _rate_limited(self, response: aiohttp.ClientResponse, data: Any) -> None:
        if not response.headers.get("Via") or not isinstance(data, dict):
            raise discord.HTTPException(response, data)  # Cloudflare's, not Discord's (as discord.py reads it)
        retry_after = None
        try:
            retry_after = float(data["retry_after"])
        except (KeyError, TypeError, ValueError):
            header = response.headers.get("X-RateLimit-Reset-After") or response.headers.get("Retry-After") or "1"
            retry_after = float(header)
        is_global = response.headers.get("X-RateLimit-Global", "").lower() == "true" or bool(data.get("global"))
        if is_global:
            self.budget.limited(retry_after or 1.0)  # holds the whole budget back, as budget_trace does
        raise RateLimited(retry_after, scope_global=is_global)

    async def _bucket_room(self, channel_id: int) -> _Bucket:
        bucket = self.buckets.get(channel_id)
        if bucket is None:
            self.buckets[channel_id] = bucket = _Bucket()
        while True:
            now = time.monotonic()
            if bucket.reset_at is not None and now >= bucket.reset_at:
                bucket.remaining, bucket.reset_at = bucket.limit - bucket.outgoing, None
            if bucket.remaining > 0:
                bucket.remaining -= 1  # taken before the answer says so: concurrent edits in one channel count
                bucket.outgoing += 1
                return bucket
            if bucket.reset_at is None:  # the first answer, which says the bucket's size, is still on its way
                await bucket.changed.wait()
                continue
            wait = bucket.reset_at - now
            limit = getattr(self.http, "max_ratelimit_timeout", None)
            if limit and wait > limit:
                raise RateLimited(wait)
            await asyncio.sleep(wait)  # the bucket is spent: discord.py waits it out too


class _Bucket:
    """One channel's bucket for message edits, as its answers' headers describe it. Unknown (before the first
    answer), it lets one request go at a time, as discord.py's does."""

    __slots__ = ("changed", "limit", "outgoing", "remaining", "reset_at")

    def __init__(self) -> None:
        self.limit = 1
        self.remaining = 1
        self.reset_at: float | None = None
        self.outgoing = 0  # taken, not answered yet
        self.changed = asyncio.Event()

    def done(self, headers: Any) -> None:
        """A request taken from the bucket has its answer (`headers`, or none to learn from)."""
        self.outgoing -= 1
        remaining, reset_after = headers.get("X-RateLimit-Remaining"), headers.get("X-RateLimit-Reset-After")
        try:
            if remaining is not None and reset_after is not None:
                self.limit = int(headers.get("X-RateLimit-Limit") or self.limit)
                # the answer may not count the requests still on their way: they are taken from it (safe side)
                self.remaining = max(0, int(remaining) - self.outgoing)
                self.reset_at = time.monotonic() + float(reset_after)
        except ValueError:
            pass
        if self.reset_at is None and self.remaining <= 0 and self.outgoing == 0:  # nothing learnt: the next goes
            self.remaining = 1
        self.changed.set()
        self.changed = asyncio.Event()


def _json_or_text(raw: bytes, response: aiohttp.ClientResponse) -> Any:
    text = raw.decode("utf-8", "replace")
    if response.content_type == "application/json":
        try:
            return json.loads(text)
        except ValueError:
            pass
    return text


_paths: weakref.WeakKeyDictionary[Any, EditPath] = weakref.WeakKeyDictionary()


def edit_path(http: Any) -> EditPath | None:
    """The lean edit path of discord.py's HTTP client `http`, or None when it has no budget to keep to (a client
    built without `budget.budget_trace`) or is not logged in: then discord.py's own path is used."""
    path = _paths.get(http)
    if path is not None and path.usable():
        return path
    budget = getattr(getattr(http, "http_trace", None), "hfchat_budget", None)
    connector = getattr(http, "connector", None)
    if not isinstance(budget, Budget) or not isinstance(connector, aiohttp.BaseConnector) or http.token is None:
        return None
    if connector.closed:
        return None
    _paths[http] = path = EditPath(http, budget)
    return path
