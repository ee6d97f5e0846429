"""Discord's global limit with everything the bot does: mentions that open threads, answers streamed into them,
auto titles renaming them, all inside one 50 requests/s budget (issue 19).

    python -m bench.discord_global                                  # N = 1..25, 50, 100; sliding and fixed
    python -m bench.discord_global --sizes 50 100 --windows fixed
    python -m bench.discord_global --bot-root /tmp/hfchat-base      # the bot of another checkout ("before")

Each case: a fresh FakeDiscord (5 creates and 5 edits per 5 s per channel, 50 requests/s for the bot counted in
a sliding window or in fixed one-second windows) and a scripted router (300-token answers at 40 tokens/s after
0.4 s) run in this process; the bot is a real `hfchat run` process, unmodified, on its own SQLite database with
auto titles on. N users mention the bot in one channel, spread evenly over one second; the bot opens a thread
for each, streams the answer there and renames the thread with the auto title. Every timestamp is this process's
time.monotonic(): when the router wrote each token, when the fake accepted each request.

Figures per case: staleness p50/p99 (every token: from the router writing it to the first update showing it) beside
the ideal paced bound of bench.bounds (the same rules and token arrivals, no latency; each answer's thread paid from
the global limit, at its mention at the earliest and before its first message; renames free, since an ideal
scheduler puts them after the answers), and beside it the bound with threads free (what this bench reported before)
and the bound of the ideal schedulers that keep the order issue 19 asks for (a first text's thread and message, and
final texts, before any update; the model asked when the thread opens, as the bot does, or as recorded, whichever is
better): when that is above 1.1 times the bound, no scheduler keeping the order meets the target (as far as the
bound's candidate schedulers show); first visible text p50/max from the answer's first token, and from the mention,
beside the least any scheduler could reach (bench.bounds.first_text_bound: a thread and a first message per answer,
at 50/s and at the bot's 44/s, the model's first token `ttft` after the mention); global and per-route 429s;
complete final texts; renames per thread; the busiest second of the global limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import re
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import bounds
from bench.fake_world import timeline
from bench.metrics import percentile, summarize
from bench.workload import StreamProfile, answer_tokens
from bots.discord.sink import DISCORD_LIMITS
from core.replies.titles import TITLE_INSTRUCTION
from tests.fakes.discord import FakeDiscord
from tests.fakes.fake_router import FakeRouter, StreamLog, profile_script

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "results"
SIZES = (1, 5, 10, 15, 20, 25, 50, 100)
PROFILE = StreamProfile(tokens=300, tokens_per_second=40.0)
SPREAD = 1.0  # seconds the mentions are spread over
MARKER = re.compile(r"\[bench (\d+)\]")
MODEL = "meta-llama/Llama-3.3-70B-Instruct"
TARGET_RATIO = 1.1  # p99 staleness / bound at N >= 50
TARGET_FIRST_P50 = 0.5  # seconds, at N = 100
ORDERS_FROM = 50  # answers: from this many the report compares the budget's orders (bench.bounds.order_tradeoffs)
DISCORD_RATE = bounds.DISCORD_GLOBAL[0] / bounds.DISCORD_GLOBAL[1]  # requests a second Discord allows a bot
BOT_RATE = DISCORD_LIMITS.bucket_rate or DISCORD_RATE  # what the bot spends of them


def title_for(index: int) -> str:
    return f"Bench title {index}"


class BenchRouter(FakeRouter):
    """Answers `[bench i]` with answer i on the profile's schedule, and a title request with a short title."""

    def __init__(self, profile: StreamProfile):
        super().__init__()
        self.profile = profile
        self.script_for = self._script

    def _script(self, body: dict) -> list | None:
        messages = body.get("messages") or []
        users = [m for m in messages if m.get("role") == "user"]
        found = MARKER.search(json.dumps(users[-1].get("content"))) if users else None
        if not found:
            return None
        index = int(found.group(1))
        if any(m.get("role") == "system" and m.get("content") == TITLE_INSTRUCTION for m in messages):
            return profile_script([title_for(index)], ttft=0.05, tokens_per_second=100, jitter=0)
        p = self.profile
        return profile_script(
            answer_tokens(index, p),
            ttft=p.ttft,
            tokens_per_second=p.tokens_per_second,
            tokens_per_chunk=p.tokens_per_chunk,
            jitter=p.jitter,
            seed=p.seed * 7919 + index,
        )

    def answer_log(self, index: int) -> StreamLog | None:
        for log in self.streams:
            messages = log.request.get("messages") or []
            if any(m.get("role") == "system" and m.get("content") == TITLE_INSTRUCTION for m in messages):
                continue
            users = [m for m in messages if m.get("role") == "user"]
            found = MARKER.search(json.dumps(users[-1].get("content"))) if users else None
            if found and int(found.group(1)) == index:
                return log
        return None


def token_arrivals(log: StreamLog, index: int, profile: StreamProfile) -> list[tuple[float, int]]:
    """(when the router wrote the chunk holding each token, where the token ends in the answer)."""
    tokens, end, chunk = [], 0, 0
    for token in answer_tokens(index, profile):
        end += len(token)
        while chunk < len(log.chunks) and log.chunks[chunk][1] < end:
            chunk += 1
        if chunk < len(log.chunks):
            tokens.append((log.chunks[chunk][0], end))
    return tokens


class BotProcesses:
    """Real `hfchat run` processes (from `root`, ours unless told) against the fakes; logs in `log_dir`."""

    def __init__(self, envs: list[dict[str, str]], log_dir: Path, root: Path = ROOT):
        self.envs, self.log_dir, self.root = envs, log_dir, root
        self.processes: list[asyncio.subprocess.Process] = []
        self.logs = [log_dir / f"bot{i}.log" for i in range(len(envs))]

    async def __aenter__(self) -> BotProcesses:
        for env, log_path in zip(self.envs, self.logs, strict=True):
            env = {**env, "PYTHONPATH": str(self.root)}
            with open(log_path, "ab") as out:  # noqa: ASYNC230 (once per process)
                self.processes.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable, "-m", "bots.cli", "run", cwd=self.root, env=env, stdout=out, stderr=out
                    )
                )
        deadline = time.monotonic() + 60
        while not all("discord: ready in" in self.log(i) for i in range(len(self.envs))):
            for i, process in enumerate(self.processes):
                if process.returncode is not None:
                    raise RuntimeError(f"bot {i} exited with {process.returncode}:\n{self.log(i)[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError("the bots did not get ready:\n" + "\n".join(self.log(i)[-2000:] for i in range(3)))
            await asyncio.sleep(0.1)
        return self

    def log(self, i: int) -> str:
        path = self.logs[i]
        return path.read_text("utf-8", "replace") if path.exists() else ""

    async def __aexit__(self, *exc: object) -> None:
        for process in self.processes:
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                process.kill()
                await process.wait()


def bot_env(fake: FakeDiscord, router: FakeRouter, database_url: str, **extra: str) -> dict[str, str]:
    prefixes = ("SLACK_", "HF_", "DISCORD_", "REDIS_")
    proxies = {"HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"}
    env = {k: v for k, v in os.environ.items() if k not in proxies and not k.startswith(prefixes)}
    env.update(
        HF_TOKEN="hf_bench",
        HF_ROUTER_URL=router.url,
        LOCAL_MODE="off",
        DEFAULT_MODEL=MODEL,
        DATABASE_URL=database_url,
        LOG_LEVEL="INFO",
        REQUEST_TIMEOUT="30",
        IDLE_TIMEOUT="60",
        PYTHONUNBUFFERED="1",
        AUTO_TITLES="true",
        DISCORD_TOKEN=fake.token,
        DISCORD_API_URL=fake.api_base,
        DISCORD_GATEWAY_URL=fake.gateway_url,
    )
    env.update(extra)
    return env


@dataclass
class Mention:
    index: int
    channel_id: str
    message_id: str = ""
    at: float = 0.0


async def mention_all(fake: FakeDiscord, mentions: list[Mention], spread: float = SPREAD) -> float:
    """Every user mentions the bot, evenly over `spread` seconds; returns when the first one went."""
    bot_id, user = fake.bot_user["id"], fake.default_user
    t0 = time.monotonic()
    n = len(mentions)

    async def one(m: Mention) -> None:
        await asyncio.sleep(max(0.0, t0 + spread * m.index / n - time.monotonic()))
        m.at = time.monotonic()
        sent = await fake.message_create(m.channel_id, user, f"<@{bot_id}> [bench {m.index}] please answer")
        m.message_id = sent["id"]

    await asyncio.gather(*(one(m) for m in mentions))
    return t0


def bot_messages(fake: FakeDiscord, thread_id: str) -> list:
    mine = [m for m in fake.channel_messages(thread_id) if m.author_id == fake.bot_user["id"]]
    return sorted(mine, key=lambda m: int(m.id))


def answered(fake: FakeDiscord, router: BenchRouter, m: Mention) -> bool:
    log = router.answer_log(m.index)
    if log is None or log.finished is None or not m.message_id or m.message_id not in fake.channels:
        return False
    shown = "".join(msg.content for msg in bot_messages(fake, m.message_id))
    return shown == log.text


async def wait_done(fake: FakeDiscord, router: BenchRouter, mentions: list[Mention], within: float) -> None:
    """Until every answer shows whole and every thread has its title (or `within` passes), then quiet."""
    deadline = time.monotonic() + within
    pending = list(mentions)
    while pending and time.monotonic() < deadline:
        # checked once a second, only for what is still pending: the fakes share this process, and a busy check
        # would delay (and so bunch) the requests they timestamp
        await asyncio.sleep(1.0)
        pending = [
            m
            for m in pending
            if not answered(fake, router, m) or fake.channels.get(m.message_id, {}).get("name") != title_for(m.index)
        ]
    last = len(fake.requests)
    while time.monotonic() < deadline:  # nothing more is coming: two quiet seconds
        await asyncio.sleep(2.0)
        if len(fake.requests) == last:
            break
        last = len(fake.requests)


def busiest_second(times: list[float]) -> int:
    """The most requests any one second held (a sliding window over the accepted requests)."""
    best, start = 0, 0
    for end, t in enumerate(times):
        while times[start] <= t - 1.0:
            start += 1
        best = max(best, end - start + 1)
    return best


def collect(fake: FakeDiscord, router: BenchRouter, mentions: list[Mention], t_go: float, profile: StreamProfile):
    streams, from_mention = [], []
    renames: list[int] = []
    for m in mentions:
        log = router.answer_log(m.index)
        thread = m.message_id
        tokens = token_arrivals(log, m.index, profile) if log else []
        revisions = [[(r.at, r.content) for r in msg.history] for msg in bot_messages(fake, thread)]
        points, final = timeline(revisions, log.text if log else "")
        streams.append(
            {
                "channel": thread,
                "tokens": tokens,
                "timeline": points,
                "complete": bool(log) and log.finished is not None and final == log.text,
            }
        )
        shown = [t for t, chars in points if chars > 0]
        if shown:
            from_mention.append(min(shown) - m.at)
        renames.append(
            sum(
                1
                for r in fake.requests_for("PATCH", f"/channels/{thread}")
                if r.status == 200 and "name" in (r.json or {})
            )
        )
    measured = summarize(streams)
    rules = bounds.platform_rules("discord")
    opening = [{**s, "opens_at": m.at} for s, m in zip(streams, mentions, strict=True)]
    bound = bounds.best(opening, rules)
    bound_free_threads = bounds.best(streams, rules)
    # the best an ideal scheduler keeping the order (what a first text needs, and final texts, before any
    # update) was found to reach: the target's 1.1x of `bound` is out of reach for any such scheduler when this is
    # above it
    bound_rule = bounds.best(opening, rules, first_texts_first=True, asks_on_open=profile.ttft)
    # what each order of the global budget costs an ideal scheduler here, at Discord's 50/s and at the bot's pace
    orders = bounds.order_tradeoffs(opening, (None, BOT_RATE), profile.ttft) if len(mentions) >= ORDERS_FROM else []
    first_bounds = {
        rate: bounds.first_text_bound([m.at for m in mentions], profile.ttft, rate) for rate in (DISCORD_RATE, BOT_RATE)
    }
    after = [r for r in fake.requests if r.time >= t_go and r.route and not r.route.startswith("/gateway")]
    limited = [r for r in after if r.status == 429]
    global_429 = [r for r in limited if isinstance(r.response, dict) and r.response.get("global")]
    firsts = []
    for s in streams:
        seen = [t for t, chars in s["timeline"] if chars > 0]
        if s["tokens"] and seen:
            firsts.append(max(0.0, min(seen) - s["tokens"][0][0]))
    ends = [max(t for t, _ in s["timeline"]) for s in streams if s["timeline"]]
    counted = [t for t in fake.global_counted if t >= t_go]
    return {
        "n": len(mentions),
        "streams": measured["streams"],
        "complete": measured["complete"],
        "staleness_p50": measured["staleness_p50"],
        "staleness_p99": measured["staleness_p99"],
        "bound_p99": bound["staleness_p99"],
        "bound_p99_free_threads": bound_free_threads["staleness_p99"],
        "bound_p99_first_texts_first": bound_rule["staleness_p99"],
        "orders": orders,
        "ratio_p99": (measured["staleness_p99"] / bound["staleness_p99"])
        if measured["staleness_p99"] is not None and bound["staleness_p99"]
        else None,
        "first_p50": percentile(firsts, 50),
        "first_max": max(firsts) if firsts else None,
        "mention_first_p50": percentile(from_mention, 50),
        "mention_first_max": max(from_mention) if from_mention else None,
        # the least first visible text any scheduler reaches (counted), and an ideal schedule's, at 50/s and 44/s
        "first_bound": {f"{rate:g}": b for rate, b in first_bounds.items()},
        "global_429": len(global_429),
        "route_429": len(limited) - len(global_429),
        "requests": len(after),
        "busiest_second": busiest_second(counted) if counted else 0,
        "renames_max": max(renames) if renames else 0,
        "renamed": sum(1 for m in mentions if fake.channels.get(m.message_id, {}).get("name") == title_for(m.index)),
        "threads": sum(1 for m in mentions if m.message_id in fake.channels),
        "last_final_s": (max(ends) - t_go) if ends else None,
    }


async def run_case(n: int, window: str, root: Path, workdir: Path, profile: StreamProfile = PROFILE) -> dict:
    async with BenchRouter(profile) as router, FakeDiscord(check_spec=False, global_window=window) as fake:
        channel = fake.default_channel["id"]
        env = bot_env(fake, router, f"sqlite:///{workdir}/bot-{n}-{window}.db")
        async with BotProcesses([env], workdir, root) as bots:
            mentions = [Mention(i, channel) for i in range(n)]
            t_go = await mention_all(fake, mentions)
            await wait_done(fake, router, mentions, within=90 + n)
            row = collect(fake, router, mentions, t_go, profile)
            row["errors"] = bots.log(0).count("Traceback")
        row["window"] = window
        return row


def line(row: dict) -> str:
    def f(v: Any, spec: str = ".2f") -> str:
        return "-" if v is None else format(v, spec)

    return (
        f"{row['n']:>4} {row['window']:<8} p99 {f(row['staleness_p99'])} s / bound {f(row['bound_p99'])} s"
        f" = {f(row['ratio_p99'])}x  p50 {f(row['staleness_p50'])}  global 429 {row['global_429']}"
        f" route 429 {row['route_429']}  first p50/max {f(row['first_p50'])}/{f(row['first_max'])} s"
        f"  from mention {f(row['mention_first_p50'])}/{f(row['mention_first_max'])} s"
        f" (least possible {first_bound(row)}; from the first token {first_bound(row, True)})"
        f"  bound with threads free {f(row.get('bound_p99_free_threads'))} s"
        f"  bound keeping first texts first {f(row.get('bound_p99_first_texts_first'))} s"
        f"  complete {row['complete']}/{row['n']}  renamed {row['renamed']} (max {row['renames_max']}/thread)"
        f"  busiest s {row['busiest_second']}  done {f(row['last_final_s'], '.1f')} s"
    )


def first_bound(row: dict, from_token: bool = False) -> str:
    """The least first visible text, p50 / max: from the mention, any scheduler at 50/s (counted) and the ideal
    schedule at 50/s and at the bot's 44/s; from the first token, the ideal schedule's at 50/s."""
    found = row.get("first_bound") or {}
    at50, at44 = found.get(f"{DISCORD_RATE:g}"), found.get(f"{BOT_RATE:g}")
    if not at50 or not at44:
        return "-"
    if from_token:
        return f"ideal {at50['ideal_token_p50']:.2f} / {at50['ideal_token_max']:.2f} s"
    return (
        f"≥ {at50['counted_p50']:.2f} / {at50['counted_max']:.2f} s any; ideal {at50['ideal_p50']:.2f} /"
        f" {at50['ideal_max']:.2f} s at 50/s, {at44['ideal_p50']:.2f} / {at44['ideal_max']:.2f} s at 44/s"
    )


def order_lines(row: dict) -> list[str]:
    """The trade-off of the budget's orders for one case: p99 staleness against first text from the mention."""
    out = []
    for o in row.get("orders") or []:
        rate = "50/s (fixed windows)" if o["rate"] is None else f"{o['rate']:g}/s (even)"
        out.append(
            f"| {row['n']} | {row['window']} | {rate} | {o['order']} | {o['staleness_p99']:.2f} s |"
            f" {o['first_p50']:.2f} / {o['first_max']:.2f} s |"
        )
    return out


def rule_bound(row: dict) -> str:
    """The bound of the schedulers that keep first and final texts before updates, and its ratio to the bound."""
    ruled, bound = row.get("bound_p99_first_texts_first"), row.get("bound_p99")
    if ruled is None:
        return "-"
    return f"{ruled:.2f} s ({ruled / bound:.2f}×)" if bound else f"{ruled:.2f} s"


def markdown(rows: list[dict], command: str, label: str) -> str:
    out = [
        f"### {label}",
        "",
        f"`{command}` — {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "",
        "| N | global window | p99 staleness | ideal paced bound | ratio | target | bound, threads free |"
        " bound keeping first texts first (× bound) | global 429s | route 429s |"
        " first text p50 / max (from first token) | least possible from first token |"
        " from mention p50 / max | least possible from mention p50 / max | final texts exact | renames ≤ 1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:

        def f(v: Any) -> str:
            return "-" if v is None else f"{v:.2f}"

        target = f"≤ {TARGET_RATIO}×" if r["n"] >= 50 else "-"
        out.append(
            f"| {r['n']} | {r['window']} | {f(r['staleness_p99'])} s | {f(r['bound_p99'])} s | "
            f"{f(r['ratio_p99'])}× | {target} | {f(r.get('bound_p99_free_threads'))} s | {rule_bound(r)} |"
            f" {r['global_429']} |"
            f" {r['route_429']} | {f(r['first_p50'])} / {f(r['first_max'])} s | {first_bound(r, True)} |"
            f" {f(r['mention_first_p50'])} / {f(r['mention_first_max'])} s | {first_bound(r)}"
            f" | {r['complete']}/{r['n']} | {'yes' if r['renames_max'] <= 1 else 'no'} ({r['renamed']} renamed) |"
        )
    ordered = [line for r in rows for line in order_lines(r)]
    if ordered:
        out += [
            "",
            "What each order of the global budget costs an ideal scheduler on the same arrivals (one schedule each,"
            " bench.bounds.order_tradeoffs; the bot's order is the last):",
            "",
            "| N | global window | global rate | order | p99 staleness | first text from the mention p50 / max |",
            "|---|---|---|---|---|---|",
            *ordered,
        ]
    return "\n".join(out) + "\n"


async def main_async(args: argparse.Namespace) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="hfchat-global-") as tmp:
        for window in args.windows:
            for n in args.sizes:
                workdir = Path(tmp) / f"{window}-{n}"
                workdir.mkdir()
                row = await run_case(n, window, args.bot_root, workdir)
                print(line(row), flush=True)
                rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.discord_global", description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--windows", nargs="+", choices=("sliding", "fixed"), default=["sliding", "fixed"])
    parser.add_argument("--bot-root", type=Path, default=ROOT, help="run the bot of this checkout (default: this one)")
    parser.add_argument("--label", default="", help="a name for this run in the output")
    parser.add_argument("--json", type=Path, help="append the rows (with the command and machine) to this JSON file")
    args = parser.parse_args(argv)
    from bench.harness import quiet_logs

    quiet_logs()
    command = "python -m bench.discord_global " + " ".join(argv if argv is not None else sys.argv[1:])
    rows = asyncio.run(main_async(args))
    print()
    print(markdown(rows, command.strip(), args.label or str(args.bot_root)))
    if args.json:
        existing = json.loads(args.json.read_text()) if args.json.exists() else []
        existing.append({"label": args.label, "command": command.strip(), "machine": platform.node(), "rows": rows})
        args.json.write_text(json.dumps(existing, indent=1) + "\n")


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
