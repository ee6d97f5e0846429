"""A conversation as a file its owner can keep: Markdown to read, JSON to process. Pure functions of what is
stored; attachments appear by name, never their bytes."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from core.records import Conversation, StoredMessage

NAME_CHARS = 60


def _utc(seconds: float, form: str = "%Y-%m-%dT%H:%M:%SZ") -> str:
    return time.strftime(form, time.gmtime(seconds))


def as_markdown(conversation: Conversation, messages: list[StoredMessage]) -> str:
    lines = [f"# {conversation.title or 'Conversation'}", ""]
    for message in messages:
        stamp = _utc(message.created_at, "%Y-%m-%d %H:%M")
        if message.role == "user":
            who = message.author_name or "user"
        else:
            who = f"assistant ({message.model})" if message.model else "assistant"
        lines += [f"**{who}** · {stamp} UTC", ""]
        for call in message.extra.get("tools", []) if message.role == "assistant" else ():
            result = "\n".join("> " + line for line in call["result"].splitlines() if line.strip())
            arguments = call["arguments"].replace("`", "'")
            lines += [f"🛠️ `{call['name']}` `{arguments}`", "", result, ""]
        lines += [message.content, ""]
    return "\n".join(lines)


def _entry(m: StoredMessage) -> dict:
    files = [{"name": i["name"], "type": i["mime"]} for i in m.extra.get("images", [])]
    files += [{"name": d["name"], "type": d["kind"]} for d in m.extra.get("documents", [])]
    item = {
        "role": m.role,
        "author": m.author_name or m.author_id if m.role == "user" else None,
        "content": m.content,
        "reasoning": m.reasoning or None,
        "model": m.model or None,
        "provider": m.provider or None,
        "status": str(m.status),
        "prompt_tokens": m.prompt_tokens,
        "completion_tokens": m.completion_tokens,
        "usage_estimated": True if m.extra.get("usage_estimated") else None,
        "created_at": _utc(m.created_at),
        "attachments": files,
        "tool_calls": m.extra.get("tools", []),
    }
    return {k: v for k, v in item.items() if v is not None and v != []}


def as_json(conversation: Conversation, messages: list[StoredMessage]) -> str:
    document = {
        "title": conversation.title,
        "platform": conversation.key.platform,
        "created_at": _utc(conversation.created_at),
        "messages": [_entry(m) for m in messages],
    }
    return json.dumps(document, ensure_ascii=False, indent=2)


def export_filename(conversation: Conversation, fmt: str) -> str:
    """`title-words-2026-12-04.md`: the title (or "conversation") and the day it was last written in."""
    slug = re.sub(r"[^\w]+", "-", (conversation.title or "").lower()).strip("-_")[:NAME_CHARS].rstrip("-_")
    day = time.strftime("%Y-%m-%d", time.localtime(conversation.updated_at or conversation.created_at))
    return f"{slug or 'conversation'}-{day}.{fmt}"


def free_path(folder: Path, name: str) -> Path:
    """`name` in `folder`, or `name-2`, `name-3`... when taken: an export never overwrites another."""
    path = folder / name
    stem, suffix = path.stem, path.suffix
    number = 2
    while path.exists():
        path = folder / f"{stem}-{number}{suffix}"
        number += 1
    return path
