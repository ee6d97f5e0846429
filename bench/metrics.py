"""Staleness, time to first visible text and completeness from what the fakes recorded (pure functions).

A stream is `tokens` = [(arrival time, answer offset where the token ends)] and `timeline` = [(time, how many
characters of the answer the platform showed)], both in time.monotonic() seconds.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def percentile(values: Sequence[float], p: float) -> float | None:
    """Nearest-rank percentile (p in 0..100); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def staleness(tokens: Sequence[Sequence[float]], timeline: Sequence[Sequence[float]]) -> list[float | None]:
    """For each token: seconds from its arrival to the first update showing the answer up to its end
    (None if no update ever did)."""
    out: list[float | None] = []
    points = sorted(timeline)
    shown, i = 0, 0
    for arrival, end in tokens:
        while shown < end and i < len(points):
            shown = max(shown, points[i][1])
            i += 1
        if shown < end:
            out.append(None)
            continue
        out.append(max(0.0, points[i - 1][0] - arrival))
    return out


def first_visible(tokens: Sequence[Sequence[float]], timeline: Sequence[Sequence[float]]) -> float | None:
    """Seconds from the first token's arrival to the first update showing any of the answer."""
    if not tokens:
        return None
    for t, shown in sorted(timeline):
        if shown > 0:
            return max(0.0, t - tokens[0][0])
    return None


def summarize(streams: Iterable[dict]) -> dict:
    """Pooled over all streams: staleness of every token and time to first visible text, p50 and p99."""
    stale: list[float] = []
    firsts: list[float] = []
    per_stream: list[float] = []  # each stream's median staleness
    missing = tokens = complete = count = 0
    for stream in streams:
        count += 1
        complete += bool(stream.get("complete"))
        values = staleness(stream["tokens"], stream["timeline"])
        tokens += len(values)
        shown = [v for v in values if v is not None]
        stale += shown
        missing += len(values) - len(shown)
        stale += [math.inf] * (len(values) - len(shown))  # a token never shown waited forever
        if values:
            per_stream.append(percentile([math.inf if v is None else v for v in values], 50))
        first = first_visible(stream["tokens"], stream["timeline"])
        if first is not None:
            firsts.append(first)
    return {
        "streams": count,
        "tokens": tokens,
        "complete": complete,
        "never_shown_tokens": missing,
        "staleness_p50": percentile(stale, 50),
        "staleness_p99": percentile(stale, 99),
        "staleness_max": max(stale) if stale else None,  # inf when a token was never shown
        "first_visible_p50": percentile(firsts, 50),
        "first_visible_p99": percentile(firsts, 99),
        "stream_p50_min": min(per_stream) if per_stream else None,
        "stream_p50_median": percentile(per_stream, 50),
        "stream_p50_max": max(per_stream) if per_stream else None,
        # 1 when every stream is equally stale (a shared budget degrades everyone alike), 1/n when one stream
        # takes all the waiting
        "evenness": jain(per_stream) if all(math.isfinite(v) for v in per_stream) else 0.0,
    }


def jain(values: Sequence[float]) -> float | None:
    """Jain's fairness index of an allocation: 1 when everyone gets the same, 1/n when one gets everything."""
    if not values or not any(values):
        return None
    return sum(values) ** 2 / (len(values) * sum(v * v for v in values))


def ratio(measured: float | None, reference: float | None, floor: float = 0.01) -> float | None:
    """measured / reference; None when either is unknown or the reference is below `floor` seconds (a ratio to
    almost nothing says nothing)."""
    if measured is None or reference is None or reference < floor:
        return None
    return measured / reference
