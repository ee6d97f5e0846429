"""The results table (Markdown), the machine it ran on, and the plots (PNG, matplotlib)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from bench.harness import PATHS, ROOT
from bench.metrics import ratio

TARGET_CHANNEL_RATIO = 1.3  # Discord p99 staleness within 1.3x of the per-channel bound
TARGET_NATIVE_P99 = 1.0  # Slack native streaming p99 staleness, seconds
TARGET_STREAMS_PER_CORE, TARGET_TOKENS_PER_SECOND = 500, 20.0
TARGET_CPU_PER_1K = 1000 / (TARGET_STREAMS_PER_CORE * TARGET_TOKENS_PER_SECOND)  # CPU seconds per 1,000 tokens
TARGET_CAPACITY_P99 = 2.0
TARGET_OVERHEAD_P99_MS = 5.0
FAIR = 0.9  # Jain's index of the streams' median staleness at or above this counts as "even"


def machine() -> dict:
    def read(path: str, key: str) -> str:
        try:
            for line in Path(path).read_text().splitlines():
                if line.lower().startswith(key.lower()):
                    return line.split(":", 1)[1].strip()
        except OSError:
            pass
        return ""

    ram = read("/proc/meminfo", "MemTotal")
    commit = _git("rev-parse", "HEAD")
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "cpu": read("/proc/cpuinfo", "model name") or platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "ram": f"{int(ram.split()[0]) / 2**20:.1f} GiB" if ram else "",
        "os": platform.platform(),
        "python": sys.version.split()[0],
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": (commit[:12] + (" (with uncommitted changes)" if dirty else "")) if commit else "unknown",
    }


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def s(value: float | None, digits: int = 2) -> str:
    if value is None:
        return "–"
    return "∞" if value == float("inf") else f"{value:.{digits}f}"


def x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _pair(rows: list[dict], path: str, n: int) -> tuple[dict | None, dict | None]:
    ours = next((r for r in rows if r["path"] == path and r["n"] == n and r["bot"] == "ours"), None)
    base = next((r for r in rows if r["path"] == path and r["n"] == n and r["bot"] == "baseline"), None)
    return ours, base


def targets(results: dict) -> list[tuple[str, str, str, str, str]]:
    """(target, measured, bound or reference, ratio, met) lines."""
    rows, out = results["rows"], []
    for n in results["sizes"]:
        ours, _ = _pair(rows, "discord", n)
        if ours is None:
            continue
        r = ratio(ours["staleness_p99"], ours.get("channel_bound_staleness_p99"))
        full = ratio(ours["staleness_p99"], ours["bound_staleness_p99"])
        out.append(
            (
                f"Discord p99 staleness ≤ {TARGET_CHANNEL_RATIO}× per-channel bound, N={n}",
                f"{s(ours['staleness_p99'])} s",
                f"{s(ours.get('channel_bound_staleness_p99'))} s (all limits: {s(ours['bound_staleness_p99'])} s)",
                f"{x(r)} (all limits: {x(full)})",
                _met(r is not None and r <= TARGET_CHANNEL_RATIO),
            )
        )
    discord = [r for r in rows if r["path"] == "discord" and r["bot"] == "ours"]
    if discord:
        limited = sum(r["budget"].get("rate_limited", 0) for r in discord)
        complete = sum(r["complete"] for r in discord)
        streams = sum(r["streams"] for r in discord)
        out.append(("Discord: no 429s", str(limited), "0", "", _met(limited == 0)))
        out.append(("Discord: final text complete", f"{complete}/{streams}", "all", "", _met(complete == streams)))
    for n in results["sizes"]:
        ours, _ = _pair(rows, "slack-native", n)
        if ours is None:
            continue
        out.append(
            (
                f"Slack native p99 staleness < {TARGET_NATIVE_P99:g} s, N={n}",
                f"{s(ours['staleness_p99'])} s",
                f"bound {s(ours['bound_staleness_p99'])} s, sustained {s(ours.get('sustained_bound_staleness_p99'))} s",
                x(ratio(ours["staleness_p99"], ours["bound_staleness_p99"])),
                _met(ours["staleness_p99"] is not None and ours["staleness_p99"] < TARGET_NATIVE_P99),
            )
        )
    for n in results["sizes"]:
        ours, _ = _pair(rows, "slack-edits", n)
        if ours is None:
            continue
        limited = ours["budget"].get("rate_limited", 0)
        fair = ours.get("evenness")
        out.append(
            (
                f"Slack edits: even across streams, no 429s, N={n}",
                f"evenness {s(fair)}, per-stream p50 {s(ours['stream_p50_min'])}–{s(ours['stream_p50_max'])} s, "
                f"{limited} 429s",
                f"evenness ≥ {FAIR} (the bound's: {s(ours.get('bound_evenness'))}), 0 429s",
                "",
                _met(limited == 0 and (n == 1 or (fair is not None and fair >= FAIR))),
            )
        )
    for path in PATHS:
        ours = [r for r in rows if r["path"] == path and r["bot"] == "ours" and r.get("cpu_per_1k_tokens")]
        if ours:
            top = max(ours, key=lambda r: r["n"])
            out.append(
                (
                    f"CPU per 1,000 tokens ({path}, N={top['n']}) ≤ {TARGET_CPU_PER_1K:.2f} s "
                    f"({TARGET_STREAMS_PER_CORE} streams × {TARGET_TOKENS_PER_SECOND:g} tokens/s on one core)",
                    f"{s(top['cpu_per_1k_tokens'], 3)} s",
                    f"{TARGET_CPU_PER_1K:.2f} s",
                    x(ratio(top["cpu_per_1k_tokens"], TARGET_CPU_PER_1K)),
                    _met(top["cpu_per_1k_tokens"] <= TARGET_CPU_PER_1K),
                )
            )
    capacity = results.get("capacity") or []
    if capacity:
        best = results.get("capacity_max")
        out.append(
            (
                f"Streams one process holds with p99 staleness < {TARGET_CAPACITY_P99:g} s (Discord, 20 tokens/s)",
                str(best or 0),
                f"≥ {TARGET_STREAMS_PER_CORE}",
                "",
                _met(bool(best) and best >= TARGET_STREAMS_PER_CORE),
            )
        )
    overhead = (results.get("overhead") or {}).get("rows") or []
    measured = [r.get("total_p99_ms") for r in overhead if r.get("total_p99_ms") is not None]
    if measured:
        out.append(
            (
                f"Event → first router request p99 < {TARGET_OVERHEAD_P99_MS:g} ms (measure 1, worst row)",
                f"{max(measured):.2f} ms",
                f"{TARGET_OVERHEAD_P99_MS:g} ms",
                "",
                _met(max(measured) < TARGET_OVERHEAD_P99_MS),
            )
        )
    return out


def _met(ok: bool) -> str:
    return "yes" if ok else "**no**"


def markdown(results: dict) -> str:
    m, rows = results["machine"], results["rows"]
    profile = results["profile"]
    lines = [
        "# Streaming benchmark",
        "",
        f"`{results['command']}` — {m['date']}, {results['wall_seconds'] / 60:.1f} min"
        + (" (**quick mode**: short answers, fewer sizes; not the figures to quote)" if results["quick"] else ""),
        "",
        "| Machine | |",
        "|---|---|",
        f"| CPU | {m['cpu']} |",
        f"| Cores | {m['cores']} |",
        f"| RAM | {m['ram']} |",
        f"| OS | {m['os']} |",
        f"| Python | {m['python']} |",
        f"| Commit | {m['commit']} |",
        "",
        f"Each answer: {profile['tokens']} tokens at {profile['tokens_per_second']:g} tokens/s after a "
        f"{profile['ttft']:g} s time to first token, {profile['tokens_per_chunk'][0]}–"
        f"{profile['tokens_per_chunk'][1]} tokens per SSE chunk, ±{profile['jitter']:.0%} jitter (seeded). "
        "N conversations ask at once. Discord: each conversation is a thread. Slack: threads in one workspace, "
        "5 to a channel. Times in seconds; p99 is nearest-rank over every token of every stream.",
        "",
        "## Targets",
        "",
        "| Target | Measured | Bound / target | Ratio | Met |",
        "|---|---|---|---|---|",
    ]
    lines += [f"| {a} | {b} | {c} | {d} | {e} |" for a, b, c, d, e in targets(results)]

    lines += [
        "",
        "## 3, 7, 8. Staleness: token arrival → first update showing it",
        "",
        "Ours beside the bound (an ideal scheduler under the same limits and arrivals, see below) and the "
        "baseline (one bot-wide 1-second edit timer). Second bound: for Discord the per-channel bound (5 edits per "
        "5 s per thread only, as if the 50 requests/s global limit did not exist); for Slack the sustained bound "
        "(the workspace tiers at their per-minute rate without the one-minute burst, which a run of a few seconds "
        "can spend but a busy workspace cannot).",
        "",
        "| Path | N | p50 | p99 | bound p50 | bound p99 | ours/bound p99 | second bound p99 | ours/it "
        "| baseline p50 | baseline p99 | ours/baseline p99 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for path in PATHS:
        for n in results["sizes"]:
            ours, base = _pair(rows, path, n)
            if ours is None:
                continue
            channel = ours.get("channel_bound_staleness_p99") or ours.get("sustained_bound_staleness_p99")
            lines.append(
                f"| {path} | {n} | {s(ours['staleness_p50'])} | {s(ours['staleness_p99'])} "
                f"| {s(ours['bound_staleness_p50'])} | {s(ours['bound_staleness_p99'])} "
                f"| {x(ratio(ours['staleness_p99'], ours['bound_staleness_p99']))} "
                f"| {s(channel)}{' (per-channel)' if path == 'discord' else ' (sustained)'} "
                f"| {x(ratio(ours['staleness_p99'], channel))} "
                f"| {s(base and base['staleness_p50'])} | {s(base and base['staleness_p99'])} "
                f"| {x(ratio(ours['staleness_p99'], base and base['staleness_p99']))} |"
            )
    lines += [
        "",
        "## 2. Time to first visible text after the router's first token",
        "",
        "| Path | N | p50 | p99 | bound p50 | bound p99 | ours/bound p99 | baseline p50 | baseline p99 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for path in PATHS:
        for n in results["sizes"]:
            ours, base = _pair(rows, path, n)
            if ours is None:
                continue
            lines.append(
                f"| {path} | {n} | {s(ours['first_visible_p50'], 3)} | {s(ours['first_visible_p99'], 3)} "
                f"| {s(ours['bound_first_visible_p50'], 3)} | {s(ours['bound_first_visible_p99'], 3)} "
                f"| {x(ratio(ours['first_visible_p99'], ours['bound_first_visible_p99']))} "
                f"| {s(base and base['first_visible_p50'], 3)} | {s(base and base['first_visible_p99'], 3)} |"
            )
    lines += [
        "",
        "A ratio is left out (–) where the bound is under 10 ms: the ideal scheduler posts the instant the first "
        "token arrives, so any real bot is a loopback round trip behind it.",
        "",
        "## 4, 5. Rate-limit answers, budget, completeness",
        "",
        "| Path | N | bot | requests | 429s | budget used | evenness | complete | per-stream p50 min–max |",
        "|---|---:|---|---:|---:|---|---:|---:|---|",
    ]
    for path in PATHS:
        for n in results["sizes"]:
            for row in _pair(rows, path, n):
                if row is None:
                    continue
                budget = row["budget"]
                used = budget.get("budget_used")
                note = f"{used:.0%} of {budget.get('budget_note', '')}" if used is not None else "–"
                if path == "discord" and budget.get("channel_budget_used") is not None:
                    note += f"; {budget['channel_budget_used']:.2f} edits/s per thread of 1"
                lines.append(
                    f"| {path} | {n} | {row['bot']} | {budget.get('requests', 0)} | {budget.get('rate_limited', 0)} "
                    f"| {note} | {s(row.get('evenness'))} | {row['complete']}/{row['streams']} "
                    f"| {s(row['stream_p50_min'])}–{s(row['stream_p50_max'])} |"
                )
    lines += [
        "",
        "Budget used: the bot's accepted requests over what the binding limit allowed during the run (Discord: "
        "50/s global; Slack: the workspace tier's rate × run time + its burst). Evenness: Jain's index of each "
        "stream's median staleness, (Σx)²/(n·Σx²): 1 when every stream is equally stale, 1/n when one stream takes "
        "all the waiting (0 when a stream never showed some of its text).",
        "",
        "## 6. CPU and memory of the bot's process",
        "",
        "| Path | N | bot | tokens | CPU s | wall s | CPU per 1,000 tokens | peak RSS MiB | fakes' CPU |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|",
    ]
    for path in PATHS:
        for n in results["sizes"]:
            for row in _pair(rows, path, n):
                if row is not None:
                    lines.append(_cpu_line(row))
    capacity = results.get("capacity") or []
    if capacity:
        lines += [
            "",
            f"Capacity search (Discord path, {results['capacity_profile']['tokens_per_second']:g} tokens/s, "
            f"{results['capacity_profile']['tokens']} tokens an answer, Discord's 50/s global limit lifted so the "
            "process is what is measured; per-thread limits kept). Largest N with p99 staleness under "
            f"{TARGET_CAPACITY_P99:g} s: **{results.get('capacity_max') or 'none'}**.",
            "",
            "| N | p99 staleness | per-channel bound p99 | first text p99 | CPU per 1,000 tokens | bot CPU use "
            "| peak RSS MiB | complete | 429s | fakes' CPU |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in capacity:
            proc = row.get("process") or {}
            use = proc["cpu_seconds"] / proc["wall_seconds"] if proc.get("wall_seconds") else None
            fakes = row["fakes_cpu_seconds"] / row["fakes_wall_seconds"] if row.get("fakes_wall_seconds") else None
            lines.append(
                f"| {row['n']} | {s(row['staleness_p99'])} | {s(row.get('channel_bound_staleness_p99'))} "
                f"| {s(row['first_visible_p99'])} | {s(row.get('cpu_per_1k_tokens'), 3)} "
                f"| {'–' if use is None else f'{use:.0%}'} | {s(proc.get('peak_rss_mb'), 0)} "
                f"| {row['complete']}/{row['streams']} | {row['budget'].get('rate_limited', 0)} "
                f"| {'–' if fakes is None else f'{fakes:.0%}'} |"
            )
        lines += [
            "",
            "Bot CPU use is over the whole case (ramp-up and tail included); the fakes' process has a core of its "
            "own, and a row where it nears 100% measures the fakes as much as the bot.",
        ]
    llama = results.get("llama")
    if llama:
        lines += ["", "### Sanity run with the real local model (llama.cpp, SmolLM2-135M-Instruct)", ""]
        if llama.get("skipped"):
            lines.append(f"Skipped: {llama['skipped']}")
        else:
            lines += [
                "Discord path, the fakes' router relaying llama.cpp's stream (one token a chunk, its own pace).",
                "",
                "| N | tokens | p50 | p99 | bound p99 | first text p99 | complete | 429s | CPU per 1,000 tokens |",
                "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
                f"| {llama['n']} | {llama['tokens']} | {s(llama['staleness_p50'])} | {s(llama['staleness_p99'])} "
                f"| {s(llama['bound_staleness_p99'])} | {s(llama['first_visible_p99'], 3)} "
                f"| {llama['complete']}/{llama['streams']} | {llama['budget'].get('rate_limited', 0)} "
                f"| {s(llama.get('cpu_per_1k_tokens'), 3)} |",
            ]
    overhead = results.get("overhead") or {}
    lines += ["", "## 1. Event → first router request (bench/overhead.py)", ""]
    if overhead.get("markdown"):
        lines.append(overhead["markdown"])
    else:
        lines.append(f"Not run: {overhead.get('skipped', 'bench/overhead.py is not there')}")
    errors = [r for r in rows + capacity if r.get("error")]
    if errors:
        lines += ["", "## Cases that failed", ""]
        lines += [f"- {r['path']} N={r['n']} {r['bot']}: {r['error']}" for r in errors]
    lines += ["", HOW, ""]
    return "\n".join(lines)


def _cpu_line(row: dict) -> str:
    proc = row.get("process") or {}
    fakes = row["fakes_cpu_seconds"] / row["fakes_wall_seconds"] if row.get("fakes_wall_seconds") else None
    return (
        f"| {row['path']} | {row['n']} | {row['bot']} | {row['tokens']} | {s(proc.get('cpu_seconds'))} "
        f"| {s(proc.get('wall_seconds'))} | {s(row.get('cpu_per_1k_tokens'), 3)} | {s(proc.get('peak_rss_mb'), 0)} "
        f"| {'–' if fakes is None else f'{fakes:.0%} of a core'} |"
    )


HOW = """## How it is measured

- **One command**: `python -m bench` (`--quick` for a short run). The bot runs in the measuring process: ours is
  the production code (discord.py pointed at the loopback FakeDiscord; Bolt's Socket Mode and AsyncWebClient
  pointed at FakeSlack), the baseline is `bench/baseline.py`. The fake router and the fake platform run in a child
  process (`bench/fake_world.py`), so CPU time (user + system, all threads) and peak RSS are the bot's alone.
- **Token arrival** is when the fake router wrote the chunk holding the token (loopback). That is conservative:
  the bot's time to read and parse it counts against the bot. **Visible** is when the fake platform accepted the
  create/edit/append (Discord message revisions; Slack chat.postMessage/update and startStream/appendStream/
  stopStream, appends concatenated), with the typing indicator stripped. Both clocks are CLOCK_MONOTONIC.
- **Staleness** of a token: the first platform update whose text starts with the answer up to that token's end,
  minus the token's arrival. **Time to first visible text**: first update showing any of the answer, minus the
  first token's arrival. **Complete**: the final text on the platform equals what the router sent, byte for byte.
- **Limits** the fakes enforce, with the platforms' headers and 429 bodies: Discord 5 message creates and 5
  edits per 5 s per channel (thread) and 50 requests/s for the bot (429 with `"global": true`,
  `X-RateLimit-Global`, `X-RateLimit-Scope: global`); Slack chat.postMessage ~1/s per channel (burst 3),
  chat.update 50/min per workspace, chat.appendStream 100/min per workspace, chat.startStream and
  chat.stopStream 20/min per workspace (each tier's published floor, as the Web API reference gives the tiers),
  429 with `Retry-After`.
- **Bound**: the same token arrival times replayed through a simulated ideal scheduler under the same rules: no
  latency, no 429s, a fixed-window limit spent evenly (one request per window/limit seconds: with m updates over
  D seconds no schedule gets the p-quantile of staleness under p·D/m, and even spacing reaches it), shared
  budgets given to the stream whose oldest unshown token is oldest, an answer's final text held to the limits
  only. Each figure's bound is the best of a few such schedulers (first messages and/or final texts first or
  not; a shared token bucket's updates eager, at fractions of its rate, or spread evenly over the run), so it is
  a reference a real bot should not beat by much, not a proof of optimality; measured/bound is the ratio shown.
  The per-channel bound drops the shared limits (Discord's global 50/s); the sustained bound drops Slack's
  bursts.
- **Our pacing** (`core/throttle.py`, `bots/*/sink.py`): each thread its own cadence (Discord 1 request/s per
  thread, its 5 per 5 s spent evenly); a shared budget spent in fair shares (each answer's updates spaced by the
  answers sharing it over what it gives in 30 s) with an answer's first message and final text going first.
  Discord: 42 of the bot's 50 requests/s (rate + burst ≤ 44 a second, room for requests a busy event loop
  bunches up). Slack: a little under each workspace tier as the fake models it (chat.update 40 at once +
  0.75/s against 50 + 0.83/s; chat.appendStream 80 + 1.5/s against 100 + 1.67/s). New Slack messages
  (postMessage, startStream) are paced per channel (1/s, 2–3 at once), chat.stopStream draws on no shared
  budget (Slack rates each method apart), an answer whose native start is refused for rate goes out by
  postMessage + update instead, and a 429 on a workspace tier holds back every answer in the workspace, not
  only the one refused. The sustained bound shows what the tiers give once their burst is spent.
- **Baseline**: the rule of jakobdylanc/llmcord, one timer for the whole bot: the first text is posted at once,
  later chunks trigger an edit only if a second has passed since the bot's last request anywhere, the last edit
  waits for that timer; 429s are left to the platform library (discord.py, slack_sdk's retry handler).
"""


def plots(results: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    rows = results["rows"]
    fig, axes = plt.subplots(1, len(PATHS), figsize=(5 * len(PATHS), 4.2), sharey=False)
    for ax, path in zip(axes, PATHS, strict=True):

        def series(bot: str, key: str, path: str = path) -> tuple[list[int], list[float]]:
            chosen = sorted(
                (r["n"], r[key]) for r in rows if r["path"] == path and r["bot"] == bot and r.get(key) is not None
            )
            # a log axis: 10 ms stands for "at once", and a never-shown token for the top of the plot
            return [n for n, _ in chosen], [min(max(v, 0.01), 1e4) for _, v in chosen]

        for bot, key, style, label in (
            ("ours", "staleness_p99", "o-", "ours p99"),
            ("ours", "staleness_p50", "o--", "ours p50"),
            ("baseline", "staleness_p99", "s-", "baseline p99"),
            ("baseline", "staleness_p50", "s--", "baseline p50"),
            ("ours", "bound_staleness_p99", "k-", "bound p99"),
            ("ours", "bound_staleness_p50", "k--", "bound p50"),
            ("ours", "channel_bound_staleness_p99", "k:", "per-channel bound p99"),
            ("ours", "sustained_bound_staleness_p99", "k-.", "sustained bound p99"),
        ):
            ns, values = series(bot, key)
            if ns:
                ax.plot(ns, values, style, label=label, markersize=4)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(path)
        ax.set_xlabel("concurrent conversations")
        ax.set_ylabel("staleness (s)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7)
    fig.suptitle("Token arrival → visible on the platform")
    fig.tight_layout()
    fig.savefig(out / "staleness.png", dpi=120)
    plt.close(fig)
    made.append("staleness.png")

    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    for path in PATHS:
        for bot, style in (("ours", "o-"), ("baseline", "s--")):
            chosen = sorted(
                (r["n"], r["cpu_per_1k_tokens"])
                for r in rows
                if r["path"] == path and r["bot"] == bot and r.get("cpu_per_1k_tokens")
            )
            if chosen:
                ax.plot([n for n, _ in chosen], [v for _, v in chosen], style, label=f"{path} {bot}", markersize=4)
    capacity = [(r["n"], r["cpu_per_1k_tokens"]) for r in results.get("capacity") or [] if r.get("cpu_per_1k_tokens")]
    if capacity:
        ax.plot(*zip(*capacity, strict=True), "D-", label="capacity search (discord)", markersize=4)
    ax.axhline(TARGET_CPU_PER_1K, color="k", linestyle=":", label=f"target ({TARGET_STREAMS_PER_CORE} streams/core)")
    ax.set_xscale("log")
    ax.set_xlabel("concurrent conversations")
    ax.set_ylabel("bot CPU seconds per 1,000 tokens")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "cpu.png", dpi=120)
    plt.close(fig)
    made.append("cpu.png")
    return made
