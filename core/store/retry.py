"""Transient database errors, retried in one place for both backends.

A store method decorated with `@retried` runs again, with exponential backoff and jitter, when its
backend says the error was transient: SQLite's "database is locked" (another connection holds the
write lock past the busy timeout), PostgreSQL's lost or refused connections (server restarted, backend
terminated, pool connection broken), lock timeouts, serialization failures and deadlocks. After
`RetryPolicy.attempts` tries it raises `StoreUnavailable`, which adapters turn into "not stored, send
it again" (or, where the platform redelivers, an error response so it does).

Retrying is only safe when running a method twice has the effect of running it once. Every retried
method is written so: reads and upserts are so by nature; a SQLite error that is retried means the
statement (or its whole transaction) did not run; PostgreSQL inserts carry an id chosen before the
first try (`ON CONFLICT (id) DO NOTHING`) and event claims a token, because a connection lost at the
wrong moment leaves it unknown whether the server committed.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from core.errors import StoreUnavailable
from core.ops import metrics

log = logging.getLogger(__name__)

T = TypeVar("T")

# set while a retried method runs: store methods it calls run once inside it (the outer call retries
# the whole), so attempts never multiply. So a method that takes an id before inserting (PostgreSQL's
# add_message) must not be called from inside another retried one: the outer retry would take a new id.
_RETRYING: contextvars.ContextVar[bool] = contextvars.ContextVar("hfchat_store_retrying", default=False)


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    attempts: int = 8  # tries in all, the first included
    first_delay: float = 0.05  # seconds before the second try; doubles each time
    max_delay: float = 2.0  # ... up to this (about 5 s of waiting in all with the defaults)

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (1 = the second try), with jitter."""
        ceiling = min(self.first_delay * 2 ** (retry - 1), self.max_delay)
        return ceiling * random.uniform(0.5, 1.0)


DEFAULT_POLICY = RetryPolicy()


async def run_with_retries(
    operation: Callable[[], Awaitable[T]],
    *,
    is_transient: Callable[[BaseException], bool],
    policy: RetryPolicy = DEFAULT_POLICY,
    backend: str,
    what: str,
) -> T:
    """Await `operation()`; on a transient error wait and try again, up to `policy.attempts` tries."""
    if _RETRYING.get():
        return await operation()
    token = _RETRYING.set(True)
    try:
        for attempt in range(1, policy.attempts + 1):
            try:
                return await operation()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if attempt >= policy.attempts:
                    metrics.STORE_UNAVAILABLE.labels(backend).inc()
                    log.error("database %s failed %d times (%s); giving up", what, attempt, type(exc).__name__)
                    raise StoreUnavailable(what, exc) from exc
                pause = policy.delay(attempt)
                metrics.STORE_RETRIES.labels(backend).inc()
                log.warning(
                    "database %s failed (%s); retry %d/%d in %.2fs",
                    what,
                    type(exc).__name__,
                    attempt,
                    policy.attempts - 1,
                    pause,
                )
                await asyncio.sleep(pause)
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
    finally:
        _RETRYING.reset(token)


def retried(method: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """Retry a store method on its backend's transient errors (`self.is_transient`, `self.retry_policy`)."""

    @functools.wraps(method)
    async def wrapper(self: Any, *args: Any, **kwargs: Any) -> T:
        return await run_with_retries(
            lambda: method(self, *args, **kwargs),
            is_transient=self.is_transient,
            policy=self.retry_policy,
            backend=self.backend,
            what=method.__name__,
        )

    return wrapper
