"""What the fake records and keeps: requests, messages with their edits, interactions, gateway frames."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------- records


@dataclass
class UploadedFile:
    field: str  # multipart field name, e.g. "files[0]"
    filename: str
    content_type: str
    data: bytes


@dataclass
class RecordedRequest:
    method: str
    path: str  # without the /api/v10 prefix
    route: str | None  # matched template, e.g. "/channels/{channel_id}/messages"; None if unknown
    params: dict[str, str]
    query: dict[str, str]
    json: Any  # JSON body, or the payload_json part of a multipart body
    files: list[UploadedFile]
    headers: dict[str, str]
    time: float  # time.monotonic() at arrival
    status: int = 0  # filled in once answered
    response: Any = None  # JSON answer, if any


@dataclass
class SpecViolation:
    method: str
    path: str
    route: str
    message: str
    location: str  # JSON path inside the body, e.g. "content" or "embeds/0/title"


@dataclass
class MessageRevision:
    at: float  # time.monotonic()
    timestamp: str  # ISO 8601, as Discord's edited_timestamp
    content: str
    data: dict


@dataclass
class StoredMessage:
    channel_id: str
    id: str
    data: dict  # the current full message payload
    history: list[MessageRevision] = field(default_factory=list)  # creation first, then each edit
    deleted: bool = False
    deleted_at: float | None = None

    @property
    def content(self) -> str:
        return self.data.get("content", "")

    @property
    def edits(self) -> int:
        return len(self.history) - 1

    @property
    def author_id(self) -> str:
        return self.data["author"]["id"]


@dataclass
class InteractionCallback:
    type: int
    data: dict
    files: list[UploadedFile]
    at: float


@dataclass
class FakeInteraction:
    id: str
    token: str
    type: int
    channel_id: str
    guild_id: str | None
    user_id: str
    payload: dict
    created_at: float
    callbacks: list[InteractionCallback] = field(default_factory=list)
    original_message_id: str | None = None
    followup_message_ids: list[str] = field(default_factory=list)
    source_message_id: str | None = None  # the message a component was clicked on
    bot_present: bool = True  # the bot is a member where it was used (else only a user install could answer it)
    followup_limit: int | None = None  # Discord's cap on follow-ups (a user install where the bot is not present)
    followups_sent: int = 0
    context: int = 0

    @property
    def modal(self) -> dict | None:
        """The modal the bot answered with (callback type 9), if any."""
        for cb in self.callbacks:
            if cb.type == 9:
                return cb.data
        return None

    @property
    def acknowledged(self) -> bool:
        return bool(self.callbacks)

    @property
    def response_type(self) -> int | None:
        return self.callbacks[0].type if self.callbacks else None

    @property
    def autocomplete_choices(self) -> list[dict] | None:
        for cb in self.callbacks:
            if cb.type == 8:
                return cb.data.get("choices", [])
        return None


@dataclass
class GatewayConnection:
    path: str
    query: dict[str, str]
    opened_at: float
    closed_at: float | None = None
    close_code: int | None = None
    session_id: str | None = None
    resumed: bool = False


@dataclass
class GatewayFrame:
    at: float
    op: int | None
    d: Any
    connection: GatewayConnection
