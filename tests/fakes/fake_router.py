"""A scripted OpenAI-compatible router on loopback, for exact timing and faults.

Each chat request takes the next script queued for its model (or the default script). A script is a
list of steps: SSE chunks, pauses, raw bytes, an HTTP error, or a cut connection.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web

from tests.fakes.speech import FakeSpeech

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "provider_streams"


@dataclass
class Status:
    code: int
    body: dict = field(default_factory=lambda: {"error": {"message": "failure"}})
    headers: dict = field(default_factory=dict)


@dataclass
class Sleep:
    seconds: float


@dataclass
class Raw:
    data: bytes


class Cut:
    """Close the connection without ending the stream."""


@dataclass
class Recording:
    """A response body exactly as a provider sent it: written as it is, and the stream ends with it (no
    `[DONE]` is added: some providers send none)."""

    data: bytes

    @classmethod
    def named(cls, name: str) -> Recording:
        """One of tests/fixtures/provider_streams (its README says where each comes from)."""
        return cls((FIXTURES / name).read_bytes())


@dataclass
class Timed:
    """A content chunk written `at` seconds after the response started: a timed schedule never drifts,
    however late one write was. The SSE bytes are encoded once, up front."""

    at: float
    content: str
    data: bytes = b""

    def __post_init__(self) -> None:
        if not self.data:
            self.data = f"data: {json.dumps(chunk(self.content))}\n\n".encode()


@dataclass
class StreamLog:
    """What the router wrote for one chat request: when each piece of answer text left it."""

    request: dict
    started: float  # time.monotonic() when the response headers went out
    chunks: list[tuple[float, int]] = field(default_factory=list)  # (monotonic after the write, answer length)
    text: str = ""
    finished: float | None = None
    closed: float | None = None  # time.monotonic() when the client was found gone mid-stream (a write failed)


def chunk(
    content: str | None = None,
    *,
    finish: str | None = None,
    reasoning: str | None = None,
    reasoning_field: str = "reasoning_content",
    usage: dict | None = None,
    empty_choices: bool = False,
) -> dict:
    delta: dict = {}
    if content is not None:
        delta["content"] = content
    if reasoning is not None:
        delta[reasoning_field] = reasoning
    body: dict = {
        "id": "chatcmpl-fake",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": "fake",
        "choices": [],
    }
    if not empty_choices:
        body["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}]
    if usage is not None:
        body["usage"] = usage
    return body


def text_script(
    text: str, *, pieces: int = 8, delay: float = 0.0, finish: str | None = "stop", usage: bool = True
) -> list:
    """A plain answer streamed in `pieces` chunks."""
    size = max(1, len(text) // pieces)
    steps: list = [chunk("")]
    for start in range(0, len(text), size):
        if delay:
            steps.append(Sleep(delay))
        steps.append(chunk(text[start : start + size]))
    steps.append(chunk(finish=finish) if finish else chunk(""))
    if usage:
        steps.append(chunk(usage={"prompt_tokens": 11, "completion_tokens": 7, "total_tokens": 18}, empty_choices=True))
    return steps


def profile_script(
    tokens: list[str],
    *,
    ttft: float = 0.3,
    tokens_per_second: float = 20.0,
    tokens_per_chunk: tuple[int, int] = (1, 1),
    jitter: float = 0.0,
    seed: int = 0,
) -> list:
    """An answer streamed like a real provider: the first token after `ttft` seconds, then `tokens_per_second`,
    grouped into chunks of a random size in `tokens_per_chunk` (inclusive), each chunk moved by up to
    `jitter` times its nominal gap either way (never before the previous one). Seeded: same seed, same timing."""
    rng = random.Random(seed)
    steps: list = [chunk("")]
    low, high = tokens_per_chunk
    at_previous, index = 0.0, 0
    while index < len(tokens):
        size = rng.randint(low, high)
        group = tokens[index : index + size]
        index += len(group)
        nominal = ttft + (index - 1) / tokens_per_second  # a chunk leaves when its last token is ready
        shift = rng.uniform(-jitter, jitter) * len(group) / tokens_per_second if jitter else 0.0
        at_previous = max(at_previous, nominal + shift, 0.0)
        steps.append(Timed(at_previous, "".join(group)))
    steps.append(chunk(finish="stop"))
    steps.append(
        chunk(
            usage={"prompt_tokens": 11, "completion_tokens": len(tokens), "total_tokens": 11 + len(tokens)},
            empty_choices=True,
        )
    )
    return steps


def tool_call_chunk(
    index: int,
    *,
    call_id: str | None = None,
    name: str | None = None,
    arguments: str | None = None,
    finish: str | None = None,
) -> dict:
    """One streamed piece of a tool call, as OpenAI sends them (id and name first, arguments after)."""
    call: dict = {"index": index}
    if call_id is not None:
        call.update(id=call_id, type="function")
    function = {k: v for k, v in (("name", name), ("arguments", arguments)) if v is not None}
    if function:
        call["function"] = function
    body = chunk(finish=finish)
    body["choices"][0]["delta"]["tool_calls"] = [call]
    return body


def tool_calls_script(*calls: tuple[str, dict | str], text: str = "", pieces: int = 3, delay: float = 0.0) -> list:
    """A model asking for tools: each (name, arguments) with its arguments JSON streamed in `pieces` parts."""
    steps: list = [chunk("")]
    if text:
        steps.append(chunk(text))
    for index, (name, arguments) in enumerate(calls):
        raw = arguments if isinstance(arguments, str) else json.dumps(arguments)
        steps.append(tool_call_chunk(index, call_id=f"call_{index}_{len(raw)}", name=name, arguments=""))
        size = max(1, -(-len(raw) // pieces))
        for start in range(0, len(raw), size):
            if delay:
                steps.append(Sleep(delay))
            steps.append(tool_call_chunk(index, arguments=raw[start : start + size]))
    steps.append(chunk(finish="tool_calls"))
    steps.append(chunk(usage={"prompt_tokens": 5, "completion_tokens": 3, "total_tokens": 8}, empty_choices=True))
    return steps


DEFAULT_MODELS = [
    {
        "id": "meta-llama/Llama-3.3-70B-Instruct",
        "object": "model",
        "owned_by": "meta-llama",
        "providers": [
            {
                "provider": "groq",
                "status": "live",
                "context_length": 131072,
                "pricing": {"input": 0.59, "output": 0.79},
                "supports_tools": True,
            }
        ],
    },
    {
        "id": "Qwen/Qwen3-32B",
        "object": "model",
        "owned_by": "Qwen",
        "providers": [{"provider": "cerebras", "status": "live", "context_length": 32768, "supports_tools": True}],
    },
    {
        "id": "google/gemma-3-27b-it",
        "object": "model",
        "owned_by": "google",
        "architecture": {"input_modalities": ["text", "image"]},
        "providers": [{"provider": "nebius", "status": "live", "context_length": 8192}],
    },
    {
        # the shape of GET /v1/models in the Hub docs (huggingface/hub-docs docs/inference-providers/hub-api.md):
        # providers with their own windows, one of them down (its window must not count)
        "id": "org/two-windows",
        "object": "model",
        "owned_by": "org",
        "architecture": {"input_modalities": ["text"], "output_modalities": ["text"]},
        "providers": [
            {"provider": "wide", "status": "live", "context_length": 65536, "supports_tools": False},
            {"provider": "narrow", "status": "live", "context_length": 4096, "pricing": {"input": 0.1, "output": 0.2}},
            {"provider": "broken", "status": "error", "context_length": 1024},
            {"provider": "unknown-window", "status": "live", "is_model_author": False},
        ],
    },
    {
        "id": "tiny/context-512",
        "object": "model",
        "owned_by": "tiny",
        "providers": [{"provider": "local", "status": "live", "context_length": 512}],
    },
]


class FakeRouter:
    def __init__(self, models: list[dict] | None = None, provider_header: str = "fake-provider"):
        self.models = list(DEFAULT_MODELS if models is None else models)
        self.provider_header = provider_header
        self.scripts: dict[str, deque] = defaultdict(deque)
        self.default_script: list = text_script("Hello from the fake router.")
        self.requests: list[dict] = []
        self.streams: list[StreamLog] = []  # one per streamed response, in the order they started
        # optional: picks the script from the request body (e.g. by a marker in the prompt); None = the queues
        self.script_for: Callable[[dict], list | None] | None = None
        self.model_list_calls = 0
        self.speech = FakeSpeech()  # speech recognition beside the router, as Hugging Face serves it
        self._runner: web.AppRunner | None = None
        self.url = ""

    def queue(self, script: list, model: str = "*") -> None:
        self.scripts[model].append(script)

    async def __aenter__(self) -> FakeRouter:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
        self.speech.add_routes(app)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/v1"
        return self

    async def __aexit__(self, *exc) -> None:
        if self._runner:
            await self._runner.cleanup()

    async def _models(self, request: web.Request) -> web.Response:
        self.model_list_calls += 1
        return web.json_response({"object": "list", "data": self.models})

    def _next_script(self, model: str) -> list:
        for name in (model, "*"):
            if self.scripts.get(name):
                return self.scripts[name].popleft()
        return self.default_script

    async def _chat(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        body["_headers"] = {k.lower(): v for k, v in request.headers.items() if k.lower() == "authorization"}
        self.requests.append(body)
        script = (self.script_for and self.script_for(body)) or self._next_script(body.get("model", ""))
        if script and isinstance(script[0], Status):
            status = script[0]
            return web.json_response(status.body, status=status.code, headers=status.headers)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "x-inference-provider": self.provider_header}
        )
        await response.prepare(request)
        log = StreamLog(body, time.monotonic())
        self.streams.append(log)
        try:
            return await self._play(request, response, script, log)
        except (ConnectionError, asyncio.CancelledError):
            log.closed = time.monotonic()  # the client closed the request (e.g. a Stop cancelled it)
            raise

    async def _play(self, request: web.Request, response: web.StreamResponse, script: list, log: StreamLog):
        for step in script:
            if isinstance(step, Timed):
                delay = log.started + step.at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                await response.write(step.data)
                log.text += step.content
                log.chunks.append((time.monotonic(), len(log.text)))
            elif isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, Raw):
                await response.write(step.data)
            elif isinstance(step, Cut):
                request.transport.close()
                return response
            elif isinstance(step, Recording):
                await response.write(step.data)
                await response.write_eof()
                log.finished = time.monotonic()
                return response
            elif isinstance(step, dict):
                await response.write(f"data: {json.dumps(step)}\n\n".encode())
                content = next(iter(step.get("choices") or ()), {}).get("delta", {}).get("content")
                if content:
                    log.text += content
                    log.chunks.append((time.monotonic(), len(log.text)))
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        log.finished = time.monotonic()
        return response
