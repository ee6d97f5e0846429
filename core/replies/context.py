"""Fit a conversation into a model's context window: system prompt first, then the newest messages."""

from __future__ import annotations

import json
import weakref
from dataclasses import dataclass

from core.memory.prompt import memory_block
from core.models.tokens import estimate_tokens
from core.records import MessageStatus, StoredMessage
from core.replies.attachments import IMAGE_TOKENS, document_block, image_part
from core.router.body import Turn

PER_MESSAGE_OVERHEAD = 4  # role markers and separators in chat templates
MEMORY_SHARE = 4  # a person's memory takes at most a quarter of what the prompt may hold, whatever its budget


@dataclass(slots=True)
class FittedPrompt:
    messages: list[dict]
    dropped: int  # older messages left out to fit
    prompt_tokens: int  # estimated
    max_tokens: int  # room left for the answer
    memories: int = 0  # the person's kept facts that fit in the system prompt (core.memory)


def answer_budget(context_window: int, max_tokens: int) -> int:
    """Tokens reserved for the answer: the configured max, but never more than half the window."""
    return max(16, min(max_tokens, context_window // 2))


def prompt_room_chars(context_window: int, max_tokens: int, max_prompt_chars: int) -> int:
    """How many characters of prompt fit a model's window beside its answer (about 3 characters a token, with a
    fifth kept spare), never more than the prompt limit."""
    return min(max_prompt_chars, int((context_window - answer_budget(context_window, max_tokens)) * 3 * 0.8))


def fit_messages(
    history: list[StoredMessage],
    *,
    system_prompt: str,
    context_window: int,
    max_tokens: int,
    vision: bool = False,
    tools: bool = False,
    memory: list[str] | None = None,
    memory_tokens: int = 0,
) -> FittedPrompt:
    """Oldest messages are dropped first; reasoning is never sent back; several authors are named.

    Attached documents are inlined after the text; images become `image_url` parts when `vision`.
    The tool calls an answer made (and their results) come before it: as `tool_calls` and `tool`
    messages when the model supports `tools`, else as a short text at the top of the answer.
    An answer and its tool calls are kept or dropped together.

    `memory`, the asker's kept facts (oldest first), ends the system prompt: the newest that fit in `memory_tokens`,
    and never more than a quarter of the prompt's room, so history still fits; the rest of the fitting counts it.
    """
    reserve = answer_budget(context_window, max_tokens)
    budget = context_window - reserve
    remembered, memories = memory_block(memory or [], min(memory_tokens, budget // MEMORY_SHARE))
    if remembered:
        system_prompt = f"{system_prompt}\n\n{remembered}" if system_prompt else remembered
    used = estimate_tokens(system_prompt) + PER_MESSAGE_OVERHEAD if system_prompt else 0
    usable = [
        m
        for m in history
        if (m.content.strip() or m.extra.get("images") or m.extra.get("documents"))
        and not (m.role == "assistant" and m.status == MessageStatus.ERROR and not m.content)
        and not (m.role == "assistant" and m.status == MessageStatus.UNDELIVERED)  # the user never saw it
    ]
    authors = {m.author_id for m in usable if m.role == "user"}
    name_authors = len(authors) > 1
    picked: list[dict] = []
    for message in reversed(usable):
        item, turns, cost = _rendered(message, name_authors, vision, tools)
        if used + cost > budget:
            break
        used += cost
        picked.append(item)
        picked += reversed(turns)
    picked.reverse()
    # a conversation must not open with an assistant turn (or a tool result) for some chat templates
    while picked and picked[0]["role"] in ("assistant", "tool"):
        picked.pop(0)
    dropped = len(usable) - sum(1 for m in picked if m["role"] != "tool" and "tool_calls" not in m)
    messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + _merge_turns(picked)
    return FittedPrompt(messages, dropped, used, max(16, min(max_tokens, context_window - used)), memories)


# What each message of a conversation becomes in a request, kept exactly as long as the message object lives (a
# weak reference): the store keeps the messages of active conversations in memory (core.store.history), so the same
# objects come back answer after answer, and fitting a long conversation is a sum; the turns are `Turn`s, which
# keep their own JSON (core.router.body), so the request is not serialised again either. When the store lets a
# message go (erased, changed, evicted), what it became goes with it.
# id(message) -> (weak reference to it, how it was rendered, what it became)
_RENDERED: dict[int, tuple[weakref.ref, tuple[bool, bool, bool], tuple[dict, list[dict], int]]] = {}


def _rendered(message: StoredMessage, name_authors: bool, vision: bool, tools: bool) -> tuple[dict, list[dict], int]:
    """The message's turn, the tool turns before it and their cost in tokens. The dicts are shared: never changed
    (`_merge_turns` copies them)."""
    how = (name_authors, vision, tools)
    key = id(message)
    kept = _RENDERED.get(key)
    if kept is not None and kept[0]() is message and kept[1] == how:
        return kept[2]
    content = message.content
    if message.role == "user" and name_authors and message.author_name:
        content = f"{message.author_name}: {content}"
    documents = (message.extra.get("documents") or []) if message.role == "user" else []
    if documents:
        content = "\n\n".join([content, *map(document_block, documents)]).strip()
    images = (message.extra.get("images") or []) if vision and message.role == "user" else []
    calls = (message.extra.get("tools") or []) if message.role == "assistant" else []
    turns = _tool_turns(calls, message.id) if calls and tools else []
    if calls and not tools:
        content = f"{tools_summary(calls)}\n\n{content}"
    cost = estimate_tokens(content) + PER_MESSAGE_OVERHEAD + IMAGE_TOKENS * len(images)
    cost += sum(estimate_tokens(json.dumps(turn)) + PER_MESSAGE_OVERHEAD for turn in turns)
    if images:
        parts = ([{"type": "text", "text": content}] if content else []) + [image_part(i) for i in images]
        item: dict = Turn(role="user", content=parts)
    else:
        item = Turn(role="assistant" if message.role == "assistant" else "user", content=content)
    result = (item, turns, cost)
    _RENDERED[key] = (weakref.ref(message, lambda _, key=key: _RENDERED.pop(key, None)), how, result)
    return result


def _tool_turns(calls: list[dict], message_id: int | None) -> list[dict]:
    """An answer's stored tool calls as the assistant `tool_calls` and `tool` messages that preceded it."""
    turns: list[dict] = []
    rounds: dict[int, list[tuple[str, dict]]] = {}
    for number, call in enumerate(calls):
        rounds.setdefault(call.get("round", 0), []).append((f"h{message_id or 0}_{number}", call))
    for _, entries in sorted(rounds.items()):
        turns.append(
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": i, "type": "function", "function": {"name": c["name"], "arguments": _json(c["arguments"])}}
                    for i, c in entries
                ],
            }
        )
        turns += [{"role": "tool", "tool_call_id": i, "content": c["result"]} for i, c in entries]
    return turns


def _json(arguments: str) -> str:
    """Arguments as stored may have been clipped; what is sent back must still be a JSON object."""
    try:
        return arguments if isinstance(json.loads(arguments), dict) else json.dumps({"value": arguments})
    except ValueError:
        return json.dumps({"clipped": arguments})


def tools_summary(calls: list[dict]) -> str:
    """An answer's tool calls and results in a few lines, for a model without tools."""
    lines = ["[Tools used for this answer]"]
    for call in calls:
        result = " ".join(call["result"].split())
        lines.append(f"- {call['name']}({call['arguments']}) → {result}")
    return "\n".join(lines)


def _merge_turns(messages: list[dict]) -> list[dict]:
    """Consecutive user messages (a burst, several people) become one turn: templates expect alternation.

    Tool calls and tool results stay as they are.
    """
    merged: list[dict] = []
    for message in messages:
        plain = message["role"] != "tool" and "tool_calls" not in message
        if plain and merged and merged[-1]["role"] == message["role"] and "tool_calls" not in merged[-1]:
            before, after = merged[-1]["content"], message["content"]
            if isinstance(before, str) and isinstance(after, str):
                content: str | list = before + "\n\n" + after
            else:  # with images: a list of parts
                content = _parts(before) + _parts(after)
            merged[-1] = {"role": message["role"], "content": content}
        else:
            merged.append(message)  # as it is (a Turn keeps its JSON): merging replaces, never changes, a turn
    return merged


def _parts(content: str | list) -> list[dict]:
    return content if isinstance(content, list) else [{"type": "text", "text": content}]
