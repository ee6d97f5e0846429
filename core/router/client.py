"""The router client: one shared AsyncOpenAI, streaming that survives real providers.

Providers differ: some send `choices == []` keep-alives, a usage-only last chunk, no `finish_reason`,
reasoning in `reasoning_content` or `reasoning`, or inline `<think>` tags. `stream_chat` turns all of
that into a small, uniform sequence of events.

Here: the client and `stream_chat`. The request and the events are `core.router.events`, reading the stream off the
wire `core.router.sse`, what a failure is told as `core.router.error_map`; all importable from here as before.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar

import openai
from openai import AsyncOpenAI, AsyncStream, Timeout
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from core.errors import RouterError
from core.router.body import chat_body
from core.router.error_map import TOKEN_REFUSED, map_error
from core.router.events import (
    ChatRequest,
    Finished,
    ReasoningDelta,
    StreamEvent,
    StreamStarted,
    TextDelta,
    ToolActivity,
    ToolCall,
    ToolCallsRequested,
    ToolProgress,
)
from core.router.provider_errors import ProviderStreamError
from core.router.sse import SurrogateJoiner, ThinkSplitter, _add_tool_call_piece, _IdleWatch, sse_batches

# the request, the events and the errors are imported from here across the core and its tests
__all__ = [
    "TOKEN_REFUSED",
    "ChatRequest",
    "Finished",
    "ReasoningDelta",
    "RouterClient",
    "StreamEvent",
    "StreamStarted",
    "TextDelta",
    "ThinkSplitter",
    "ToolActivity",
    "ToolCall",
    "ToolCallsRequested",
    "ToolProgress",
    "map_error",
    "sse_batches",
]

log = logging.getLogger(__name__)


class _HeadersWatch:
    """How long one try of a streamed request may wait for its response's headers. The stream itself is read
    with no socket read timeout (aiohttp's re-arms a timer for every chunk read, ~2 µs each, 20,000 chunks a
    second at 1,000 streams): between chunks `_IdleWatch` bounds it, and this the wait before them. Armed when a
    try's request goes out, disarmed when its headers come (httpx's event hooks, so each retry of the SDK gets
    the whole bound); past it, the task posting is cancelled, and `RouterClient._post` tries again or tells a
    timeout."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.task = asyncio.current_task()
        self.fired = False
        self.tries = 0
        self._handle: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        self.tries += 1
        self.disarm()
        self._handle = asyncio.get_running_loop().call_later(self.seconds, self._due)

    def disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _due(self) -> None:
        self._handle = None
        self.fired = True
        if self.task is not None:
            self.task.cancel()


_HEADERS_WATCH: ContextVar[_HeadersWatch | None] = ContextVar("router_headers_watch", default=None)


async def _request_sent(request) -> None:  # httpx's request hook: every try, the SDK's retries included
    watch = _HEADERS_WATCH.get()
    if watch is not None:
        watch.arm()


async def _headers_came(response) -> None:  # httpx's response hook: the headers are in, the body not read yet
    watch = _HEADERS_WATCH.get()
    if watch is not None:
        watch.disarm()


def _share_platform(copy: AsyncOpenAI, original: AsyncOpenAI) -> None:
    """The SDK looks up the platform (for a header) on a worker thread at each client's first request, and the client
    of a request with the person's token or its own retries is a new copy each time: without this, a trip to a thread
    for every answer (~3 % of a busy process's CPU, and a wait before the request goes out). The copy is told what the
    shared client knows, and the shared client learns what a copy looked up. Nothing happens if the SDK's attribute
    changes name: the SDK then looks it up itself, as before."""
    known = getattr(original, "_platform", None)
    if known is not None and getattr(copy, "_platform", known) is None:
        copy._platform = known
    elif known is None and hasattr(original, "_platform") and getattr(copy, "_platform", None) is not None:
        original._platform = copy._platform


# the SDK's header for "hand back the raw response" (what `with_raw_response` sets), and the body's type
_RAW_JSON = {"X-Stainless-Raw-Response": "true", "Content-Type": "application/json"}


class RouterClient:
    """One shared client for the whole process."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None,
        *,
        request_timeout: float = 30.0,
        idle_timeout: float = 60.0,
        max_retries: int = 2,
    ):
        self.base_url = base_url
        self.idle_timeout = idle_timeout
        # local mode: starts the model server again when it cannot be reached (it died), before one more try
        self.revive: Callable[[], Awaitable[None]] | None = None
        # read= is the gap allowed between bytes; the idle timeout between tokens is enforced
        # separately because keep-alive comments would otherwise reset it forever.
        self.headers_timeout = max(idle_timeout, request_timeout)
        timeout = Timeout(
            connect=request_timeout,
            read=self.headers_timeout,
            write=request_timeout,
            pool=request_timeout,
        )
        # a streamed completion: no read timeout on the socket (a timer per chunk), `_HeadersWatch` and
        # `_IdleWatch` instead
        self.stream_timeout = Timeout(connect=request_timeout, read=None, write=request_timeout, pool=request_timeout)
        self.client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "no-token",
            timeout=timeout,
            max_retries=max_retries,
            # aiohttp under the SDK (its `aiohttp` transport): reading a streamed token costs about half the CPU
            # of the default httpx2/anyio stack, and a process streams thousands of tokens a second
            http_client=openai.DefaultAioHttpClient(
                timeout=timeout, event_hooks={"request": [_request_sent], "response": [_headers_came]}
            ),
        )

    async def close(self) -> None:
        await self.client.close()

    async def list_models(self) -> list[dict]:
        """The raw model entries of GET /models, with every field the router reports."""
        try:
            page = await self.client.models.list()
        except Exception as exc:
            raise map_error(exc, "") from exc
        return [item.model_dump() if hasattr(item, "model_dump") else dict(item) for item in page.data]

    async def _post(self, client: AsyncOpenAI, body: bytes):
        """POST /chat/completions with a body already serialised; the raw streamed response (read by sse_batches).
        A try that waits `headers_timeout` for the headers (`_HeadersWatch`) is tried again like any timeout
        (the SDK's `max_retries` in all), then TimeoutError."""
        tries, allowed = 0, client.max_retries + 1
        while True:
            watch = _HeadersWatch(self.headers_timeout)
            token = _HEADERS_WATCH.set(watch)
            try:
                return await client.post(
                    "/chat/completions",
                    cast_to=ChatCompletion,
                    content=body,
                    options={"headers": _RAW_JSON, "security": {"bearer_auth": True}, "timeout": self.stream_timeout},
                    stream=True,
                    stream_cls=AsyncStream[ChatCompletionChunk],
                )
            except asyncio.CancelledError:
                if not watch.fired or asyncio.current_task().uncancel() > 0:  # type: ignore[union-attr]
                    raise  # a cancel of the answer's own (a Stop), not the watch's
            finally:
                watch.disarm()
                _HEADERS_WATCH.reset(token)
            # the SDK's retry loop ended with the watch's cancel: what is left of its tries, after a pause as its own
            tries += watch.tries
            left = allowed - tries
            if left <= 0:
                raise TimeoutError("no response headers within the timeout")
            await asyncio.sleep(min(0.5 * 2 ** (tries - 1), 8.0))
            client = client.with_options(max_retries=left - 1)

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one completion. Raises RouterError; `before_first_token` says if anything came."""
        fields: dict = {
            "model": request.model,
            "max_tokens": request.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.temperature is not None:
            fields["temperature"] = request.temperature
        if request.top_p is not None:
            fields["top_p"] = request.top_p
        if request.tools:
            fields["tools"] = request.tools
            if request.tool_choice:
                fields["tool_choice"] = request.tool_choice
        fields.update(request.extra)  # extra body fields, e.g. reasoning_effort
        # The body is built here, not by the SDK: its type-walking transform of `messages` costs ~60 ms for a long
        # conversation, and the turns the core keeps for a conversation carry their JSON (core.router.body), so a
        # long history is joined, not serialised again. The SDK still sends it (retries, errors, auth).
        body = chat_body(fields, request.messages)
        started = False
        client = self.client
        if request.max_retries is not None:
            client = client.with_options(max_retries=request.max_retries)
        if request.token is not None or request.bill_to:
            # the person's token as the client's own key (sent in the auth header, kept out of request options)
            client = client.with_options(
                api_key=request.token or client.api_key,
                default_headers={"X-HF-Bill-To": request.bill_to} if request.bill_to else None,
            )
        if client is not self.client:
            _share_platform(client, self.client)
        try:
            raw = await self._post(client, body)
        except Exception as exc:
            error = map_error(exc, request.model)
            if error.kind == "auth" and request.token is not None:
                raise RouterError("account_refused", TOKEN_REFUSED, status=401) from exc
            if error.kind != "unreachable" or self.revive is None:
                raise error from exc
            await self.revive()  # the local server died a moment ago: it is started again, and asked once more
            try:
                raw = await self._post(client, body)
            except Exception as again:
                raise map_error(again, request.model) from again
        if client is not self.client:
            _share_platform(client, self.client)
        provider = raw.headers.get("x-inference-provider", "")
        response = raw.http_response
        yield StreamStarted(model=request.model, provider=provider)

        think = ThinkSplitter()
        text_halves, thought_halves = SurrogateJoiner(), SurrogateJoiner()  # an emoji split between two chunks
        calls: dict[int, ToolCall] = {}  # by index: id, name and arguments arrive in pieces
        written: list[str] = []
        finish_reason: str | None = None
        usage = (None, None)
        batches = sse_batches(response)
        idle = _IdleWatch(self.idle_timeout)
        try:
            while True:
                idle.reading, idle.last = True, idle.loop.time()  # as wait_for: from asking for the next chunk
                try:
                    batch = await anext(batches)
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if idle.fired and asyncio.current_task().uncancel() == 0:
                        raise TimeoutError("no token within the idle timeout") from None
                    raise
                finally:
                    idle.reading = False
                # the chunks that came in one read go on as one delta of each kind in a row (a process behind on
                # its reading finds several per read, and each event costs the same all the way to the screen)
                texts: list[str] = []
                thoughts: list[str] = []
                for chunk in batch:
                    if chunk.get("usage"):
                        usage = (chunk["usage"].get("prompt_tokens"), chunk["usage"].get("completion_tokens"))
                    for choice in chunk.get("choices") or ():
                        delta = choice.get("delta")
                        if delta:
                            reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                            if isinstance(reasoning, str) and reasoning:
                                reasoning = thought_halves.feed(reasoning)
                            content = delta.get("content")
                            answer, inline_reasoning = ("", "")
                            if isinstance(content, str) and content:
                                content = text_halves.feed(content)
                                if content:
                                    answer, inline_reasoning = think.feed(content)
                            for thought in (reasoning if isinstance(reasoning, str) else "", inline_reasoning):
                                if thought:
                                    started = True
                                    if texts:
                                        yield TextDelta("".join(texts))
                                        texts = []
                                    thoughts.append(thought)
                            if answer:
                                started = True
                                written.append(answer)
                                if thoughts:
                                    yield ReasoningDelta("".join(thoughts))
                                    thoughts = []
                                texts.append(answer)
                            for piece in delta.get("tool_calls") or ():
                                started = True
                                _add_tool_call_piece(calls, piece)
                        if choice.get("finish_reason"):
                            finish_reason = choice["finish_reason"]
                if thoughts:
                    yield ReasoningDelta("".join(thoughts))
                if texts:
                    yield TextDelta("".join(texts))
        except Exception as exc:
            error = map_error(exc, request.model)
            if error.kind == "unreachable":  # the connection was up: it broke mid-stream
                error = RouterError("stream_cut", "The connection to the model was cut mid-answer.")
            if error.kind == "garbled" or not isinstance(exc, openai.APIStatusError):
                log.warning("router stream failed: %s (%s)", type(exc).__name__, error.kind)  # never its text
            error.in_stream = isinstance(exc, ProviderStreamError)
            error.before_first_token = not started
            raise error from exc
        finally:
            idle.close()
            await batches.aclose()
            await response.aclose()
        answer, reasoning = think.feed(text_halves.flush()) if text_halves.held else ("", "")
        rest_answer, rest_reasoning = think.flush()
        answer, reasoning = answer + rest_answer, thought_halves.flush() + reasoning + rest_reasoning
        if reasoning:
            yield ReasoningDelta(reasoning)
        if answer:
            written.append(answer)
            yield TextDelta(answer)
        if calls:
            named = [call for _, call in sorted(calls.items()) if call.name]
            if named:
                yield ToolCallsRequested(named, "".join(written))
        yield Finished(finish_reason, *usage)


def monotonic_ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)
