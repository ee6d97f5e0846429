"""Slack's rate limits: each method's tier from the Web API reference, token buckets, injected errors."""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.fakes.slack.protocol import _ApiError


@dataclass(frozen=True)
class RateLimit:
    """Token bucket: `burst` calls at once, refilled at `per_second`.

    `per_channel` keys the bucket by channel (chat.postMessage) instead of by workspace
    (chat.update). `retry_after` forces the Retry-After header (e.g. 0 for fast tests).
    """

    per_second: float
    burst: int = 1
    per_channel: bool = False
    retry_after: int | None = None

    @classmethod
    def per_minute(cls, n: int, **kw: Any) -> RateLimit:
        return cls(per_second=n / 60.0, burst=kw.pop("burst", n), **kw)


def default_spec_dir() -> Path:
    """$SLACK_API_REF, else shared/specs/slack-api-ref/ beside the repository (as CI lays it out)."""
    env = os.environ.get("SLACK_API_REF")
    if env:
        return Path(env)
    for base in (Path(__file__).resolve().parents[4], Path("/work")):
        candidate = base / "shared" / "specs" / "slack-api-ref"
        if candidate.exists():
            return candidate
    return Path("/work/shared/specs/slack-api-ref")


# Slack's tiers, per method, per workspace, per app: "N+ per minute", short bursts tolerated. The published
# floor, so a bot that stays clear of 429s here stays clear on Slack (t5 is "special": set by hand below).
TIER_PER_MINUTE = {"t1": 1, "t2": 20, "t3": 50, "t4": 100}


def tier_of(method: str, spec_dir: Path | None = None) -> str:
    """The method's tier as the Web API reference gives it (`rate_limits`: t1-t4, t5 = special)."""
    path = (spec_dir or default_spec_dir()) / "docs.slack.dev" / "methods" / f"{method}.json"
    with open(path, encoding="utf-8") as fh:
        return str(json.load(fh)["rate_limits"])


def tier_limit(method: str) -> RateLimit:
    return RateLimit.per_minute(TIER_PER_MINUTE[tier_of(method)])


DEFAULT_RATE_LIMITS: dict[str, RateLimit] = {
    # Tier 3 (chat.update) and Tier 4 (chat.appendStream), shared by all channels of the workspace
    "chat.update": tier_limit("chat.update"),
    "chat.appendStream": tier_limit("chat.appendStream"),
    # Tier 2: how many native answers may start, and finish, per minute in a workspace
    "chat.startStream": tier_limit("chat.startStream"),
    "chat.stopStream": tier_limit("chat.stopStream"),
    # Tier 3: an agent session's status and title
    "agents.sessions.setStatus": tier_limit("agents.sessions.setStatus"),
    "agents.sessions.rename": tier_limit("agents.sessions.rename"),
    # special: about 1 per second per channel, short bursts allowed
    "chat.postMessage": RateLimit(per_second=1.0, burst=3, per_channel=True),
    # reading history: Tier 3, and far less for apps distributed outside the Marketplace (COMMERCIAL_HISTORY)
    "conversations.history": tier_limit("conversations.history"),
    "conversations.replies": tier_limit("conversations.replies"),
    "conversations.members": tier_limit("conversations.members"),
}
# Since 2025, apps distributed commercially outside the Slack Marketplace get conversations.history and
# conversations.replies at 1 request a minute, and at most 15 items a request (PLATFORM-FACTS.md)
COMMERCIAL_HISTORY_ITEMS = 15
COMMERCIAL_HISTORY = {
    "conversations.history": RateLimit.per_minute(1, burst=1),
    "conversations.replies": RateLimit.per_minute(1, burst=1),
}


@dataclass
class _Injection:
    error: str
    remaining: int
    status: int
    retry_after: int | None
    extra: dict


class RateLimitsMixin:
    """Token buckets per method (and channel), and errors injected by tests."""

    def inject(
        self,
        method: str,
        error: str = "fatal_error",
        *,
        times: int = 1,
        status: int | None = None,
        retry_after: int | None = None,
        **extra: Any,
    ) -> None:
        """Make the next `times` calls of `method` fail with `error`.

        status defaults to 429 for "ratelimited" (with Retry-After, default 1 s), else 200,
        which is how Slack reports most errors. Extra kwargs are merged into the body.
        """
        if status is None:
            status = 429 if error in ("ratelimited", "rate_limited") else 200
        if status == 429 and retry_after is None:
            retry_after = 1
        self._injections[method].append(_Injection(error, times, status, retry_after, extra))

    def _check_injection(self, method: str) -> None:
        queue = self._injections.get(method)
        if not queue:
            return
        inj = queue[0]
        inj.remaining -= 1
        if inj.remaining <= 0:
            queue.pop(0)
        headers = {"Retry-After": str(inj.retry_after)} if inj.retry_after is not None else {}
        raise _ApiError(inj.error, inj.status, headers, **inj.extra)

    def _check_rate_limit(self, method: str, params: dict) -> None:
        limit = self.rate_limits.get(method)
        if limit is None:
            return
        key = (method, params.get("channel") if limit.per_channel else None)
        now = time.monotonic()
        tokens, last = self._buckets.get(key, (float(limit.burst), now))
        tokens = min(float(limit.burst), tokens + (now - last) * limit.per_second)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return
        self._buckets[key] = (tokens, now)
        wait = (1.0 - tokens) / limit.per_second
        retry_after = limit.retry_after if limit.retry_after is not None else max(1, math.ceil(wait))
        raise _ApiError("ratelimited", 429, {"Retry-After": str(retry_after)})
