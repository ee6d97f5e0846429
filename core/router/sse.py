"""Reading a streamed chat completion off the wire: its server-sent events as JSON chunks (errors providers write
into the stream raised), inline `<think>` reasoning split from the answer across chunks, tool calls assembled from
their pieces, and the idle timer between chunks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import openai

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
