"""Discord's rate limits (per route and major parameter, and the global one) and injected faults."""

from __future__ import annotations

import hashlib
import math
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from tests.fakes.discord.http import _json
from tests.fakes.discord.records import RecordedRequest

# (method, route) -> (limit, per seconds). Keyed per major parameter (channel id), like Discord.
DEFAULT_RATE_LIMITS: dict[tuple[str, str], tuple[int, float]] = {
    ("POST", "/channels/{channel_id}/messages"): (5, 5.0),
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): (5, 5.0),
}
# How the global limit counts: "sliding" (no `per` seconds ever hold more than `limit` requests: the strictest
# reading, stricter than any fixed window) or "fixed" (windows of `per` seconds aligned on the clock, the count
# starting afresh at each: a bot can get 2 x limit through around a boundary, and one that paces only for a
# kinder alignment is caught by the other mode)
GLOBAL_WINDOWS = ("sliding", "fixed")
_MAJOR_PARAMS = ("channel_id", "guild_id", "webhook_id", "webhook_token", "interaction_id", "interaction_token")


@dataclass
class RateLimitRule:
    limit: int
    per: float
    bucket: str = ""


@dataclass
class _Window:
    reset_at: float
    remaining: int


@dataclass
class _Injection:
    method: str | None
    route: str | None
    count: int
    status: int
    retry_after: float = 0.0
    is_global: bool = False
    scope: str = "user"
    body: Any = None


class RateLimitsMixin:
    """Buckets with Discord's headers, the global limit, and 429s or errors injected by tests."""

    def set_rate_limit(self, method: str, route: str, limit: int, per: float) -> None:
        bucket = hashlib.md5(f"{method} {route}".encode()).hexdigest()
        self.rate_limits[(method.upper(), route)] = RateLimitRule(limit, per, bucket)

    def inject_429(
        self,
        method: str | None = None,
        route: str | None = None,
        *,
        count: int = 1,
        retry_after: float = 0.1,
        is_global: bool = False,
        scope: str = "user",
    ) -> None:
        """Answer the next `count` matching requests with 429 (route: template or path; None = any)."""
        self._injections.append(
            _Injection(
                method and method.upper(), route, count, 429, retry_after, is_global, "global" if is_global else scope
            )
        )

    def inject_error(
        self,
        method: str | None = None,
        route: str | None = None,
        *,
        status: int = 500,
        count: int = 1,
        body: Any = None,
    ) -> None:
        """Answer the next `count` matching requests with `status` (discord.py retries 500/502/504/524)."""
        self._injections.append(_Injection(method and method.upper(), route, count, status, body=body))

    def _take_injection(self, rec: RecordedRequest) -> _Injection | None:
        for inj in self._injections:
            if inj.count > 0 and self._matches(rec, inj.method, inj.route):
                inj.count -= 1
                if inj.count == 0:
                    self._injections.remove(inj)
                return inj
        return None

    def _rate_limit(
        self, method: str, route: str, params: dict[str, str], *, consume: bool = True
    ) -> tuple[dict[str, str], float | None]:
        """Consume a token (unless consume=False); return (headers, retry_after if exhausted)."""
        rule = self.rate_limits.get((method, route))
        if rule is None:
            limit, per = self.default_rate_limit
            rule = RateLimitRule(limit, per, hashlib.md5(f"{method} {route}".encode()).hexdigest())
        major = "+".join(params[k] for k in _MAJOR_PARAMS if k in params)
        now = time.monotonic()
        window = self._windows.get((rule.bucket, major))
        if window is None or now >= window.reset_at:
            window = self._windows[(rule.bucket, major)] = _Window(now + rule.per, rule.limit)
        reset_after = window.reset_at - now
        retry_after = None
        if window.remaining <= 0:
            retry_after = reset_after
        elif consume:
            window.remaining -= 1
        # Round up so a client that waits exactly Reset-After never arrives early.
        reset_after = math.ceil(reset_after * 1000) / 1000
        headers = {
            "X-RateLimit-Limit": str(rule.limit),
            "X-RateLimit-Remaining": str(window.remaining),
            "X-RateLimit-Reset": f"{time.time() + reset_after:.3f}",
            "X-RateLimit-Reset-After": f"{reset_after:.3f}",
            "X-RateLimit-Bucket": rule.bucket,
        }
        return headers, retry_after

    def _global_limit(self) -> float | None:
        """Count one request against the bot's global limit; the seconds to wait if it is spent."""
        if self.global_rate_limit is None:
            return None
        limit, per = self.global_rate_limit
        now = self.clock()
        if self.global_window == "fixed":
            start = math.floor(now / per) * per
            if start != self._global_fixed_start:
                self._global_fixed_start, self._global_fixed_count = start, 0
            if self._global_fixed_count >= limit:
                return start + per - now
            self._global_fixed_count += 1
            self.global_counted.append(now)
            return None
        recent: deque[float] = self._global_recent
        while recent and recent[0] <= now - per:
            recent.popleft()
        if len(recent) >= limit:
            return recent[0] + per - now
        recent.append(now)
        self.global_counted.append(now)
        return None

    @staticmethod
    def _too_many(
        retry_after: float, headers: dict[str, str], *, is_global: bool = False, scope: str = "user"
    ) -> web.Response:
        retry_after = math.ceil(retry_after * 1000) / 1000
        headers = {**headers, "Retry-After": str(max(1, math.ceil(retry_after))), "X-RateLimit-Scope": scope}
        if is_global:
            headers["X-RateLimit-Global"] = "true"
        body = {"message": "You are being rate limited.", "retry_after": retry_after, "global": is_global}
        return _json(body, status=429, headers=headers)
