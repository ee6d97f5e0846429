"""Reading a streamed chat completion off the wire: its server-sent events as JSON chunks (errors providers write
into the stream raised), inline `<think>` reasoning split from the answer across chunks, tool calls assembled from
their pieces, and the idle timer between chunks."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

import openai
import orjson

from core.router.events import ToolCall
from core.router.provider_errors import ProviderStreamError


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


_SURROGATE = re.compile("[\ud800-\udfff]")


class SurrogateJoiner:
    """A provider may write an emoji (or any character past U+FFFF) as its two UTF-16 halves, JSON escapes each, in two
    chunks. Decoded alone, each is a lone surrogate, which no platform's JSON encoder (orjson, as discord.py uses) and
    no database's UTF-8 accepts: the answer could be neither shown nor kept. Each pair is joined into its character, a
    high half ending a piece is held for the next, and a half with no partner becomes U+FFFD."""

    def __init__(self) -> None:
        self.held = ""

    def feed(self, text: str) -> str:
        if self.held:
            text, self.held = self.held + text, ""
        elif not _SURROGATE.search(text):  # nearly every piece: no work
            return text
        if text and "\ud800" <= text[-1] <= "\udbff":
            text, self.held = text[:-1], text[-1]
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")

    def flush(self) -> str:
        """The end of the stream: a high half still waiting has no partner."""
        held, self.held = self.held, ""
        return "\ufffd" if held else ""


def _partial_suffix(data: str, tag: str) -> int:
    """Length of the longest suffix of `data` that is a proper prefix of `tag`."""
    for size in range(min(len(tag) - 1, len(data)), 0, -1):
        if data.endswith(tag[:size]):
            return size
    return 0


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


async def sse_batches(response) -> AsyncIterator[list[dict]]:
    """The JSON chunks of a streamed chat completion, read straight off the HTTP response, as they came: the
    chunks of one read together (an error after some of them comes after they were handed on).

    The SDK's typed chunk objects cost several times more CPU per token than everything else the bot does with
    a token, so the stream is parsed here: server-sent events (comments and keep-alives skipped, multi-line
    data joined, `data:` with or without its space, lines ended by LF, CRLF or CR), `[DONE]` ends it (a stream
    without one ends with the body), an error the provider writes into the stream (`event: error`, or an `error`
    field) raises `ProviderStreamError`, and a broken connection the SDK's own exceptions, as its stream would.
    The bytes are split and parsed as they come (`_blocks`: from aiohttp itself when nothing is to be decoded),
    without a text decode and a generator per layer for each line.
    """
    blocks = _blocks(response)
    parser = _EventParser()
    pending = b""  # the start of a line whose end has not come yet
    while True:
        try:
            block = await anext(blocks)
        except StopAsyncIteration:
            if not pending:
                break
            block, pending = pending + b"\n", b""  # the body ended without a last line end
        except Exception as exc:  # the transport's: a read timeout or a broken connection
            if "Timeout" in type(exc).__name__:
                raise openai.APITimeoutError(request=response.request) from exc
            raise openai.APIConnectionError(request=response.request) from exc
        data = pending + block if pending else block
        if b"\r" in data:
            held = data.endswith(b"\r")  # maybe the first half of a CRLF split across two reads
            data = (data[:-1] if held else data).replace(b"\r\n", b"\n").replace(b"\r", b"\n")
        else:
            held = False
        lines = data.split(b"\n")
        pending = lines.pop() + (b"\r" if held else b"")
        batch: list[dict] = []
        try:
            parser.feed(lines, batch)
        except Exception:
            if batch:
                yield batch  # what came before the error is the answer's; the error ends it after
            raise
        if batch:
            yield batch


class _EventParser:
    """Server-sent events, line by line, into the JSON chunks they carry."""

    __slots__ = ("done", "event", "name")

    def __init__(self) -> None:
        self.event: list[bytes] = []  # the data lines of the event being read
        self.name = b""  # its `event:` field ("error" from some providers)
        self.done = False

    def feed(self, lines: list[bytes], out: list[dict]) -> None:
        for line in lines:
            if line and not line.startswith(b":"):
                field_name, _, value = line.partition(b":")
                value = value[1:] if value.startswith(b" ") else value
                if field_name == b"data":
                    self.event.append(value)
                elif field_name == b"event":
                    self.name = value.strip()
                continue
            if line:  # a comment or keep-alive
                continue
            event, name = self.event, self.name
            self.event, self.name = [], b""
            if not event or self.done:  # a blank line ends an event; one without data is nothing
                continue
            payload = event[0] if len(event) == 1 else b"\n".join(event)
            if payload.startswith(b"[DONE]"):
                self.done = True  # read on to the end of the body so the connection can be reused
                continue
            if name == b"error":  # the provider's error as an SSE event, its data JSON or plain text
                try:
                    error = json.loads(payload)
                except ValueError:
                    error = payload.decode("utf-8", "replace")
                raise ProviderStreamError(error)
            chunk = _json(payload)
            if not isinstance(chunk, dict):
                raise ValueError("a stream chunk that is not a JSON object")
            if chunk.get("error"):  # {"error": "..."} (TGI) or {"error": {"message": ...}}, maybe after some text
                raise ProviderStreamError(chunk)
            out.append(chunk)


def _json(payload: bytes):
    """One event's JSON. orjson first: a chunk costs about a fifth of the standard library's time, and a process
    parses tens of thousands a second. What orjson refuses and the standard library takes (a lone surrogate escape,
    as a provider that splits an emoji between two chunks may write; NaN) is read as before, and what neither takes
    raises the standard library's error."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return json.loads(payload)


def _blocks(response) -> AsyncIterator[bytes]:
    """The body's bytes as they arrive: straight from aiohttp under the SDK (its httpx transport) when the body
    is not compressed, else through httpx's decoders."""
    stream = getattr(response, "stream", None)
    stream = getattr(stream, "_stream", stream)  # httpx's BoundAsyncStream around the transport's
    aiohttp_response = getattr(stream, "_aiohttp_response", None)
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    if aiohttp_response is not None and encoding in ("", "identity"):
        return aiohttp_response.content.iter_any()
    return response.aiter_bytes()
