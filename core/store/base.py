"""The storage interface every backend implements, and the records it hands back."""

from __future__ import annotations

import abc
import contextlib
import dataclasses
import json
from collections.abc import Awaitable, Callable
from enum import Enum
from typing import TypeVar

from core.keys import ConversationKey
from core.records import (  # noqa: F401  (the records the backends hand back, importable from here too)
    Account,
    Assistant,
    Conversation,
    Memory,
    MessageStatus,
    Place,
    Schedule,
    Scope,
    StoredMessage,
    UsageRow,
)
from core.store.history import HISTORY_WINDOW, KEPT, HistoryCache
from core.store.retry import DEFAULT_POLICY, RetryPolicy, retried, run_with_retries

T = TypeVar("T")


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
    "worker_id",
    "extra",  # JSON text in the database (migration 005)
)


def encode_field(name: str, value):
    """A message field as the database stores it."""
    if name == "extra":
        return json.dumps(value or {}, separators=(",", ":"))
    return value


def grouped_updates(updates: list[tuple[int, dict]]) -> dict[tuple[str, ...], list[tuple]]:
    """`update_messages`' rows by the fields they set, each row its encoded values and then its id: one
    statement per group. Raises ValueError for a field messages do not have."""
    groups: dict[tuple[str, ...], list[tuple]] = {}
    for message_id, fields in updates:
        unknown = set(fields) - set(MESSAGE_FIELDS)
        if unknown:
            raise ValueError(f"unknown message fields: {sorted(unknown)}")
        if fields:
            names = tuple(fields)
            groups.setdefault(names, []).append((*(encode_field(n, fields[n]) for n in names), message_id))
    return groups


def decode_field(name: str, value):
    if name == "extra":
        return json.loads(value) if value and value != "{}" else {}
    return value


def as_read(name: str, value):
    """A message field's value as reading it back from the database gives it (what core.store.history keeps)."""
    if name == "extra":
        return decode_field(name, encode_field(name, value))
    return value.value if isinstance(value, Enum) else value


def message_as_read(message: StoredMessage) -> StoredMessage:
    """A copy of a message just written, as reading it back would give it."""
    return dataclasses.replace(message, extra=as_read("extra", message.extra), status=as_read("status", message.status))


def message_from(message_id: int, conversation_id: int, values) -> StoredMessage:
    """A message from its ids and its MESSAGE_FIELDS values as the database returns them (in that order).

    Hundreds are read for every answer, so this is the quick way: one dict, one decoded field.
    """
    fields = dict(zip(MESSAGE_FIELDS, values, strict=True))
    fields["extra"] = decode_field("extra", fields["extra"])
    return StoredMessage(id=message_id, conversation_id=conversation_id, **fields)


ASSISTANT_FIELDS = (
    "platform, workspace, owner_id, shared, name, instructions, model, options, starters, web_search,"
    " created_at, updated_at"
)


def assistant_values(a: Assistant) -> tuple:
    """An assistant's column values in ASSISTANT_FIELDS order, as both backends store them."""
    return (
        a.platform,
        a.workspace,
        a.owner_id,
        a.shared,
        a.name,
        a.instructions,
        a.model,
        json.dumps(a.options),
        json.dumps(a.starters),
        a.web_search,
        a.created_at,
        a.updated_at,
    )


SCHEDULE_FIELDS = (
    "platform",
    "workspace",
    "channel",
    "owner_id",
    "owner_name",
    "prompt",
    "cron",
    "zone",
    "described",
    "next_run",
    "last_run",
    "runs",
    "created_at",
)


def schedule_from(row) -> Schedule:
    """A schedule from its id and SCHEDULE_FIELDS values, in that order."""
    return Schedule(id=row[0], **dict(zip(SCHEDULE_FIELDS, row[1:], strict=True)))


class Store(abc.ABC):
    """Async storage. Every method is safe to call concurrently from one event loop.

    Methods retry transient database errors (core.store.retry) and raise `StoreUnavailable` when the
    database stays unreachable or locked through every retry.
    """

    backend = ""  # metrics label
    retry_policy: RetryPolicy = DEFAULT_POLICY

    def is_transient(self, error: BaseException) -> bool:
        """True when `error` says the database is briefly unavailable and the call may simply run again."""
        return False

    async def retrying(self, what: str, operation: Callable[[], Awaitable[T]]) -> T:
        """`operation()` with this backend's retries: for one step of a method (an id taken before an insert)."""
        return await run_with_retries(
            operation, is_transient=self.is_transient, policy=self.retry_policy, backend=self.backend, what=what
        )

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

    @abc.abstractmethod
    async def erased_at(self, key: ConversationKey) -> float | None:
        """When the conversation at `key` was last erased (deleted, purged, or its owner's data erased), or None.

        Every erasure notes its thread and time, in the same transaction, and nothing else about it.
        """

    # messages
    @abc.abstractmethod
    async def add_message(self, conversation_id: int, message: StoredMessage) -> int: ...

    @abc.abstractmethod
    async def update_message(self, message_id: int, **fields) -> None: ...

    @abc.abstractmethod
    async def update_messages(self, updates: list[tuple[int, dict]]) -> None:
        """`update_message` for several messages (each id once) in one transaction: every answer's checkpoint
        due at a tick (core.replies.checkpoints) costs one commit, not one each."""

    @abc.abstractmethod
    async def get_message(self, message_id: int) -> StoredMessage | None: ...

    history: HistoryCache  # recent messages of active conversations, each backend's own (core.store.history)

    @retried
    async def recent_messages(self, conversation_id: int, limit: int) -> list[StoredMessage]:
        """The last `limit` messages, oldest first. Up to core.store.history.HISTORY_WINDOW of them come from
        memory while the conversation's version says nothing changed: the messages are shared, never change them."""
        if limit > HISTORY_WINDOW:  # a whole conversation (an export): read it, keep nothing
            return await self._read_recent(conversation_id, limit)
        # the version first, then the rows: a write in between leaves the entry behind the database, never ahead
        version = await self.conversation_version(conversation_id)
        cached = self.history.get(conversation_id, version, limit)
        if cached is not None:
            return cached
        messages = await self._read_recent(conversation_id, KEPT)
        if version is not None:
            self.history.put(conversation_id, version, messages)
        return messages[-limit:] if limit < len(messages) else messages

    @abc.abstractmethod
    async def _read_recent(self, conversation_id: int, limit: int) -> list[StoredMessage]:
        """The last `limit` messages from the database, oldest first."""

    @abc.abstractmethod
    async def count_messages(self, conversation_id: int) -> int: ...

    @abc.abstractmethod
    async def conversation_version(self, conversation_id: int) -> int | None:
        """A number the database bumps, in the writing transaction, with every write to the conversation's
        messages (whoever writes); None when the conversation does not exist. `recent_messages` serves what it
        keeps in memory (core.store.history) only while this is the number it read it at."""

    @abc.abstractmethod
    async def find_by_platform_message(self, platform: str, platform_message_id: str) -> StoredMessage | None: ...

    @abc.abstractmethod
    async def delete_messages_from(self, conversation_id: int, message_id: int) -> int:
        """Delete a message and every later one in its conversation."""

    @abc.abstractmethod
    async def mark_interrupted(self) -> int:
        """Every reply left STREAMING becomes INTERRUPTED (only right for a database no live process shares)."""

    # workers: the processes sharing this database, so a restart interrupts only the replies of dead ones
    @abc.abstractmethod
    async def register_worker(self, worker_id: str, host: str = "", pid: int = 0) -> None:
        """Record this process as alive (PostgreSQL also holds a session lock saying so until it ends)."""

    @abc.abstractmethod
    async def heartbeat(self, worker_id: str) -> None: ...

    @abc.abstractmethod
    async def retire_worker(self, worker_id: str) -> int:
        """A clean exit: its replies still STREAMING become INTERRUPTED (returns how many); it is forgotten."""

    @abc.abstractmethod
    async def live_workers(self, stale_before: float) -> int:
        """How many processes share this database now: those whose last heartbeat is at `stale_before` (epoch
        seconds) or later (the budgets shared through Redis divide by it when Redis is out of reach)."""

    @abc.abstractmethod
    async def interrupt_orphans(self, stale_before: float, *, keep: str = "") -> list[StoredMessage]:
        """Replies left STREAMING by dead workers become INTERRUPTED; returns them (with the new status).

        A worker is dead when it has no row, its last heartbeat is older than `stale_before` (epoch
        seconds) or, on PostgreSQL, its session lock is free (the process or its connection ended).
        Replies with no worker id (written before migration 003) count as orphans; `keep` (the
        caller's own id) is never touched. Dead workers' rows are removed.
        """

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

    @abc.abstractmethod
    async def get_settings(self, platform: str, places: list[Place]) -> dict[tuple[str, str, str, str], str]:
        """Every setting stored at these places, in one query: {(workspace, scope, scope_id, name): value}."""

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
        provider: str = "",
        *,
        estimated: bool = False,
    ) -> None: ...

    @abc.abstractmethod
    async def usage_rows(
        self, platform: str, *, workspace: str | None = None, user_id: str | None = None, since: float = 0.0
    ) -> list[UsageRow]:
        """Usage since `since` (epoch seconds), summed per UTC day, user, model and provider."""

    # assistants
    @abc.abstractmethod
    async def create_assistant(self, assistant: Assistant) -> Assistant:
        """Store a new assistant; sets and returns it with `id` and timestamps."""

    @abc.abstractmethod
    async def get_assistant(self, assistant_id: int) -> Assistant | None: ...

    @abc.abstractmethod
    async def list_assistants(self, platform: str, workspace: str, user_id: str) -> list[Assistant]:
        """The user's personal assistants (any workspace) and the workspace's shared ones, by name."""

    @abc.abstractmethod
    async def update_assistant(self, assistant: Assistant) -> None:
        """Write every editable field of an existing assistant."""

    @abc.abstractmethod
    async def delete_assistant(self, assistant_id: int) -> None:
        """Erase it, and every `assistant` setting that points at it."""

    @abc.abstractmethod
    async def claim_event(self, platform: str, event_id: str) -> bool:
        """True the first time an event id is seen, False for a retry or redelivery."""

    @abc.abstractmethod
    async def release_event(self, platform: str, event_id: str) -> None:
        """Forget a claim whose work could not be stored, so a redelivery of the event is processed."""

    # notes between the processes sharing the database (PostgreSQL: LISTEN/NOTIFY); SQLite serves one process
    shared_by_processes = False

    async def listen(self, channel: str, on_note: Callable[[str], None]) -> Callable[[], Awaitable[None]] | None:
        """From now on `on_note(payload)` is called for each note any process sharing the database sends on
        `channel` (this one's included). Returns what stops listening; None where no other process can share the
        database (nothing to hear)."""
        return None

    async def notify(self, channel: str, payload: str) -> None:
        """Send a short note (no user text) on `channel` to every process listening there (see `listen`)."""
        return None  # no other process to tell

    # concurrency
    @abc.abstractmethod
    def conversation_lock(self, conversation_id: int) -> contextlib.AbstractAsyncContextManager[None]:
        """Serialise replies to one conversation: `async with store.conversation_lock(cid): ...`.

        While one holder is inside the block, any other holder of the same id waits; different ids
        are independent. The lock is not reentrant. Its reach is the backend's: SQLite's holds
        within one process, PostgreSQL's (a session advisory lock) across every process sharing
        the database.
        """

    # scheduled prompts (core.schedules)
    @abc.abstractmethod
    async def add_schedule(self, schedule: Schedule) -> Schedule:
        """Store a new schedule; sets and returns it with its `id` and `created_at`."""

    @abc.abstractmethod
    async def get_schedule(self, schedule_id: int) -> Schedule | None: ...

    @abc.abstractmethod
    async def list_schedules(
        self, platform: str, workspace: str, channel: str | None = None, owner_id: str | None = None
    ) -> list[Schedule]:
        """A workspace's schedules (in one channel, or of one owner, if given), oldest first."""

    @abc.abstractmethod
    async def delete_schedule(self, schedule_id: int) -> None: ...

    @abc.abstractmethod
    async def due_schedules(self, now: float, platforms: list[str], limit: int = 50) -> list[Schedule]:
        """Schedules of these platforms whose next run is at or before `now`, soonest first."""

    @abc.abstractmethod
    async def claim_schedule_run(self, schedule_id: int, expected_next: float, next_run: float, now: float) -> bool:
        """Take the run due at `expected_next`: moves the schedule's next run to `next_run` if it still was
        `expected_next`, in one statement. True for exactly one caller, whatever the number of processes."""

    # people's Hugging Face accounts (core.accounts): the token arrives and leaves encrypted
    @abc.abstractmethod
    async def get_account(self, platform: str, user_id: str) -> Account | None: ...

    @abc.abstractmethod
    async def save_account(self, account: Account) -> None:
        """Connect (or reconnect) a person's account; the one before is overwritten, not kept."""

    @abc.abstractmethod
    async def delete_account(self, platform: str, user_id: str) -> bool:
        """Erase a person's account (its encrypted token included) where no old page keeps it; True if one was."""

    # memory the person controls (core.memory)
    @abc.abstractmethod
    async def add_memory(self, memory: Memory) -> Memory:
        """Store a fact the person said yes to; sets and returns it with its `id` and `created_at`."""

    @abc.abstractmethod
    async def list_memories(self, platform: str, workspace: str, user_id: str) -> list[Memory]:
        """The person's facts in one workspace, oldest first."""

    @abc.abstractmethod
    async def delete_memories(self, platform: str, workspace: str, user_id: str, memory_id: int | None = None) -> int:
        """Erase one of the person's facts (`memory_id`), or all of them in the workspace (None), for real;
        returns how many went. Another person's fact is never touched, whatever its id."""

    # how long answers streamed on a shared budget (core.streaming.lengths): durations only, nothing about a person
    @abc.abstractmethod
    async def record_answer_lengths(self, rows: list[tuple[str, str, float]], keep: int) -> None:
        """Note answers' lengths, each `(budget, bucket, seconds)` (`bucket`: whose budget, e.g. a workspace), in
        one transaction; each (budget, bucket) written keeps only its `keep` most recent."""

    @abc.abstractmethod
    async def answer_lengths(self, budget: str, bucket: str | None, limit: int) -> list[float]:
        """The `limit` most recent lengths noted for `bucket`'s budget (None: for any bucket of the budget: the
        install's most recent), oldest first."""
