"""A scripted OpenAI-compatible router on loopback, for exact timing and faults.

Each chat request takes the next script queued for its model (or the default script). A script is a
list of steps: SSE chunks, pauses, raw bytes, an HTTP error, or a cut connection.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field

from aiohttp import web


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
        self.model_list_calls = 0
        self._runner: web.AppRunner | None = None
        self.url = ""

    def queue(self, script: list, model: str = "*") -> None:
        self.scripts[model].append(script)

    async def __aenter__(self) -> FakeRouter:
        app = web.Application()
        app.router.add_get("/v1/models", self._models)
        app.router.add_post("/v1/chat/completions", self._chat)
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
        script = self._next_script(body.get("model", ""))
        if script and isinstance(script[0], Status):
            status = script[0]
            return web.json_response(status.body, status=status.code, headers=status.headers)
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "x-inference-provider": self.provider_header}
        )
        await response.prepare(request)
        for step in script:
            if isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            elif isinstance(step, Raw):
                await response.write(step.data)
            elif isinstance(step, Cut):
                request.transport.close()
                return response
            elif isinstance(step, dict):
                await response.write(f"data: {json.dumps(step)}\n\n".encode())
        await response.write(b"data: [DONE]\n\n")
        await response.write_eof()
        return response
