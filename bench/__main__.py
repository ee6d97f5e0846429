"""The whole streaming benchmark suite, one command:

    python -m bench              # the full suite (N = 1, 10, 50, 200; capacity search; llama.cpp; overhead)
    python -m bench --quick      # a short run (N = 1, 10; short answers) in under two minutes
    python -m bench --paths discord --sizes 1 50 --no-capacity --no-llama --no-overhead

Writes bench/results/results.md (every figure beside its target and bound), results.json and the plots
(staleness.png, cpu.png). See bench/harness.py for how a case runs and bench/bounds.py for the bounds.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import json
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench import report
from bench.harness import PATHS, ROOT, Case, FakeWorldProcess, evaluate, quiet_logs, run_case
from bench.workload import StreamProfile

OUT = ROOT / "bench" / "results"


@dataclass(frozen=True)
class Plan:
    sizes: tuple[int, ...]
    profile: StreamProfile
    capacity: tuple[int, ...]
    capacity_profile: StreamProfile
    llama_tokens: int


FULL = Plan(
    sizes=(1, 10, 50, 200),
    profile=StreamProfile(tokens=300),
    capacity=(100, 200, 300, 400, 500, 600, 800),
    capacity_profile=StreamProfile(tokens=200),
    llama_tokens=200,
)
QUICK = Plan(
    sizes=(1, 10),
    profile=StreamProfile(tokens=40),
    capacity=(50,),
    capacity_profile=StreamProfile(tokens=40),
    llama_tokens=40,
)


def _progress(row: dict) -> None:
    def f(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    print(
        f"  {row['path']:<12} N={row['n']:<4} {row['bot']:<8} {row.get('label') or '':<9} "
        f"p50 {f(row['staleness_p50'])} p99 {f(row['staleness_p99'])} (bound {f(row['bound_staleness_p99'])}) "
        f"first {f(row['first_visible_p99'])} 429s {row['budget'].get('rate_limited', 0)} "
        f"complete {row['complete']}/{row['streams']} cpu/1k {f(row.get('cpu_per_1k_tokens'))} "
        f"[{row['case_seconds']:.0f} s]{' ERROR ' + row['error'] if row['error'] else ''}",
        flush=True,
    )


RAW: Path | None = None  # --raw: where each case's recordings go, to evaluate again without running


async def _case(world: FakeWorldProcess, case: Case, workdir: Path) -> dict:
    result = await run_case(world, case, workdir)
    if RAW is not None:
        name = f"{case.path}-{case.bot}-{case.n}{'-' + case.label if case.label else ''}.json.gz"
        with gzip.open(RAW / name, "wt") as f:
            json.dump(result, f)
    row = evaluate(result)
    _progress(row)
    return row


async def streams_suite(plan: Plan, paths: tuple[str, ...], args: argparse.Namespace) -> dict:
    results: dict = {"rows": [], "capacity": [], "capacity_max": None}
    with tempfile.TemporaryDirectory(prefix="hfchat-bench-") as tmp:
        workdir = Path(tmp)
        async with FakeWorldProcess() as world:
            print("measures 2-8: N conversations at once, ours and the baseline", flush=True)
            for path in paths:
                for n in plan.sizes:
                    for bot in ("ours", "baseline"):
                        results["rows"].append(await _case(world, Case(path, bot, n, plan.profile), workdir))
            if args.capacity:
                print("measure 6: capacity search (Discord, global limit lifted)", flush=True)
                for n in plan.capacity:
                    case = Case("discord", "ours", n, plan.capacity_profile, discord_global=False, label="capacity")
                    row = await _case(world, case, workdir)
                    results["capacity"].append(row)
                    held = (
                        row["staleness_p99"] is not None
                        and row["staleness_p99"] < report.TARGET_CAPACITY_P99
                        and row["complete"] == row["streams"]
                        and not row["error"]
                    )
                    if not held:
                        break
                    results["capacity_max"] = n
            if args.llama:
                results["llama"] = await llama_case(world, plan, workdir)
    return results


async def llama_case(world: FakeWorldProcess, plan: Plan, workdir: Path) -> dict:
    print("sanity run: the real local model (llama.cpp)", flush=True)
    try:
        from core.models.local import start_local_model

        server = await start_local_model(context=2048, parallel=2)
    except Exception as exc:
        return {"skipped": f"{type(exc).__name__}: {exc}"}
    try:
        profile = replace(plan.profile, tokens=plan.llama_tokens)
        case = Case(
            "discord",
            "ours",
            2,
            profile,
            upstream=server.url,
            model=server.model,
            max_tokens=plan.llama_tokens,
            label="llama.cpp",
        )
        return await _case(world, case, workdir)
    finally:
        await server.stop()


async def overhead_suite(quick: bool) -> dict:
    """Measure 1 comes from bench/overhead.py (another module's job), imported only now."""
    print("measure 1: event -> first router request (bench/overhead.py)", flush=True)
    try:
        from bench import overhead
    except ImportError as exc:
        return {"skipped": f"bench/overhead.py could not be imported ({exc})"}
    started = time.monotonic()
    rows = await overhead.run(quick)
    return {"rows": rows, "markdown": overhead.markdown(rows), "seconds": time.monotonic() - started}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="short answers, N = 1 and 10 (under two minutes)")
    parser.add_argument("--capacity", dest="capacity_sizes", nargs="+", type=int, help="sizes the search tries")
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--sizes", nargs="+", type=int, help="concurrent conversations (default 1 10 50 200)")
    parser.add_argument("--tokens", type=int, help="tokens per answer (default 300; quick 60)")
    parser.add_argument("--no-capacity", dest="capacity", action="store_false", help="skip the capacity search")
    parser.add_argument("--no-llama", dest="llama", action="store_false", help="skip the llama.cpp sanity run")
    parser.add_argument("--no-overhead", dest="overhead", action="store_false", help="skip bench/overhead.py")
    parser.add_argument("--out", type=Path, default=OUT, help="where results.md/.json and the plots go")
    parser.add_argument("--raw", type=Path, help="also keep each case's recordings (gzipped JSON) here")
    args = parser.parse_args(argv)
    global RAW
    if args.raw:
        RAW = args.raw
        RAW.mkdir(parents=True, exist_ok=True)
    quiet_logs()
    plan = QUICK if args.quick else FULL
    if args.sizes:
        plan = replace(plan, sizes=tuple(args.sizes))
    if args.tokens:
        plan = replace(plan, profile=replace(plan.profile, tokens=args.tokens))
    if args.capacity_sizes:
        plan = replace(plan, capacity=tuple(args.capacity_sizes))
    command = "python -m bench" + (" " + " ".join(argv if argv is not None else sys.argv[1:])).rstrip()
    started = time.monotonic()
    results = asyncio.run(streams_suite(plan, tuple(args.paths), args))
    if args.overhead:
        results["overhead"] = asyncio.run(overhead_suite(args.quick))
    results.update(
        command=command,
        quick=args.quick,
        sizes=list(plan.sizes),
        profile=plan.profile.as_dict(),
        capacity_profile=plan.capacity_profile.as_dict(),
        machine=report.machine(),
        wall_seconds=time.monotonic() - started,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=1, default=str) + "\n")
    (args.out / "results.md").write_text(report.markdown(results))
    made = report.plots(results, args.out)
    print(f"wrote {args.out / 'results.md'}, results.json, {', '.join(made)} in {results['wall_seconds']:.0f} s")


if __name__ == "__main__":
    main()
