"""Prometheus metrics, served with a health check by core.ops.http when METRICS_PORT is set.

The core and the adapters update the counters below; labels are platform names, call kinds and
statuses only (never a user, channel or text). The registry is this module's own, so several cores in
one process (tests) simply add up.
"""

from __future__ import annotations

import logging
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)

log = logging.getLogger(__name__)

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

EVENTS = Counter(
    "hfchat_events", "Platform events, commands and interactions received", ["platform", "kind"], registry=REGISTRY
)
DUPLICATE_EVENTS = Counter(
    "hfchat_duplicate_events", "Redelivered events dropped (another delivery was answered)", ["platform"],
    registry=REGISTRY,
)  # fmt: skip
ANSWERS = Counter("hfchat_answers", "Answers finished, by final status", ["platform", "status"], registry=REGISTRY)
TOKENS = Counter("hfchat_tokens", "Tokens the router reported, prompt or completion", ["platform", "kind"],
                 registry=REGISTRY)  # fmt: skip
FIRST_TOKEN = Histogram(
    "hfchat_time_to_first_token_seconds",
    "From the request to the router to the first token",
    ["platform"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32, 64),
    registry=REGISTRY,
)
PLATFORM_CALLS = Counter(
    "hfchat_platform_calls", "Messages posted, edited or appended to while streaming", ["platform", "call"],
    registry=REGISTRY,
)  # fmt: skip
RATE_LIMITED = Counter("hfchat_platform_rate_limited", "429 answers from the platform", ["platform"],
                       registry=REGISTRY)  # fmt: skip
PLATFORM_FAILURES = Counter("hfchat_platform_failures", "Failed platform calls (5xx, network)", ["platform"],
                            registry=REGISTRY)  # fmt: skip
ACTIVE_STREAMS = Gauge("hfchat_active_streams", "Answers being written now", ["platform"], registry=REGISTRY)
INTERRUPTED = Counter("hfchat_interrupted_answers", "Answers found cut short by a dead process", registry=REGISTRY)
STORE_RETRIES = Counter("hfchat_store_retries", "Database calls retried after a transient error", ["backend"],
                        registry=REGISTRY)  # fmt: skip
STORE_UNAVAILABLE = Counter("hfchat_store_unavailable", "Database calls given up after every retry", ["backend"],
                            registry=REGISTRY)  # fmt: skip
CHECKPOINTS = Counter("hfchat_answer_checkpoints", "Partial answers saved while streaming", ["platform"],
                      registry=REGISTRY)  # fmt: skip


def event_received(platform: str, kind: str) -> None:
    EVENTS.labels(platform, kind or "unknown").inc()


def duplicate_dropped(platform: str) -> None:
    DUPLICATE_EVENTS.labels(platform).inc()


def answer_finished(platform: str, state: Any, stats: Any) -> None:
    """Record one finished answer: a core.streaming ReplyState and its RenderStats."""
    ANSWERS.labels(platform, str(state.status)).inc()
    if state.prompt_tokens:
        TOKENS.labels(platform, "prompt").inc(state.prompt_tokens)
    if state.completion_tokens:
        TOKENS.labels(platform, "completion").inc(state.completion_tokens)
    if state.first_token_ms is not None:
        FIRST_TOKEN.labels(platform).observe(state.first_token_ms / 1000)
    for call in ("posts", "edits", "appends"):
        if count := getattr(stats, call, 0):
            PLATFORM_CALLS.labels(platform, call.removesuffix("s")).inc(count)
    if stats.rate_limited:
        RATE_LIMITED.labels(platform).inc(stats.rate_limited)
    if stats.failures:
        PLATFORM_FAILURES.labels(platform).inc(stats.failures)


def render() -> bytes:
    return generate_latest(REGISTRY)
