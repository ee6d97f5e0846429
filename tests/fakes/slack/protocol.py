"""What Slack's wire format says: JSON fields in forms, channel types in events, API errors."""

from __future__ import annotations

from typing import Any

# Fields that Slack accepts as JSON strings when a request is form-encoded.
_JSON_FIELDS = {
    "attachments",
    "blocks",
    "chunks",
    "files",
    "loading_messages",
    "metadata",
    "prompts",
    "view",
}

# Channel type -> `channel_type` as written in Events API message events.
_EVENT_CHANNEL_TYPE = {"channel": "channel", "private": "group", "im": "im", "mpim": "mpim"}


class _ApiError(Exception):
    def __init__(self, error: str, status: int = 200, headers: dict | None = None, **extra: Any):
        super().__init__(error)
        self.error, self.status, self.headers, self.extra = error, status, headers or {}, extra


def _flag(value: Any) -> bool:
    return value in (True, 1, "1", "true", "True")


def _chunks_text(chunks: Any) -> str:
    """Text carried by markdown_text chunks (what slack_sdk's chat_stream helper sends)."""
    if not isinstance(chunks, list):
        return ""
    return "".join(c.get("text", "") for c in chunks if isinstance(c, dict) and c.get("type") == "markdown_text")
