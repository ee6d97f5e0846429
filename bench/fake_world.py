"""The fakes' side of a streaming benchmark, in a process of its own: the fake router and FakeDiscord or FakeSlack.

    python -m bench.fake_world      (started by bench.harness: one JSON command per stdin line, one JSON answer
                                     per stdout line)

Keeping the fakes here means the bot's process pays only for the bot: its CPU time and memory are its own, and
200 streams' worth of router writes and platform requests do not run on its event loop. Both processes stamp
events with time.monotonic() (CLOCK_MONOTONIC, one clock for the whole machine on Linux), and in fact every
timestamp a metric uses comes from this process: when the router wrote each chunk and when the platform accepted
each update.

A token "arrives at the bot" when the router wrote the chunk holding it (loopback). That is conservative: the
bot's own time to read the chunk counts against the bot.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sys
import time
import traceback
from typing import Any

import aiohttp
from aiohttp import web

from bench.workload import StreamProfile, answer_tokens, prompt
from core.streaming import NOTICE_TRUNCATED
from tests.fakes.discord import FakeDiscord
from tests.fakes.fake_router import FakeRouter, StreamLog, profile_script
from tests.fakes.slack import FakeSlack

MARKER = re.compile(r"\[bench (\d+)\]")
INDICATOR = " ▌"  # core.streaming.PlatformLimits.typing_indicator: shown while streaming, never part of the answer
DISCORD_MESSAGE_ROUTES = {
    ("POST", "/channels/{channel_id}/messages"): "create",
    ("PATCH", "/channels/{channel_id}/messages/{message_id}"): "edit",
}
SLACK_KINDS = {
    "chat.postMessage": "create",
    "chat.update": "edit",
    "chat.startStream": "create",
    "chat.appendStream": "edit",
    "chat.stopStream": "final",
}


def visible_slack(snapshot: dict) -> str:
    """What a Slack user sees of a message: its markdown block, else its (streamed) markdown_text, else text."""
    for block in snapshot.get("blocks") or []:
        if isinstance(block, dict) and block.get("type") == "markdown":
            return block.get("text", "")
    if snapshot.get("markdown_text") is not None:
        return snapshot["markdown_text"]
    return snapshot.get("text") or ""


def shared_prefix(a: str, b: str) -> int:
    """How many leading characters two strings share."""
    n = min(len(a), len(b))
    if a[:n] == b[:n]:
        return n
    low, high = 0, n - 1
    while low < high:  # binary search: slicing compares in C
        middle = (low + high + 1) // 2
        if a[:middle] == b[:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def timeline(messages: list[list[tuple[float, str]]], answer: str) -> tuple[list[tuple[float, int]], str]:
    """[(time, how much of the answer is on screen)] from the revisions of the answer's messages, and the final
    visible text. Messages are read in order and joined; the typing indicator is not text."""
    events = sorted((t, index, text) for index, revisions in enumerate(messages) for t, text in revisions)
    current = [""] * len(messages)
    points: list[tuple[float, int]] = []
    for t, index, text in events:
        current[index] = text.removesuffix(INDICATOR)
        shown = "".join(current)
        points.append((t, shared_prefix(shown, answer)))
    return points, "".join(current)


class RelayRouter:
    """Stands in front of a real OpenAI-compatible server (llama.cpp) and records, like the fake router, when
    each chunk of answer text went out to the bot."""

    def __init__(self, upstream: str):
        self.upstream = upstream.rstrip("/")
        self.streams: list[StreamLog] = []
        self.finish_reasons: dict[int, str | None] = {}  # by id(StreamLog)
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> RelayRouter:
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_read=300))
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/v1"
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner:
            await self._runner.cleanup()
        if self._session:
            await self._session.close()

    async def _models(self, request: web.Request) -> web.Response:
        assert self._session is not None
        async with self._session.get(self.upstream + "/models") as upstream:
            return web.json_response(await upstream.json(), status=upstream.status)

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.json()
        async with self._session.post(self.upstream + "/chat/completions", json=body) as upstream:
            if upstream.status != 200:
                return web.Response(body=await upstream.read(), status=upstream.status)
            response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
            await response.prepare(request)
            log = StreamLog(body, time.monotonic())
            self.streams.append(log)
            async for line in upstream.content:
                await response.write(line)
                text = line.decode().strip()
                if not text.startswith("data:") or text == "data: [DONE]":
                    continue
                with contextlib.suppress(ValueError, LookupError, TypeError):
                    choice = json.loads(text[5:])["choices"][0]
                    self.finish_reasons[id(log)] = choice.get("finish_reason") or self.finish_reasons.get(id(log))
                    content = choice["delta"].get("content")
                    if content:
                        log.text += content
                        log.chunks.append((time.monotonic(), len(log.text)))
            await response.write_eof()
            log.finished = time.monotonic()
            return response


class World:
    def __init__(self) -> None:
        self.router: FakeRouter | RelayRouter | None = None
        self.upstream: str | None = None
        self.platform: FakeDiscord | FakeSlack | None = None
        self.kind = ""
        self.profile = StreamProfile()
        self.targets: list[dict] = []  # per conversation: where its answer goes
        self.t_go = 0.0
        self.cpu_go = 0.0
        # the router's streams before this index belong to an earlier `go` in the same world (a warm-up burst): status
        # and collect see only the latest burst's
        self.round_start = 0

    async def teardown(self) -> None:
        if self.platform is not None:
            await self.platform.__aexit__(None, None, None)
        if self.router is not None:
            await self.router.__aexit__(None, None, None)
        self.router = self.platform = None

    def _script_for(self, body: dict) -> list | None:
        users = [m for m in body.get("messages") or [] if m.get("role") == "user"]
        found = MARKER.search(json.dumps(users[-1].get("content"))) if users else None
        if not found:
            return None
        index = int(found.group(1))
        profile = self.profile
        return profile_script(
            answer_tokens(index, profile),
            ttft=profile.ttft,
            tokens_per_second=profile.tokens_per_second,
            tokens_per_chunk=profile.tokens_per_chunk,
            jitter=profile.jitter,
            seed=profile.seed * 7919 + index,
        )

    # commands
    async def cmd_setup(
        self,
        platform: str,
        n: int,
        profile: dict,
        channels: int = 1,
        discord_global: bool = True,
        slack_rate_limits: dict | None = None,
        upstream: str | None = None,
    ) -> dict:
        await self.teardown()
        self.round_start = 0
        self.kind, self.profile, self.upstream = platform, StreamProfile.from_dict(profile), upstream
        if upstream:
            self.router = RelayRouter(upstream)
        else:
            self.router = FakeRouter()
            self.router.script_for = self._script_for
        await self.router.__aenter__()
        info: dict[str, Any] = {"router_url": self.router.url}
        if platform == "discord":
            # spec checks cost this process ~1 ms a request; tests/discord prove the bodies, not the benchmark
            fake = FakeDiscord(check_spec=False, global_rate_limit=(50, 1.0) if discord_global else None)
            await fake.start()
            self.platform = fake
            self.targets = [{"thread": fake.add_thread(fake.default_channel, f"bench {i}")["id"]} for i in range(n)]
            info.update(
                api_base=fake.api_base,
                gateway_url=fake.gateway_url,
                token=fake.token,
                guild_id=fake.default_guild["id"],
                channel_id=fake.default_channel["id"],
                user_id=fake.default_user["id"],
                bot_user_id=fake.bot_user["id"],
            )
        else:
            limits = None
            if slack_rate_limits is not None:
                from tests.fakes.slack import RateLimit

                limits = {name: RateLimit(**rule) if rule else None for name, rule in slack_rate_limits.items()}
            fake = FakeSlack(rate_limits=limits)
            await fake.__aenter__()
            self.platform = fake
            self.targets = [{"channel": f"C0BENCH{i % channels:04d}"} for i in range(n)]
            info.update(api_url=fake.api_url, bot_token=fake.bot_token, app_token=fake.app_token, team_id=fake.team_id)
        info["targets"] = self.targets
        return info

    async def cmd_go(self, deliver: bool = True) -> dict:
        """Every user asks at once: `deliver` sends the events to the bot; without it (a bot the harness drives
        itself) the user messages are only stored. Again in the same Slack world (a warm bot): the same users ask again,
        in new threads of the same channels, and only this burst is measured."""
        self.round_start = len(self.router.streams) if self.router else 0
        self.t_go, self.cpu_go = time.monotonic(), time.process_time()
        fake = self.platform
        if isinstance(fake, FakeDiscord):
            await asyncio.gather(
                *(
                    fake.message_create(t["thread"], fake.default_user, prompt(i), dispatch=deliver)
                    for i, t in enumerate(self.targets)
                )
            )
        else:
            assert isinstance(fake, FakeSlack)

            async def ask(i: int, target: dict) -> None:
                if deliver:
                    target["ts"] = (await fake.user_posts(prompt(i), channel=target["channel"])).ts
                else:
                    text = f"<@{fake.bot_user_id}> {prompt(i)}"
                    target["ts"] = fake.add_user_message(text, channel=target["channel"]).ts

            await asyncio.gather(*(ask(i, t) for i, t in enumerate(self.targets)))
        return {"t_go": self.t_go, "targets": self.targets}

    async def cmd_status(self) -> dict:
        streams = self.router.streams[self.round_start :] if self.router else []
        return {"started": len(streams), "finished": sum(s.finished is not None for s in streams)}

    async def cmd_collect(self) -> dict:
        assert self.router is not None and self.platform is not None
        cpu = time.process_time() - self.cpu_go
        wall = time.monotonic() - self.t_go
        by_index: dict[int, Any] = {}
        for log in self.router.streams[self.round_start :]:
            users = [m for m in log.request.get("messages") or [] if m.get("role") == "user"]
            found = MARKER.search(json.dumps(users[-1].get("content"))) if users else None
            if found:
                by_index.setdefault(int(found.group(1)), log)
        streams = []
        for index, target in enumerate(self.targets):
            log = by_index.get(index)
            answer = log.text if log else ""
            tokens: list[tuple[float, int]] = []
            if log is not None and self.upstream:
                tokens = list(log.chunks)  # llama.cpp sends one token a chunk
            elif log is not None:
                ends, end = [], 0
                for token in answer_tokens(index, self.profile):
                    end += len(token)
                    ends.append(end)
                chunk = 0
                for end in ends:
                    while chunk < len(log.chunks) and log.chunks[chunk][1] < end:
                        chunk += 1
                    if chunk < len(log.chunks):
                        tokens.append((log.chunks[chunk][0], end))
            messages = self._revisions(target)
            points, final = timeline(messages, answer)
            expected = answer
            if isinstance(self.router, RelayRouter) and log is not None:
                if self.router.finish_reasons.get(id(log)) == "length":  # the bot says it was cut, by design
                    expected = answer + "\n\n" + NOTICE_TRUNCATED
            streams.append(
                {
                    "index": index,
                    "target": target,
                    "answer_chars": len(answer),
                    "requested_at": log.started if log else None,
                    "router_done": log.finished if log else None,
                    "tokens": tokens,
                    "timeline": points,
                    "messages": len(messages),
                    "native": self._native(target),  # Slack: its first message was a native stream
                    "complete": bool(log) and log.finished is not None and final == expected,
                    "final_chars": len(final),
                }
            )
        return {
            "t_go": self.t_go,
            "fakes_cpu_seconds": cpu,
            "fakes_wall_seconds": wall,
            "streams": streams,
            "requests": self._requests(),
        }

    def _revisions(self, target: dict) -> list[list[tuple[float, str]]]:
        fake = self.platform
        if isinstance(fake, FakeDiscord):
            bot_id = fake.bot_user["id"]
            mine = [m for m in fake.channel_messages(target["thread"]) if m.author_id == bot_id]
            mine.sort(key=lambda m: int(m.id))
            return [[(r.at, r.content) for r in m.history] for m in mine]
        assert isinstance(fake, FakeSlack)
        if "ts" not in target:
            return []
        mine = sorted(fake.bot_messages(target["channel"], target["ts"]), key=lambda m: float(m.ts))
        return [[(s["at"], visible_slack(s)) for s in m.history] for m in mine]

    def _native(self, target: dict) -> bool | None:
        fake = self.platform
        if not isinstance(fake, FakeSlack) or "ts" not in target:
            return None
        mine = sorted(fake.bot_messages(target["channel"], target["ts"]), key=lambda m: float(m.ts))
        return bool(mine) and mine[0].stream is not None

    def _requests(self) -> list[tuple[float, str, str, int, str]]:
        """The bot's platform requests since `go`: (time, name, kind, HTTP status, channel)."""
        fake = self.platform
        out = []
        if isinstance(fake, FakeDiscord):
            for r in fake.requests:
                if r.time < self.t_go or r.route is None or r.route.startswith("/gateway"):
                    continue
                kind = DISCORD_MESSAGE_ROUTES.get((r.method, r.route), "other")
                name = f"{r.method} {r.route}"
                if r.status == 429:
                    name += " (global)" if isinstance(r.response, dict) and r.response.get("global") else " (route)"
                out.append((r.time, name, kind, r.status, r.params.get("channel_id", "")))
        else:
            assert isinstance(fake, FakeSlack)
            for call in fake.calls():
                if call.at < self.t_go:
                    continue
                kind = SLACK_KINDS.get(call.method, "other")
                out.append((call.at, call.method, kind, call.status, str(call.params.get("channel", ""))))
        return out


async def main() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=2**24)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    world = World()
    try:
        while line := await reader.readline():
            request = json.loads(line)
            try:
                result = await getattr(world, "cmd_" + request["cmd"])(**request.get("args", {}))
                answer = {"ok": True, "result": result}
            except Exception as exc:
                answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()}
            sys.stdout.write(json.dumps(answer) + "\n")
            sys.stdout.flush()
    finally:
        await world.teardown()


if __name__ == "__main__":
    asyncio.run(main())
