"""Bounds: what an ideal scheduler could show under the same platform rules and the same token arrival times.

The ideal scheduler is simulated, not run: it has no network or processing latency, sees each chunk the
instant the router wrote it, and never gets a 429 because it knows every limit's state. It is online (it does
not know when an answer will end or what arrives next) and follows the two policies that are optimal for it:

- a limit with a fixed window (Discord: 5 requests per 5 s per channel for creates, the same for edits, 50
  per second for the whole bot): spend it evenly, one request every window/limit seconds. With m updates over
  a stream of D seconds no schedule gets its p-quantile staleness under p*D/m (the tokens waiting in each gap
  are at most the gap), and even spacing reaches that; spending a window eagerly leaves a hole at its end.
- whenever several streams want the same shared budget (Discord's global limit, Slack's per-workspace tiers,
  Slack's per-channel chat.postMessage bucket): earliest deadline first, the stream whose oldest unshown token
  is oldest goes first.

A stream may also need a place opened before its first message (a Discord thread: `opens_at`, when the request
that asks for it arrived): that request is paid from the rules whose kinds include "open" (the global limit), at
that time at the earliest and before the stream's first message.

The rules come from the fakes' own tables (DEFAULT_RATE_LIMITS of tests/fakes/discord and tests/fakes/slack,
and FakeDiscord's global limit), so the bound and the fake platform cannot disagree. Every figure is printed
beside its bound as a ratio.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from tests.fakes.discord import DEFAULT_RATE_LIMITS as DISCORD_RATE_LIMITS
from tests.fakes.slack import DEFAULT_RATE_LIMITS as SLACK_RATE_LIMITS

CREATE_ROUTE = ("POST", "/channels/{channel_id}/messages")
EDIT_ROUTE = ("PATCH", "/channels/{channel_id}/messages/{message_id}")
DISCORD_GLOBAL = (50, 1.0)  # FakeDiscord's default global_rate_limit


@dataclass(frozen=True)
class FixedWindow:
    limit: int
    per: float


@dataclass(frozen=True)
class TokenBucket:
    rate: float  # per second
    burst: float


@dataclass(frozen=True)
class Rule:
    name: str
    # "open" (a place for the answer: a thread), "create" (first message), "edit" (an update while streaming),
    # "final" (the last one)
    kinds: frozenset[str]
    scope: str  # "channel" or "global" (the bot, or the workspace)
    limiter: FixedWindow | TokenBucket
    # rules of one group are alternatives: a request goes when any one of them allows it, and spends that one
    # (Slack's two ways to show an answer, native streaming or post + update); "" = a rule every request obeys
    group: str = ""

    def describe(self) -> str:
        where = "per channel" if self.scope == "channel" else "shared"
        if isinstance(self.limiter, FixedWindow):
            return f"{self.name}: {self.limiter.limit} per {self.limiter.per:g} s {where}"
        per_minute = self.limiter.rate * 60
        return f"{self.name}: {per_minute:g}/min {where}, burst {self.limiter.burst:g}"


def platform_rules(
    path: str,
    *,
    discord_global: bool = True,
    per_channel_only: bool = False,
    sustained: bool = False,
    global_rate: float | None = None,
) -> list[Rule]:
    """The limits a path's fake enforces on answer messages. `per_channel_only` drops the shared ones;
    `global_rate` replaces Discord's 50 per fixed second by an even pace of that many a second (a scheduler that
    keeps a margin under the limit, as the bot does);
    `sustained` takes the bursts out of token buckets (a run long enough that a minute's burst is no help)."""
    rules: list[Rule] = []
    if path == "discord":
        create = DISCORD_RATE_LIMITS[CREATE_ROUTE]
        edit = DISCORD_RATE_LIMITS[EDIT_ROUTE]
        rules.append(Rule("message create", frozenset({"create"}), "channel", FixedWindow(*create)))
        rules.append(Rule("message edit", frozenset({"edit", "final"}), "channel", FixedWindow(*edit)))
        if discord_global:
            kinds = frozenset({"open", "create", "edit", "final"})
            limiter = FixedWindow(*DISCORD_GLOBAL) if global_rate is None else TokenBucket(global_rate, 1)
            rules.append(Rule("global", kinds, "global", limiter))
    elif path == "slack-any":
        # either way, per request: a relaxation (an answer posted could still be appended to), so what an ideal
        # scheduler reaches here bounds every scheduler that mixes the two paths under the same tiers
        ways = {
            "create": ("chat.startStream", "chat.postMessage"),
            "edit": ("chat.appendStream", "chat.update"),
            "final": ("chat.stopStream", "chat.update"),
        }
        for kind, methods_of_kind in ways.items():
            for method in methods_of_kind:
                limit = SLACK_RATE_LIMITS[method]
                scope = "channel" if limit.per_channel else "global"
                burst = 1 if sustained else limit.burst
                bucket = TokenBucket(limit.per_second, burst)
                rules.append(Rule(method, frozenset({kind}), scope, bucket, group=kind))
    else:
        methods = (
            {"chat.postMessage": {"create"}, "chat.update": {"edit", "final"}}
            if path == "slack-edits"
            else {"chat.startStream": {"create"}, "chat.appendStream": {"edit"}, "chat.stopStream": {"final"}}
        )
        for method, kinds in methods.items():
            limit = SLACK_RATE_LIMITS.get(method)
            if limit is None:
                continue
            scope = "channel" if limit.per_channel else "global"
            burst = 1 if sustained else limit.burst
            rules.append(Rule(method, frozenset(kinds), scope, TokenBucket(limit.per_second, burst)))
    if per_channel_only:
        rules = [r for r in rules if r.scope == "channel"]
    return rules


class _Limiter:
    """One rule's state for one key (a channel, or everything); `spacing` is the scheduler's own pacing."""

    def __init__(self, limiter: FixedWindow | TokenBucket, spacing: float):
        self.limiter = limiter
        self.spacing = spacing
        self.reset_at = -math.inf
        self.remaining = 0.0
        self.last = -math.inf
        self.tokens = float(limiter.burst) if isinstance(limiter, TokenBucket) else 0.0
        self.updated: float | None = None

    def allows(self, t: float, paced: bool = True) -> bool:
        rule = self.limiter
        if paced and t < self.last + self.spacing - 1e-9:
            return False
        if isinstance(rule, FixedWindow):
            return t >= self.reset_at or self.remaining >= 1
        if self.updated is not None:
            self.tokens = min(rule.burst, self.tokens + (t - self.updated) * rule.rate)
        self.updated = t
        return self.tokens >= 1

    def ready_at(self, t: float, paced: bool = True) -> float:
        """The earliest time this limiter could allow a request (t if it does now)."""
        rule = self.limiter
        ready = max(t, self.last + self.spacing) if paced else t
        if isinstance(rule, FixedWindow):
            if self.remaining < 1 and t < self.reset_at:
                ready = max(ready, self.reset_at)
        elif self.tokens < 1:
            ready = max(ready, (self.updated or t) + (1 - self.tokens) / rule.rate)
        return ready

    def take(self, t: float) -> None:
        rule = self.limiter
        if isinstance(rule, FixedWindow):
            if t >= self.reset_at:
                self.reset_at, self.remaining = t + rule.per, rule.limit
            self.remaining -= 1
        else:
            self.tokens -= 1
        self.last = t


def simulate(
    streams: list[dict],
    rules: list[Rule],
    *,
    spacing: dict[str, float] | None = None,
    creates_first: bool = False,
    finals_first: bool = False,
    asks_on_open: float | None = None,
    messages_before_places: bool = False,
    step: float = 0.005,
) -> list[list[tuple[float, int]]]:
    """One ideal scheduler's timeline for each stream ({"channel", "tokens": [(arrival, end)]}, optionally
    "opens_at": when its place may be opened), in the shape bench.metrics expects: [(time, characters shown)].
    `spacing` overrides a rule's pacing by name (default: window/limit for fixed windows, none for token buckets);
    `creates_first` serves places and first messages before updates (best for time to first text), `finals_first`
    serves the answers whose last token has arrived before the others' updates, instead of strict
    oldest-token-first. `asks_on_open` (seconds): the model is asked when the place opens, as the bot does, so a
    stream's tokens arrive as they did, moved to begin that long after the place opens here (a place opened
    sooner brings its tokens sooner): each such stream's "tokens" is replaced, in place, by the moved arrivals.
    `messages_before_places`: a message that can go (a first text, an update) goes before a place still to open,
    whatever their ages (with `creates_first`, the bot's order: first texts, then threads, then updates)."""
    spacing = spacing or {}
    timelines: list[list[tuple[float, int]]] = [[] for _ in streams]
    limiters: dict[tuple[int | str, str], _Limiter] = {}
    live = [i for i, s in enumerate(streams) if s["tokens"]]
    if not live:
        return timelines
    arrived = dict.fromkeys(live, 0)  # tokens arrived so far
    oldest = dict.fromkeys(live, 0)  # first token not yet shown
    shown = dict.fromkeys(live, 0)
    posted: set[int] = set()
    unopened = {i for i in live if streams[i].get("opens_at") is not None}  # a place to open before posting
    t = min(streams[i]["tokens"][0][0] if i not in unopened else streams[i]["opens_at"] for i in live)
    end_time = max(streams[i]["tokens"][-1][0] for i in live) + 3600
    while live and t <= end_time:
        waiting = []
        for i in live:
            tokens = streams[i]["tokens"]
            while arrived[i] < len(tokens) and tokens[arrived[i]][0] <= t:
                arrived[i] += 1
            if (i in unopened and streams[i]["opens_at"] <= t) or (arrived[i] and tokens[arrived[i] - 1][1] > shown[i]):
                waiting.append(i)
        waiting.sort(
            key=lambda i: (
                creates_first and i in posted,
                finals_first and arrived[i] < len(streams[i]["tokens"]),
                messages_before_places and i in unopened,
                streams[i]["opens_at"] if i in unopened else streams[i]["tokens"][oldest[i]][0],
            )
        )
        finished = []
        blocked_until = math.inf  # when the first refused request could go
        for i in waiting:
            tokens = streams[i]["tokens"]
            if i in unopened:
                kind = "open"
            else:
                kind = "create" if i not in posted else ("final" if arrived[i] == len(tokens) else "edit")
            groups: dict[str, list[_Limiter]] = {}
            for r, rule in enumerate(rules):
                if kind in rule.kinds:
                    # a method that is an alternative for several kinds (chat.update) is one budget for all of them
                    key = (rule.name if rule.group else r, streams[i]["channel"] if rule.scope == "channel" else "")
                    limiter = limiters.get(key)
                    if limiter is None:
                        default = rule.limiter.per / rule.limiter.limit if isinstance(rule.limiter, FixedWindow) else 0
                        limiter = limiters[key] = _Limiter(rule.limiter, spacing.get(rule.name, default))
                    groups.setdefault(rule.group or f"#{r}", []).append(limiter)
            paced = kind != "final"  # an answer's last update goes when the limits allow, not on the pacing
            chosen, ready = [], t
            for alternatives in groups.values():
                pick = next((limiter for limiter in alternatives if limiter.allows(t, paced)), None)
                if pick is None:
                    ready = max(ready, min(limiter.ready_at(t, paced) for limiter in alternatives))
                else:
                    chosen.append(pick)
            if len(chosen) < len(groups):
                blocked_until = min(blocked_until, ready)
                continue
            for limiter in chosen:
                limiter.take(t)
            if kind == "open":  # the place exists from now: its first message may go from the next step
                unopened.discard(i)
                if asks_on_open is not None:
                    shift = t + asks_on_open - tokens[0][0]
                    streams[i]["tokens"] = [(at + shift, end) for at, end in tokens]
                blocked_until = min(blocked_until, t + step)
                continue
            posted.add(i)
            shown[i] = tokens[arrived[i] - 1][1]
            while oldest[i] < len(tokens) and tokens[oldest[i]][1] <= shown[i]:
                oldest[i] += 1
            timelines[i].append((t, shown[i]))
            if oldest[i] == len(tokens):
                finished.append(i)
        for i in finished:
            live.remove(i)
        # nothing changes before the next arrival or the next request a limit lets through: jump there
        arrivals = [streams[i]["tokens"][arrived[i]][0] for i in live if arrived[i] < len(streams[i]["tokens"])]
        arrivals += [streams[i]["opens_at"] for i in unopened if streams[i]["opens_at"] > t]
        t = max(t + step, min([*arrivals, blocked_until]) if live else t + step)
    return timelines


def candidates(streams: list[dict], rules: list[Rule]) -> list[dict]:
    """The schedulers the bound is the best of: oldest token first, first messages first and/or final texts
    first, and for each shared token bucket several paces for the updates in between: eager, its sustainable
    rate or fractions of it, and even over the run keeping one request per stream for its final text (that one
    knows how long the run is). Final texts are never held to a pace, only to the limits."""
    arrivals = [t for s in streams for t, _ in s["tokens"][:1] + s["tokens"][-1:]]
    span = (max(arrivals) - min(arrivals)) if arrivals else 0.0
    choices: list[dict[str, float]] = [{}]
    edits = [r for r in rules if r.group == "edit" and isinstance(r.limiter, TokenBucket)]
    if edits:  # alternatives: the updates' pace chosen for both ways at once (a fraction of each one's rate)
        choices = [{r.name: f / r.limiter.rate for r in edits} for f in (0.0, 0.25, 0.5, 1.0)]
        budget = sum(r.limiter.burst + r.limiter.rate * span for r in edits)
        even = span / max(1.0, budget - len(streams))  # the two budgets together spent evenly over the run
        choices.append({r.name: even * len(edits) for r in edits})
    for rule in rules:
        if rule.group:
            continue
        if rule.scope == "global" and isinstance(rule.limiter, TokenBucket):
            bucket = rule.limiter
            even = span / max(1.0, bucket.burst + bucket.rate * span - len(streams))
            spacings = sorted({0.0, even, 0.25 / bucket.rate, 0.5 / bucket.rate, 1 / bucket.rate})
            choices = [{**c, rule.name: v} for c in choices for v in spacings]
    orders = ({}, {"creates_first": True}, {"finals_first": True}, {"creates_first": True, "finals_first": True})
    return [{"spacing": c, **order} for c in choices for order in orders]


def best(
    streams: list[dict], rules: list[Rule], *, first_texts_first: bool = False, asks_on_open: float | None = None
) -> dict:
    """Each figure at its best over the candidate ideal schedulers (bench.metrics.summarize's keys).

    `first_texts_first`: only the schedulers that serve what a first text needs (its place, then the message) and
    final texts before any update, the order issue 19 asks of the bot; each is tried with the model asked at the
    mention's tokens as recorded and, with `asks_on_open`, moved to when the place opens (see `simulate`), and the
    best of both is kept: the least any scheduler keeping that order was found to reach."""
    from bench.metrics import summarize

    results = []
    for options in candidates(streams, rules):
        if first_texts_first and not (options.get("creates_first") and options.get("finals_first")):
            continue
        for moved in (None, asks_on_open) if first_texts_first and asks_on_open is not None else (None,):
            here = [{**s, "tokens": list(s["tokens"])} for s in streams]
            timelines = simulate(here, rules, asks_on_open=moved, **options)
            pairs = zip(here, timelines, strict=True)
            results.append(summarize({"tokens": s["tokens"], "timeline": t, "complete": True} for s, t in pairs))
    out = {}
    for key in ("staleness_p50", "staleness_p99", "first_visible_p50", "first_visible_p99"):
        values = [r[key] for r in results if r[key] is not None]
        out[key] = min(values) if values else None
    # how evenly the scheduler with the best p99 spreads the waiting (evenness has no "best" of its own: all
    # streams equally stale for minutes would score 1)
    ranked = [r for r in results if r["staleness_p99"] is not None]
    out["evenness"] = min(ranked, key=lambda r: r["staleness_p99"])["evenness"] if ranked else None
    return out


ORDERS = {
    # name: simulate's options; every order serves final texts before updates except the first, which is strict
    # oldest-token-first (the bound's best p99)
    "oldest first": {},
    "threads, first texts, then updates": {"creates_first": True, "finals_first": True},
    "first texts, threads, then updates": {"creates_first": True, "finals_first": True, "messages_before_places": True},
}


def order_tradeoffs(streams: list[dict], rates: tuple[float | None, ...], ttft: float) -> list[dict]:
    """What each order (ORDERS) costs an ideal scheduler on these arrivals (each stream with its `opens_at`, the model
    asked when its place opens: `ttft`), at each global rate (None: Discord's 50 per fixed second): p99 staleness
    and first visible text from when the place was asked for, p50 and max. One schedule per order and rate, not the
    best of several paces: a trade-off to compare orders by, not a bound."""
    from bench.metrics import percentile, summarize

    out = []
    for rate in rates:
        rules = platform_rules("discord", global_rate=rate)
        for name, options in ORDERS.items():
            here = [{**s, "tokens": list(s["tokens"])} for s in streams]
            timelines = simulate(here, rules, asks_on_open=ttft, **options)
            pairs = list(zip(here, timelines, strict=True))
            found = summarize({"tokens": s["tokens"], "timeline": t, "complete": True} for s, t in pairs)
            firsts = [min(at for at, chars in t if chars > 0) - s["opens_at"] for s, t in pairs if t]
            out.append(
                {
                    "rate": rate,
                    "order": name,
                    "staleness_p99": found["staleness_p99"],
                    "first_p50": percentile(firsts, 50),
                    "first_max": max(firsts) if firsts else None,
                }
            )
    return out


def bound_streams(data: dict) -> list[dict]:
    """The simulator's input from a run's collected data: each stream's channel and token arrivals."""
    out = []
    for stream in data["streams"]:
        target = stream["target"]
        out.append({"channel": target.get("thread") or target.get("channel") or "", "tokens": stream["tokens"]})
    return out


def first_text_bound(mentions: list[float], ttft: float, rate: float, requests: int = 2) -> dict:
    """The earliest first visible text for answers asked at `mentions` (seconds) when each needs `requests` requests
    of one budget of `rate` a second before it shows (a Discord thread, then its first message), the last of them
    no sooner than its model's first token (`ttft` after the mention: the model asked at once, however the bot
    does it).

    Two figures. `counted_p50`/`counted_max` hold for any scheduler: the k answers shown first need k * requests
    requests, the first of them no sooner than the first mention, so the k-th answer shows at the earliest
    (k * requests - 1) / rate after it; with p50 the nearest rank ceil(N/2), that many answers shown by the last
    mention + p50. `ideal_*` is one ideal schedule (no latency, first texts before threads, oldest first), from
    the mention and from the first token."""
    n = len(mentions)
    if not n:
        return {}
    first, last = min(mentions), max(mentions)
    rank = max(1, math.ceil(n / 2))
    counted_p50 = max(ttft, (rank * requests - 1) / rate - (last - first))
    counted_max = max(ttft, (n * requests - 1) / rate - (last - first))
    order = sorted(range(n), key=lambda i: mentions[i])
    token = [m + ttft for m in mentions]
    owed = dict.fromkeys(range(n), requests)  # requests each answer still needs before it shows
    shown: dict[int, float] = {}
    at = first
    while len(shown) < n:
        # the answer nearest to showing that may go now: its last request once its first token is there
        ready = [i for i in order if i not in shown and mentions[i] <= at + 1e-12]
        ready = [i for i in ready if owed[i] > 1 or token[i] <= at + 1e-12]
        if not ready:
            at = min(mentions[i] if owed[i] > 1 else token[i] for i in order if i not in shown and owed[i])
            continue
        i = min(ready, key=lambda j: (owed[j], mentions[j]))
        owed[i] -= 1
        if not owed[i]:
            shown[i] = at
        at += 1 / rate
    from_mention = [shown[i] - mentions[i] for i in range(n)]
    from_token = [shown[i] - token[i] for i in range(n)]
    from bench.metrics import percentile

    return {
        "rate": rate,
        "counted_p50": counted_p50,
        "counted_max": counted_max,
        "ideal_p50": percentile(from_mention, 50),
        "ideal_max": max(from_mention),
        "ideal_token_p50": percentile(from_token, 50),
        "ideal_token_max": max(from_token),
    }
