"""The tool loop: stream a round; if the model asked for tools, run them, send the results back, repeat.

At most `max_rounds` rounds of tools; the round after the last one is asked with `tool_choice: none`
so the model has to answer with what it has. A tool that fails or runs out of time gives the model an
error result to work with, never an exception to the user. While tools run, a `ToolActivity` line says
what they are doing; the final text carries a Sources list when the model did not link its sources.
"""

from __future__ import annotations

import asyncio
import dataclasses
import re
from collections.abc import AsyncIterator, Callable

from core.models.omni import Failures, failover_stream
from core.router.client import (
    ChatRequest,
    Finished,
    StreamEvent,
    StreamStarted,
    TextDelta,
    ToolActivity,
    ToolCall,
    ToolCallsRequested,
    ToolProgress,
)
from core.tools.base import SourceBook, ToolRegistry, ToolResult, clip, parse_arguments

SOURCES_HEADING = "**Sources:**"
# what the conversation keeps of each tool call for later turns and exports (the model saw more)
HISTORY_RESULT_CHARS = 2_000
HISTORY_ARGUMENT_CHARS = 1_000
HISTORY_TOTAL_CHARS = 8_000  # all of one answer's results: later ones are clipped harder
HISTORY_MIN_CHARS = 200


async def run_with_tools(
    router,
    request: ChatRequest,
    models: list[str],
    registry: ToolRegistry,
    *,
    max_rounds: int = 4,
    call_timeout: float = 30.0,
    result_chars: int = 12_000,
    on_failover: Callable[[Failures, str], None] | None = None,
    record: list[dict] | None = None,
) -> AsyncIterator[StreamEvent]:
    """Like `failover_stream`, with the model's tool calls run in between. One `Finished` at the end.

    `record` receives each call with its (clipped) result, as the conversation stores them.
    """
    messages = list(request.messages)
    models = list(models or [request.model])
    written: list[str] = []  # everything shown as the answer, across rounds
    prompt_tokens = completion_tokens = None
    reason: str | None = None
    for round_index in range(max_rounds + 1):
        last_round = round_index == max_rounds
        attempt = dataclasses.replace(
            request, messages=messages, tools=registry.specs(), tool_choice="none" if last_round else None
        )
        requested: ToolCallsRequested | None = None
        separate = bool(written) and not written[-1].endswith("\n\n")
        async for event in failover_stream(router, attempt, models, on_failover):
            if isinstance(event, Finished):
                reason = event.reason
                prompt_tokens = _add(prompt_tokens, event.prompt_tokens)
                completion_tokens = _add(completion_tokens, event.completion_tokens)
                continue
            if isinstance(event, ToolCallsRequested):
                requested = event
                continue
            if isinstance(event, StreamStarted) and event.model in models:
                models = models[models.index(event.model) :]  # later rounds stay with the model that answered
            if isinstance(event, TextDelta):
                if separate and event.text.strip():
                    event = TextDelta("\n\n" + event.text.lstrip("\n"))
                    separate = False
                written.append(event.text)
            yield event
        if requested is None or last_round:
            break
        calls = [
            dataclasses.replace(call, id=call.id or f"call_{round_index}_{i}") for i, call in enumerate(requested.calls)
        ]
        described = [_describe(registry, call) for call in calls]
        titles = [_plain(text) for text in described]
        running = tuple(
            ToolProgress(c.id, t, "in_progress", step=round_index) for c, t in zip(calls, titles, strict=True)
        )
        yield ToolActivity(" · ".join(described), tasks=running)
        results = await asyncio.gather(*(registry.run(c.name, c.arguments, call_timeout) for c in calls))
        done = tuple(_progress(c, t, r, round_index) for c, t, r in zip(calls, titles, results, strict=True))
        yield ToolActivity("", tasks=done)
        messages = [*messages, _assistant_turn(requested.text, calls)]
        messages += [_tool_turn(call, result, result_chars) for call, result in zip(calls, results, strict=True)]
        if record is not None:
            for call, result in zip(calls, results, strict=True):
                room = HISTORY_TOTAL_CHARS - sum(len(entry["result"]) for entry in record)
                record.append(_recorded(round_index, call, result, max(HISTORY_MIN_CHARS, room)))
    text = "".join(written)
    if registry.sources and text.strip() and not _cites(text, registry.sources):
        yield TextDelta(("" if text.endswith("\n") else "\n\n") + format_sources(registry.sources))
    yield Finished(reason, prompt_tokens, completion_tokens)


def _add(total: int | None, value: int | None) -> int | None:
    return value if total is None else total + (value or 0)


def _describe(registry: ToolRegistry, call: ToolCall) -> str:
    tool = registry.get(call.name)
    if tool is None:
        return f"🛠️ *Using `{clip(call.name, 64)}`…*"
    try:
        arguments = parse_arguments(call.arguments)
    except Exception:
        arguments = {}
    return tool.describe(arguments)


def _plain(described: str) -> str:
    """A tool's progress line as a plain title: "🔎 *Searching the web for “x”…*" -> "🔎 Searching the web for “x”"."""
    return re.sub(r"[*_`]", "", described).strip().removesuffix("…").strip()


def _progress(call: ToolCall, title: str, result: ToolResult, step: int) -> ToolProgress:
    if result.is_error:
        detail = clip(result.text.removeprefix("Error: "), 200)
        return ToolProgress(call.id, title, "error", detail=detail, step=step)
    sources = tuple((source.title or source.url, source.url) for source in result.sources)
    return ToolProgress(call.id, title, "complete", sources=sources, step=step)


def _assistant_turn(text: str, calls: list[ToolCall]) -> dict:
    return {
        "role": "assistant",
        "content": text or None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments or "{}"}}
            for c in calls
        ],
    }


def _tool_turn(call: ToolCall, result: ToolResult, limit: int) -> dict:
    return {"role": "tool", "tool_call_id": call.id, "content": clip(result.text, limit) or "(no output)"}


def _recorded(round_index: int, call: ToolCall, result: ToolResult, room: int) -> dict:
    return {
        "round": round_index,
        "name": call.name,
        "arguments": clip(call.arguments or "{}", HISTORY_ARGUMENT_CHARS),
        "result": clip(result.text, min(HISTORY_RESULT_CHARS, room)) or "(no output)",
        **({"error": True} if result.is_error else {}),
    }


def _cites(text: str, sources: SourceBook) -> bool:
    return any(source.url in text for source in sources.entries)


def format_sources(sources: SourceBook) -> str:
    lines = [SOURCES_HEADING]
    for number, source in enumerate(sources.entries, 1):
        title = re.sub(r"[\[\]\n]+", " ", source.title).strip() or source.url
        lines.append(f"{number}. [{clip(title, 100)}]({source.url})")
    return "\n".join(lines)
