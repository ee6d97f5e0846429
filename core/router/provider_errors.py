"""Errors a provider reports inside a 200 stream, read as what they are.

Providers put them in the stream itself: an SSE `event: error`, or a data chunk with an `error` field, a string
(TGI: `{"error": "...", "error_type": "validation"}`) or an object (`{"error": {"message", "type", "code"}}`),
sometimes after reasoning or text. Each is classified by what it means for the request: the same request sent
elsewhere unchanged fails the same way (input validation, context too long, a tool call the provider could not
parse), or another model or a moment later may serve it (overloaded, rate limited, a server error).

The provider's message is shown to the person, trimmed and with anything that looks like a credential removed;
it is never logged (it may quote the prompt).
"""

from __future__ import annotations

import re
from typing import Any

from core.errors import RouterError

MESSAGE_CHARS = 300  # of the provider's own message, shown in the chat
# what a credential looks like in an error message: tokens of the hosts this bot talks to, bearer headers,
# key=value pairs; replaced before the text reaches anyone
_SECRETS = re.compile(
    r"\b(?:hf_|sk-|xox[abpre]-|xapp-|gsk_|fw_|nvapi-)[A-Za-z0-9_\-]{8,}"
    r"|\bBearer\s+[A-Za-z0-9._\-~+/]+=*"
    r"|\b(?:api[_-]?key|token|secret|password|authorization)\b\s*[=:]\s*(?:Bearer\s+)?\S+",
    re.IGNORECASE,
)
_CONTEXT = re.compile(
    r"context[_ ]length|context window|maximum context|too many tokens|tokens? \+ `?max_new_tokens|"
    r"input tokens exceed|reduce the length|prompt is too long|must have less than \d+ tokens",
    re.IGNORECASE,
)
_RATE = re.compile(r"rate[_ ]?limit|too many requests|quota", re.IGNORECASE)
_BUSY = re.compile(r"overloaded|too busy|currently loading|capacity|unavailable", re.IGNORECASE)
_TOOL = re.compile(r"tool[_ ]use[_ ]failed|failed to call a function|tool error|tool_error", re.IGNORECASE)
_REQUEST = re.compile(r"validation|invalid[_ ]request|bad[_ ]request|unprocessable|invalid", re.IGNORECASE)

# kind -> what the person reads after the provider's message
_ADVICE = {
    "context": "The conversation is too long for this model. Start a new one or pick a model with a longer context.",
    "bad_request": "The request was refused as it is; retrying it unchanged would fail the same way.",
    "tool_failed": "The model's tool call could not be read. Try again, or ask without web search.",
    "rate_limited": "Try again in a moment.",
    "provider_down": "Try again, or pick another provider or model.",
}
_WHO = {
    "context": "The provider refused the request",
    "bad_request": "The provider refused the request",
    "tool_failed": "The provider could not run the model's tool call",
    "rate_limited": "The provider is rate limiting requests",
    "provider_down": "The provider reported an error",
}


class ProviderStreamError(Exception):
    """An error the provider wrote into the stream; `payload` is the event's JSON (or its text)."""

    def __init__(self, payload: Any):
        super().__init__("the provider reported an error inside the stream")
        self.payload = payload


def _fields(payload: Any) -> tuple[str, str, int | None]:
    """(message, the words that classify it, HTTP status if the provider gave one) from any of the shapes."""
    if isinstance(payload, dict) and "error" in payload:
        outer, error = payload, payload["error"]
    else:
        outer, error = {}, payload
    if isinstance(error, str):
        message, labels = error, [str(outer.get("error_type") or "")]
    elif isinstance(error, dict):
        message = error.get("message")
        message = message if isinstance(message, str) else ""
        labels = [str(error.get(name) or "") for name in ("type", "code", "error_type")]
        labels.append(str(outer.get("error_type") or ""))
    else:
        message, labels = "", []
    status = None
    for source in (error if isinstance(error, dict) else {}, outer):
        for name in ("http_status_code", "status_code", "status", "code"):
            value = source.get(name)
            if isinstance(value, int) and 400 <= value < 600:
                status = value
                break
        if status is not None:
            break
    return message, " ".join(labels), status


def classify(message: str, labels: str, status: int | None) -> str:
    """The RouterError kind for a provider's in-stream error (core.omni fails over on the retryable ones)."""
    words = f"{labels} {message}"
    if _CONTEXT.search(words):
        return "context"
    if _TOOL.search(words):
        return "tool_failed"
    if _RATE.search(words) or status == 429:
        return "rate_limited"
    if _BUSY.search(words) or (status is not None and status >= 500):
        return "provider_down"
    if _REQUEST.search(labels) or (status is not None and 400 <= status < 500):
        return "bad_request"
    return "provider_down"  # "generation", "server_error", "api_error", or nothing said: the provider's trouble


def shown(message: str) -> str:
    """The provider's message as the chat may show it: one line, trimmed, credentials removed."""
    text = _SECRETS.sub("[redacted]", " ".join(message.split()))
    return text if len(text) <= MESSAGE_CHARS else text[: MESSAGE_CHARS - 1].rstrip() + "…"


def stream_error(exc: ProviderStreamError) -> RouterError:
    message, labels, status = _fields(exc.payload)
    kind = classify(message, labels, status)
    said = f": «{shown(message)}»" if message.strip() else "."
    text = f"{_WHO[kind]}{said} {_ADVICE[kind]}"
    return RouterError(kind, text, status=status)
