"""The storage interface every backend implements, and the records it hands back."""

from __future__ import annotations

import abc
import contextlib
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


class MessageStatus(StrEnum):
    COMPLETE = "complete"
    STREAMING = "streaming"  # a reply being written; left so only if the process died mid-answer
    TRUNCATED = "truncated"  # cut by the length limit: Continue may resume it
    STOPPED = "stopped"  # the user pressed Stop
    ERROR = "error"
    INTERRUPTED = "interrupted"  # found STREAMING at start-up


@dataclass(slots=True)
class Conversation:
    id: int
    key: ConversationKey
    owner_id: str
    title: str
    created_at: float
    updated_at: float


@dataclass(slots=True)
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
    id: int | None = None
    conversation_id: int | None = None
    extra: dict = field(default_factory=dict)


MESSAGE_FIELDS = (
    "role",
    "author_id",
    "author_name",
    "content",
    "reasoning",
    "model",
    "provider",
    "status",
    "prompt_tokens",
    "completion_tokens",
    "first_token_ms",
    "total_ms",
    "platform_message_id",
    "created_at",
)


class Store(abc.ABC):
    """Async storage. Every method is safe to call concurrently from one event loop."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect and apply any pending numbered migrations."""

    @abc.abstractmethod
    async def close(self) -> None: ...

    # conversations
    @abc.abstractmethod
    async def get_conversation(self, key: ConversationKey) -> Conversation | None: ...

    @abc.abstractmethod
    async def get_conversation_by_id(self, conversation_id: int) -> Conversation | None: ...

    @abc.abstractmethod
    async def create_conversation(self, key: ConversationKey, owner_id: str, title: str = "") -> Conversation:
        """Create the conversation, or return the existing one for that key."""

    @abc.abstractmethod
    async def set_title(self, conversation_id: int, title: str) -> None: ...

    @abc.abstractmethod
    async def list_conversations(
        self, platform: str, owner_id: str, limit: int = 25, workspace: str | None = None
    ) -> list[Conversation]:
        """The owner's conversations, most recently active first."""

    @abc.abstractmethod
    async def delete_conversation(self, conversation_id: int) -> None:
        """Erase the conversation, its messages and its settings for real."""

    @abc.abstractmethod
    async def delete_user_data(self, platform: str, user_id: str) -> int:
        """Erase everything stored about a user; returns how many conversations went."""

    @abc.abstractmethod
    async def purge_idle(self, older_than: float) -> int:
        """Erase conversations not updated since `older_than` (epoch seconds)."""

    # messages
    @abc.abstractmethod
    async def add_message(self, conversation_id: int, message: StoredMessage) -> int: ...

    @abc.abstractmethod
    async def update_message(self, message_id: int, **fields) -> None: ...

    @abc.abstractmethod
    async def get_message(self, message_id: int) -> StoredMessage | None: ...

    @abc.abstractmethod
    async def recent_messages(self, conversation_id: int, limit: int) -> list[StoredMessage]:
        """The last `limit` messages, oldest first."""

    @abc.abstractmethod
    async def count_messages(self, conversation_id: int) -> int: ...

    @abc.abstractmethod
    async def find_by_platform_message(self, platform: str, platform_message_id: str) -> StoredMessage | None: ...

    @abc.abstractmethod
    async def delete_messages_from(self, conversation_id: int, message_id: int) -> int:
        """Delete a message and every later one in its conversation."""

    @abc.abstractmethod
    async def mark_interrupted(self) -> int:
        """At start-up: replies left STREAMING by a dead process become INTERRUPTED."""

    # settings
    @abc.abstractmethod
    async def get_setting(
        self, platform: str, workspace: str, scope: Scope, scope_id: str, name: str
    ) -> str | None: ...

    @abc.abstractmethod
    async def set_setting(
        self, platform: str, workspace: str, scope: Scope, scope_id: str, name: str, value: str | None
    ) -> None:
        """Set a setting; `None` removes it."""

    # usage and events
    @abc.abstractmethod
    async def record_usage(
        self,
        platform: str,
        workspace: str,
        user_id: str,
        conversation_id: int | None,
        model: str,
        prompt_tokens: int,
        completion_tokens: int,
    ) -> None: ...

    @abc.abstractmethod
    async def claim_event(self, platform: str, event_id: str) -> bool:
        """True the first time an event id is seen, False for a retry or redelivery."""

    # concurrency
    @abc.abstractmethod
    def conversation_lock(self, conversation_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        """Serialise replies to one conversation: `async with store.conversation_lock(cid): ...`.

        While one holder is inside the block, any other holder of the same id waits; different ids
        are independent. The lock is not reentrant. Its reach is the backend's: SQLite's holds
        within one process, PostgreSQL's (a session advisory lock) across every process sharing
        the database.
        """
