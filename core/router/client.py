"""The router client: one shared AsyncOpenAI, streaming that survives real providers.

Providers differ: some send `choices == []` keep-alives, a usage-only last chunk, no `finish_reason`,
reasoning in `reasoning_content` or `reasoning`, or inline `<think>` tags. `stream_chat` turns all of
that into a small, uniform sequence of events.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import openai
from openai import AsyncOpenAI, AsyncStream, Timeout
from openai.types.chat import ChatCompletion, ChatCompletionChunk

from core.errors import RouterError
from core.router.body import chat_body
from core.router.provider_errors import ProviderStreamError, stream_error

log = logging.getLogger(__name__)

# the SDK's header for "hand back the raw response" (what `with_raw_response` sets), and the body's type
_RAW_JSON = {"X-Stainless-Raw-Response": "true", "Content-Type": "application/json"}


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


@dataclass(frozen=True, slots=True)
class ToolProgress:
    """One tool call as it happens, for a platform that shows tasks (Slack's task_update chunks): `status` is
    "in_progress", "complete" or "error"; `sources` the (title, URL) pairs it read; `detail` why it failed."""

    id: str
    title: str
    status: str
    sources: tuple[tuple[str, str], ...] = ()
    detail: str = ""
    # which of the model's turns asked for it: the calls of one step were asked for together (the model planned them)
    step: int = 0


@dataclass(slots=True)
class ToolActivity:
    """What the tools are doing now ("" when done), a compact line shown under the answer while streaming; `tasks`
    the same calls one by one, with their status (each ToolActivity says the newest state of the calls it names)."""

    text: str
    tasks: tuple[ToolProgress, ...] = ()


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
    # a person's own Hugging Face token (core.accounts); None: the client's (HF_TOKEN). Never in a repr or a log.
    token: str | None = field(default=None, repr=False)
    bill_to: str | None = None  # the organization billed (X-HF-Bill-To)


# a person's own token refused: said to them, with the way back (core.accounts erases it)
TOKEN_REFUSED = (
    "Hugging Face refused your token (401): it was revoked or has expired, so I've disconnected it. "
    "Connect again with `/account connect`."
)


class ThinkSplitter:
    """Separates inline `<think>…</think>` reasoning from the answer, across chunk boundaries."""

    OPEN, CLOSE = "<think>", "</think>"

    def __init__(self) -> None:
        self.thinking = False
        self._pending = ""
        self._strip_next = False  # the answer after </think> usually starts with blank lines

    def feed(self, text: str) -> tuple[str, str]:
        """Returns (answer, reasoning) parts of this chunk; a tag split across chunks is held back."""
        if "<" not in text and not self._pending and not self._strip_next:  # no tag can start here: most chunks
            return ("", text) if self.thinking else (text, "")
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


def _could_not_connect(exc: BaseException) -> bool:
    """The SDK's aiohttp transport reports a refused connection or an unknown host as a connect *timeout*; the
    chain of causes tells them apart."""
    cause: BaseException | None = exc
    for _ in range(6):
        if cause is None:
            return False
        if isinstance(cause, ConnectionRefusedError) or type(cause).__name__.startswith("ClientConnector"):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def map_error(exc: BaseException, model: str) -> RouterError:
    """Turn an SDK or transport error into a message a chat user understands."""
    if isinstance(exc, RouterError):
        return exc
    if isinstance(exc, ProviderStreamError):
        return stream_error(exc)
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
    if isinstance(exc, openai.APITimeoutError) and _could_not_connect(exc):
        return RouterError("unreachable", "Could not reach the router. Check the network or HF_ROUTER_URL.")
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
        # local mode: starts the model server again when it cannot be reached (it died), before one more try
        self.revive: Callable[[], Awaitable[None]] | None = None
        # read= is the gap allowed between bytes; the idle timeout between tokens is enforced
        # separately because keep-alive comments would otherwise reset it forever.
        timeout = Timeout(
            connect=request_timeout,
            read=max(idle_timeout, request_timeout),
            write=request_timeout,
            pool=request_timeout,
        )
        self.client = AsyncOpenAI(
            base_url=base_url,
            api_key=api_key or "no-token",
            timeout=timeout,
            max_retries=max_retries,
            # aiohttp under the SDK (its `aiohttp` transport): reading a streamed token costs about half the CPU
            # of the default httpx2/anyio stack, and a process streams thousands of tokens a second
            http_client=openai.DefaultAioHttpClient(timeout=timeout),
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

    @staticmethod
    async def _post(client: AsyncOpenAI, body: bytes):
        """POST /chat/completions with a body already serialised; the raw streamed response (read by sse_chunks)."""
        return await client.post(
            "/chat/completions",
            cast_to=ChatCompletion,
            content=body,
            options={"headers": _RAW_JSON, "security": {"bearer_auth": True}},
            stream=True,
            stream_cls=AsyncStream[ChatCompletionChunk],
        )

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
        provider = raw.headers.get("x-inference-provider", "")
        response = raw.http_response
        yield StreamStarted(model=request.model, provider=provider)

        think = ThinkSplitter()
        calls: dict[int, ToolCall] = {}  # by index: id, name and arguments arrive in pieces
        written: list[str] = []
        finish_reason: str | None = None
        usage = (None, None)
        chunks = sse_chunks(response)
        idle = _IdleWatch(self.idle_timeout)
        try:
            while True:
                idle.reading, idle.last = True, idle.loop.time()  # as wait_for: from asking for the next chunk
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                except asyncio.CancelledError:
                    if idle.fired and asyncio.current_task().uncancel() == 0:
                        raise TimeoutError("no token within the idle timeout") from None
                    raise
                finally:
                    idle.reading = False
                if chunk.get("usage"):
                    usage = (chunk["usage"].get("prompt_tokens"), chunk["usage"].get("completion_tokens"))
                for choice in chunk.get("choices") or ():
                    delta = choice.get("delta")
                    if delta:
                        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
                        if isinstance(reasoning, str) and reasoning:
                            started = True
                            yield ReasoningDelta(reasoning)
                        content = delta.get("content")
                        if isinstance(content, str) and content:
                            answer, inline_reasoning = think.feed(content)
                            if inline_reasoning:
                                started = True
                                yield ReasoningDelta(inline_reasoning)
                            if answer:
                                started = True
                                written.append(answer)
                                yield TextDelta(answer)
                        for piece in delta.get("tool_calls") or ():
                            started = True
                            _add_tool_call_piece(calls, piece)
                    if choice.get("finish_reason"):
                        finish_reason = choice["finish_reason"]
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
            await chunks.aclose()
            await response.aclose()
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


def _add_tool_call_piece(calls: dict[int, ToolCall], piece: dict) -> None:
    index = piece.get("index") if isinstance(piece.get("index"), int) else len(calls)
    call = calls.setdefault(index, ToolCall(id="", name="", arguments=""))
    if piece.get("id"):
        call.id = piece["id"]
    function = piece.get("function")
    if function:
        name, arguments = function.get("name"), function.get("arguments")
        if name and name != call.name:  # some providers repeat the whole name
            call.name += name
        if arguments:
            call.arguments += arguments


class _IdleWatch:
    """The idle timeout between two chunks, with one timer re-armed only when it comes due (a timer per chunk
    costs more than the rest of reading one). It cancels the reading task only while it waits for a chunk."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.loop = asyncio.get_running_loop()
        self.task = asyncio.current_task()
        self.last = self.loop.time()
        self.reading = False
        self.fired = False
        self._handle = self.loop.call_at(self.last + seconds, self._due)

    def _due(self) -> None:
        now = self.loop.time()
        if not self.reading:  # the consumer holds the stream: its time is not the router's
            self._handle = self.loop.call_at(now + self.seconds, self._due)
            return
        if now < self.last + self.seconds:  # chunks came meanwhile
            self._handle = self.loop.call_at(self.last + self.seconds, self._due)
            return
        self.fired = True
        if self.task is not None:
            self.task.cancel()

    def close(self) -> None:
        self._handle.cancel()


async def sse_chunks(response) -> AsyncIterator[dict]:
    """The JSON chunks of a streamed chat completion, read straight off the HTTP response.

    The SDK's typed chunk objects cost several times more CPU per token than everything else the bot does with
    a token, so the stream is parsed here: server-sent events (comments and keep-alives skipped, multi-line
    data joined, `data:` with or without its space), `[DONE]` ends it (a stream without one ends with the body),
    an error the provider writes into the stream (`event: error`, or an `error` field) raises
    `ProviderStreamError`, and a broken connection the SDK's own exceptions, as its stream would.
    """
    lines = response.aiter_lines()
    event: list[str] = []
    event_name = ""  # the SSE `event:` field of the event being read ("error" from some providers)
    done = False
    while True:
        try:
            line = await anext(lines)
        except StopAsyncIteration:
            break
        except Exception as exc:  # the transport's: a read timeout or a broken connection
            if "Timeout" in type(exc).__name__:
                raise openai.APITimeoutError(request=response.request) from exc
            raise openai.APIConnectionError(request=response.request) from exc
        if line and not line.startswith(":"):
            field_name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            if field_name == "data":
                event.append(value)
            elif field_name == "event":
                event_name = value.strip()
            continue
        if line:  # a comment or keep-alive
            continue
        if not event or done:  # a blank line ends an event; one without data is nothing
            event, event_name = [], ""
            continue
        data, event = "\n".join(event), []
        name, event_name = event_name, ""
        if data.startswith("[DONE]"):
            done = True  # read on to the end of the body so the connection can be reused
            continue
        if name == "error":  # the provider's error as an SSE event, its data JSON or plain text
            try:
                payload = json.loads(data)
            except ValueError:
                payload = data
            raise ProviderStreamError(payload)
        chunk = json.loads(data)
        if not isinstance(chunk, dict):
            raise ValueError("a stream chunk that is not a JSON object")
        if chunk.get("error"):  # {"error": "..."} (TGI) or {"error": {"message": ...}}, maybe after some text
            raise ProviderStreamError(chunk)
        yield chunk


def monotonic_ms(start: float) -> float:
    return round((time.monotonic() - start) * 1000, 1)
