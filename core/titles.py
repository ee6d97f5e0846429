"""Conversation titles: after the first answer a small, cheap request names the conversation in
2 to 5 words, in the user's language. On any failure the title stays the truncated first prompt."""

from __future__ import annotations

import logging
import re

from core.errors import RouterError
from core.router import ChatRequest, TextDelta

log = logging.getLogger(__name__)

TITLE_MAX_TOKENS = 24
TITLE_MAX_CHARS = 60
TITLE_INSTRUCTION = (
    "You name conversations. Reply with a title of 2 to 5 words for the conversation below, written in the "
    "same language as the user's message. Reply with the title only: no quotes, no punctuation at the end, "
    "no emoji, no explanation."
)
_PROMPT_CHARS = 1500  # of the question and the answer: enough to know the topic, cheap to send
_PREFIX = re.compile(r"^\s*(title|titre|título|titel|titolo)\s*[:：-]\s*", re.IGNORECASE)
_QUOTES = "\"'`“”‘’«»„*_#"


def title_request(model: str, prompt: str, answer: str) -> ChatRequest:
    conversation = f"User: {prompt[:_PROMPT_CHARS]}\n\nAssistant: {answer[:_PROMPT_CHARS]}"
    return ChatRequest(
        model=model,
        messages=[{"role": "system", "content": TITLE_INSTRUCTION}, {"role": "user", "content": conversation}],
        max_tokens=TITLE_MAX_TOKENS,
        temperature=0.2,
        max_retries=0,
    )


def clean_title(raw: str) -> str:
    """The model's reply as a title: first line, no prefix, quotes or final punctuation; "" if unusable."""
    lines = [line for line in raw.replace("\r", "").split("\n") if line.strip()]
    if not lines:
        return ""
    title = _PREFIX.sub("", lines[0]).strip().strip(_QUOTES).strip()
    title = title.rstrip(".。!！?？:;,，、…").strip().strip(_QUOTES).strip()
    title = " ".join(title.split())
    words = title.split(" ")
    if len(words) > 8:  # a sentence, not a title
        title = " ".join(words[:6])
    if len(title) > TITLE_MAX_CHARS:
        title = title[: TITLE_MAX_CHARS - 1].rstrip() + "…"
    return title


async def generate_title(router, model: str, prompt: str, answer: str) -> str:
    """A short title from the first exchange, or "" when the model fails or says nothing usable."""
    text: list[str] = []
    try:
        async for event in router.stream_chat(title_request(model, prompt, answer)):
            if isinstance(event, TextDelta):
                text.append(event.text)
    except RouterError as error:
        log.info("title not generated: %s", error.kind)
        return ""
    return clean_title("".join(text))
