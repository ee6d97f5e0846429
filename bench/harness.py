"""One streaming benchmark case: N conversations answered at once through a real bot, measured end to end.

The bot runs here, in the measuring process: ours is the production code (bots.discord.app.build_bot with
discord.py pointed at FakeDiscord; bots.slack.app.build_adapter with AsyncWebClient and Socket Mode pointed at
FakeSlack), the baseline is bench.baseline. The fake router and the fake platform run in a child process
(bench.fake_world), so this process's CPU time and memory are the bot's alone.

A case: the fakes prepare N threads, every user asks at once ("go"), the bot streams N answers, and once every
answer has been delivered the fakes hand back what they recorded: when the router wrote each token, and when
each piece of text became visible on the platform. bench.metrics and bench.bounds turn that into figures.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import logging
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from bench import bounds
from bench.baseline import MODEL, DiscordPoster, GlobalTimerBot, SlackEditPoster, SlackNativePoster
from bench.metrics import summarize
from bench.workload import StreamProfile, prompt

ROOT = Path(__file__).resolve().parent.parent
PATHS = ("discord", "slack-native", "slack-edits")
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
log = logging.getLogger(__name__)


@dataclass
class Case:
    path: str  # "discord" | "slack-native" | "slack-edits"
    bot: str  # "ours" | "baseline"
    n: int
    profile: StreamProfile = field(default_factory=StreamProfile)
    discord_global: bool = True  # False lifts Discord's 50 requests/s (the capacity search measures the process)
    upstream: str | None = None  # a real OpenAI-compatible server to relay instead of the scripted router
    model: str = MODEL
    max_tokens: int = 2048
    label: str = ""
    # ours on Slack only: the same bot first streams one un-measured burst of the same answers in the same workspace,
    # to their end, and waits out WARM_RECOVERY before the measured burst (what it learned from the first is kept)
    warm: bool = False
    # ours on Slack only: a first bot streams that un-measured burst and stops; after WARM_RECOVERY a second bot starts
    # on the same database and its burst is measured (what the first learned reaches it through the store only)
    restarted: bool = False

    @property
    def channels(self) -> int:
        """Slack: conversations are threads spread over this many channels (5 to a channel)."""
        return max(1, self.n // 5)

    def describe(self) -> dict:
        return {
            "path": self.path,
            "bot": self.bot,
            "n": self.n,
            "profile": self.profile.as_dict(),
            "discord_global": self.discord_global,
            "upstream": bool(self.upstream),
            "label": self.label,
            "warm": self.warm,
            "restarted": self.restarted,
            "channels": self.channels if self.path != "discord" else self.n,
        }


class FakeWorldProcess:
    """The child running bench.fake_world; one JSON line per command."""

    def __init__(self) -> None:
        self.process: asyncio.subprocess.Process | None = None
        self._lock = asyncio.Lock()

    async def start(self) -> FakeWorldProcess:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.fake_world",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            cwd=ROOT,
            limit=2**28,
        )
        return self

    async def call(self, cmd: str, **args: Any) -> Any:
        assert self.process is not None and self.process.stdin and self.process.stdout
        async with self._lock:
            self.process.stdin.write((json.dumps({"cmd": cmd, "args": args}) + "\n").encode())
            await self.process.stdin.drain()
            line = await self.process.stdout.readline()
        if not line:
            raise RuntimeError("the fakes' process ended")
        answer = json.loads(line)
        if not answer["ok"]:
            raise RuntimeError(f"fakes: {answer['error']}\n{answer.get('trace', '')}")
        return answer["result"]

    async def close(self) -> None:
        if self.process is None:
            return
        if self.process.stdin:
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), 10)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        self.process = None

    async def __aenter__(self) -> FakeWorldProcess:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


def quiet_logs() -> None:
    """Errors only: the benchmark's own lines are its output (the libraries' loggers are capped separately)."""
    from core.logs import cap_payload_loggers

    logging.basicConfig(level=logging.ERROR, force=True)
    cap_payload_loggers(logging.ERROR)


def rss_bytes() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * PAGE
    except OSError:  # not Linux: the lifetime peak is the best available
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


class Meter:
    """CPU seconds (user + system, every thread) and peak resident memory of this process over a window. The window
    starts with memory settled as `hfchat run` settles it once its front ends are built (`core.app.settle_memory`:
    what is alive then is frozen out of the collector's walks, and its thresholds raised), and ends unfrozen with the
    thresholds it found, so the next case starts clean."""

    def __init__(self, every: float = 0.05):
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, rss_bytes())

    def __enter__(self) -> Meter:
        from core.app import settle_memory

        self._thresholds = gc.get_threshold()
        settle_memory()
        self.rss_start = self.peak = rss_bytes()
        self.cpu_start, self.wall_start = time.process_time(), time.monotonic()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.cpu = time.process_time() - self.cpu_start
        self.wall = time.monotonic() - self.wall_start
        gc.unfreeze()
        gc.set_threshold(*self._thresholds)  # as it was: a case, or a test, after this one starts from the same
        self._stop.set()
        if self._thread:
            self._thread.join()
        self.peak = max(self.peak, rss_bytes())

    def as_dict(self) -> dict:
        return {
            "cpu_seconds": self.cpu,
            "wall_seconds": self.wall,
            "rss_start_mb": self.rss_start / 2**20,
            "peak_rss_mb": self.peak / 2**20,
        }


def _settings(case: Case, router_url: str, workdir: Path):
    from core.config import Settings

    return Settings(
        hf_token="hf_bench",
        hf_router_url=router_url,
        default_model=case.model,
        database_url=f"sqlite:///{workdir}/bench-{case.path}-{case.n}.db",
        local_mode="off",
        model_overrides_file=None,
        request_timeout=60,
        idle_timeout=120,
        max_tokens=case.max_tokens,
        auto_titles=False,
        _env_file=None,
    )


async def _wait_started(world: FakeWorldProcess, n: int, within: float) -> None:
    deadline = time.monotonic() + within
    while (await world.call("status"))["started"] < n:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the router saw fewer than {n} requests in {within:.0f} s")
        await asyncio.sleep(0.05)


def _timeout(case: Case) -> float:
    # generous: the slowest path (Slack edits at 200 in one workspace) needs ~4 minutes for its final edits
    return 60 + case.profile.seconds * 4 + case.n * 2


async def _ours_discord(world: FakeWorldProcess, case: Case, setup: dict, workdir: Path, meter: Meter) -> None:
    from bots.discord.app import build_bot
    from bots.discord.sink import DISCORD_LIMITS
    from core.app import build_core
    from core.keys import ConversationKey
    from tests.fakes.discord import running_client

    core = await build_core(_settings(case, setup["router_url"], workdir))
    try:
        for i, target in enumerate(setup["targets"]):
            key = ConversationKey("discord", setup["guild_id"], setup["channel_id"], target["thread"])
            await core.store.create_conversation(key, setup["user_id"], f"bench {i}")
        # without Discord's global limit (the capacity search) the bot's own share of it goes too
        limits = None if case.discord_global else dataclasses.replace(DISCORD_LIMITS, bucket_rate=None)
        bot = build_bot(core, print_invite=False, guild_ready_timeout=0.05, limits=limits)
        shim = SimpleNamespace(api_base=setup["api_base"], gateway_url=setup["gateway_url"], token=setup["token"])
        async with running_client(shim, bot, ready_within=30):
            with meter:
                await world.call("go", deliver=True)
                await _wait_started(world, case.n, 60 + case.n)
                await asyncio.wait_for(core.chat.replies.wait_idle(), _timeout(case))
    finally:
        await core.close(grace=5)


# Slack's tiers refill from empty within a minute (a minute's worth as burst, in the fake and in the bot's own buckets,
# which refill a little faster): after this long without a request every budget is as full as a fresh workspace's
WARM_RECOVERY = 61.0


async def _warm_up(world: FakeWorldProcess, case: Case, core: Any, quiet: bool = True) -> dict:
    """The un-measured first burst of a warm (or restarted) case: the same answers, to their end, then WARM_RECOVERY of
    quiet (`quiet`; a restarted case waits it once the first bot has stopped). Returns what it was (answers, how many
    natively, byte-exact, 429s) and the answer lengths the bot learned."""
    await world.call("go", deliver=True)
    await _wait_started(world, case.n, 60 + case.n)
    await asyncio.wait_for(core.chat.replies.wait_idle(), _timeout(case))
    data = await world.call("collect")
    if quiet:
        await asyncio.sleep(WARM_RECOVERY)
    streams = data["streams"]
    return {
        "answers": len(streams),
        "native": sum(bool(s["native"]) for s in streams),
        "complete": sum(bool(s["complete"]) for s in streams),
        "rate_limited": sum(1 for r in data["requests"] if r[3] == 429),
        "recovery_seconds": WARM_RECOVERY,
        "learned_seconds": _learned_lengths(core),
    }


def _learned_lengths(core: Any) -> dict:
    """What each budget that learns answer lengths has learned (core.streaming.lengths), read for the record only."""
    out = {}
    for throttle in core.chat.throttles._throttles.values():
        for key, bucket in throttle._buckets.items():
            if bucket.lengths is not None:
                out[f"{throttle.name} {key}"] = round(bucket.lengths.typical, 3)
    return out


@contextlib.asynccontextmanager
async def _slack_bot(case: Case, setup: dict, workdir: Path):
    """A bot as production builds it (its core on the case's database), connected to the fake Slack; closed after."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_sdk.web.async_client import AsyncWebClient

    from bots.slack.app import build_adapter
    from core.app import build_core

    core = await build_core(_settings(case, setup["router_url"], workdir))
    client = AsyncWebClient(token=setup["bot_token"], base_url=setup["api_url"])
    adapter = build_adapter(core, client=client, native_streaming=case.path == "slack-native")
    handler = AsyncSocketModeHandler(adapter.app, setup["app_token"], web_client=client)
    try:
        await handler.connect_async()
        yield core
    finally:
        await handler.close_async()
        await core.close(grace=5)


async def _ours_slack(world: FakeWorldProcess, case: Case, setup: dict, workdir: Path, meter: Meter) -> dict | None:
    warm_up = None
    if case.restarted:  # the first bot learns, and stops: what it learned is in the database, nowhere else
        async with _slack_bot(case, setup, workdir) as first:
            warm_up = await _warm_up(world, case, first, quiet=False)
        await asyncio.sleep(WARM_RECOVERY)
    async with _slack_bot(case, setup, workdir) as core:
        if case.warm:
            warm_up = await _warm_up(world, case, core)
        if warm_up is not None and case.restarted:
            warm_up["stored_seconds"] = await _stored_lengths(core, setup["team_id"])
        with meter:
            await world.call("go", deliver=True)
            await _wait_started(world, case.n, 60 + case.n)
            await asyncio.wait_for(core.chat.replies.wait_idle(), _timeout(case))
    return warm_up


async def _stored_lengths(core: Any, team: str) -> float | None:
    """The mean of the answer lengths the store holds for the workspace's chat.appendStream budget: what the second bot
    of a restarted case starts from (core.streaming.stored_lengths), read for the record only."""
    from bots.slack.tiers import NATIVE_LIMITS
    from core.streaming.lengths import KEEP

    found = await core.store.answer_lengths(NATIVE_LIMITS.budget, team, KEEP)
    return round(sum(found) / len(found), 3) if found else None


async def _baseline(world: FakeWorldProcess, case: Case, setup: dict, meter: Meter) -> None:
    if case.path == "discord":
        import discord

        from tests.fakes.discord import patched_discord

        shim = SimpleNamespace(api_base=setup["api_base"], gateway_url=setup["gateway_url"])
        client = discord.Client(intents=discord.Intents.none())
        with patched_discord(shim):
            await client.login(setup["token"])
            try:
                await _baseline_run(world, case, setup, DiscordPoster(client), meter, indicator=True)
            finally:
                await client.close()
        return
    from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
    from slack_sdk.web.async_client import AsyncWebClient

    client = AsyncWebClient(token=setup["bot_token"], base_url=setup["api_url"])
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=50))
    if case.path == "slack-edits":
        poster: Any = SlackEditPoster(client)
    else:
        poster = SlackNativePoster(client, setup["team_id"], "U0USER0001")
    await _baseline_run(world, case, setup, poster, meter, indicator=case.path == "slack-edits")


async def _baseline_run(
    world: FakeWorldProcess, case: Case, setup: dict, poster: Any, meter: Meter, *, indicator: bool
) -> None:
    bot = GlobalTimerBot(setup["router_url"], poster, indicator=indicator)
    try:
        with meter:
            go = await world.call("go", deliver=False)
            answers = [bot.answer(target, prompt(i)) for i, target in enumerate(go["targets"])]
            await asyncio.wait_for(asyncio.gather(*answers), _timeout(case))
    finally:
        await bot.close()


async def run_case(world: FakeWorldProcess, case: Case, workdir: Path) -> dict:
    """Run one case; returns the raw result (what the fakes recorded, the bot's CPU and memory)."""
    platform = "discord" if case.path == "discord" else "slack"
    setup = await world.call(
        "setup",
        platform=platform,
        n=case.n,
        profile=case.profile.as_dict(),
        channels=case.channels,
        discord_global=case.discord_global,
        upstream=case.upstream,
    )
    meter = Meter()
    error = ""
    warm_up = None
    started = time.monotonic()
    try:
        if (case.warm or case.restarted) and (case.bot != "ours" or platform != "slack"):
            raise ValueError("a warm or restarted case is ours on Slack only")
        if case.warm and case.restarted:
            raise ValueError("a case is warm (one bot) or restarted (two), not both")
        if case.bot == "baseline":
            await _baseline(world, case, setup, meter)
        elif platform == "discord":
            await _ours_discord(world, case, setup, workdir, meter)
        else:
            warm_up = await _ours_slack(world, case, setup, workdir, meter)
    except Exception as exc:  # a case that fails is reported as such; the suite goes on
        log.warning("case %s failed: %s", case.describe(), exc, exc_info=True)
        error = f"{type(exc).__name__}: {exc}"
        with contextlib.suppress(Exception):
            meter.__exit__(None, None, None)
    data = await world.call("collect")
    return {
        "case": case.describe(),
        "data": data,
        "bot": meter.as_dict() if hasattr(meter, "cpu") else {},
        "error": error,
        "case_seconds": time.monotonic() - started,
        **({"warm_up": warm_up} if case.warm or case.restarted else {}),
    }


def _budget(case: Case, data: dict) -> dict:
    """Requests the bot made and 429s it got, against what the platform allowed over the run."""
    requests = data["requests"]
    answered = [r for r in requests if r[2] in ("create", "edit", "final")]
    limited = [r for r in requests if r[3] == 429]
    if not answered:
        return {"requests": 0, "rate_limited": len(limited)}
    span = max(r[0] for r in answered) - data["t_go"]
    out: dict[str, Any] = {
        "requests": len(answered),
        "rate_limited": len(limited),
        "rate_limited_by": _count(r[1] for r in limited),
        "span_seconds": span,
    }
    ok = [r for r in answered if r[3] == 200]
    if case.path == "discord":
        out["per_second"] = len(ok) / span if span else None
        if case.discord_global:
            out["budget_note"] = "global 50/s"
            per_second = bounds.DISCORD_GLOBAL[0] / bounds.DISCORD_GLOBAL[1]
            out["budget_used"] = len(ok) / (per_second * span) if span else None
        edits = [r for r in ok if r[2] in ("edit", "final")]
        per_stream = [
            stream["router_done"] - stream["requested_at"] for stream in data["streams"] if stream["router_done"]
        ]
        out["edits_per_stream_second"] = len(edits) / sum(per_stream) if per_stream else None
        out["channel_budget_used"] = out["edits_per_stream_second"]  # 5 per 5 s = 1 per second per thread
    else:
        from tests.fakes.slack import DEFAULT_RATE_LIMITS

        method = "chat.update" if case.path == "slack-edits" else "chat.appendStream"
        limit = DEFAULT_RATE_LIMITS[method]
        used = sum(1 for r in ok if r[1] == method)
        allowed = limit.burst + limit.per_second * span
        out["budget_note"] = f"{method} {limit.per_second * 60:g}/min + burst {limit.burst}"
        out["budget_used"] = used / allowed
        out[method] = used
    return out


def _count(items) -> dict:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts


def evaluate(result: dict) -> dict:
    """The figures of one case: measured, the bound's, and the budget."""
    case_info, data = result["case"], result["data"]
    case = Case(
        path=case_info["path"],
        bot=case_info["bot"],
        n=case_info["n"],
        profile=StreamProfile.from_dict(case_info["profile"]),
        discord_global=case_info["discord_global"],
    )
    measured = summarize(data["streams"])
    streams = bounds.bound_streams(data)
    rules = bounds.platform_rules(case.path, discord_global=case.discord_global)
    bound = bounds.best(streams, rules)
    row = {
        **case_info,
        **{k: v for k, v in measured.items()},
        "bound_staleness_p50": bound["staleness_p50"],
        "bound_staleness_p99": bound["staleness_p99"],
        "bound_first_visible_p50": bound["first_visible_p50"],
        "bound_first_visible_p99": bound["first_visible_p99"],
        "bound_evenness": bound["evenness"],
        "rules": [r.describe() for r in rules],
        "budget": _budget(case, data),
        "process": result["bot"],
        "error": result["error"],
        "case_seconds": result["case_seconds"],
        "fakes_cpu_seconds": data["fakes_cpu_seconds"],
        "fakes_wall_seconds": data["fakes_wall_seconds"],
        "multi_message_streams": sum(s["messages"] > 1 for s in data["streams"]),
    }
    if case.path == "discord":
        per_channel = bounds.best(streams, bounds.platform_rules(case.path, per_channel_only=True))
        row["channel_bound_staleness_p50"] = per_channel["staleness_p50"]
        row["channel_bound_staleness_p99"] = per_channel["staleness_p99"]
    else:
        sustained = bounds.best(streams, bounds.platform_rules(case.path, sustained=True))
        row["sustained_bound_staleness_p50"] = sustained["staleness_p50"]
        row["sustained_bound_staleness_p99"] = sustained["staleness_p99"]
    if result["bot"] and measured["tokens"]:
        row["cpu_per_1k_tokens"] = result["bot"]["cpu_seconds"] / measured["tokens"] * 1000
    return row


async def run_rows(cases: list[Case], on_row=None) -> list[dict]:
    """Run `cases` one after the other with one fakes' process; the evaluated row of each."""
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory(prefix="hfchat-bench-") as tmp:
        async with FakeWorldProcess() as world:
            for case in cases:
                row = evaluate(await run_case(world, case, Path(tmp)))
                rows.append(row)
                if on_row is not None:
                    on_row(row)
    return rows
