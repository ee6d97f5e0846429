"""Before and after in one run: a bench module run alternately on two source trees, on the same machine at the same
time, so the ratios compare like with like on a shared, noisy machine.

    git archive <before-commit> | tar -x -C /tmp/before      # the tree before (a plain copy, no git needed)
    cp bench/overhead.py bench/capacity.py /tmp/before/bench/ # the same measuring code in both
    python -m bench.paired --before /tmp/before overhead --samples 100
    python -m bench.paired --before /tmp/before capacity --sizes 600 1000 --keep-going
    python -m bench.paired --before /tmp/before slack_tiers --sizes 1 10 50
    python -m bench.paired --before . --before-env EVENT_LOOP=asyncio overhead --samples 150 --backends sqlite

Each side may get its own environment variables (`--before-env`, `--after-env`, NAME=VALUE, repeatable): with
`--before .` that pairs one tree against itself under two settings. Overhead runs the databases in `--backends`
(default both), one at a time.

Each configuration (overhead: one database at a time; capacity: one N at a time) runs before, then after, then the
next configuration in the other order (after, before). Writes bench/results/<module>-paired.md and .json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.report import machine

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results"
KEYS = {"overhead": ("path", "backend", "messages"), "capacity": ("n",), "slack_tiers": ("n",)}


def run(tree: Path, module: str, args: list[str], env: dict[str, str] | None = None) -> list[dict]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "out"
        command = [sys.executable, "-m", f"bench.{module}", *args, "--out", str(out)]
        subprocess.run(
            command,
            cwd=tree,
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
        )
        return json.loads(out.with_suffix(".json").read_text())["rows"]


def _sizes(args: list[str], default: list[str]) -> tuple[list[str], list[str]]:
    """The sizes after `--sizes` (it comes last), and the other arguments."""
    rest = list(args)
    if "--sizes" not in rest:
        return default, rest
    at = rest.index("--sizes")
    return [s for s in rest[at + 1 :] if s.isdigit()], rest[:at]


def _backends(args: list[str]) -> tuple[list[str], list[str]]:
    """The databases after `--backends` (default both), and the other arguments."""
    rest = list(args)
    if "--backends" not in rest:
        return ["sqlite", "postgres"], rest
    at = rest.index("--backends")
    end = at + 1
    while end < len(rest) and not rest[end].startswith("--"):
        end += 1
    return rest[at + 1 : end], rest[:at] + rest[end:]


def _env(pairs: list[str]) -> dict[str, str]:
    env = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SystemExit(f"expected NAME=VALUE, got {pair!r}")
        env[name] = value
    return env


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", type=Path, required=True, help="the source tree before the change")
    parser.add_argument("--before-env", action="append", default=[], metavar="NAME=VALUE", help="for before only")
    parser.add_argument("--after-env", action="append", default=[], metavar="NAME=VALUE", help="for after only")
    parser.add_argument("--name", help="write bench/results/NAME.md and .json (default <module>-paired)")
    parser.add_argument("module", choices=sorted(KEYS))
    parser.add_argument("rest", nargs=argparse.REMAINDER, help="arguments for the module")
    args = parser.parse_args()
    if args.module == "overhead":
        backends, rest = _backends(args.rest)
        configs = [["--backends", backend, *rest] for backend in backends]
    elif args.module == "slack_tiers":  # one N at a time, each its own bot and fakes as in a whole run
        sizes, rest = _sizes(args.rest, ["1", "10", "50"])
        configs = [["--sizes", n, *rest] for n in sizes]
    else:
        sizes, rest = _sizes(args.rest, ["600", "1000"])
        configs = [["--sizes", n, "--keep-going", *[r for r in rest if r != "--keep-going"]] for n in sizes]
    started = time.monotonic()
    pairs: list[dict] = []
    envs = {"before": _env(args.before_env), "after": _env(args.after_env)}
    for i, config in enumerate(configs):
        order = [("before", args.before), ("after", ROOT)]
        results = {}
        for name, tree in order if i % 2 == 0 else order[::-1]:
            results[name] = run(tree, args.module, config, envs[name])
            print(f"{name} {' '.join(config)}: done ({time.monotonic() - started:.0f} s)", flush=True)
        key = KEYS[args.module]
        after = {tuple(r.get(k) for k in key): r for r in results["after"]}
        for row in results["before"]:
            pairs.append({"before": row, "after": after.get(tuple(row.get(k) for k in key))})
    about = {
        "command": "python -m bench.paired " + " ".join(sys.argv[1:]),
        "machine": machine(),
        "loadavg_at_end": os.getloadavg(),
        "seconds": round(time.monotonic() - started),
        **({"env": envs} if any(envs.values()) else {}),
    }
    name = args.name or f"{args.module}-paired"
    (OUT / f"{name}.json").write_text(json.dumps({**about, "pairs": pairs}, indent=1) + "\n")
    (OUT / f"{name}.md").write_text(markdown(args.module, about, pairs))
    print(markdown(args.module, about, pairs))


def _f(value, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def _ratio(after, before) -> str:
    return f"{after / before:.2f}×" if after is not None and before else "-"


def _tiers_row(b: dict, a: dict) -> str:
    posted_b, posted_a = b["beyond_start_budget"], a.get("beyond_start_budget") or {}
    cells = [
        str(b["n"]),
        f"{_f(b['staleness_p99'])} → {_f(a.get('staleness_p99'))}",
        f"{_f(b['bound_either_p99'])} / {_f(a.get('bound_either_p99'))}",
        f"{_f(b['ratio_either'])} → {_f(a.get('ratio_either'))}",
        f"{b['rate_limited']} → {a.get('rate_limited')}",
        f"{b['complete']}/{b['streams']} → {a.get('complete')}/{a.get('streams')}",
        f"{b['native_started']} → {a.get('native_started')}",
        f"{_f(posted_b.get('staleness_p99'))} → {_f(posted_a.get('staleness_p99'))}",
    ]
    return "| " + " | ".join(cells) + " |"


def _tiers_table(pairs: list[dict]) -> list[str]:
    """bench.slack_tiers before and after: p99 beside the bound, 429s, finals, starts, the answers posted instead."""
    header = (
        "| N | p99 staleness before → after (s) | bound p99 (either way) before / after | × bound before → after "
        "| 429s | byte-exact | started natively | posted + edited p99 before → after (s) |"
    )
    return [header, "|---:|---|---|---|---|---|---|---|"] + [_tiers_row(p["before"], p["after"] or {}) for p in pairs]


def markdown(module: str, about: dict, pairs: list[dict]) -> str:
    m = about["machine"]
    lines = [
        f"`{about['command']}` — {m['date']}, after = commit {m['commit']}, {m['cores']} cores {m['cpu']}, "
        f"Python {m['python']}; load average at the end {', '.join(f'{x:.2f}' for x in about['loadavg_at_end'])}: "
        "a shared machine (other helpers' test suites ran throughout), so only the before/after pairs, run "
        "back to back, compare.",
        "",
    ]
    if about.get("env"):
        sides = [
            f"{side}: {' '.join(f'{k}={v}' for k, v in env.items()) or '(none)'}" for side, env in about["env"].items()
        ]
        lines += ["Environment — " + "; ".join(sides) + ".", ""]
    if module == "overhead":
        lines += [
            "| path | db | messages | total p50 before → after | total p99 before → after | p99 ratio "
            "| core p99 before → after | n |",
            "|---|---|---:|---|---|---:|---|---:|",
        ]
        for pair in pairs:
            b, a = pair["before"], pair["after"] or {}
            lines.append(
                f"| {b['path']} | {b['backend']} | {b['messages']:,} | {_f(b.get('total_p50_ms'))} → "
                f"{_f(a.get('total_p50_ms'))} | {_f(b.get('total_p99_ms'))} → {_f(a.get('total_p99_ms'))} "
                f"| {_ratio(a.get('total_p99_ms'), b.get('total_p99_ms'))} | {_f(b.get('core_p99_ms'))} → "
                f"{_f(a.get('core_p99_ms'))} | {b.get('samples')} |"
            )
    elif module == "slack_tiers":
        lines += _tiers_table(pairs)
    else:
        lines += [
            "| N | p99 staleness before → after (s) | holds (< 2 s) | CPU s per 1,000 tokens before → after "
            "| ratio | bot CPU use | fakes' CPU |",
            "|---:|---|---|---|---:|---|---|",
        ]
        for pair in pairs:
            b, a = pair["before"], pair["after"] or {}
            lines.append(
                f"| {b['n']} | {_f(b['staleness_p99'])} → {_f(a.get('staleness_p99'))} "
                f"| {'yes' if b['holds'] else 'no'} → {'yes' if a.get('holds') else 'no'} "
                f"| {_f(b['cpu_per_1k_tokens'], '.3f')} → {_f(a.get('cpu_per_1k_tokens'), '.3f')} "
                f"| {_ratio(a.get('cpu_per_1k_tokens'), b['cpu_per_1k_tokens'])} "
                f"| {_f(b['bot_cpu_share'], '.0%')} → {_f(a.get('bot_cpu_share'), '.0%')} "
                f"| {_f(b['fakes_cpu_share'], '.0%')} → {_f(a.get('fakes_cpu_share'), '.0%')} |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
