"""Where the event -> request time goes, step by step (`python -m bench.overhead --steps`): an opt-in breakdown.

Wraps, on the bench's own instances only, the core services' steps on the path (the event claims, routing, intake,
the conversation lock, the answer's reads, planning, the reply row), every coroutine method of the store, and on
SQLite each trip to aiosqlite's worker thread, recording (name, start, end) spans. The bench's samples run one at a
time, so each span belongs to the sample in flight: `harvest(t0, request_at)` takes the spans that started between
the event and its router request, and each step's per-event sum and number of calls become one sample of it.

The wrapping costs a few microseconds per call; compare rows measured with `--steps` with each other only.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import statistics
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

SERVICE_STEPS = (  # (object path on the Core, method, label)
    ("chat.claims", "claim", "claim (event id, msg:)"),
    ("chat.claims", "claim_all", "claim (event id, msg:)"),  # the Slack claims in one call, where it exists
    ("chat.routing", "route", "route"),
    ("chat.intake", "take", "intake (conversation, settings, limits, insert)"),
    ("chat.memory", "note_if_asked", "memory note"),
    ("chat.pipeline", "read", "answer reads (history + settings)"),
    ("chat.pipeline", "plan", "plan"),
    ("chat.pipeline", "_reply_row", "reply row insert (beside the request)"),
)


def _nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


@dataclass
class StepTimer:
    spans: list[tuple[str, float, float]] = field(default_factory=list)
    # per step: one value per sample (ms summed over its calls) and its number of calls
    per_sample: dict[str, list[float]] = field(default_factory=dict)
    calls: dict[str, list[int]] = field(default_factory=dict)
    samples: int = 0

    def _wrap(self, owner: Any, attr: str, label: str) -> None:
        method = getattr(owner, attr, None)
        if method is None or not inspect.iscoroutinefunction(method):
            return
        spans = self.spans

        async def timed(*args, **kwargs):
            start = time.monotonic()
            try:
                return await method(*args, **kwargs)
            finally:
                spans.append((label, start, time.monotonic()))

        setattr(owner, attr, timed)

    def _wrap_lock(self, store: Any) -> None:
        lock = store.conversation_lock
        spans = self.spans

        @contextlib.asynccontextmanager
        async def timed_lock(conversation_id: int) -> AsyncIterator[None]:
            start = time.monotonic()
            async with lock(conversation_id):
                spans.append(("conversation lock taken", start, time.monotonic()))
                yield

        store.conversation_lock = timed_lock

    def instrument(self, core: Any) -> None:
        for path, attr, label in SERVICE_STEPS:
            owner = core
            for part in path.split("."):
                owner = getattr(owner, part)
            self._wrap(owner, attr, label)
        store = core.store
        for name in dir(type(store)):
            if name.startswith("__") or name in ("open", "close", "listen", "notify"):
                continue
            if inspect.iscoroutinefunction(getattr(type(store), name, None)):
                self._wrap(store, name, f"store.{name}")
        self._wrap_lock(store)
        db = getattr(store, "_db", None)
        if db is not None:  # SQLite: each trip to aiosqlite's worker thread
            self._wrap(db, "_execute", "aiosqlite thread trips")

    def instrument_adapter(self, adapter: Any) -> None:
        """Slack: who the person is (users.info, cached) is asked on the path too."""
        self._wrap(adapter, "actor", "slack: actor (users.info, cached)")

    def harvest(self, t0: float, request_at: float | None, measured: bool) -> None:
        """The spans that started between the event and its request are this sample's; the rest are dropped."""
        spans, self.spans[:] = list(self.spans), []
        if not measured or request_at is None:
            return
        self.samples += 1
        sums: dict[str, float] = {}
        counts: dict[str, int] = {}
        for label, start, end in spans:
            if t0 <= start < request_at:
                sums[label] = sums.get(label, 0.0) + (end - start) * 1000
                counts[label] = counts.get(label, 0) + 1
        for label in set(self.per_sample) | set(sums):
            self.per_sample.setdefault(label, [0.0] * (self.samples - 1)).append(sums.get(label, 0.0))
            self.calls.setdefault(label, [0] * (self.samples - 1)).append(counts.get(label, 0))

    def summary(self) -> dict[str, dict]:
        """Per step, in path order: the intervals, the services' steps, then the store's calls."""
        order = {label: i for i, (_, _, label) in enumerate(SERVICE_STEPS)}

        def rank(label: str) -> tuple:
            kind = 0 if label.startswith("=") else 1 if label in order or label.startswith("slack") else 2
            return (kind, order.get(label, 99), label)

        out = {}
        for label in sorted(self.per_sample, key=rank):
            values = self.per_sample[label]
            out[label] = {
                "mean_ms": round(statistics.fmean(values), 3),
                "p99_ms": round(_nearest_rank(values, 99), 3),
                "calls_per_event": round(statistics.fmean(self.calls[label]), 2),
            }
        return out


def steps_markdown(rows: list[dict]) -> str:
    """One table per row that carries steps: mean / p99 ms per event and calls per event."""
    lines: list[str] = []
    for row in rows:
        steps = row.get("steps")
        if not steps:
            continue
        lines += [
            "",
            "",
            f"Steps, {row['path']} / {row['backend']} / {row['messages']:,} messages "
            f"({row['samples']} samples; total p50 {row['total_p50_ms']} / p99 {row['total_p99_ms']} ms):",
            "",
            "| step | mean ms | p99 ms | calls per event |",
            "|---|---:|---:|---:|",
        ]
        for label, s in steps.items():
            lines.append(f"| {label} | {s['mean_ms']:.2f} | {s['p99_ms']:.2f} | {s['calls_per_event']:.2f} |")
    return "\n".join(lines)
