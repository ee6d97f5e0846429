"""Which PRIOR (core.streaming.lengths: the answer length a budget guesses before any answer on it has ended) is least
wrong whatever the answers' real length: a deterministic simulation, no network, no wall clock.

    python -m bench.prior                       # the table below; writes bench/results/prior.{md,json}
    python -m bench.prior --sizes 10 --lengths 6.4 --priors 6.4,10 --out ""     # print only

N answers start together in one Slack workspace and stream natively; each one's tokens arrive evenly over L seconds
(`TOKENS_PER_SECOND`). What runs is the bot's own engine and pacing: core.streaming.engine.ReplyStream with the
Throttle the bot builds from bots.slack.tiers.NATIVE_LIMITS (chat.appendStream's Tier 4 budget as the bot keeps it:
burst 92, 96/min; a lane of 0.15 s per answer; the answer lengths learned; the first text and the final text are
other methods' budgets, as chat.startStream and chat.stopStream are). The only thing set by hand is the fresh
budget's PRIOR (`AnswerLengths.prior`; nothing learned yet: a brand-new install). Time is virtual: the event loop's
clock jumps to its next timer whenever nothing is ready (`VirtualClockLoop`), so every `asyncio.sleep`,
`wait_for` and the throttle's clock run on simulated seconds and a run is the same every time.

The sink records when each answer's text was shown; staleness is bench.metrics' (per token, from its arrival to the
first append showing it), p99 pooled over the N answers. The bound is bench.bounds.best on the same arrivals with
one rule: a token bucket of the same rate and burst shared by the updates (first and final texts free, as here),
the best of the ideal schedulers there (they know every limit, and the even spacing over the whole run among their
candidates knows when the answers end). The closed form `N * L / (burst + rate * L)` (the even interval) is printed
beside it as a check. Ratios are p99 / bound.

Not modelled: the Tier 2 budget of chat.startStream (18 at once: with N = 50 the bot would post and edit the answers
past it; here all start natively, since the question is how appendStream is paced), request latency (none, as for
the bound), 429s (the bot's budget is kept under the fake's; nothing here enforces the platform's).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import selectors
import statistics
import sys
from pathlib import Path
from typing import Any

from bench import bounds
from bench.metrics import ratio, summarize
from bots.slack.tiers import NATIVE_LIMITS
from core.router.client import Finished, StreamStarted, TextDelta
from core.streaming.engine import ReplyStream
from core.streaming.sink import ReplyView
from core.streaming.throttle import Throttle

PRIORS = (4.0, 5.0, 6.0, 7.0, 8.0, 10.0, 12.0, 15.0, 20.0)
LENGTHS = (2.0, 3.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0)
SIZES = (10, 50)
TOKENS_PER_SECOND = 20  # each answer's tokens, evenly spaced; a token is PIECE (4 characters)
PIECE = "tok "
BUCKET = "T1"  # the workspace
RESULTS = Path(__file__).resolve().parent / "results"


class _VirtualSelector(selectors.BaseSelector):
    """The loop's selector: waiting `timeout` seconds moves the virtual clock on instead of blocking."""

    def __init__(self, clock: list[float]):
        self._inner = selectors.DefaultSelector()
        self._clock = clock

    def register(self, fileobj, events, data=None):
        return self._inner.register(fileobj, events, data)

    def unregister(self, fileobj):
        return self._inner.unregister(fileobj)

    def modify(self, fileobj, events, data=None):
        return self._inner.modify(fileobj, events, data)

    def select(self, timeout=None):
        ready = self._inner.select(0)
        if ready:
            return ready
        if timeout is None:
            raise RuntimeError("simulation deadlocked: nothing ready and no timer")
        self._clock[0] += max(0.0, timeout)
        return []

    def close(self):
        self._inner.close()

    def get_map(self):
        return self._inner.get_map()


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop on simulated time: whenever every task waits, time jumps to the next timer."""

    def __init__(self) -> None:
        self._virtual = [0.0]
        super().__init__(_VirtualSelector(self._virtual))

    def time(self) -> float:
        return self._virtual[0]


class LoopClock:
    """core.streaming.throttle.Clock on the running loop's time (simulated under VirtualClockLoop)."""

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


class TimelineSink:
    """A native-streaming sink that records when each length of the answer was shown; nothing fails."""

    def __init__(self, lane: str, clock: LoopClock):
        self.limits = NATIVE_LIMITS
        self.lane = lane
        self.bucket = BUCKET
        self.clock = clock
        self.text = ""
        self.timeline: list[tuple[float, int]] = []
        self.appends = 0

    def _shown(self) -> None:
        self.timeline.append((self.clock.now(), len(self.text)))

    async def post(self, text: str, view: ReplyView) -> int:
        raise AssertionError("the simulation streams natively only")

    async def edit(self, ref: Any, text: str, view: ReplyView) -> None:
        raise AssertionError("the simulation streams natively only")

    async def upload(self, filename: str, content: str, view: ReplyView) -> None:
        raise AssertionError("no answer here overflows")

    def ref_id(self, ref: Any) -> str:
        return str(ref)

    async def stream_start(self, text: str, view: ReplyView) -> int:
        self.text = text
        self._shown()
        return 1

    async def stream_append(self, ref: Any, delta: str, view: ReplyView) -> None:
        self.text += delta
        self.appends += 1
        self._shown()

    async def stream_stop(self, ref: Any, delta: str, view: ReplyView) -> None:
        self.text += delta
        self._shown()


async def _answer(count: int, spacing: float, arrivals: list[tuple[float, int]], clock: LoopClock):
    yield StreamStarted("m", "prov")
    start = clock.now()
    for k in range(1, count + 1):
        await asyncio.sleep(start + k * spacing - clock.now())
        arrivals.append((clock.now(), k * len(PIECE)))
        yield TextDelta(PIECE)
    yield Finished("stop", 3, count)


async def _run(n: int, length: float, prior: float, tps: float) -> list[dict]:
    clock = LoopClock()
    throttle = Throttle(
        NATIVE_LIMITS.edit_interval,
        bucket_rate=NATIVE_LIMITS.bucket_rate,
        bucket_burst=NATIVE_LIMITS.bucket_burst,
        clock=clock,
        name=NATIVE_LIMITS.budget,
        learn_lengths=True,
        finals_on_budget=False,  # as core.replies.pipeline builds it for Slack's native path
    )
    bucket = throttle._bucket(BUCKET)
    assert bucket is not None and bucket.lengths is not None
    bucket.lengths.prior = prior  # a brand-new install: nothing learned, this guess
    count = max(1, round(length * tps))
    spacing = length / count
    streams = []
    runs = []
    for i in range(n):
        sink = TimelineSink(f"thread-{i}", clock)
        arrivals: list[tuple[float, int]] = []
        stream = ReplyStream(sink, throttle, reply_id=i)
        streams.append({"sink": sink, "tokens": arrivals, "count": count})
        runs.append(stream.run(_answer(count, spacing, arrivals, clock)))
    await asyncio.gather(*runs)
    out = []
    for s in streams:
        sink = s["sink"]
        assert sink.text == PIECE * s["count"], "the final text must be the whole answer"
        out.append({"tokens": s["tokens"], "timeline": sink.timeline, "complete": True, "appends": sink.appends})
    return out


def simulate(n: int, length: float, prior: float, tps: float = TOKENS_PER_SECOND) -> list[dict]:
    """N answers of `length` seconds on a fresh budget guessing `prior`: each one's token arrivals and timeline."""
    loop = VirtualClockLoop()
    try:
        return loop.run_until_complete(_run(n, length, prior, tps))
    finally:
        loop.close()


def tier4_rules() -> list[bounds.Rule]:
    """The bound's one rule: the updates share a token bucket of the bot's Tier 4 rate and burst."""
    bucket = bounds.TokenBucket(NATIVE_LIMITS.bucket_rate, NATIVE_LIMITS.bucket_burst)
    return [bounds.Rule("chat.appendStream", frozenset({"edit"}), "global", bucket)]


def bound(n: int, length: float, tps: float = TOKENS_PER_SECOND) -> dict:
    """The ideal schedulers' best p99 on the same arrivals: bench.bounds.best's candidates, and one more that fits a
    budget whose final texts are free (bench.bounds.simulate, oldest first, the requests spaced evenly so the whole
    budget, burst and refill, lasts exactly the run: best's own even pace keeps a request per answer for its final
    text). Beside it the closed forms: the even interval N * L / (burst + rate * L), and N * L / (burst + rate * L + N)
    (each answer's appends and its free final text spread evenly: the least even interval)."""
    streams = simulate_arrivals(n, length, tps)
    rules = tier4_rules()
    found = bounds.best(streams, rules)["staleness_p99"]
    span = streams[0]["tokens"][-1][0] - streams[0]["tokens"][0][0]
    rate, burst = NATIVE_LIMITS.bucket_rate, NATIVE_LIMITS.bucket_burst
    here = [{**s, "tokens": list(s["tokens"])} for s in streams]
    timelines = bounds.simulate(here, rules, spacing={rules[0].name: span / (burst + rate * span)})
    pairs = zip(here, timelines, strict=True)
    even = summarize({"tokens": s["tokens"], "timeline": t, "complete": True} for s, t in pairs)["staleness_p99"]
    return {
        "p99": min(found, even),
        "best_p99": found,
        "even_free_p99": even,
        "even_interval": n * length / (burst + rate * length),
        "even_interval_with_finals": n * length / (burst + rate * length + n),
    }


def simulate_arrivals(n: int, length: float, tps: float = TOKENS_PER_SECOND) -> list[dict]:
    """The same arrivals as `simulate` (each answer's tokens evenly over `length`, from 0), for the bound."""
    count = max(1, round(length * tps))
    spacing = length / count
    tokens = [(k * spacing, k * len(PIECE)) for k in range(1, count + 1)]
    return [{"channel": f"thread-{i}", "tokens": list(tokens)} for i in range(n)]


def p99(n: int, length: float, prior: float, tps: float = TOKENS_PER_SECOND) -> float:
    found = summarize(simulate(n, length, prior, tps))["staleness_p99"]
    assert found is not None
    return found


def table(sizes, lengths, priors, tps: float = TOKENS_PER_SECOND, log=print) -> dict:
    """Per N: the bound per L, and per PRIOR (and for the length learned: PRIOR = L) the p99 and its ratio to the
    bound; `regret` is a PRIOR's ratio over the learned length's (what not knowing L costs, the pacing's other
    limits, the same with any guess, divided out)."""
    out: dict[str, Any] = {"tokens_per_second": tps, "sizes": {}}
    for n in sizes:
        rows: dict[str, Any] = {"bounds": {}, "p99": {}, "ratio": {}, "regret": {}}
        for length in lengths:
            rows["bounds"][str(length)] = bound(n, length, tps)
        for prior in ["learned", *priors]:
            key = str(prior)
            rows["p99"][key], rows["ratio"][key] = {}, {}
            for length in lengths:
                found = p99(n, length, length if prior == "learned" else prior, tps)
                rows["p99"][key][str(length)] = found
                rows["ratio"][key][str(length)] = ratio(found, rows["bounds"][str(length)]["p99"])
            if prior != "learned":
                learned = rows["ratio"]["learned"]
                rows["regret"][key] = {x: r / learned[x] for x, r in rows["ratio"][key].items()}
            log(f"N={n} PRIOR={prior}: worst {max(rows['ratio'][key].values()):.2f}x")
        out["sizes"][str(n)] = rows
    return out


def spot(n: int, length: float, priors, tps: float = TOKENS_PER_SECOND) -> dict:
    """One N and L (the measured bench's: 10 answers of 6.4 s): the ratio per PRIOR, and with the length learned."""
    limit = bound(n, length, tps)["p99"]
    found = {str(p): ratio(p99(n, length, p, tps), limit) for p in priors}
    return {"n": n, "length": length, "bound_p99": limit, "learned": ratio(p99(n, length, length, tps), limit), **found}


def _summary(ratios: dict[str, float]) -> tuple[float, float, str]:
    values = list(ratios.values())
    worst_at = max(ratios, key=lambda k: ratios[k])
    return max(values), math.exp(statistics.fmean(math.log(v) for v in values)), worst_at


def _name(prior: str) -> str:
    return "learned (PRIOR = L)" if prior == "learned" else f"{float(prior):g}"


def _grid(title: str, table_rows: dict[str, dict[str, float]], lengths: list[str]) -> list[str]:
    lines = [title, ""]
    lines.append("| PRIOR \\ L | " + " | ".join(f"{float(x):g}" for x in lengths) + " | worst | geo-mean |")
    lines.append("|---" * (len(lengths) + 3) + "|")
    for prior, ratios in table_rows.items():
        worst, geo, at = _summary(ratios)
        cells = " | ".join(f"{ratios[x]:.2f}" for x in lengths)
        lines.append(f"| {_name(prior)} | {cells} | {worst:.2f} (L={float(at):g}) | {geo:.2f} |")
    guesses = [p for p in table_rows if p != "learned"]
    by_worst = min(guesses, key=lambda p: (round(_summary(table_rows[p])[0], 6), float(p)))
    by_geo = min(guesses, key=lambda p: (round(_summary(table_rows[p])[1], 6), float(p)))
    lines += [
        "",
        f"Least worst case: PRIOR = {float(by_worst):g} s ({_summary(table_rows[by_worst])[0]:.2f}x); least geometric"
        f" mean: PRIOR = {float(by_geo):g} s ({_summary(table_rows[by_geo])[1]:.2f}x).",
        "",
    ]
    return lines


def markdown(result: dict, command: str) -> str:
    lines = [
        "# PRIOR by minimax regret: p99 staleness over the bound, answers of every length, a fresh budget",
        "",
        f"`{command}` (deterministic: simulated time, the same table every run). bench/prior.py says what runs: the",
        "bot's ReplyStream and Throttle on chat.appendStream's Tier 4 budget as the bot keeps it (burst 92, 96/min,",
        "0.15 s lane), N answers starting together, tokens evenly over L s "
        f"({result['tokens_per_second']:g} a second), a fresh budget guessing PRIOR.",
        "Bound: the best of bench.bounds' ideal schedulers on one token bucket of the same rate and burst (first and",
        "final texts free), with the even pace that keeps nothing for final texts added to its candidates.",
        "",
    ]
    for n, rows in result["sizes"].items():
        lengths = list(rows["bounds"].keys())
        lines += [f"## N = {n}", "", "Bound p99 (s), and the closed forms (s):", ""]
        lines.append("| L (s) | " + " | ".join(f"{float(x):g}" for x in lengths) + " |")
        lines.append("|---" * (len(lengths) + 1) + "|")
        for label, key in (
            ("bound p99", "p99"),
            ("bench.bounds.best p99", "best_p99"),
            ("even pace, finals free, p99", "even_free_p99"),
            ("N L / (92 + 1.6 L)", "even_interval"),
            ("N L / (92 + 1.6 L + N)", "even_interval_with_finals"),
        ):
            lines.append(f"| {label} | " + " | ".join(f"{rows['bounds'][x][key]:.3f}" for x in lengths) + " |")
        lines.append("")
        lines += _grid("p99 / bound, per PRIOR (rows) and L (columns):", rows["ratio"], lengths)
        lines += _grid(
            "Regret: p99 / the p99 with the length learned (PRIOR = L), the same grid:", rows["regret"], lengths
        )
    if (at := result.get("spot")) is not None:
        priors = [k for k in at if k not in ("n", "length", "bound_p99", "learned")]
        lines += [
            f"## N = {at['n']}, L = {at['length']:g} s (the measured bench's case)",
            "",
            f"Bound p99 {at['bound_p99']:.3f} s; with the length learned {at['learned']:.2f}x.",
            "",
            "| PRIOR | " + " | ".join(f"{float(p):g}" for p in priors) + " |",
            "|---" * (len(priors) + 1) + "|",
            "| p99 / bound | " + " | ".join(f"{at[p]:.2f}" for p in priors) + " |",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(str(n) for n in SIZES))
    parser.add_argument("--lengths", default=",".join(f"{x:g}" for x in LENGTHS))
    parser.add_argument("--priors", default=",".join(f"{x:g}" for x in PRIORS))
    parser.add_argument("--spot", default="10:6.4", help="N:L of one more case, every PRIOR ('' for none)")
    parser.add_argument("--tps", type=float, default=TOKENS_PER_SECOND)
    parser.add_argument("--out", default=str(RESULTS / "prior"), help="path without suffix; '' prints only")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.sizes.split(",")]
    lengths = [float(x) for x in args.lengths.split(",")]
    priors = [float(x) for x in args.priors.split(",")]
    result = table(sizes, lengths, priors, args.tps, log=lambda s: print(s, file=sys.stderr, flush=True))
    if args.spot:
        n, length = args.spot.split(":")
        result["spot"] = spot(int(n), float(length), priors, args.tps)
    command = "python -m bench.prior " + " ".join(argv if argv is not None else sys.argv[1:])
    text = markdown(result, command.strip())
    print(text)
    if args.out:
        Path(args.out + ".md").write_text(text + "\n", encoding="utf-8")
        Path(args.out + ".json").write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
