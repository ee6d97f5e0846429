"""Concurrent streamed replies against the loopback fake Discord (a thin front on the streaming harness).

    python bench/discord_streams.py [N ...]        (default: 1 10 50)

For each N: N threads each get a user message at once and the bot streams N answers from the scripted router
under Discord's limits (5 edits / 5 s per thread, 50 requests / s for the bot). Prints per N: edits per stream,
429s, complete final texts, staleness p50/p99 beside the bound. `python -m bench` runs the whole suite.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Case, quiet_logs, run_rows
from bench.workload import StreamProfile


def line(row: dict) -> str:
    edits = row["budget"].get("edits_per_stream_second")
    return (
        f"{row['n']:>4} {edits or 0:>17.2f} {row['budget'].get('rate_limited', 0):>5} "
        f"{row['complete']:>4}/{row['streams']:<4} {row['staleness_p50']:>8.2f}s {row['staleness_p99']:>8.2f}s "
        f"{row['bound_staleness_p99']:>8.2f}s {row['case_seconds']:>7.1f}"
    )


def main(sizes: list[int]) -> None:
    quiet_logs()
    header = ("N", "edits/s per thread", "429s", "complete", "p50", "p99", "bound p99", "wall s")
    print(f"{header[0]:>4} {header[1]:>17} {header[2]:>5} " + " ".join(f"{h:>9}" for h in header[3:]))
    cases = [Case("discord", "ours", n, StreamProfile(tokens=120)) for n in sizes]
    asyncio.run(run_rows(cases, on_row=lambda row: print(line(row), flush=True)))


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [1, 10, 50])
