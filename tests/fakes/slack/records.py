"""What the fake records and keeps: Web API calls, messages with their history, streams, channels."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Call:
    """One Web API request as the fake saw it (params merged from query, form and JSON)."""

    method: str
    params: dict[str, Any]
    at: float  # time.monotonic()
    token: str | None = None
    status: int = 0
    response: dict[str, Any] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)  # of the answer (Retry-After on a 429)
    answered_at: float | None = None  # time.monotonic() when the answer went out

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error")


@dataclass
class StreamState:
    state: str  # "streaming" | "stopped" | "expired"
    started_at: float
    recipient_user_id: str | None = None
    recipient_team_id: str | None = None
    stopped_at: float | None = None
    appends: int = 0
    text: str = ""
    chunks: list[dict] = field(default_factory=list)  # every chunk received, in order
    parts: list = field(default_factory=list)  # what the message shows, in order: text (str) and blocks (dict)
    stopped_by_user: bool = False  # the native Stop: appends are refused (stopped_by_user), stopStream still closes
    # chat.startStream's task_display_mode: task_update chunks as cards among the text, or together as one plan
    task_display_mode: str = "timeline"


@dataclass
class StoredMessage:
    channel: str
    ts: str
    user: str
    text: str = ""
    markdown_text: str | None = None
    blocks: list | None = None  # as sent by the client
    thread_ts: str | None = None  # set on replies (and on parents only once they have replies)
    bot_id: str | None = None
    subtype: str | None = None
    metadata: dict | None = None
    files: list[dict] = field(default_factory=list)
    reactions: dict[str, list[str]] = field(default_factory=dict)
    broadcast: bool = False
    deleted: bool = False
    edited_ts: str | None = None
    stream: StreamState | None = None
    history: list[dict] = field(default_factory=list)  # snapshot after every change

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts

    @property
    def final_text(self) -> str:
        return self.markdown_text if self.markdown_text is not None else self.text

    def snapshot(self, method: str) -> None:
        self.history.append(
            {
                "at": time.monotonic(),
                "method": method,
                "text": self.text,
                "markdown_text": self.markdown_text,
                "blocks": self.blocks,
            }
        )


@dataclass
class Channel:
    id: str
    type: str  # "channel" | "private" | "im" | "mpim"
    name: str = ""
    user: str | None = None  # the other party of an im
    messages: dict[str, StoredMessage] = field(default_factory=dict)
    members: list[str] | None = None  # who is in it (conversations.members); None: every user of the workspace


@dataclass
class UserPost:
    """What `FakeSlack.user_posts` did: the stored message and the envelopes sent."""

    ts: str
    envelope_ids: list[str]
    events: list[dict]
