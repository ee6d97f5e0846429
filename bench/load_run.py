"""Load run: many concurrent Slack conversations against the loopback fakes, with faults, for minutes.

    python -m bench.load_run                                   # 200 conversations for 600 s
    python -m bench.load_run --conversations 200 --duration 20 # the smoke run tests/e2e/test_load_smoke.py does
    python -m bench.load_run --database postgres               # on a fresh schema of 127.0.0.1:5432/test
    python -m bench.load_run --database postgres --processes 2 # two `hfchat run` processes behind a balancer

The real Slack adapter runs in this process in HTTP mode (Bolt behind aiohttp on 127.0.0.1), or, with
--processes N, in N real `hfchat run` processes (Slack HTTP mode) sharing one PostgreSQL schema behind a
round-robin balancer, so follow-ups and redeliveries of one thread land on different processes. Each
conversation is a channel thread whose user mentions the bot, waits for the answer, thinks, and asks
again until the run ends. Events arrive as signed HTTP requests, as Slack sends them, and some are
delivered twice (a retry with the same event_id, or the extra `message` event Slack sends next to
`app_mention`). The fake router streams every answer with a first-token delay and pauses between
chunks, and sometimes answers 429, 503 or cuts the stream mid-way (first attempt of a turn only).
FakeSlack applies its Slack-like rate limits, and an injector adds 429s on the chat.* methods.

At the end every turn is checked against the store (user message stored, one answer after it) and
against what FakeSlack shows (one bot reply per turn, its final text). Nothing leaves 127.0.0.1; no
message text is logged.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import random
import re
import statistics
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from bots.slack.app import build_adapter
from bots.slack.http import serve_http
from core.app import build_core
from core.config import Settings
from core.keys import ConversationKey
from core.records import MessageStatus
from core.replies.titles import TITLE_INSTRUCTION
from core.store import open_store
from tests.fakes.fake_router import FakeRouter, chunk
from tests.fakes.slack import FakeSlack, sign_request

TAG = re.compile(r"\bq\d+t\d+\b")
MODEL = "meta-llama/Llama-3.3-70B-Instruct"
SLACK_FAULT_METHODS = ("chat.postMessage", "chat.startStream", "chat.appendStream", "chat.stopStream", "chat.update")
ANSWER_WAIT = 90.0  # seconds a simulated user waits for an answer before counting it missing
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"  # the test database (trust auth), as in tests/support/stores.py


def answer_for(tag: str) -> str:
    """The exact answer the fake router gives to the turn `tag` (a few short paragraphs)."""
    words = " ".join(f"w{i}-{tag}" for i in range(24))
    return f"Answer for {tag}.\n\n{words}\n\nEnd of {tag}."


def visible_text(message) -> str:
    for block in message.blocks or []:
        if block.get("type") == "markdown":
            return block.get("text") or ""
    return message.final_text or ""


def is_done(message) -> bool:
    """A finished answer carries the done controls (Regenerate, ...) under it."""
    return any(str(b.get("block_id", "")).startswith("hfchat_done_") for b in message.blocks or [])


class LoadRouter(FakeRouter):
    """Answers `answer_for(tag)` for the tag in the last user message; faults on some first attempts."""

    def __init__(self, rng: random.Random, fault_rate: float, first_token: tuple[float, float], gap: float):
        super().__init__()
        self.rng, self.fault_rate, self.first_token, self.gap = rng, fault_rate, first_token, gap
        self.attempts: Counter[str] = Counter()
        self.faults: dict[str, str] = {}  # tag -> "429" | "503" | "cut"
        self.title_requests = 0

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        messages = body.get("messages", [])
        if messages and messages[0].get("role") == "system" and TITLE_INSTRUCTION in str(messages[0].get("content")):
            self.title_requests += 1  # the conversation's title: short, never faulted, not an answer
            return await self._stream(request, ["Load run title"], None)
        users = [m for m in messages if m.get("role") == "user"]
        content = users[-1].get("content") if users else ""
        if isinstance(content, list):
            content = " ".join(p.get("text", "") for p in content if isinstance(p, dict))
        found = TAG.findall(content or "")
        tag = found[-1] if found else "untagged"
        self.attempts[tag] += 1
        fault = None
        if self.attempts[tag] == 1 and self.rng.random() < self.fault_rate:
            fault = self.rng.choice(("429", "503", "cut"))
            self.faults[tag] = fault
        if fault == "429":
            return web.json_response({"error": {"message": "rate limited"}}, status=429, headers={"Retry-After": "1"})
        if fault == "503":
            return web.json_response({"error": {"message": "unavailable"}}, status=503)
        answer = answer_for(tag)
        return await self._stream(request, [answer[i : i + 24] for i in range(0, len(answer), 24)], fault)

    async def _stream(self, request: web.Request, pieces: list[str], fault: str | None) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "x-inference-provider": "fake"})
        await response.prepare(request)
        try:
            await response.write(f"data: {json.dumps(chunk(''))}\n\n".encode())
            await asyncio.sleep(self.rng.uniform(*self.first_token))
            for index, piece in enumerate(pieces):
                if fault == "cut" and index == len(pieces) // 2:
                    request.transport.close()
                    return response
                await response.write(f"data: {json.dumps(chunk(piece))}\n\n".encode())
                await asyncio.sleep(self.rng.uniform(0, 2 * self.gap))
            usage = {"prompt_tokens": 40, "completion_tokens": len(pieces), "total_tokens": 40 + len(pieces)}
            await response.write(f"data: {json.dumps(chunk(finish='stop'))}\n\n".encode())
            await response.write(f"data: {json.dumps(chunk(usage=usage, empty_choices=True))}\n\n".encode())
            await response.write(b"data: [DONE]\n\n")
            await response.write_eof()
        except (ConnectionResetError, RuntimeError):
            pass  # the bot hung up (stop, shutdown)
        return response


class LoadSlack(FakeSlack):
    """FakeSlack that indexes the bot's replies by thread, so thousands of turns stay cheap to watch."""

    def __init__(self, **kw):
        super().__init__(**kw)
        self.replies_by_thread: dict[tuple[str, str], list] = defaultdict(list)
        self.injected_429s = 0  # injected 429s actually answered (an injection waits for its method's next call)

    def _check_injection(self, method):
        queued = bool(self._injections.get(method))
        try:
            super()._check_injection(method)
        except Exception:
            self.injected_429s += queued
            raise

    def _bot_post(self, ch, method, *, thread_ts, **fields):
        message = super()._bot_post(ch, method, thread_ts=thread_ts, **fields)
        if message.thread_ts:
            self.replies_by_thread[(ch.id, message.thread_ts)].append(message)
        return message


@dataclass
class Turn:
    conversation: int
    channel: str
    root: str
    ts: str
    tag: str
    sent_at: float
    answered_at: float | None = None
    first_text_at: float | None = None


@dataclass
class Stats:
    turns: list[Turn] = field(default_factory=list)
    conversations_started: int = 0
    redelivered_retry: int = 0
    redelivered_message_event: int = 0
    delivery_failures: int = 0
    slack_429_injected: int = 0
    waits_timed_out: int = 0


class Load:
    def __init__(self, args: argparse.Namespace, router: LoadRouter, fake: LoadSlack, url: str, rng: random.Random):
        self.args, self.router, self.fake, self.url, self.rng = args, router, fake, url, rng
        self.stats = Stats()
        self.session: aiohttp.ClientSession | None = None

    async def deliver(self, payload: dict, *, retry_num: int = 0) -> None:
        """POST a signed event; a non-200 is retried like Slack does (same event_id, X-Slack-Retry-Num)."""
        body = json.dumps(payload).encode()
        for attempt in range(retry_num, retry_num + 4):
            headers = {"Content-Type": "application/json", **sign_request(body, self.fake.signing_secret)}
            if attempt:
                headers |= {"X-Slack-Retry-Num": str(attempt), "X-Slack-Retry-Reason": "http_timeout"}
            try:
                async with self.session.post(self.url, data=body, headers=headers) as response:
                    await response.read()
                    if response.status == 200:
                        return
            except (aiohttp.ClientError, TimeoutError):
                pass
            self.stats.delivery_failures += 1
            await asyncio.sleep(0.5)

    async def converse(self, index: int, deadline: float) -> None:
        channel = f"C0LOAD{index % self.args.channels:04d}"
        user = f"U0LOAD{index:04d}"
        root: str | None = None
        await asyncio.sleep(self.rng.uniform(0, min(5.0, self.args.duration / 4)))
        self.stats.conversations_started += 1
        number = 0
        while time.monotonic() < deadline:
            tag = f"q{index}t{number}"
            event = self.fake.build_app_mention(f"{tag} tell me something", user=user, channel=channel, thread_ts=root)
            root = root or event["ts"]
            turn = Turn(index, channel, root, event["ts"], tag, time.monotonic())
            self.stats.turns.append(turn)
            payload = self.fake.build_event_callback(event)
            await self.deliver(payload)
            roll = self.rng.random()
            if roll < self.args.duplicate_rate:
                await asyncio.sleep(self.rng.uniform(0, 1.0))
                self.stats.redelivered_retry += 1
                await self.deliver(payload, retry_num=1)
            elif roll < 2 * self.args.duplicate_rate:
                self.stats.redelivered_message_event += 1
                message = self.fake._message_event(self.fake.message(channel, event["ts"]))
                await self.deliver(self.fake.build_event_callback(message))
            await self.wait_answer(turn)
            number += 1
            await asyncio.sleep(self.rng.uniform(*self.args.think))

    def replies(self, turn: Turn, before: str | None = None) -> list:
        return [
            m
            for m in self.fake.replies_by_thread.get((turn.channel, turn.root), [])
            if not m.deleted and float(m.ts) > float(turn.ts) and (before is None or float(m.ts) < float(before))
        ]

    async def wait_answer(self, turn: Turn) -> None:
        give_up = time.monotonic() + ANSWER_WAIT
        while time.monotonic() < give_up:
            replies = self.replies(turn)
            if replies and is_done(replies[-1]):
                turn.answered_at = time.monotonic()
                return
            await asyncio.sleep(0.25)
        self.stats.waits_timed_out += 1

    async def inject_slack_faults(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await asyncio.sleep(self.rng.uniform(*self.args.slack_fault_every))
            self.fake.inject(self.rng.choice(SLACK_FAULT_METHODS), "ratelimited", times=1, retry_after=1)
            self.stats.slack_429_injected += 1


def first_text_at(turn: Turn, replies: list) -> float | None:
    """When the first characters of the expected answer became visible in Slack (FakeSlack's history)."""
    start = f"Answer for {turn.tag}"
    for message in replies:
        for snap in message.history:
            shown = snap.get("markdown_text") or snap.get("text") or ""
            for block in snap.get("blocks") or []:
                if block.get("type") == "markdown":
                    shown = block.get("text") or shown
            if shown.startswith(start[:12]):
                return snap["at"]
    stream = replies[0].stream if replies else None
    if stream is not None and stream.text.startswith(start[:12]):
        return stream.started_at  # the stream began with text
    return None


def describe(turn: Turn, replies: list, answers: list, fault: str | None, what: str) -> str:
    """One problem turn, without its text: what the store and Slack hold for it."""
    last = replies[-1] if replies else None
    stream = last.stream.state if last is not None and last.stream is not None else "-"
    shown = len(visible_text(last)) if last is not None else 0
    status = answers[-1].status if answers else "-"
    return (
        f"{turn.tag}: {what} (router fault {fault or '-'}, stored {status}, {len(replies)} replies, "
        f"stream {stream}, done {bool(last is not None and is_done(last))}, {shown}/{len(answer_for(turn.tag))} chars)"
    )


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def check(load: Load, store) -> dict:
    """Compare every turn with the store and with what Slack shows."""
    stats, fake, router = load.stats, load.fake, load.router
    by_thread: dict[tuple[str, str], list[Turn]] = defaultdict(list)
    for turn in stats.turns:
        by_thread[(turn.channel, turn.root)].append(turn)
    lost: Counter[str] = Counter()
    duplicates = correct = faulted_recovered = faulted_shown = wrong = 0
    first_text: list[float] = []
    problems: list[str] = []
    conversations_seen = 0
    for (channel, root), turns in by_thread.items():
        conversation = await store.get_conversation(ConversationKey("slack", fake.team_id, channel, root))
        stored = await store.recent_messages(conversation.id, 100_000) if conversation else []
        conversations_seen += conversation is not None
        for position, turn in enumerate(turns):
            after = turns[position + 1].ts if position + 1 < len(turns) else None
            replies = load.replies(turn, after)
            # exact tags: "q1t1" must not match "q1t10"
            users = [i for i, m in enumerate(stored) if m.role == "user" and turn.tag in TAG.findall(m.content)]
            answers = []
            if len(users) == 1:
                for later in stored[users[0] + 1 :]:
                    if later.role == "user":
                        break
                    answers.append(later)
            if not users:
                lost["user message not stored"] += 1
            elif not answers or not replies:
                lost["not answered"] += 1
            if (
                len(users) > 1
                or len(answers) > 1
                or len(replies) > 1
                or router.attempts[turn.tag] > 1 + (turn.tag in router.faults)
            ):
                duplicates += 1
            if not replies:
                continue
            final = visible_text(replies[-1]).strip()
            expected = answer_for(turn.tag)
            fault = router.faults.get(turn.tag)
            # a 429 or 503 before the first token: the fallback model answers and the answer says so
            failed_over = fault in ("429", "503") and final.startswith(expected) and "answered instead" in final
            if (final == expected or failed_over) and (not answers or answers[-1].status == MessageStatus.COMPLETE):
                correct += 1
                faulted_recovered += fault is not None
            elif fault == "cut" and final and answers and answers[-1].status == MessageStatus.ERROR:
                faulted_shown += 1  # the stream was cut: the partial text and the error stay, with Regenerate
            else:
                wrong += 1
                problems.append(describe(turn, replies, answers, fault, "wrong final text"))
            if turn.answered_at is None:
                problems.append(describe(turn, replies, answers, fault, "no finished reply within the wait"))
            seen = first_text_at(turn, replies)
            if seen is not None:
                first_text.append(seen - turn.sent_at)
    finished = [t.answered_at - t.sent_at for t in stats.turns if t.answered_at is not None]
    slack_429s = sum(fake.rate_limited.values())
    fault_kinds = ", ".join(f"{kind}: {n}" for kind, n in sorted(Counter(router.faults.values()).items()))
    return {
        "conversations": conversations_seen,
        "user messages sent": len(stats.turns),
        "answers delivered": sum(1 for t in stats.turns if t.answered_at is not None),
        "messages lost": sum(lost.values()),
        "lost detail": dict(lost) or "none",
        "duplicate answers": duplicates,
        "duplicate deliveries sent": f"{stats.redelivered_retry} retries (same event_id), "
        f"{stats.redelivered_message_event} extra message events",
        "router faults injected": f"{len(router.faults)} ({fault_kinds})",
        "slack 429s injected": f"{stats.slack_429_injected} queued, {fake.injected_429s} answered",
        "429s seen": f"slack {slack_429s} ({fake.injected_429s} injected, "
        f"{slack_429s - fake.injected_429s} from its rate limits), "
        f"router {sum(1 for f in router.faults.values() if f == '429')}",
        "time to first visible text p50 s": round(percentile(first_text, 50), 2),
        "time to first visible text p95 s": round(percentile(first_text, 95), 2),
        "time to finished answer p50 s": round(percentile(finished, 50), 2),
        "time to finished answer p95 s": round(percentile(finished, 95), 2),
        "final text correct": f"{correct} exact (of which {faulted_recovered} recovered after a router fault), "
        f"{faulted_shown} cut streams shown with their error, {wrong} wrong",
        "final text wrong": wrong,
        "waits timed out": stats.waits_timed_out,
        "event deliveries refused": stats.delivery_failures,
        "problem turns (first 10)": "; ".join(problems[:10]) or "none",
    }


def settings_for(args: argparse.Namespace, tmp: Path, router_url: str, fake: FakeSlack) -> Settings:
    values = dict(
        hf_token="hf_load_token",
        hf_router_url=router_url,
        default_model=MODEL,
        database_url=args.database_url or f"sqlite:///{tmp}/load.db",
        database_schema=args.database_schema,
        local_mode="off",
        model_overrides_file=None,
        request_timeout=10,
        idle_timeout=10,
        slack_bot_token=fake.bot_token,
        slack_signing_secret=fake.signing_secret,
        slack_api_url=fake.api_url,
        slack_mode="http",
        _env_file=None,
    )
    return Settings(**values)


@contextlib.asynccontextmanager
async def fresh_schema(database_url: str):
    """A PostgreSQL schema of its own for one run (the bot creates it), dropped afterwards."""
    import asyncpg

    schema = f"hfchat_load_{uuid.uuid4().hex[:12]}"
    try:
        yield schema
    finally:
        conn = await asyncpg.connect(database_url, timeout=10)
        try:
            await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await conn.close()


class InProcessBot:
    """The Slack adapter and its core in this process, served on 127.0.0.1."""

    def __init__(self, settings: Settings, fake: FakeSlack):
        self.settings, self.fake = settings, fake

    async def __aenter__(self) -> InProcessBot:
        self.core = await build_core(self.settings)
        client = AsyncWebClient(token=self.fake.bot_token, base_url=self.fake.api_url)
        self.adapter = build_adapter(self.core, client=client, signing_secret=self.fake.signing_secret)
        self.runner = await serve_http(self.adapter, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/slack/events"
        self.store = self.core.store
        return self

    async def idle(self, within: float) -> None:
        await self.adapter.idle(within=within)

    async def figures(self) -> dict:
        return {}

    async def __aexit__(self, *exc) -> None:
        await self.runner.cleanup()
        await self.core.close(grace=5)


class Balancer:
    """A round-robin HTTP load balancer on 127.0.0.1: each request goes to the next process; one that
    refuses the connection is skipped (a balancer's passive health check)."""

    def __init__(self, upstreams: list[str]):
        self.upstreams = upstreams
        self.turn = itertools.cycle(range(len(upstreams)))
        self.forwarded: Counter[int] = Counter()
        self.failed_over = 0

    async def __aenter__(self) -> Balancer:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30))
        app = web.Application()
        app.router.add_post("/slack/events", self._forward)
        self.runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}/slack/events"
        return self

    async def _forward(self, request: web.Request) -> web.Response:
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower().startswith(("x-slack-", "content-type"))}
        for _ in self.upstreams:
            index = next(self.turn)
            try:
                async with self.session.post(self.upstreams[index], data=body, headers=headers) as response:
                    answer = await response.read()
                    self.forwarded[index] += 1
                    return web.Response(status=response.status, body=answer, content_type=response.content_type)
            except aiohttp.ClientConnectionError:
                self.failed_over += 1
        return web.Response(status=502)

    async def __aexit__(self, *exc) -> None:
        await self.runner.cleanup()
        await self.session.close()


class BotProcesses:
    """N real `hfchat run` processes (Slack HTTP mode) on one PostgreSQL schema, behind a Balancer."""

    def __init__(
        self, count: int, fake: FakeSlack, router: FakeRouter, database_url: str, schema: str | None, logs: Path
    ):
        from tests.support.processes import BotProcess, bot_env

        env = bot_env(
            fake,
            router,
            database_url,
            **({"DATABASE_SCHEMA": schema} if schema else {}),
            AUTO_TITLES="true",  # as in this process's run: titles are part of the load
            REQUEST_TIMEOUT="10",
            IDLE_TIMEOUT="10",
            LOG_LEVEL="WARNING",
        )
        self.bots = [BotProcess(f"bot{i}", {**env, "WORKER_ID": f"bot{i}"}, logs) for i in range(count)]
        self.database_url, self.schema = database_url, schema

    async def __aenter__(self) -> BotProcesses:
        try:
            await asyncio.gather(*(bot.start(within=90) for bot in self.bots))
            self.balancer = await Balancer([bot.url for bot in self.bots]).__aenter__()
            self.store = await open_store(self.database_url, schema=self.schema)
        except BaseException:
            await self._stop_bots()
            raise
        self.url = self.balancer.url
        return self

    async def idle(self, within: float) -> None:
        """Until no answer has been streaming for a second (every process writes to the one database)."""
        deadline, quiet = time.monotonic() + within, 0
        while quiet < 4 and time.monotonic() < deadline:
            streaming = await self.store.pool.fetchval("SELECT COUNT(*) FROM messages WHERE status = 'streaming'")
            quiet = 0 if streaming else quiet + 1
            await asyncio.sleep(0.25)

    async def figures(self) -> dict:
        rows = await self.store.pool.fetch(
            "SELECT worker_id, COUNT(*) AS n FROM messages WHERE role = 'assistant' GROUP BY worker_id ORDER BY 1"
        )
        logs = [bot.log_text() for bot in self.bots]
        return {
            "answers per process": ", ".join(f"{r['worker_id'] or '-'}: {r['n']}" for r in rows),
            "events per process (balancer)": ", ".join(
                f"bot{i}: {self.balancer.forwarded[i]}" for i in range(len(self.bots))
            ),
            "balancer failovers": self.balancer.failed_over,
            "process tracebacks logged": sum(text.count("Traceback") for text in logs),
        }

    async def _stop_bots(self) -> None:
        await asyncio.gather(*(bot.stop() for bot in self.bots), return_exceptions=True)

    async def __aexit__(self, *exc) -> None:
        with contextlib.suppress(AttributeError):
            await self.store.close()
        with contextlib.suppress(AttributeError):
            await self.balancer.__aexit__(*exc)
        await self._stop_bots()


async def run_load(args: argparse.Namespace) -> dict:
    on_postgres = args.database == "postgres" or (args.database_url or "").startswith(("postgresql:", "postgres:"))
    if args.processes and not on_postgres:
        raise SystemExit("--processes needs --database postgres: processes share state through PostgreSQL")
    rng = random.Random(args.seed)
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        router = LoadRouter(rng, args.router_fault_rate, tuple(args.first_token), args.gap)
        async with contextlib.AsyncExitStack() as stack:
            await stack.enter_async_context(router)
            fake = await stack.enter_async_context(LoadSlack())
            if args.database == "postgres":
                args.database_url = args.database_url or PG_URL
                args.database_schema = await stack.enter_async_context(fresh_schema(args.database_url))
            if args.processes:
                bot = BotProcesses(args.processes, fake, router, args.database_url, args.database_schema, Path(tmp))
            else:
                bot = InProcessBot(settings_for(args, Path(tmp), router.url, fake), fake)
            await stack.enter_async_context(bot)
            load = Load(args, router, fake, bot.url, rng)
            stop = asyncio.Event()
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as load.session:
                injector = asyncio.create_task(load.inject_slack_faults(stop))
                deadline = time.monotonic() + args.duration
                await asyncio.gather(*(load.converse(i, deadline) for i in range(args.conversations)))
                stop.set()
                injector.cancel()
                await bot.idle(within=120)
            result = await check(load, bot.store)
            result.update(await bot.figures())
    result["seconds"] = round(time.monotonic() - started, 1)
    return result


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=200, help="concurrent conversations")
    parser.add_argument("--duration", type=float, default=600.0, help="seconds new questions are asked")
    parser.add_argument("--channels", type=int, default=50, help="channels the conversations share")
    parser.add_argument("--think", type=float, nargs=2, default=[2.0, 10.0], help="user pause between turns (s)")
    parser.add_argument("--first-token", type=float, nargs=2, default=[0.2, 1.5], help="router first-token delay")
    parser.add_argument("--gap", type=float, default=0.12, help="mean seconds between streamed chunks")
    parser.add_argument("--router-fault-rate", type=float, default=0.04, help="429/503/cut on a turn's 1st try")
    parser.add_argument(
        "--slack-fault-every", type=float, nargs=2, default=[1.0, 5.0], help="seconds between injected Slack 429s"
    )
    parser.add_argument("--duplicate-rate", type=float, default=0.05, help="share of events delivered twice (each)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--database",
        choices=("sqlite", "postgres"),
        default="sqlite",
        help="sqlite: a file in a temporary directory; postgres: a fresh schema on " + PG_URL,
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=0,
        help="0: the adapter in this process; N: N `hfchat run` processes behind a round-robin balancer (postgres)",
    )
    parser.add_argument("--database-url", default=None, help="another database than --database picks")
    parser.add_argument("--database-schema", default=None)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.WARNING, force=True)
    for name in ("aiohttp.access", "httpx", "httpx2", "slack_bolt", "slack_sdk"):
        logging.getLogger(name).setLevel(logging.WARNING)
    where = f"{args.processes} processes" if args.processes else "the adapter in this process"
    print(
        f"load run: {args.conversations} conversations for {args.duration:g} s in {args.channels} channels, "
        f"{where}, {args.database}",
        flush=True,
    )
    result = asyncio.run(run_load(args))
    for name, value in result.items():
        print(f"{name}: {value}")


if __name__ == "__main__":
    main()
