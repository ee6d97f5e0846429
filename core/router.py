"""The router client: one shared AsyncOpenAI, streaming that survives real providers.

Providers differ: some send `choices == []` keep-alives, a usage-only last chunk, no `finish_reason`,
reasoning in `reasoning_content` or `reasoning`, or inline `<think>` tags. `stream_chat` turns all of
that into a small, uniform sequence of events.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import openai
from openai import AsyncOpenAI, Timeout

from core.errors import RouterError

log = logging.getLogger(__name__)


@dataclass(slots=True)
class TextDelta:
    text: str


@dataclass(slots=True)
class ReasoningDelta:
    text: str


@dataclass(slots=True)
class Finished:
    reason: str | None  # "stop", "length", ... or None when the provider never said
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


@dataclass(slots=True)
class StreamStarted:
    model: str
    provider: str  # from the x-inference-provider header, "" when absent


@dataclass(slots=True)
class ToolCall:
    id: str
    name: str
    arguments: str  # JSON text as the model wrote it (may be invalid)


@dataclass(slots=True)
class ToolCallsRequested:
    """The model asked for tools instead of (or after) answering; sent just before `Finished`."""

    calls: list[ToolCall]
    text: str = ""  # what the model wrote alongside the calls, for the follow-up request


@dataclass(slots=True)
class ToolActivity:
    """What the tools are doing now ("" when done); shown under the answer while streaming."""

    text: str


StreamEvent = TextDelta | ReasoningDelta | Finished | StreamStarted | ToolCallsRequested | ToolActivity


@dataclass(slots=True)
class ChatRequest:
    model: str
    messages: list[dict]
    max_tokens: int
    temperature: float | None = None
    top_p: float | None = None
    extra: dict = field(default_factory=dict)  # sent as extra body fields, e.g. reasoning_effort
    max_retries: int | None = None  # None: the client's default; 0 when a fallback model is waiting
    tools: list[dict] | None = None  # OpenAI function-calling specs
    tool_choice: str | None = None


class ThinkSplitter:
    """Separates inline `<think>…</think>` reasoning from the answer, across chunk boundaries."""

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self.thinking = False
        self._pending = ""
        self._strip_next = False  # the answer after </think> usually starts with blank lines

    def feed(self, text: str) -> tuple[str, str]:
        """Returns (answer, reasoning) parts of this chunk; a tag split across chunks is held back."""
        data = self._pending + text
        self._pending = ""
        answer: list[str] = []
        reasoning: list[str] = []
        while data:
            tag = self.CLOSE if self.thinking else self.OPEN
            index = data.find(tag)
            if index >= 0:
                before, data = data[:index], data[index + len(tag) :]
                (reasoning if self.thinking else answer).append(before)
                self._strip_next = self.thinking
                self.thinking = not self.thinking
                continue
            keep = _partial_suffix(data, tag)
            body, self._pending = data[: len(data) - keep], data[len(data) - keep :]
            (reasoning if self.thinking else answer).append(body)
            break
        out = "".join(answer)
        if self._strip_next and not self.thinking:
            out = out.lstrip()
            self._strip_next = not out
        return out, "".join(reasoning)

    def flush(self) -> tuple[str, str]:
        rest, self._pending = self._pending, ""
        return ("", rest) if self.thinking else (rest, "")


def _partial_suffix(data: str, tag: str) -> int:
    """Length of the longest suffix of `data` that is a proper prefix of `tag`."""
    for size in range(min(len(tag) - 1, len(data)), 0, -1):
        if data.endswith(tag[:size]):
            return size
    return 0


def _retry_after(headers) -> float | None:
    if headers is None:
        return None
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def map_error(exc: BaseException, model: str) -> RouterError:
    """Turn an SDK or transport error into a message a chat user understands."""
    if isinstance(exc, RouterError):
        return exc
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        retry_after = _retry_after(exc.response.headers)
        body = str(exc.body or exc.message or "").lower()
        if status == 401:
            return RouterError(
                "auth", "The router refused the bot's token (401). An admin should check HF_TOKEN.", status=status
            )
        if status == 402:
            return RouterError(
                "credits",
                "The router account is out of credits (402). Try again later or ask an admin to top up.",
                status=status,
            )
        if status == 403:
            return RouterError("forbidden", f"The token is not allowed to use `{model}` (403).", status=status)
        if status == 404 or "model_not_supported" in body or "not supported" in body:
            return RouterError(
                "unknown_model",
                f"`{model}` is not available on the router right now (404). Pick another with /model.",
                status=status,
            )
        if status == 429:
            wait = f" Try again in {retry_after:.0f} s." if retry_after else " Try again in a moment."
            return RouterError(
                "rate_limited",
                "The router is rate limiting requests (429)." + wait,
                retry_after=retry_after,
                status=status,
            )
        if status in (400, 413, 422) and ("context" in body or "too long" in body or "maximum" in body):
            return RouterError(
                "context",
                "The conversation is too long for this model's context window. "
                "Start a new one or pick a model with a longer context.",
                status=status,
            )
        if status >= 500:
            return RouterError(
                "provider_down",
                f"The model provider is having trouble ({status}). Try again, or pick another provider or model.",
                status=status,
            )
        return RouterError("bad_request", f"The router rejected the request ({status}).", status=status)
    if isinstance(exc, (openai.APITimeoutError, TimeoutError, asyncio.TimeoutError)):
        return RouterError("timeout", "The model stopped responding (timed out).")
    if isinstance(exc, openai.APIConnectionError):
        return RouterError("unreachable", "Could not reach the router. Check the network or HF_ROUTER_URL.")
    if (
        isinstance(exc, (openai.APIError, ConnectionError, EOFError))
        or "Protocol" in type(exc).__name__
        or ("Transport" in type(exc).__name__ or "ReadError" in type(exc).__name__)
    ):
        return RouterError("stream_cut", "The connection to the model was cut mid-answer.")
    return RouterError("garbled", "The router sent a response the bot could not read.")


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
        # read= is the gap allowed between bytes; the idle timeout between tokens is enforced
        # separately because keep-alive comments would otherwise reset it forever.
        timeout = Timeout(
            connect=request_timeout,
            read=max(idle_timeout, request_timeout),
            write=request_timeout,
            pool=request_timeout,
        )
        self.client = AsyncOpenAI(
            base_url=base_url, api_key=api_key or "no-token", timeout=timeout, max_retries=max_retries
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

    async def stream_chat(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one completion. Raises RouterError; `before_first_token` says if anything came."""
        params: dict = {
            "model": request.model,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        if request.top_p is not None:
            params["top_p"] = request.top_p
        if request.extra:
            params["extra_body"] = request.extra
        if request.tools:
            params["tools"] = request.tools
            if request.tool_choice:
                params["tool_choice"] = request.tool_choice
        started = False
        try:
            client = self.client
            if request.max_retries is not None:
                client = client.with_options(max_retries=request.max_retries)
            raw = await client.chat.completions.with_raw_response.create(**params)
            provider = raw.headers.get("x-inference-provider", "")
            stream = raw.parse()
            if inspect.isawaitable(stream):  # the SDK's raw response parses synchronously in some versions
                stream = await stream
        except Exception as exc:
            raise map_error(exc, request.model) from exc
        yield StreamStarted(model=request.model, provider=provider)

        think = ThinkSplitter()
        calls: dict[int, ToolCall] = {}  # by index: id, name and arguments arrive in pieces
        written: list[str] = []
        finish_reason: str | None = None
        usage = (None, None)
        iterator = stream.__aiter__()
        try:
            while True:
                try:
                    chunk = await asyncio.wait_for(iterator.__anext__(), self.idle_timeout)
                except StopAsyncIteration:
                    break
                if getattr(chunk, "usage", None):
                    usage = (chunk.usage.prompt_tokens, chunk.usage.completion_tokens)
                for choice in chunk.choices or ():
                    delta = choice.delta
                    if delta is not None:
                        extra = delta.model_extra or {}
                        reasoning = extra.get("reasoning_content") or extra.get("reasoning")
                        if isinstance(reasoning, str) and reasoning:
                            started = True
                            yield ReasoningDelta(reasoning)
                        if delta.content:
                            answer, inline_reasoning = think.feed(delta.content)
                            if inline_reasoning:
                                started = True
                                yield ReasoningDelta(inline_reasoning)
                            if answer:
                                started = True
                                written.append(answer)
                                yield TextDelta(answer)
                        for piece in delta.tool_calls or ():
                            started = True
                            _add_tool_call_piece(calls, piece)
                    if choice.finish_reason:
                        finish_reason = choice.finish_reason
        except Exception as exc:
            error = map_error(exc, request.model)
            if error.kind == "unreachable":  # the connection was up: it broke mid-stream
                error = RouterError("stream_cut", "The connection to the model was cut mid-answer.")
            if error.kind == "garbled" or not isinstance(exc, openai.APIStatusError):
                log.warning("router stream failed: %s (%s)", type(exc).__name__, error.kind)
            error.before_first_token = not started
            raise error from exc
        finally:
            await stream.close()
        answer, reasoning = think.flush()
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


def _add_tool_call_piece(calls: dict[int, ToolCall], piece) -> None:
    index = piece.index if isinstance(getattr(piece, "index", None), int) else len(calls)
    call = calls.setdefault(index, ToolCall(id="", name="", arguments=""))
    if piece.id:
        call.id = piece.id
    function = piece.function
    if function is not None:
        if function.name and function.name != call.name:  # some providers repeat the whole name
            call.name += function.name
        if function.arguments:
            call.arguments += function.arguments


def monotonic_ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)
