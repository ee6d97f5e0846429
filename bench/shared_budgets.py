"""Rate budgets shared across processes (issue 18): several real `hfchat run` processes of one bot, on one
PostgreSQL and one Redis, answering at once.

    python -m bench.shared_budgets                          # 3 processes, 200 answers: Discord shards, then Slack
    python -m bench.shared_budgets --platforms discord --no-redis   # the same without REDIS_URL (each alone)

Discord: one bot sharded in 3 (DISCORD_SHARD_COUNT=3, one shard per process); a guild on each shard; 200 users
mention the bot, spread over one second and over the three guilds; each answer opens a thread, streams there and
renames it. The fake counts the bot's 50 requests/s in a sliding second, across all processes (one token).
Slack: one workspace, the processes in HTTP mode behind a round-robin balancer (events land on any of them);
200 mentions in 40 channels, answered by post + edits; the fake holds chat.update to Tier 3 for the workspace and
chat.postMessage to about 1/s per channel.

Figures: 429s of any kind, staleness p99 for the whole bot beside the ideal paced bound (bench.bounds, the same
token arrivals), and each process's share: its answers, its requests per answer and its own p99.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from bench import bounds
from bench.discord_global import (
    PROFILE,
    BenchRouter,
    BotProcesses,
    Mention,
    bot_env,
    bot_messages,
    collect,
    mention_all,
    rule_bound,
    token_arrivals,
    wait_done,
)
from bench.fake_world import timeline, visible_slack
from bench.metrics import jain, percentile, summarize
from bench.workload import StreamProfile
from tests.fakes.discord import FakeDiscord, guild_id_for_shard

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/0"
TARGET_RATIO = 1.3


@contextlib.asynccontextmanager
async def fresh_places():
    """A PostgreSQL schema and a Redis namespace of their own, removed afterwards."""
    import asyncpg
    import redis.asyncio as redis

    schema, namespace = f"bench_{uuid.uuid4().hex[:10]}", f"bench-{uuid.uuid4().hex[:10]}"
    try:
        yield schema, namespace
    finally:
        conn = await asyncpg.connect(PG_URL)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()
        client = redis.from_url(REDIS_URL)
        try:
            keys = [k async for k in client.scan_iter(f"{namespace}:*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


def per_process(streams: list[dict], owner: list[int], requests: list[int], count: int) -> list[dict]:
    out = []
    for p in range(count):
        mine = [s for s, o in zip(streams, owner, strict=True) if o == p]
        figures = summarize(mine) if mine else {"staleness_p99": None, "complete": 0}
        answers = len(mine)
        out.append(
            {
                "process": p,
                "answers": answers,
                "complete": figures["complete"],
                "requests": requests[p],
                "requests_per_answer": requests[p] / answers if answers else None,
                "staleness_p99": figures["staleness_p99"],
            }
        )
    return out


async def discord_case(count: int, answers: int, redis: bool, workdir: Path, profile: StreamProfile = PROFILE) -> dict:
    async with (
        fresh_places() as (schema, namespace),
        BenchRouter(profile) as router,
        FakeDiscord(check_spec=False, shard_count=count) as fake,
    ):
        channels = []
        for shard in range(count):
            guild = fake.add_guild(f"guild {shard}", owner=fake.guild_owner, guild_id=guild_id_for_shard(shard, count))
            fake.add_member(guild, fake.default_user)
            channels.append(fake.add_text_channel(guild, "general")["id"])
        extra = {"DATABASE_SCHEMA": schema, "DISCORD_SHARD_COUNT": str(count), "LOG_LEVEL": "INFO"}
        if redis:
            extra |= {"REDIS_URL": REDIS_URL, "REDIS_NAMESPACE": namespace}
        envs = [
            bot_env(fake, router, PG_URL, **extra, DISCORD_SHARD_IDS=f"[{i}]", WORKER_ID=f"shard{i}")
            for i in range(count)
        ]
        async with BotProcesses(envs, workdir) as bots:
            mentions = [Mention(i, channels[i % count]) for i in range(answers)]
            t_go = await mention_all(fake, mentions)
            await wait_done(fake, router, mentions, within=240 + answers)
            row = collect(fake, router, mentions, t_go, profile)
            logs = [bots.log(i) for i in range(count)]
        # whose is each request: a thread's and its parent channel's belong to the shard of its guild
        shard_of = {}
        for shard, channel in enumerate(channels):
            shard_of[channel] = shard
        for m in mentions:
            shard_of[m.message_id] = shard_of[m.channel_id]
        requests = [0] * count
        for r in fake.requests:
            if r.time >= t_go and r.status and r.status != 429:
                channel = (r.params or {}).get("channel_id")
                if channel in shard_of:
                    requests[shard_of[channel]] += 1
        streams = []
        for m in mentions:
            log = router.answer_log(m.index)
            revisions = [[(rv.at, rv.content) for rv in msg.history] for msg in bot_messages(fake, m.message_id)]
            points, final = timeline(revisions, log.text if log else "")
            tokens = token_arrivals(log, m.index, profile) if log else []
            streams.append({"tokens": tokens, "timeline": points, "complete": bool(log) and final == log.text})
        shares = per_process(streams, [i % count for i in range(answers)], requests, count)
        row.update(
            platform="discord",
            processes=count,
            redis=redis,
            shares=shares,
            fairness=jain([s["requests_per_answer"] or 0 for s in shares]),
            tracebacks=sum(text.count("Traceback") for text in logs),
            fallback_lines=sum(text.count("Redis is unreachable") for text in logs),
        )
        return row


async def slack_case(count: int, answers: int, redis: bool, workdir: Path, profile: StreamProfile = PROFILE) -> dict:
    from bench.load_run import Balancer
    from tests.fakes.slack import FakeSlack, sign_request
    from tests.support.processes import BotProcess
    from tests.support.processes import bot_env as slack_env

    channels = max(1, answers // 5)
    async with fresh_places() as (schema, namespace), BenchRouter(profile) as router, FakeSlack() as fake:
        extra = {"DATABASE_SCHEMA": schema, "AUTO_TITLES": "false", "LOG_LEVEL": "WARNING"}
        extra |= {"REQUEST_TIMEOUT": "30", "IDLE_TIMEOUT": "60", "DEFAULT_MODEL": "meta-llama/Llama-3.3-70B-Instruct"}
        if redis:
            extra |= {"REDIS_URL": REDIS_URL, "REDIS_NAMESPACE": namespace}
        env = slack_env(fake, router, PG_URL, **extra)
        env.pop("PYTHONPATH", None)
        bots = [BotProcess(f"bot{i}", {**env, "WORKER_ID": f"bot{i}"}, workdir) for i in range(count)]
        try:
            await asyncio.gather(*(bot.start(within=90) for bot in bots))
            async with Balancer([bot.url for bot in bots]) as balancer, aiohttp.ClientSession() as session:
                targets = []
                t_go = time.monotonic()

                async def ask(i: int) -> None:
                    await asyncio.sleep(max(0.0, t_go + i / answers - time.monotonic()))
                    channel = f"C0SHARE{i % channels:04d}"
                    event = fake.build_app_mention(f"[bench {i}] please answer", user="U0BENCH0001", channel=channel)
                    targets.append((i, channel, event["ts"]))
                    body = json.dumps(fake.build_event_callback(event)).encode()
                    headers = {"Content-Type": "application/json", **sign_request(body, fake.signing_secret)}
                    async with session.post(balancer.url, data=body, headers=headers) as response:
                        await response.read()

                await asyncio.gather(*(ask(i) for i in range(answers)))
                deadline = time.monotonic() + 600
                pending = list(targets)
                while pending and time.monotonic() < deadline:
                    await asyncio.sleep(1.0)
                    pending = [t for t in pending if not _slack_done(fake, router, t)]
                await asyncio.sleep(2.0)
                forwarded = [balancer.forwarded[i] for i in range(count)]
        finally:
            await asyncio.gather(*(bot.stop() for bot in bots), return_exceptions=True)
        logs = [bot.log_text() for bot in bots]
        owner_of = await _slack_owners(schema, targets)
        streams, owners = [], []
        requests = [0] * count
        for i, channel, ts in sorted(targets):
            log = router.answer_log(i)
            mine = sorted(fake.bot_messages(channel, ts), key=lambda m: float(m.ts))
            revisions = [[(s["at"], visible_slack(s)) for s in m.history] for m in mine]
            points, final = timeline(revisions, log.text if log else "")
            tokens = token_arrivals(log, i, profile) if log else []
            streams.append(
                {
                    "channel": f"{channel}/{ts}",
                    "tokens": tokens,
                    "timeline": points,
                    "complete": bool(log) and final == log.text,
                }
            )
            owner = owner_of.get(ts, 0)
            owners.append(owner)
            requests[owner] += sum(len(m.history) for m in mine)
        calls = [c for c in fake.calls() if c.at >= t_go]
        limited = [c for c in calls if c.status == 429]
        measured = summarize(streams)
        bound = bounds.best(
            bounds.bound_streams(
                {"streams": [{"target": {"thread": s["channel"]}, "tokens": s["tokens"]} for s in streams]}
            ),
            bounds.platform_rules("slack-edits"),
        )
        shares = per_process(streams, owners, requests, count)
        firsts = [
            t - s["tokens"][0][0]
            for s in streams
            if s["tokens"]
            for t in [min((p for p, c in s["timeline"] if c), default=None)]
            if t
        ]
        return {
            "platform": "slack",
            "processes": count,
            "redis": redis,
            "n": answers,
            "complete": measured["complete"],
            "staleness_p50": measured["staleness_p50"],
            "staleness_p99": measured["staleness_p99"],
            "bound_p99": bound["staleness_p99"],
            "ratio_p99": measured["staleness_p99"] / bound["staleness_p99"] if bound["staleness_p99"] else None,
            "global_429": len(limited),
            "route_429": 0,
            "rate_limited_by": {m: sum(1 for c in limited if c.method == m) for m in {c.method for c in limited}},
            "first_p50": percentile(firsts, 50),
            "events_per_process": forwarded,
            "shares": shares,
            "fairness": jain([s["requests_per_answer"] or 0 for s in shares]),
            "tracebacks": sum(text.count("Traceback") for text in logs),
            "fallback_lines": sum(text.count("Redis is unreachable") for text in logs),
        }


def _slack_done(fake: Any, router: BenchRouter, target: tuple[int, str, str]) -> bool:
    i, channel, ts = target
    log = router.answer_log(i)
    if log is None or log.finished is None:
        return False
    mine = sorted(fake.bot_messages(channel, ts), key=lambda m: float(m.ts))
    shown = "".join(visible_slack(m.history[-1]) for m in mine if m.history)
    return shown == log.text


async def _slack_owners(schema: str, targets: list[tuple[int, str, str]]) -> dict[str, int]:
    """Which process answered each thread (the worker id stamped on its answer)."""
    import asyncpg

    conn = await asyncpg.connect(PG_URL, server_settings={"search_path": f'"{schema}"'})
    try:
        rows = await conn.fetch(
            "SELECT c.thread, m.worker_id FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.role = 'assistant'"
        )
    finally:
        await conn.close()
    return {r["thread"]: int(r["worker_id"].removeprefix("bot")) for r in rows if r["worker_id"]}


def line(row: dict) -> str:
    def f(v: Any) -> str:
        return "-" if v is None else f"{v:.2f}"

    shares = "; ".join(
        f"p{s['process']}: {s['answers']} answers, {f(s['requests_per_answer'])} req/answer, "
        f"p99 {f(s['staleness_p99'])}"
        for s in row["shares"]
    )
    return (
        f"{row['platform']:<8} {row['processes']} processes {'redis' if row['redis'] else 'alone'}: N={row['n']}"
        f" p99 {f(row['staleness_p99'])} s / bound {f(row['bound_p99'])} s = {f(row['ratio_p99'])}x"
        f" (bound keeping first texts first {f(row.get('bound_p99_first_texts_first'))} s)"
        f"  429s {row['global_429'] + row['route_429']}  complete {row['complete']}/{row['n']}"
        f"  fairness {f(row['fairness'])}  [{shares}]"
    )


def markdown(rows: list[dict], command: str) -> str:
    out = [
        f"`{command}` — {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}; PostgreSQL and"
        " Redis on 127.0.0.1",
        "",
        "| platform | processes | budgets | N | 429s | p99 staleness | ideal paced bound | ratio (target ≤ 1.3×) |"
        " bound keeping first texts first (× bound) | final texts exact | per process: answers, requests/answer, p99 |"
        " fairness (Jain, requests/answer) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:

        def f(v: Any) -> str:
            return "-" if v is None else f"{v:.2f}"

        shares = "<br>".join(
            f"{s['answers']}, {f(s['requests_per_answer'])}, {f(s['staleness_p99'])} s" for s in r["shares"]
        )
        out.append(
            f"| {r['platform']} | {r['processes']} | {'Redis' if r['redis'] else 'each alone'} | {r['n']} |"
            f" {r['global_429'] + r['route_429']} | {f(r['staleness_p99'])} s | {f(r['bound_p99'])} s |"
            f" {f(r['ratio_p99'])}× | {rule_bound(r)} | {r['complete']}/{r['n']} | {shares} | {f(r['fairness'])} |"
        )
    return "\n".join(out) + "\n"


async def main_async(args: argparse.Namespace) -> list[dict]:
    rows = []
    with tempfile.TemporaryDirectory(prefix="hfchat-shared-") as tmp:
        for name in args.platforms:
            for redis in ([False] if args.no_redis else [True]) if not args.both else [False, True]:
                workdir = Path(tmp) / f"{name}-{redis}"
                workdir.mkdir()
                case = discord_case if name == "discord" else slack_case
                row = await case(args.processes, args.answers, redis, workdir)
                print(line(row), flush=True)
                rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.shared_budgets", description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=3)
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--platforms", nargs="+", choices=("discord", "slack"), default=["discord", "slack"])
    parser.add_argument("--no-redis", action="store_true", help="without REDIS_URL: each process counts alone")
    parser.add_argument("--both", action="store_true", help="each case without Redis, then with it")
    parser.add_argument("--json", type=Path, help="write the rows (with the command and machine) to this JSON file")
    args = parser.parse_args(argv)
    from bench.harness import quiet_logs

    quiet_logs()
    command = ("python -m bench.shared_budgets " + " ".join(argv if argv is not None else sys.argv[1:])).strip()
    rows = asyncio.run(main_async(args))
    print()
    print(markdown(rows, command))
    if args.json:
        args.json.write_text(json.dumps({"command": command, "machine": platform.node(), "rows": rows}, indent=1))


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
