"""Native answers under Slack's real tiers: N answers at once in one workspace, the production adapter against the
loopback fake Slack, whose limits are the Web API reference's tiers (chat.startStream and chat.stopStream Tier 2,
chat.appendStream Tier 4, chat.update Tier 3, chat.postMessage about 1/s per channel; 429 + Retry-After past them).

    python -m bench.slack_tiers                          # N = 1, 10, 50; writes bench/results/slack-tiers.{md,json}
    python -m bench.slack_tiers --sizes 10 --tokens 300 --out ""    # print only
    python -m bench.slack_tiers --warm                   # a warm bot; writes bench/results/slack-tiers-warm.{md,json}
    python -m bench.slack_tiers --restarted              # a restarted bot; …/slack-tiers-restarted.{md,json}
    python -m bench.slack_tiers --sizes 10 --learned 6.4    # synthetic, length set by hand: …-synthetic-learned.md

Cold (the default): each N builds a fresh bot in a fresh workspace, which has learned nothing yet. Warm (--warm): in the
same bot process and workspace, the bot first streams one un-measured burst of the same N answers to their end, the
workspace then stays quiet for bench.harness.WARM_RECOVERY (61 s: every tier's budget, the fake's and the bot's own,
refills from empty within a minute), and the second burst is measured exactly as a cold case is; what the bot learned
from the first (its answers' length) is what it learned, nothing is set. Restarted (--restarted): a first bot streams
that un-measured burst and stops, the workspace stays quiet for WARM_RECOVERY, and a second bot, built afresh on the
same database (in this process, as every case's bot is: nothing in memory carries over, only what the first stored),
streams the measured burst, measured as a cold case is. --learned is synthetic: it sets the learned length directly in
a fresh bot, which did not learn it.

Per N: p99 staleness beside two bounds of ideal schedulers under the same tiers (bench.bounds, the same token
arrivals): native only (every answer waits for its chat.startStream), and either way (each request may take the
native or the post + update method: a relaxation, so no scheduler mixing the two paths beats it); 429s; finals
byte-exact; how many answers started natively, how many a minute that is, and how the answers beyond the start
budget fared (posted and edited) beside the native ones.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

from bench import bounds
from bench.harness import WARM_RECOVERY, Case, FakeWorldProcess, _budget, quiet_logs, run_case
from bench.metrics import ratio, summarize
from bench.workload import StreamProfile

TARGET = 1.3  # p99 staleness within this factor of the bound
RESULTS = Path(__file__).resolve().parent / "results"


def _f(value: float | None, digits: int = 2) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def figures(case: Case, result: dict) -> dict:
    """The case's figures beside the bounds, and the answers split by the path they took."""
    data = result["data"]
    streams = data["streams"]
    measured = summarize(streams)
    arrivals = bounds.bound_streams(data)
    only_native = bounds.best(arrivals, bounds.platform_rules("slack-native"))
    # (native only is one way of mixing the two: the better of the two bounds is the bound of mixing them)
    relaxed = bounds.best(arrivals, bounds.platform_rules("slack-any"))
    either = {"staleness_p99": _least(relaxed["staleness_p99"], only_native["staleness_p99"])}
    native = [s for s in streams if s.get("native")]
    posted = [s for s in streams if not s.get("native")]
    starts = sorted(r[0] for r in data["requests"] if r[1] == "chat.startStream" and r[3] == 200)
    span = max((r[0] for r in data["requests"]), default=data["t_go"]) - data["t_go"]
    budget = _budget(case, data)
    return {
        "n": case.n,
        "tokens_per_answer": case.profile.tokens,
        "staleness_p50": measured["staleness_p50"],
        "staleness_p99": measured["staleness_p99"],
        "first_visible_p99": measured["first_visible_p99"],
        "bound_native_p99": only_native["staleness_p99"],
        "bound_either_p99": either["staleness_p99"],
        "ratio_native": ratio(measured["staleness_p99"], only_native["staleness_p99"]),
        "ratio_either": ratio(measured["staleness_p99"], either["staleness_p99"]),
        "rate_limited": budget.get("rate_limited", 0),
        "rate_limited_by": budget.get("rate_limited_by", {}),
        "requests": budget.get("requests", 0),
        "complete": measured["complete"],
        "streams": measured["streams"],
        "native_started": len(starts),
        "run_seconds": span,
        "native_starts_busiest_minute": _busiest_minute(starts),
        "native": _side(native),
        "beyond_start_budget": _side(posted),
        "case_seconds": result["case_seconds"],
        "error": result["error"],
    }


def _least(*values: float | None) -> float | None:
    known = [v for v in values if v is not None]
    return min(known) if known else None


def _busiest_minute(times: list[float]) -> int:
    """The most of `times` within any 60 seconds."""
    best, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] > 60:
            first += 1
        best = max(best, last - first + 1)
    return best


def _side(streams: list[dict]) -> dict:
    if not streams:
        return {"answers": 0}
    summary = summarize(streams)
    return {
        "answers": len(streams),
        "complete": summary["complete"],
        "staleness_p50": summary["staleness_p50"],
        "staleness_p99": summary["staleness_p99"],
        "first_visible_p50": summary["first_visible_p50"],
        "first_visible_p99": summary["first_visible_p99"],
    }


def machine() -> dict:
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in load] if load else None,
    }


def mode(warm: bool, learned: float | None, restarted: bool = False) -> str:
    if restarted:
        return (
            "**Restarted**: a first bot streamed one un-measured burst of the same N answers to its end in the same "
            f"workspace and stopped; after {WARM_RECOVERY:g} s of quiet (every tier's budget full again) a second bot, "
            "built afresh on the same database, streamed the measured burst below. Nothing in memory carried over: "
            "the second bot started from the answer lengths the first stored (core.streaming.stored_lengths)."
        )
    if warm:
        return (
            "**Warm**: in the same bot process and workspace, one un-measured burst of the same N answers streamed to "
            f"its end first, then {WARM_RECOVERY:g} s of quiet (every tier's budget, the fake's and the bot's own, "
            "full again as in a fresh workspace), then the measured burst below. The bot learned its answers' length "
            "from the first burst; nothing was set."
        )
    if learned:
        return (
            f"**Synthetic** (`--learned {learned:g}`): a fresh bot whose learned answer length the bench SET to "
            f"{learned:g} s; the bot did not learn it. Not a measurement of a warm bot (`--warm` is)."
        )
    return "**Cold**: each N builds a fresh bot in a fresh workspace: it has learned nothing yet (10 s guess)."


def markdown(rows: list[dict], command: str, host: dict, kind: str = "") -> str:
    lines = [
        "# Slack native answers under the real tiers",
        "",
        *([kind, ""] if kind else []),
        f"Command: `{command}`  ",
        f"Machine: {host['platform']}, Python {host['python']}, {host['cpus']} CPUs, load average at the end "
        f"{host['load_average_at_end']} (shared with other work: figures move with the load)  ",
        "Tiers (the fake's, from the Web API reference): chat.startStream / chat.stopStream 20/min, chat.appendStream "
        "100/min, chat.update 50/min per workspace (a minute's worth as burst), chat.postMessage 1/s per channel "
        "(burst 3). Staleness: seconds from a token leaving the router to its text showing in Slack.",
        "",
        "| N | p50 s | p99 s | bound p99, native only | × | bound p99, either way | × | ≤ 1.3× either way | 429s "
        "| byte-exact finals | started natively | native starts in the busiest minute |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        # the either-way bound is the tighter (native only is one way of mixing): the target is against it
        met = "–" if r["ratio_either"] is None else ("yes" if r["ratio_either"] <= TARGET else "**no**")
        lines.append(
            f"| {r['n']} | {_f(r['staleness_p50'])} | {_f(r['staleness_p99'])} | {_f(r['bound_native_p99'])} "
            f"| {_f(r['ratio_native'])} | {_f(r['bound_either_p99'])} | {_f(r['ratio_either'])} | {met} "
            f"| {r['rate_limited']} | {r['complete']}/{r['streams']} | {r['native_started']}/{r['n']} "
            f"| {r['native_starts_busiest_minute']} |"
        )
    lines += [
        "",
        "Answers beyond the start budget (posted with chat.postMessage and edited with chat.update) beside the native "
        "ones:",
        "",
        "| N | path | answers | byte-exact | staleness p50 | p99 | first text p50 | p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        for name, side in (("native", r["native"]), ("posted + edited", r["beyond_start_budget"])):
            if not side.get("answers"):
                continue
            lines.append(
                f"| {r['n']} | {name} | {side['answers']} | {side['complete']}/{side['answers']} "
                f"| {_f(side['staleness_p50'])} | {_f(side['staleness_p99'])} | {_f(side['first_visible_p50'])} "
                f"| {_f(side['first_visible_p99'])} |"
            )
    warmed = [r for r in rows if r.get("warm_up")]
    restarted = any("stored_seconds" in r["warm_up"] for r in warmed)
    if warmed:
        who = "the first bot, stopped after it" if restarted else "same bot"
        lines += [
            "",
            f"The un-measured first bursts ({who}, same workspace) and what the bot learned from them:",
            "",
            "| N | answers | started natively | byte-exact | 429s | learned answer length, s "
            f"| quiet before the measured burst, s |{' stored for the second bot (mean), s |' if restarted else ''}",
            "|---|---|---|---|---|---|---|" + ("---|" if restarted else ""),
        ]
        for r in warmed:
            w = r["warm_up"]
            learned = ", ".join(f"{v:.2f}" for v in w["learned_seconds"].values()) or "–"
            stored = f" {_f(w.get('stored_seconds'))} |" if restarted else ""
            lines.append(
                f"| {r['n']} | {w['answers']} | {w['native']}/{w['answers']} | {w['complete']}/{w['answers']} "
                f"| {w['rate_limited']} | {learned} | {w['recovery_seconds']:g} |{stored}"
            )
    return "\n".join(lines) + "\n"


def learned(seconds: float) -> None:
    """The bot starts as if the answers it streamed before had lasted `seconds` each (core.streaming.lengths): a warm
    bot, synthetic: nothing was learned (--warm is the honest warm case). Each case builds a fresh bot, which would
    otherwise start from the prior guess."""
    from core.streaming.lengths import KEEP, AnswerLengths

    AnswerLengths.__init__.__defaults__ = (seconds, KEEP)


async def run(sizes: list[int], tokens: int, on_row, warm: bool = False, restarted: bool = False) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="hfchat-bench-") as tmp:
        async with FakeWorldProcess() as world:
            for n in sizes:
                profile = StreamProfile(tokens=tokens)
                case = Case("slack-native", "ours", n, profile, warm=warm, restarted=restarted)
                result = await run_case(world, case, Path(tmp))
                row = figures(case, result)
                if warm or restarted:
                    row["warm_up"] = result.get("warm_up")
                rows.append(row)
                on_row(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--tokens", type=int, default=120, help="tokens per answer (20 a second)")
    parser.add_argument("--out", help="path without suffix; '' prints only (default: bench/results/slack-tiers…)")
    parser.add_argument("--warm", action="store_true", help="measure a second burst in the same bot and workspace")
    parser.add_argument(
        "--restarted", action="store_true", help="measure a second bot on the database a first one learned in"
    )
    parser.add_argument("--learned", type=float, help="seconds: synthetic, the answers' length set as if learned")
    args = parser.parse_args()
    if sum(map(bool, (args.warm, args.restarted, args.learned))) > 1:
        parser.error("--warm and --restarted learn the length, --learned sets it: one of the three")
    if args.out is None:
        name = "slack-tiers-warm" if args.warm else "slack-tiers-synthetic-learned" if args.learned else "slack-tiers"
        name = "slack-tiers-restarted" if args.restarted else name
        args.out = str(RESULTS / name)
    quiet_logs()
    if args.learned:
        learned(args.learned)
    command = "python -m bench.slack_tiers " + shlex.join(sys.argv[1:])
    started = time.time()

    def show(row: dict) -> None:
        print(json.dumps({k: v for k, v in row.items() if k not in ("native", "beyond_start_budget")}), flush=True)

    rows = asyncio.run(run(args.sizes, args.tokens, show, warm=args.warm, restarted=args.restarted))
    host = machine()
    kind = mode(args.warm, args.learned, args.restarted)
    text = markdown(rows, command.strip(), host, kind)
    print(text)
    if args.out:
        out = Path(args.out)
        out.with_suffix(".md").write_text(text, encoding="utf-8")
        payload = {"command": command.strip(), "mode": kind, "machine": host, "started": started, "rows": rows}
        out.with_suffix(".json").write_text(json.dumps(payload, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
