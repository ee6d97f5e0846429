"""N concurrent answers streaming into one Slack workspace, against the loopback fake Slack (a thin front on the
streaming harness).

    python -m bench.slack_streams                 # native streaming, N = 1, 10, 50
    python -m bench.slack_streams --mode edit     # chat.postMessage + chat.update path
    python -m bench.slack_streams --mode both --sizes 1 10

Uses the adapter's real pacing (bots.slack.tiers.NATIVE_LIMITS / EDIT_LIMITS) and the fake's Slack-like rate
limits (chat.update 50/min and chat.appendStream 100/min per workspace, chat.postMessage ~1/s per channel).
Prints requests per method, 429s, complete final texts and staleness beside the bound. `python -m bench` runs
the whole suite.
"""

from __future__ import annotations

import argparse
import asyncio

from bench.harness import Case, quiet_logs, run_rows
from bench.workload import StreamProfile

COLUMNS = ("mode", "n", "requests", "429s", "complete", "p50", "p99", "bound p99", "sustained bound p99", "wall s")


def line(row: dict) -> str:
    budget = row["budget"]
    values = (
        row["path"].removeprefix("slack-"),
        row["n"],
        budget.get("requests", 0),
        budget.get("rate_limited", 0),
        f"{row['complete']}/{row['streams']}",
        f"{row['staleness_p50']:.2f}",
        f"{row['staleness_p99']:.2f}",
        f"{row['bound_staleness_p99']:.2f}",
        f"{row['sustained_bound_staleness_p99']:.2f}",
        f"{row['case_seconds']:.1f}",
    )
    return " | ".join(str(v) for v in values)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mode", choices=["native", "edit", "both"], default="native")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--tokens", type=int, default=120, help="tokens per answer (20 a second)")
    args = parser.parse_args()
    quiet_logs()
    paths = {"native": ["slack-native"], "edit": ["slack-edits"], "both": ["slack-native", "slack-edits"]}
    cases = [Case(path, "ours", n, StreamProfile(tokens=args.tokens)) for path in paths[args.mode] for n in args.sizes]
    print(" | ".join(COLUMNS))
    asyncio.run(run_rows(cases, on_row=lambda row: print(line(row), flush=True)))


if __name__ == "__main__":
    main()
