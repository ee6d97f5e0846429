"""Bot overhead: from a platform event to the router's first chat request, through the real adapters.

    python -m bench.overhead            # 200 samples per row: Discord, Slack native, Slack edits;
                                        # 10 and 10,000 messages; SQLite and PostgreSQL
    python -m bench.overhead --quick    # 30 samples per row
    python -m bench.overhead --samples 50 --backends sqlite --sizes 10000 --paths discord

Each row is one (path, database, conversation size). Every sample is one user message in a conversation the
bot already owns, pre-filled straight through the store with N messages (alternating questions and answers,
realistic lengths):

- Discord: the loopback FakeDiscord dispatches MESSAGE_CREATE over its gateway into one of the bot's threads;
  discord.py parses it and the bot's `on_message` answers it.
- Slack: FakeSlack sends the `message` event of a thread follow-up (no mention) in a Socket Mode envelope; Bolt
  dispatches it to the adapter. "native" streams with chat.startStream/appendStream, "edits" posts and updates.

Timestamps are `time.monotonic()`: `t0` just before the fake writes the event to its socket, `submit` when the
adapter calls `ChatService.submit`, `client` when the core calls `RouterClient.stream_chat` (everything about the
answer is decided), and `request` when the fake router's HTTP handler starts on the chat request. The row shows
`request - t0` (total), `request - submit` (in core, includes the HTTP client) and `request - client` (the
OpenAI SDK, httpx and loopback alone). Fakes, bot and router share one process and one event loop.

One reply at a time per conversation: a message arriving while an answer streams waits for it, so back-to-back
samples would measure the queue, not the path. Each sample therefore waits until its answer has been delivered
and stored (the fake router answers at once), then erases its two messages so the conversation keeps exactly N.
The platform's pacing (Discord 1 edit/s per channel, Slack chat.update ~50/min and the fakes' matching rate limits)
acts only on delivery, after the request, yet would make every sample last a second or more. So by default the
adapters get their production limits with the pacing shortened (`edit_interval` 20 ms, no shared budget) and the
fakes' rate limits are lifted; nothing in the measured interval changes. `--real-pacing` keeps both as in
production and rotates the samples over a few conversations of the same size (about 1 s per sample).

The model is one with a 131k-token context, so the 10,000-message rows load the newest 400 messages (the history
limit) and send them all: a ~330 KB request, as a long conversation with such a model really is. Before measuring,
the run settles memory the way `hfchat run` does once its front ends are built (`core.app.settle_memory`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import math
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from bench.steps import StepTimer, steps_markdown
from core.app import Core, build_core, settle_memory
from core.config import Settings
from core.keys import ConversationKey
from core.ops import eventloop
from core.records import MessageStatus, StoredMessage
from core.store.base import MESSAGE_FIELDS, encode_field
from tests.fakes.fake_router import FakeRouter, text_script

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MODEL = "meta-llama/Llama-3.3-70B-Instruct"  # 131k context in the fake router's catalog
ANSWER = "Done."
PATHS = ("discord", "slack-native", "slack-edits")
SIZES = (10, 10_000)
BACKENDS = ("sqlite", "postgres")
FULL_SAMPLES, QUICK_SAMPLES = 200, 30
FAST_PACING = {"edit_interval": 0.02, "bucket_rate": None}  # delivery after the request only: see the docstring
REAL_PACING_CONVERSATIONS = 4  # per row: samples rotate over these so a channel's pacing holds nothing back
WORDS = ["model", "token", "thread", "answer", "router", "stream", "llama", "café", "数据", "context", "window"]


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (p99 of 200 samples is the 2nd largest)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


# ---------------------------------------------------------------------------------------------- the router


class TimedRouter(FakeRouter):
    """The scripted router, noting when each sample's chat request reaches its handler."""

    def __init__(self) -> None:
        super().__init__()
        self.default_script = text_script(ANSWER, pieces=1)
        self.waiting: dict[str, asyncio.Future] = {}

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        at = time.monotonic()
        body = await request.json()
        tag = _tag_in(body.get("messages") or [])
        future = self.waiting.pop(tag, None) if tag else None
        if future is not None and not future.done():
            future.set_result(at)
        return await super()._chat(request)


def _tag_in(messages: list[dict]) -> str | None:
    if not messages:
        return None
    content = messages[-1].get("content")
    if isinstance(content, list):
        content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
    for word in str(content or "").split():
        if word.startswith("ovh-"):
            return word
    return None


@dataclass
class Marks:
    """Per sample tag: when the adapter entered ChatService.submit and when the core called the router client."""

    submit: dict[str, float] = field(default_factory=dict)
    client: dict[str, float] = field(default_factory=dict)


def instrument(core: Core, marks: Marks) -> None:
    """Wrap submit and stream_chat on these instances to take timestamps; behaviour is unchanged."""
    submit = core.chat.submit

    async def timed_submit(key, actor, text, sink, **kwargs):
        for word in text.split():
            if word.startswith("ovh-"):
                marks.submit[word] = time.monotonic()
        return await submit(key, actor, text, sink, **kwargs)

    stream_chat = core.router.stream_chat

    async def timed_stream_chat(request) -> AsyncIterator:
        tag = _tag_in(request.messages)
        if tag:
            marks.client[tag] = time.monotonic()
        async for event in stream_chat(request):
            yield event

    core.chat.submit = timed_submit  # type: ignore[method-assign]
    core.router.stream_chat = timed_stream_chat  # type: ignore[method-assign]


# ---------------------------------------------------------------------------------------------- the store


async def fill(core: Core, conversation_id: int, count: int, rng: random.Random, owner: str) -> None:
    """`count` messages (questions and answers, ending with an answer) inserted in bulk on the store's connection."""
    now = time.time() - count
    rows = []
    for i in range(count):
        question = (count - i) % 2 == 0
        message = StoredMessage(
            role="user" if question else "assistant",
            content=_text(rng, 40) if question else _text(rng, 200),
            author_id=owner if question else "",
            author_name="Ann" if question else "",
            model="" if question else MODEL,
            created_at=now + i,
        )
        rows.append((conversation_id, *(encode_field(n, getattr(message, n)) for n in MESSAGE_FIELDS)))
    columns = ", ".join(MESSAGE_FIELDS)
    store = core.store
    if core.settings.sqlite_path is not None:
        db = store.db  # type: ignore[attr-defined]
        await db.execute("BEGIN")
        await db.executemany(
            f"INSERT INTO messages (conversation_id, {columns}) VALUES (?, {', '.join('?' * len(MESSAGE_FIELDS))})",
            rows,
        )
        await db.execute("UPDATE conversations SET updated_at=? WHERE id=?", (now + count, conversation_id))
        await db.execute("COMMIT")
    else:
        async with store.pool.acquire() as conn, conn.transaction():  # type: ignore[attr-defined]
            await conn.copy_records_to_table(
                "messages", records=rows, columns=["conversation_id", *MESSAGE_FIELDS], schema_name=store.schema
            )
            await conn.execute("UPDATE conversations SET updated_at=$1 WHERE id=$2", now + count, conversation_id)
            await conn.execute("ANALYZE messages")


async def postgres_problem() -> str | None:
    """None when PostgreSQL answers at PG_URL, else why not."""
    try:
        import asyncpg

        conn = await asyncpg.connect(PG_URL, timeout=3)
        try:
            await conn.fetchval("SELECT 1")
        finally:
            await conn.close()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"[:160]
    return None


async def drop_schema(schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(PG_URL, timeout=10)
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


# ---------------------------------------------------------------------------------------------- the platforms


@dataclass
class Target:
    """One pre-filled conversation and how to post a user message into it."""

    conversation_id: int
    send: Callable[[str], Awaitable[float]]  # posts the text, returns t0 (just before the event leaves the fake)


@dataclass
class Platform:
    targets: dict[int, list[Target]]  # conversation size -> conversations
    idle: Callable[[], Awaitable[None]]


@contextlib.asynccontextmanager
async def discord_platform(
    core: Core, sizes: tuple[int, ...], rng: random.Random, *, real_pacing: bool
) -> AsyncIterator[Platform]:
    from bots.discord.app import build_bot
    from bots.discord.sink import DISCORD_LIMITS
    from tests.fakes.discord import DEFAULT_RATE_LIMITS, FakeDiscord, running_client

    lifted = {route: (100_000, 1.0) for route in DEFAULT_RATE_LIMITS}
    async with FakeDiscord(
        **({} if real_pacing else {"rate_limits": lifted, "default_rate_limit": (100_000, 1.0)})
    ) as fake:
        user = fake.default_user
        guild, channel = fake.default_guild["id"], fake.default_channel["id"]
        targets: dict[int, list[Target]] = {}
        for size in sizes:
            for n in range(REAL_PACING_CONVERSATIONS if real_pacing else 1):
                thread = fake.add_thread(fake.default_channel, f"bench {size} {n}")
                key = ConversationKey("discord", guild, channel, thread["id"])
                conversation = await core.store.create_conversation(key, user["id"], f"bench {size} {n}")
                await fill(core, conversation.id, size, rng, user["id"])

                async def send(text: str, thread_id: str = thread["id"]) -> float:
                    message = await fake.message_create(thread_id, user, text, dispatch=False)
                    t0 = time.monotonic()
                    await fake.dispatch("MESSAGE_CREATE", message)
                    return t0

                targets.setdefault(size, []).append(Target(conversation.id, send))
        limits = DISCORD_LIMITS if real_pacing else dataclasses.replace(DISCORD_LIMITS, **FAST_PACING)
        bot = build_bot(core, print_invite=False, guild_ready_timeout=0.05, limits=limits)
        async with running_client(fake, bot):
            yield Platform(targets, core.chat.replies.wait_idle)


@contextlib.asynccontextmanager
async def slack_platform(
    core: Core,
    sizes: tuple[int, ...],
    rng: random.Random,
    *,
    native: bool,
    real_pacing: bool,
    steps: StepTimer | None = None,
) -> AsyncIterator[Platform]:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
    from slack_sdk.web.async_client import AsyncWebClient

    from bots.slack.app import build_adapter
    from bots.slack.tiers import EDIT_LIMITS, NATIVE_LIMITS
    from tests.fakes.slack import DEFAULT_RATE_LIMITS, FakeSlack

    lifted = dict.fromkeys(DEFAULT_RATE_LIMITS)
    async with FakeSlack(**({} if real_pacing else {"rate_limits": lifted})) as fake:
        channel, user = fake.default_channel_id, fake.default_user_id
        targets: dict[int, list[Target]] = {}
        for size in sizes:
            for n in range(REAL_PACING_CONVERSATIONS if real_pacing else 1):
                root = fake.add_user_message(f"<@{fake.bot_user_id}> bench {size} {n}", user=user, channel=channel)
                key = ConversationKey("slack", fake.team_id, channel, root.ts)
                conversation = await core.store.create_conversation(key, user, f"bench {size} {n}")
                await fill(core, conversation.id, size, rng, user)

                async def send(text: str, root_ts: str = root.ts) -> float:
                    # a follow-up in the bot's thread: Slack sends a `message` event (no mention needed)
                    payload = fake.build_event_callback(
                        fake.build_message(text, user=user, channel=channel, thread_ts=root_ts)
                    )
                    t0 = time.monotonic()
                    await fake.socket_send_event(payload)
                    return t0

                targets.setdefault(size, []).append(Target(conversation.id, send))
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        limits = {"native_limits": NATIVE_LIMITS, "edit_limits": EDIT_LIMITS}
        if not real_pacing:
            limits = {name: dataclasses.replace(value, **FAST_PACING) for name, value in limits.items()}
        adapter = build_adapter(core, client=client, native_streaming=native, **limits)
        if steps is not None:
            steps.instrument_adapter(adapter)
        handler = AsyncSocketModeHandler(adapter.app, fake.app_token, web_client=client)
        await handler.connect_async()
        try:
            yield Platform(targets, lambda: adapter.idle(within=60))
        finally:
            await handler.close_async()


# ---------------------------------------------------------------------------------------------- measuring


@dataclass
class Samples:
    total: list[float] = field(default_factory=list)
    core: list[float] = field(default_factory=list)
    client: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


async def measure(
    core: Core,
    router: TimedRouter,
    marks: Marks,
    targets: list[Target],
    idle,
    count: int,
    warmup: int,
    label: str,
    steps: StepTimer | None = None,
) -> Samples:
    samples = Samples()
    loop = asyncio.get_running_loop()
    for i in range(warmup + count):
        target = targets[i % len(targets)]
        tag = f"ovh-{label}-{i}"
        arrived = router.waiting[tag] = loop.create_future()
        t0 = await target.send(f"{tag} what changed in the last answer?")
        try:
            request_at = await asyncio.wait_for(arrived, 30)
        except TimeoutError:
            samples.errors.append(f"{tag}: no router request within 30 s")
            router.waiting.pop(tag, None)
            request_at = None
        try:  # the answer is delivered and stored: the next sample finds the conversation free
            await asyncio.wait_for(idle(), 60)
        except TimeoutError:
            samples.errors.append(f"{tag}: the answer was still being written after 60 s; row stopped")
            break
        newest = await core.store.recent_messages(target.conversation_id, 2)
        asked = newest[0] if len(newest) == 2 and tag in newest[0].content else None
        answered = newest[-1] if newest else None
        if (
            asked is None
            or answered is None
            or answered.role != "assistant"
            or answered.content != ANSWER
            or answered.status != MessageStatus.COMPLETE
        ):
            samples.errors.append(f"{tag}: the answer was not stored as expected")
        if steps is not None:
            if request_at is not None and tag in marks.submit and tag in marks.client:
                steps.spans += [
                    ("= event -> ChatService.submit (adapter, Bolt/discord.py)", t0, marks.submit[tag]),
                    ("= submit -> RouterClient.stream_chat (core)", marks.submit[tag], marks.client[tag]),
                    ("= stream_chat -> request (OpenAI SDK, httpx, loopback)", marks.client[tag], request_at),
                ]
            steps.harvest(t0, request_at, measured=i >= warmup)
        if asked is not None:
            await core.store.delete_messages_from(target.conversation_id, asked.id)  # keep the size exact
        if request_at is None or i < warmup:
            continue
        samples.total.append((request_at - t0) * 1000)
        samples.core.append((request_at - marks.submit.get(tag, math.nan)) * 1000)
        samples.client.append((request_at - marks.client.get(tag, math.nan)) * 1000)
    return samples


def _settings(backend: str, tmp: Path, router_url: str, schema: str | None) -> Settings:
    return Settings(
        hf_token="hf_bench_token",
        hf_router_url=router_url,
        default_model=MODEL,
        database_url=f"sqlite:///{tmp}/overhead.db" if backend == "sqlite" else PG_URL,
        database_schema=schema,
        local_mode="off",
        model_overrides_file=None,
        _env_file=None,
    )


def _row(path: str, backend: str, size: int, samples: Samples) -> dict:
    row = {"path": path, "backend": backend, "messages": size, "samples": len(samples.total)}
    for name in ("total", "core", "client"):
        values = getattr(samples, name)
        row[f"{name}_p50_ms"] = round(statistics.median(values), 2) if values else None
        row[f"{name}_p99_ms"] = round(percentile(values, 99), 2) if values else None
    row["max_ms"] = round(max(samples.total), 2) if samples.total else None
    row["errors"] = len(samples.errors)
    if samples.errors:
        row["note"] = "; ".join(samples.errors[:3])
    return row


async def run_path(
    path: str,
    backend: str,
    sizes: tuple[int, ...],
    count: int,
    warmup: int,
    real_pacing: bool = False,
    with_steps: bool = False,
) -> list[dict]:
    rng = random.Random(7)
    schema = f"bench_overhead_{uuid.uuid4().hex[:12]}" if backend == "postgres" else None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            async with TimedRouter() as router:
                core = await build_core(_settings(backend, Path(tmp), router.url, schema))
                try:
                    marks = Marks()
                    instrument(core, marks)
                    steps = StepTimer() if with_steps else None
                    if path == "discord":
                        platform = discord_platform(core, sizes, rng, real_pacing=real_pacing)
                    else:
                        native = path == "slack-native"
                        platform = slack_platform(core, sizes, rng, native=native, real_pacing=real_pacing, steps=steps)
                    rows = []
                    async with platform as running:
                        settle_memory()  # as `hfchat run` does once its front ends are built
                        if steps is not None:  # after the conversations were filled: only the path is timed
                            steps.instrument(core)
                        for size in sizes:
                            label = f"{path}-{backend}-{size}"
                            samples = await measure(
                                core, router, marks, running.targets[size], running.idle, count, warmup, label, steps
                            )
                            rows.append(_row(path, backend, size, samples))
                            if steps is not None:
                                rows[-1]["steps"] = steps.summary()
                                steps = StepTimer(spans=steps.spans)  # the next size counts afresh
                                steps.spans.clear()
                    return rows
                finally:
                    await core.close(grace=5)
        finally:
            if schema is not None:
                await drop_schema(schema)


async def run(
    quick: bool = False,
    *,
    samples: int | None = None,
    warmup: int | None = None,
    backends: tuple[str, ...] = BACKENDS,
    sizes: tuple[int, ...] = SIZES,
    paths: tuple[str, ...] = PATHS,
    real_pacing: bool = False,
    with_steps: bool = False,
) -> list[dict]:
    """One row per (path, backend, conversation size); PostgreSQL rows carry `skipped` when it is unreachable."""
    count = samples or (QUICK_SAMPLES if quick else FULL_SAMPLES)
    warmup = warmup if warmup is not None else (3 if quick else 10)
    rows: list[dict] = []
    for backend in backends:
        problem = await postgres_problem() if backend == "postgres" else None
        for path in paths:
            if problem:
                rows += [
                    {
                        "path": path,
                        "backend": backend,
                        "messages": size,
                        "skipped": f"PostgreSQL unreachable: {problem}",
                    }
                    for size in sizes
                ]
                continue
            rows += await run_path(path, backend, sizes, count, warmup, real_pacing, with_steps)
    return rows


def markdown(rows: list[dict]) -> str:
    def ms(value) -> str:
        return "-" if value is None else f"{value:.2f}"

    lines = [
        "Event -> first router request (ms; p99 nearest-rank; core = ChatService.submit -> request, "
        "client = RouterClient.stream_chat -> request)",
        "",
        "| path | db | messages | n | total p50 | total p99 | core p50 | core p99 | client p50 | client p99 | max "
        "| notes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        if row.get("skipped"):
            lines.append(
                f"| {row['path']} | {row['backend']} | {row['messages']:,} | 0 | - | - | - | - | - | - | - "
                f"| skipped: {row['skipped']} |"
            )
            continue
        note = f"{row['errors']} errors: {row.get('note', '')}" if row["errors"] else ""
        lines.append(
            f"| {row['path']} | {row['backend']} | {row['messages']:,} | {row['samples']} "
            f"| {ms(row['total_p50_ms'])} | {ms(row['total_p99_ms'])} | {ms(row['core_p50_ms'])} "
            f"| {ms(row['core_p99_ms'])} | {ms(row['client_p50_ms'])} | {ms(row['client_p99_ms'])} "
            f"| {ms(row['max_ms'])} | {note} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_SAMPLES} samples per row")
    parser.add_argument("--samples", type=int, default=None, help=f"samples per row (default {FULL_SAMPLES})")
    parser.add_argument("--warmup", type=int, default=None, help="unmeasured samples first (default 10, quick 3)")
    parser.add_argument("--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS))
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--paths", nargs="+", choices=PATHS, default=list(PATHS))
    parser.add_argument("--real-pacing", action="store_true", help="production pacing and fake rate limits (slow)")
    parser.add_argument(
        "--steps", action="store_true", help="also time each step on the path (bench/steps.py; adds a little cost)"
    )
    parser.add_argument("--out", type=Path, help="also write OUT.json and OUT.md (rows, command, machine, load)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, force=True)
    for name in ("aiohttp.access", "httpx", "httpx2", "slack_bolt", "slack_sdk", "discord"):
        logging.getLogger(name).setLevel(logging.WARNING)
    started = time.monotonic()
    # the loop as `hfchat run` picks it (EVENT_LOOP, default auto: uvloop); the in-process fakes share it
    rows = eventloop.run(
        run(
            args.quick,
            samples=args.samples,
            warmup=args.warmup,
            backends=tuple(args.backends),
            sizes=tuple(args.sizes),
            paths=tuple(args.paths),
            real_pacing=args.real_pacing,
            with_steps=args.steps,
        ),
        os.environ.get("EVENT_LOOP", "auto"),
    )
    print(markdown(rows) + steps_markdown(rows))
    print(f"\n({time.monotonic() - started:.0f} s)")
    if args.out is not None:
        write_results(args.out, rows, argv, time.monotonic() - started)


def write_results(out: Path, rows: list[dict], argv: list[str] | None, seconds: float) -> None:
    """OUT.json and OUT.md: the rows with the command, the machine and its load (it is shared)."""
    from bench.report import machine

    command = "python -m bench.overhead " + " ".join(argv if argv is not None else sys.argv[1:])
    about = {"command": command.strip(), "machine": machine(), "loadavg": os.getloadavg(), "seconds": round(seconds)}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({**about, "rows": rows}, indent=1) + "\n")
    m = about["machine"]
    header = (
        f"`{about['command']}` — {m['date']}, commit {m['commit']}, {m['cores']} cores {m['cpu']}, "
        f"Python {m['python']}; load average at the end {', '.join(f'{x:.2f}' for x in about['loadavg'])} "
        "(a shared machine: other jobs ran meanwhile)\n\n"
    )
    out.with_suffix(".md").write_text(header + markdown(rows) + steps_markdown(rows) + "\n")


if __name__ == "__main__":
    main()
