"""Streams one process holds: the capacity search of `python -m bench` (measure 6) on its own, with a profile.

    python -m bench.capacity                          # N = 400 600 800 1000 1200, stops at the first N that fails
    python -m bench.capacity --sizes 1000 --profile   # one N, with a pyinstrument profile of the bot's process
    python -m bench.capacity --out bench/results/capacity-after

Discord path, ours, 200 tokens an answer at 20 tokens/s, Discord's 50 requests/s global limit lifted (so the
process is what is measured; the per-thread limits stay). A size holds when p99 staleness is under 2 s and every
answer is complete. Beside each row: CPU seconds per 1,000 tokens (the bot's process alone, the fakes run in a
child process) and the fakes' own CPU use (a row where they near a whole core measures them as much as the bot).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

from bench.harness import Case, FakeWorldProcess, evaluate, quiet_logs, run_case
from bench.report import TARGET_CAPACITY_P99, machine
from bench.workload import StreamProfile
from core.ops import eventloop

SIZES = (400, 600, 800, 1000, 1200)
PROFILE = StreamProfile(tokens=200)


def holds(row: dict) -> bool:
    return (
        row["staleness_p99"] is not None
        and row["staleness_p99"] < TARGET_CAPACITY_P99
        and row["complete"] == row["streams"]
        and not row["error"]
    )


def brief(row: dict) -> dict:
    process = row.get("process") or {}
    cpu, wall = process.get("cpu_seconds"), process.get("wall_seconds")
    fakes = row["fakes_cpu_seconds"] / row["fakes_wall_seconds"] if row.get("fakes_wall_seconds") else None
    return {
        "n": row["n"],
        "staleness_p50": row["staleness_p50"],
        "staleness_p99": row["staleness_p99"],
        "channel_bound_p99": row.get("channel_bound_staleness_p99"),
        "first_visible_p99": row["first_visible_p99"],
        "cpu_per_1k_tokens": row.get("cpu_per_1k_tokens"),
        "bot_cpu_share": cpu / wall if cpu and wall else None,
        "peak_rss_mb": process.get("peak_rss_mb"),
        "complete": row["complete"],
        "streams": row["streams"],
        "rate_limited": row["budget"].get("rate_limited", 0),
        "fakes_cpu_share": fakes,
        "holds": holds(row),
        "error": row["error"],
    }


def line(b: dict) -> str:
    def f(value, spec=".2f") -> str:
        return "-" if value is None else format(value, spec)

    return (
        f"| {b['n']} | {f(b['staleness_p50'])} | {f(b['staleness_p99'])} | {f(b['channel_bound_p99'])} "
        f"| {f(b['first_visible_p99'])} | {f(b['cpu_per_1k_tokens'], '.3f')} | {f(b['bot_cpu_share'], '.0%')} "
        f"| {f(b['peak_rss_mb'], '.0f')} | {b['complete']}/{b['streams']} | {b['rate_limited']} "
        f"| {f(b['fakes_cpu_share'], '.0%')} | {'yes' if b['holds'] else '**no**'} |"
    )


HEADER = (
    "| N | p50 staleness s | p99 staleness s | per-channel bound p99 | first text p99 | CPU s per 1,000 tokens "
    "| bot CPU use | peak RSS MiB | complete | 429s | fakes' CPU | holds (p99 < 2 s) |\n"
    "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
)


async def search(sizes: list[int], profiles: dict[int, str] | None, keep_going: bool) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="hfchat-capacity-") as tmp:
        async with FakeWorldProcess() as world:
            for n in sizes:
                case = Case("discord", "ours", n, PROFILE, discord_global=False, label="capacity")
                profiler = None
                if profiles is not None:
                    from pyinstrument import Profiler

                    profiler = Profiler(interval=0.001, async_mode="disabled")  # CPU, not awaits
                    profiler.start()
                result = await run_case(world, case, Path(tmp))
                if profiler is not None:
                    profiler.stop()
                    profiles[n] = profiler.output_text(unicode=False, color=False)
                b = brief(evaluate(result))
                rows.append(b)
                print(line(b), flush=True)
                if not b["holds"] and not keep_going:
                    break
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--keep-going", action="store_true", help="run every size even after one fails")
    parser.add_argument("--profile", type=Path, help="write a pyinstrument profile of each case to this folder")
    parser.add_argument("--out", type=Path, help="also write OUT.json and OUT.md")
    args = parser.parse_args(argv)
    quiet_logs()
    started = time.monotonic()
    print(HEADER, flush=True)
    profiles: dict[int, str] | None = {} if args.profile else None
    # the bot's loop as `hfchat run` picks it (EVENT_LOOP, default auto: uvloop); the fakes' child keeps asyncio's
    rows = eventloop.run(search(args.sizes, profiles, args.keep_going), os.environ.get("EVENT_LOOP", "auto"))
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
        for n, text in (profiles or {}).items():
            (args.profile / f"capacity-{n}.txt").write_text(text)
    held = [b["n"] for b in rows if b["holds"]]
    print(f"largest N held: {max(held) if held else 'none'} ({time.monotonic() - started:.0f} s)")
    if args.out is not None:
        command = "python -m bench.capacity " + " ".join(argv if argv is not None else sys.argv[1:])
        about = {"command": command.strip(), "machine": machine(), "loadavg": os.getloadavg()}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.with_suffix(".json").write_text(
            json.dumps({**about, "profile": PROFILE.as_dict(), "largest_held": max(held) if held else None,
                        "rows": rows}, indent=1) + "\n"
        )  # fmt: skip
        m = about["machine"]
        args.out.with_suffix(".md").write_text(
            f"`{about['command']}` — {m['date']}, commit {m['commit']}, {m['cores']} cores {m['cpu']}; load average "
            f"at the end {', '.join(f'{x:.2f}' for x in about['loadavg'])} (a shared machine)\n\n"
            f"Largest N held: **{max(held) if held else 'none'}**\n\n{HEADER}\n" + "\n".join(map(line, rows)) + "\n"
        )


if __name__ == "__main__":
    main()
