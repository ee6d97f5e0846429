"""The records every layer passes around: conversations, messages, assistants, usage, and where settings live.

Plain data with no behaviour beyond what reads them; the store hands them back, the core and the adapters use
them. (ConversationKey and Actor, the identities, are in core.keys.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from core.keys import ConversationKey


class Scope(StrEnum):
    """Where a setting applies; model choice resolves conversation > user > channel > workspace."""

    CONVERSATION = "conversation"
    USER = "user"
    CHANNEL = "channel"
    WORKSPACE = "workspace"
    BOT = "bot"  # the bot's own bookkeeping (command hashes, ...)


Place = tuple[str, Scope, str]  # where settings are stored: (workspace, scope, scope_id)


class MessageStatus(StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"  # a reply being written; left so only if the process died mid-answer
    TRUNCATED = "truncated"  # cut by the length limit: Continue may resume it
    STOPPED = "stopped"  # the user pressed Stop
    ERROR = "error"
    INTERRUPTED = "interrupted"  # found STREAMING at start-up, or cut by shutdown's deadline
    UNDELIVERED = "undelivered"  # the platform refused it for good (no access to the channel): never shown


@dataclass(slots=True)
class Conversation:
    id: int
    key: ConversationKey
    owner_id: str
    title: str
    created_at: float
    updated_at: float


@dataclass(slots=True, weakref_slot=True)  # weak references: core.replies.context keeps what each one became
class StoredMessage:
    role: str  # "user" | "assistant"
    content: str
    author_id: str = ""
    author_name: str = ""
    reasoning: str = ""
    model: str = ""
    provider: str = ""
    status: str = MessageStatus.COMPLETE
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token_ms: float | None = None
    total_ms: float | None = None
    platform_message_id: str = ""
    created_at: float = 0.0
    worker_id: str = ""  # the process writing a STREAMING reply
    id: int | None = None
    conversation_id: int | None = None
    extra: dict = field(default_factory=dict)


@dataclass(slots=True)
class Assistant:
    """A named set of instructions, model and generation settings; personal or shared in a workspace."""

    platform: str
    workspace: str  # where it was created; a shared one is visible in this workspace only
    owner_id: str
    name: str
    instructions: str = ""
    model: str = ""
    options: dict[str, str] = field(default_factory=dict)  # generation settings, stored like settings
    starters: list[str] = field(default_factory=list)  # starter prompts
    web_search: bool = False  # may search the web (tools enabled)
    shared: bool = False
    created_at: float = 0.0
    updated_at: float = 0.0
    id: int | None = None

    def option(self, name: str) -> str | None:
        if name == "model":
            return self.model or None
        return self.options.get(name)


@dataclass(slots=True)
class UsageRow:
    """Token totals for one (UTC day, user, model, provider)."""

    day: str  # YYYY-MM-DD
    user_id: str
    model: str
    provider: str
    prompt_tokens: int
    completion_tokens: int
    requests: int
    estimated: int = 0  # of those requests, how many the provider reported no usage for (counted from the text)


@dataclass(slots=True)
class Schedule:
    """A prompt answered on a schedule in a channel (core.schedules): each run opens a fresh thread there."""

    platform: str
    workspace: str
    channel: str
    owner_id: str  # whose prompt it is: runs answer as them, within their limits, and go with their data
    prompt: str
    cron: str  # five fields, in `zone`
    zone: str
    described: str  # for people: "every Monday at 09:00 (UTC)"
    next_run: float  # epoch seconds; the claim of a run moves it on (core.schedules.runner)
    owner_name: str = ""
    last_run: float | None = None
    runs: int = 0
    created_at: float = 0.0
    id: int | None = None


@dataclass(slots=True)
class Account:
    """A person's connected Hugging Face account (core.accounts). `token` is the encrypted token, never the token."""

    platform: str
    user_id: str
    hub_name: str
    token: str  # Fernet ciphertext (ACCOUNTS_KEY); the key is never stored
    connected_at: float = 0.0


@dataclass(slots=True)
class Memory:
    """A fact a person asked the bot to keep (core.memory): theirs alone, in one workspace."""

    platform: str
    workspace: str
    user_id: str
    fact: str
    created_at: float = 0.0
    id: int | None = None
