"""Fit a conversation into a model's context window: system prompt first, then the newest messages."""

from __future__ import annotations

from dataclasses import dataclass

from core.attachments import IMAGE_TOKENS, document_block, image_part
from core.store.base import MessageStatus, StoredMessage

PER_MESSAGE_OVERHEAD = 4  # role markers and separators in chat templates


def estimate_tokens(text: str) -> int:
    """A conservative count without the model's tokenizer: ~3 characters per token.

    Router models use many tokenizers; over-estimating drops an old message a little early instead of
    having the provider reject the request for overflowing its context.
    """
    return len(text) // 3 + 1


@dataclass(slots=True)
class FittedPrompt:
    messages: list[dict]
    dropped: int  # older messages left out to fit
    prompt_tokens: int  # estimated
    max_tokens: int  # room left for the answer


def answer_budget(context_window: int, max_tokens: int) -> int:
    """Tokens reserved for the answer: the configured max, but never more than half the window."""
    return max(16, min(max_tokens, context_window // 2))


def fit_messages(
    history: list[StoredMessage], *, system_prompt: str, context_window: int, max_tokens: int, vision: bool = False
) -> FittedPrompt:
    """Oldest messages are dropped first; reasoning is never sent back; several authors are named.

    Attached documents are inlined after the text; images become `image_url` parts when `vision`.
    """
    reserve = answer_budget(context_window, max_tokens)
    budget = context_window - reserve
    used = estimate_tokens(system_prompt) + PER_MESSAGE_OVERHEAD if system_prompt else 0
    usable = [
        m
        for m in history
        if (m.content.strip() or m.extra.get("images") or m.extra.get("documents"))
        and not (m.role == "assistant" and m.status == MessageStatus.ERROR and not m.content)
    ]
    authors = {m.author_id for m in usable if m.role == "user"}
    name_authors = len(authors) > 1
    picked: list[dict] = []
    for message in reversed(usable):
        content = message.content
        if message.role == "user" and name_authors and message.author_name:
            content = f"{message.author_name}: {content}"
        documents = (message.extra.get("documents") or []) if message.role == "user" else []
        if documents:
            content = "\n\n".join([content, *map(document_block, documents)]).strip()
        images = (message.extra.get("images") or []) if vision and message.role == "user" else []
        cost = estimate_tokens(content) + PER_MESSAGE_OVERHEAD + IMAGE_TOKENS * len(images)
        if used + cost > budget:
            break
        used += cost
        if images:
            parts = ([{"type": "text", "text": content}] if content else []) + [image_part(i) for i in images]
            picked.append({"role": "user", "content": parts})
        else:
            picked.append({"role": "assistant" if message.role == "assistant" else "user", "content": content})
    picked.reverse()
    # a conversation must not open with an assistant turn for some chat templates
    while picked and picked[0]["role"] == "assistant":
        picked.pop(0)
    dropped = len(usable) - len(picked)
    messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + _merge_turns(picked)
    return FittedPrompt(messages, dropped, used, max(16, min(max_tokens, context_window - used)))


def _merge_turns(messages: list[dict]) -> list[dict]:
    """Consecutive user messages (a burst, several people) become one turn: templates expect alternation."""
    merged: list[dict] = []
    for message in messages:
        if merged and merged[-1]["role"] == message["role"]:
            before, after = merged[-1]["content"], message["content"]
            if isinstance(before, str) and isinstance(after, str):
                content: str | list = before + "\n\n" + after
            else:  # with images: a list of parts
                content = _parts(before) + _parts(after)
            merged[-1] = {"role": message["role"], "content": content}
        else:
            merged.append(dict(message))
    return merged


def _parts(content: str | list) -> list[dict]:
    return content if isinstance(content, list) else [{"type": "text", "text": content}]
