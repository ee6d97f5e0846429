"""The newest messages of active conversations, kept in memory by a store, trusted only while nobody else wrote.

Every answer reads a conversation's newest messages (up to HISTORY_WINDOW of them). Reading and decoding hundreds
of rows per answer made the time to the first router request grow with the conversation, so a store keeps them
here and checks one number instead: the conversation's `version`, which the database bumps in the same transaction
as every write to its messages (triggers, migration 013), whichever process or connection writes.

An entry holds the messages as they were at `version`. It is served when the database still says `version`. The
store's own writes keep it in step: before a write it takes a `Ticket`; after the write succeeds it hands the
ticket back with what it changed, and the entry takes the change and the bumps the write made, if nothing else
touched the entry meanwhile. Anything else (a write by another process or connection, a write this store cannot
account for, a write that failed and may or may not have happened) leaves the database ahead of the entry, and the
next read finds the versions differ and reads again. A conversation that is gone (erased by anyone) has no version:
its entry is dropped. Entries unused for IDLE_SECONDS are dropped too, so erased text does not stay in a process's
memory for long even when another process erased it.

Callers get fresh lists; the messages in them are shared and must not be changed.
"""

from __future__ import annotations

import dataclasses
import time
from collections import OrderedDict
from dataclasses import dataclass, field

from core.records import StoredMessage

HISTORY_WINDOW = 400  # the newest messages served from memory (what an answer reads: core.replies.pipeline)
KEPT = HISTORY_WINDOW + 100  # kept per conversation: room for deletes (regenerate, forget) before reading again
MAX_CONVERSATIONS = 256  # least recently used entries go first past this
IDLE_SECONDS = 600.0


@dataclass(slots=True, eq=False)
class _Entry:
    version: int
    messages: list[StoredMessage]
    complete: bool  # the list is the whole conversation (it has fewer messages than the window)
    used: float = field(default_factory=time.monotonic)


@dataclass(slots=True, frozen=True)
class Ticket:
    """What an entry was just before a write: the write's change is applied only to that same entry, unchanged."""

    conversation_id: int
    entry: _Entry
    version: int


class HistoryCache:
    def __init__(self, max_conversations: int = MAX_CONVERSATIONS, idle_seconds: float = IDLE_SECONDS):
        self.max_conversations = max_conversations
        self.idle_seconds = idle_seconds
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._where: dict[int, int] = {}  # message id -> conversation id, for the messages held
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, conversation_id: int) -> bool:
        return conversation_id in self._entries

    # reading
    def get(self, conversation_id: int, version: int | None, limit: int) -> list[StoredMessage] | None:
        """The newest `limit` messages if the entry is at `version` (what the database says now) and holds them."""
        self._expire()
        entry = self._entries.get(conversation_id)
        if entry is None:
            self.misses += 1
            return None
        if version is None or entry.version != version:
            self.drop(conversation_id)  # someone else wrote (or erased it): read again
            self.misses += 1
            return None
        if limit > len(entry.messages) and not entry.complete:
            self.misses += 1
            return None
        entry.used = time.monotonic()
        self._entries.move_to_end(conversation_id)
        self.hits += 1
        return entry.messages[-limit:] if limit < len(entry.messages) else list(entry.messages)

    def put(self, conversation_id: int, version: int, messages: list[StoredMessage]) -> None:
        """Keep what a read of the newest KEPT messages (oldest first) returned, read after `version` was."""
        self.drop(conversation_id)
        kept = list(messages[-KEPT:])
        self._entries[conversation_id] = _Entry(version, kept, complete=len(messages) < KEPT)
        for message in kept:
            if message.id is not None:
                self._where[message.id] = conversation_id
        while len(self._entries) > self.max_conversations:
            self.drop(next(iter(self._entries)))

    # the store's own writes
    def ticket(self, conversation_id: int | None = None, *, message_id: int | None = None) -> Ticket | None:
        """Taken just before a write to a conversation (or to one of the messages held)."""
        if conversation_id is None and message_id is not None:
            conversation_id = self._where.get(message_id)
        entry = self._entries.get(conversation_id) if conversation_id is not None else None
        return Ticket(conversation_id, entry, entry.version) if entry is not None else None  # type: ignore[arg-type]

    def _current(self, ticket: Ticket | None) -> _Entry | None:
        if ticket is None:
            return None
        entry = self._entries.get(ticket.conversation_id)
        return entry if entry is ticket.entry and entry.version == ticket.version else None

    def added(self, ticket: Ticket | None, message: StoredMessage) -> None:
        """`message` (as the database now returns it) was inserted: one bump."""
        entry = self._current(ticket)
        if entry is None:
            return
        assert ticket is not None
        entry.messages.append(message)
        if message.id is not None:
            self._where[message.id] = ticket.conversation_id
        if len(entry.messages) > KEPT:
            gone = entry.messages.pop(0)
            self._where.pop(gone.id, None)  # type: ignore[arg-type]
            entry.complete = False
        entry.version += 1

    def updated(self, ticket: Ticket | None, message_id: int, fields: dict) -> None:
        """Message `message_id` now has these field values (as the database returns them): one bump."""
        entry = self._current(ticket)
        if entry is None:
            return
        for index in range(len(entry.messages) - 1, -1, -1):
            if entry.messages[index].id == message_id:
                entry.messages[index] = dataclasses.replace(entry.messages[index], **fields)
                entry.version += 1
                return
        assert ticket is not None
        self.drop(ticket.conversation_id)  # not held after all: read again

    def deleted_from(self, ticket: Ticket | None, message_id: int, bumps: int) -> None:
        """Every message from `message_id` on was deleted, and the database bumped the version `bumps` times."""
        entry = self._current(ticket)
        if entry is None:
            return
        kept = [m for m in entry.messages if m.id is None or m.id < message_id]
        for gone in entry.messages[len(kept) :]:
            self._where.pop(gone.id, None)  # type: ignore[arg-type]
        entry.messages = kept
        entry.version += bumps

    def drop(self, conversation_id: int | None) -> None:
        entry = self._entries.pop(conversation_id, None) if conversation_id is not None else None  # type: ignore[arg-type]
        if entry is not None:
            for message in entry.messages:
                self._where.pop(message.id, None)  # type: ignore[arg-type]

    def clear(self) -> None:
        self._entries.clear()
        self._where.clear()

    def _expire(self) -> None:
        """Drop entries unused for idle_seconds (the least recently used come first)."""
        if not self._entries:
            return
        before = time.monotonic() - self.idle_seconds
        while self._entries:
            conversation_id, entry = next(iter(self._entries.items()))
            if entry.used >= before:
                return
            self.drop(conversation_id)
