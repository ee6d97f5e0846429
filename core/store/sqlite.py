"""SQLite backend (the embedded default): one aiosqlite connection, WAL, secure_delete.

secure_delete zeroes freed pages, and a TRUNCATE checkpoint after each erase empties the WAL, so a
deleted conversation's text does not linger anywhere in the database files.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiosqlite

from core.keys import ConversationKey
from core.store import migrator as migrations
from core.store.base import (
    ASSISTANT_FIELDS,
    MESSAGE_FIELDS,
    SCHEDULE_FIELDS,
    Account,
    Assistant,
    Conversation,
    Memory,
    MessageStatus,
    Place,
    Schedule,
    Scope,
    Store,
    StoredMessage,
    UsageRow,
    as_read,
    assistant_values,
    encode_field,
    grouped_updates,
    message_as_read,
    message_from,
    schedule_from,
)
from core.store.history import HistoryCache
from core.store.retry import retried

_MESSAGE_COLUMNS = "id, conversation_id, " + ", ".join(MESSAGE_FIELDS)
# How long one statement waits for another connection's write lock before "database is locked". Short,
# because aiosqlite's one thread waits with it (every other call queues behind); core.store.retry then
# tries again after an asynchronous pause, so a lock held for seconds is still waited out.
BUSY_TIMEOUT_MS = 250
_BUSY_CODES = (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _conversation(row) -> Conversation:
    return Conversation(
        id=row[0],
        key=ConversationKey(row[1], row[2], row[3], row[4]),
        owner_id=row[5],
        title=row[6],
        created_at=row[7],
        updated_at=row[8],
    )


def _message(row) -> StoredMessage:
    return message_from(row[0], row[1], row[2:])


_CONVERSATION_COLUMNS = "id, platform, workspace, channel, thread, owner_id, title, created_at, updated_at"


def _remember_erased(conversation_id: int) -> tuple[str, tuple]:
    """The statement that notes where a conversation lived, and when it was erased (before it goes)."""
    return (
        "INSERT INTO erased_threads (platform, workspace, channel, thread, erased_at)"
        " SELECT platform, workspace, channel, thread, ? FROM conversations WHERE id=?"
        " ON CONFLICT (platform, workspace, channel, thread) DO UPDATE SET erased_at=excluded.erased_at",
        (time.time(), conversation_id),
    )


def _assistant(row) -> Assistant:
    return Assistant(
        id=row[0],
        platform=row[1],
        workspace=row[2],
        owner_id=row[3],
        shared=bool(row[4]),
        name=row[5],
        instructions=row[6],
        model=row[7],
        options=json.loads(row[8]),
        starters=json.loads(row[9]),
        web_search=bool(row[10]),
        created_at=row[11],
        updated_at=row[12],
    )


class SQLiteStore(Store):
    backend = "sqlite"

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._db: aiosqlite.Connection | None = None
        # aiosqlite runs statements one at a time on its thread; the lock keeps our
        # multi-statement transactions from interleaving with other coroutines.
        self._lock = asyncio.Lock()
        # conversation id -> [lock, holders + waiters]; an entry goes when nobody uses it
        self._conversation_locks: dict[int, list] = {}
        self.history = HistoryCache()  # recent messages of active conversations (core.store.history)

    @property
    def db(self) -> aiosqlite.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    async def open(self) -> None:
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = await aiosqlite.connect(self.path, isolation_level=None)
        for pragma in (
            "journal_mode=WAL",
            "secure_delete=ON",
            "foreign_keys=ON",
            "synchronous=NORMAL",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
        ):
            await self.db.execute(f"PRAGMA {pragma}")
        await self._migrate()

    async def _migrate(self) -> None:
        await self.db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at REAL)"
        )
        async with self.db.execute("SELECT version FROM schema_migrations") as cur:
            applied = {row[0] for row in await cur.fetchall()}
        for version, name, sql in migrations.load("sqlite"):
            if version in applied:
                continue
            # executescript commits first; wrap the script so a failing migration leaves nothing half-done
            await self.db.executescript(
                f"BEGIN;\n{sql}\nINSERT INTO schema_migrations VALUES ({version}, '{name}', {time.time()});\nCOMMIT;"
            )

    async def close(self) -> None:
        if self._db is not None:
            await self._db.close()
            self._db = None

    def is_transient(self, error: BaseException) -> bool:
        """Another connection holds the lock: the statement (or its whole transaction) did not run."""
        if not isinstance(error, sqlite3.OperationalError):
            return False
        code = getattr(error, "sqlite_errorcode", None)
        if code is not None:
            return code & 0xFF in _BUSY_CODES
        return "database is locked" in str(error) or "database table is locked" in str(error)

    async def _write(self, sql: str, params=()) -> aiosqlite.Cursor:
        async with self._lock:
            return await self.db.execute(sql, params)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT under the store's lock. Any failure, COMMIT's included, rolls it all
        back, so a retried call never finds half of an earlier try."""
        async with self._lock:
            await self.db.execute("BEGIN IMMEDIATE")  # takes the write lock now, or fails with nothing begun
            try:
                yield self.db
                await self.db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):  # "no transaction is active" once COMMIT went through
                    await self.db.execute("ROLLBACK")
                raise

    async def _erase(self, statements: list[tuple[str, tuple]]) -> None:
        """Run deletes in one transaction, then empty the WAL so no old page keeps the text."""
        async with self._transaction() as db:
            for sql, params in statements:
                await db.execute(sql, params)
        async with self._lock:
            # close the cursor: an open checkpoint statement would make the next COMMIT fail
            async with self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cursor:
                await cursor.fetchall()

    # conversations
    @retried
    async def get_conversation(self, key: ConversationKey) -> Conversation | None:
        # execute_fetchall: one trip to aiosqlite's thread instead of three (execute, fetch, close)
        rows = await self.db.execute_fetchall(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations"
            " WHERE platform=? AND workspace=? AND channel=? AND thread=?",
            (key.platform, key.workspace, key.channel, key.thread),
        )
        return _conversation(rows[0]) if rows else None

    @retried
    async def get_conversation_by_id(self, conversation_id: int) -> Conversation | None:
        rows = await self.db.execute_fetchall(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id=?", (conversation_id,)
        )
        return _conversation(rows[0]) if rows else None

    @retried
    async def create_conversation(self, key: ConversationKey, owner_id: str, title: str = "") -> Conversation:
        now = time.time()
        await self._write(
            "INSERT INTO conversations (platform, workspace, channel, thread, owner_id, title, created_at,"
            " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (key.platform, key.workspace, key.channel, key.thread, owner_id, title, now, now),
        )
        conversation = await self.get_conversation(key)
        assert conversation is not None
        return conversation

    @retried
    async def set_title(self, conversation_id: int, title: str) -> None:
        await self._write("UPDATE conversations SET title=? WHERE id=?", (title, conversation_id))

    @retried
    async def list_conversations(
        self, platform: str, owner_id: str, limit: int = 25, workspace: str | None = None
    ) -> list[Conversation]:
        sql = f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE platform=? AND owner_id=?"
        params: list = [platform, owner_id]
        if workspace is not None:
            sql += " AND workspace=?"
            params.append(workspace)
        sql += " ORDER BY updated_at DESC, id DESC LIMIT ?"
        params.append(limit)
        async with self.db.execute(sql, params) as cur:
            return [_conversation(row) for row in await cur.fetchall()]

    @retried
    async def delete_conversation(self, conversation_id: int) -> None:
        await self._erase(
            [
                _remember_erased(conversation_id),
                ("DELETE FROM messages WHERE conversation_id=?", (conversation_id,)),
                (
                    "DELETE FROM settings WHERE scope=? AND scope_id=?",
                    (Scope.CONVERSATION.value, str(conversation_id)),
                ),
                ("UPDATE usage SET conversation_id=NULL WHERE conversation_id=?", (conversation_id,)),
                ("DELETE FROM conversations WHERE id=?", (conversation_id,)),
            ]
        )
        self.history.drop(conversation_id)

    @retried
    async def delete_user_data(self, platform: str, user_id: str) -> int:
        owned = await self.list_conversations(platform, user_id, limit=1_000_000)
        statements: list[tuple[str, tuple]] = []
        for conversation in owned:
            statements += [
                _remember_erased(conversation.id),
                ("DELETE FROM messages WHERE conversation_id=?", (conversation.id,)),
                (
                    "DELETE FROM settings WHERE scope=? AND scope_id=?",
                    (Scope.CONVERSATION.value, str(conversation.id)),
                ),
                ("DELETE FROM conversations WHERE id=?", (conversation.id,)),
            ]
        statements += [
            # what they wrote in other people's conversations goes too
            (
                "DELETE FROM messages WHERE role='user' AND author_id=? AND conversation_id IN"
                " (SELECT id FROM conversations WHERE platform=?)",
                (user_id, platform),
            ),
            (
                "DELETE FROM settings WHERE platform=? AND scope=? AND scope_id=?",
                (platform, Scope.USER.value, user_id),
            ),
            ("DELETE FROM usage WHERE platform=? AND user_id=?", (platform, user_id)),
            ("DELETE FROM assistants WHERE platform=? AND owner_id=? AND shared=0", (platform, user_id)),
            ("DELETE FROM schedules WHERE platform=? AND owner_id=?", (platform, user_id)),
            ("DELETE FROM accounts WHERE platform=? AND user_id=?", (platform, user_id)),  # core.accounts
            ("DELETE FROM memories WHERE platform=? AND user_id=?", (platform, user_id)),
        ]
        await self._erase(statements)
        self.history.clear()  # their text in anyone's conversation: nothing of it stays in memory
        return len(owned)

    @retried
    async def purge_idle(self, older_than: float) -> int:
        async with self.db.execute("SELECT id FROM conversations WHERE updated_at < ?", (older_than,)) as cur:
            ids = [row[0] for row in await cur.fetchall()]
        for conversation_id in ids:
            await self.delete_conversation(conversation_id)
        return len(ids)

    @retried
    async def erased_at(self, key: ConversationKey) -> float | None:
        rows = await self.db.execute_fetchall(
            "SELECT erased_at FROM erased_threads WHERE platform=? AND workspace=? AND channel=? AND thread=?",
            (key.platform, key.workspace, key.channel, key.thread),
        )
        return rows[0][0] if rows else None

    # messages
    @retried
    async def add_message(self, conversation_id: int, message: StoredMessage) -> int:
        message.created_at = message.created_at or time.time()
        values = [encode_field(name, getattr(message, name)) for name in MESSAGE_FIELDS]
        ticket = self.history.ticket(conversation_id)
        # one statement, atomic: its trigger (migration 013) moves the conversation's updated_at and version on
        cur = await self._write(
            f"INSERT INTO messages (conversation_id, {', '.join(MESSAGE_FIELDS)})"
            f" VALUES (?, {', '.join('?' * len(MESSAGE_FIELDS))})",
            (conversation_id, *values),
        )
        message.id = cur.lastrowid
        message.conversation_id = conversation_id
        self.history.added(ticket, message_as_read(message))
        return message.id

    @retried
    async def update_message(self, message_id: int, **fields) -> None:
        unknown = set(fields) - set(MESSAGE_FIELDS)
        if unknown:
            raise ValueError(f"unknown message fields: {sorted(unknown)}")
        if not fields:
            return
        ticket = self.history.ticket(message_id=message_id)
        encoded = {name: encode_field(name, value) for name, value in fields.items()}
        assignments = ", ".join(f"{name}=?" for name in encoded)
        cur = await self._write(f"UPDATE messages SET {assignments} WHERE id=?", (*encoded.values(), message_id))
        if cur.rowcount == 1:
            self.history.updated(ticket, message_id, {name: as_read(name, value) for name, value in fields.items()})

    @retried
    async def update_messages(self, updates: list[tuple[int, dict]]) -> None:
        groups = grouped_updates(updates)
        if not groups:
            return
        tickets = {message_id: self.history.ticket(message_id=message_id) for message_id, _ in updates}
        changed = 0
        async with self._transaction() as db:
            for names, rows in groups.items():
                assignments = ", ".join(f"{name}=?" for name in names)
                cur = await db.executemany(f"UPDATE messages SET {assignments} WHERE id=?", rows)
                changed += cur.rowcount
            ids = [row[-1] for rows in groups.values() for row in rows]
            found = set(ids)
            if changed != len(ids):  # some row is gone (its conversation deleted meanwhile): which ones
                marks = ",".join("?" * len(ids))
                found = {
                    row[0] for row in await db.execute_fetchall(f"SELECT id FROM messages WHERE id IN ({marks})", ids)
                }
        for message_id, fields in updates:
            if message_id in found and fields:
                read = {name: as_read(name, value) for name, value in fields.items()}
                self.history.updated(tickets[message_id], message_id, read)

    @retried
    async def get_message(self, message_id: int) -> StoredMessage | None:
        async with self.db.execute(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id=?", (message_id,)) as cur:
            row = await cur.fetchone()
        return _message(row) if row else None

    async def _read_recent(self, conversation_id: int, limit: int) -> list[StoredMessage]:
        rows = await self.db.execute_fetchall(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id=? ORDER BY id DESC LIMIT ?",
            (conversation_id, limit),
        )
        return [_message(row) for row in reversed(rows)]

    @retried
    async def conversation_version(self, conversation_id: int) -> int | None:
        rows = await self.db.execute_fetchall("SELECT version FROM conversations WHERE id=?", (conversation_id,))
        return rows[0][0] if rows else None

    @retried
    async def count_messages(self, conversation_id: int) -> int:
        async with self.db.execute("SELECT COUNT(*) FROM messages WHERE conversation_id=?", (conversation_id,)) as cur:
            return (await cur.fetchone())[0]

    @retried
    async def find_by_platform_message(self, platform: str, platform_message_id: str) -> StoredMessage | None:
        if not platform_message_id:
            return None
        async with self.db.execute(
            f"SELECT {', '.join('m.' + c.strip() for c in _MESSAGE_COLUMNS.split(','))}"
            " FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.platform_message_id=? AND c.platform=? ORDER BY m.id DESC LIMIT 1",
            (platform_message_id, platform),
        ) as cur:
            row = await cur.fetchone()
        return _message(row) if row else None

    @retried
    async def delete_messages_from(self, conversation_id: int, message_id: int) -> int:
        async with self.db.execute(
            "SELECT COUNT(*) FROM messages WHERE conversation_id=? AND id>=?", (conversation_id, message_id)
        ) as cur:
            count = (await cur.fetchone())[0]
        ticket = self.history.ticket(conversation_id)
        await self._erase([("DELETE FROM messages WHERE conversation_id=? AND id>=?", (conversation_id, message_id))])
        self.history.deleted_from(ticket, message_id, bumps=count)  # its trigger bumps once per row
        return count

    @retried
    async def mark_interrupted(self) -> int:
        cur = await self._write(
            "UPDATE messages SET status=? WHERE status=?",
            (MessageStatus.INTERRUPTED.value, MessageStatus.STREAMING.value),
        )
        return cur.rowcount

    # workers
    @retried
    async def register_worker(self, worker_id: str, host: str = "", pid: int = 0) -> None:
        now = time.time()
        await self._write(
            "INSERT INTO workers (id, host, pid, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (id) DO UPDATE SET host=excluded.host, pid=excluded.pid, heartbeat_at=excluded.heartbeat_at",
            (worker_id, host, pid, now, now),
        )

    @retried
    async def heartbeat(self, worker_id: str) -> None:
        await self._write("UPDATE workers SET heartbeat_at=? WHERE id=?", (time.time(), worker_id))

    @retried
    async def live_workers(self, stale_before: float) -> int:
        async with self.db.execute("SELECT COUNT(*) FROM workers WHERE heartbeat_at >= ?", (stale_before,)) as cur:
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    @retried
    async def retire_worker(self, worker_id: str) -> int:
        async with self._transaction() as db:
            cur = await db.execute(
                "UPDATE messages SET status=? WHERE status=? AND worker_id=?",
                (MessageStatus.INTERRUPTED.value, MessageStatus.STREAMING.value, worker_id),
            )
            await db.execute("DELETE FROM workers WHERE id=?", (worker_id,))
        return cur.rowcount

    @retried
    async def interrupt_orphans(self, stale_before: float, *, keep: str = "") -> list[StoredMessage]:
        async with self._transaction() as db:
            async with db.execute(
                f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE status=? AND worker_id<>?"
                " AND worker_id NOT IN (SELECT id FROM workers WHERE heartbeat_at >= ?) ORDER BY id",
                (MessageStatus.STREAMING.value, keep, stale_before),
            ) as cur:
                orphans = [_message(row) for row in await cur.fetchall()]
            await db.executemany(
                "UPDATE messages SET status=? WHERE id=?",
                [(MessageStatus.INTERRUPTED.value, m.id) for m in orphans],
            )
            await db.execute("DELETE FROM workers WHERE heartbeat_at < ? AND id<>?", (stale_before, keep))
        for message in orphans:
            message.status = MessageStatus.INTERRUPTED
        return orphans

    # settings
    @retried
    async def get_settings(self, platform: str, places: list[Place]) -> dict[tuple[str, str, str, str], str]:
        if not places:
            return {}
        at = " OR ".join(["(workspace=? AND scope=? AND scope_id=?)"] * len(places))
        params = [platform, *(str(part) for place in places for part in place)]
        rows = await self.db.execute_fetchall(
            f"SELECT workspace, scope, scope_id, name, value FROM settings WHERE platform=? AND ({at})", params
        )
        return {(row[0], row[1], row[2], row[3]): row[4] for row in rows}

    @retried
    async def get_setting(self, platform: str, workspace: str, scope: Scope, scope_id: str, name: str) -> str | None:
        # execute_fetchall: one trip to aiosqlite's thread instead of three (a follow-up's route reads this)
        rows = await self.db.execute_fetchall(
            "SELECT value FROM settings WHERE platform=? AND workspace=? AND scope=? AND scope_id=? AND name=?",
            (platform, workspace, scope.value, scope_id, name),
        )
        return rows[0][0] if rows else None

    @retried
    async def set_setting(
        self, platform: str, workspace: str, scope: Scope, scope_id: str, name: str, value: str | None
    ) -> None:
        if value is None:
            await self._write(
                "DELETE FROM settings WHERE platform=? AND workspace=? AND scope=? AND scope_id=? AND name=?",
                (platform, workspace, scope.value, scope_id, name),
            )
            return
        await self._write(
            "INSERT INTO settings (platform, workspace, scope, scope_id, name, value, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (platform, workspace, scope, scope_id, name)"
            " DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
            (platform, workspace, scope.value, scope_id, name, value, time.time()),
        )

    # usage and events
    @retried
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
    ) -> None:
        await self._write(
            "INSERT INTO usage (platform, workspace, user_id, conversation_id, model, prompt_tokens,"
            " completion_tokens, created_at, provider, estimated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                platform,
                workspace,
                user_id,
                conversation_id,
                model,
                prompt_tokens,
                completion_tokens,
                time.time(),
                provider,
                int(estimated),
            ),
        )

    @retried
    async def usage_rows(
        self, platform: str, *, workspace: str | None = None, user_id: str | None = None, since: float = 0.0
    ) -> list[UsageRow]:
        sql = (
            "SELECT date(created_at, 'unixepoch'), user_id, model, provider, SUM(prompt_tokens),"
            " SUM(completion_tokens), COUNT(*), SUM(estimated) FROM usage WHERE platform=? AND created_at>=?"
        )
        params: list = [platform, since]
        if workspace is not None:
            sql += " AND workspace=?"
            params.append(workspace)
        if user_id is not None:
            sql += " AND user_id=?"
            params.append(user_id)
        sql += " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        async with self.db.execute(sql, params) as cur:
            return [UsageRow(*row) for row in await cur.fetchall()]

    # assistants
    @retried
    async def create_assistant(self, assistant: Assistant) -> Assistant:
        assistant.created_at = assistant.updated_at = time.time()
        cur = await self._write(
            f"INSERT INTO assistants ({ASSISTANT_FIELDS}) VALUES ({', '.join('?' * 12)})",
            assistant_values(assistant),
        )
        assistant.id = cur.lastrowid
        return assistant

    @retried
    async def get_assistant(self, assistant_id: int) -> Assistant | None:
        async with self.db.execute(f"SELECT id, {ASSISTANT_FIELDS} FROM assistants WHERE id=?", (assistant_id,)) as cur:
            row = await cur.fetchone()
        return _assistant(row) if row else None

    @retried
    async def list_assistants(self, platform: str, workspace: str, user_id: str) -> list[Assistant]:
        async with self.db.execute(
            f"SELECT id, {ASSISTANT_FIELDS} FROM assistants WHERE platform=?"
            " AND ((shared=0 AND owner_id=?) OR (shared=1 AND workspace=?)) ORDER BY lower(name), shared, id",
            (platform, user_id, workspace),
        ) as cur:
            return [_assistant(row) for row in await cur.fetchall()]

    @retried
    async def update_assistant(self, assistant: Assistant) -> None:
        assistant.updated_at = time.time()
        names = ASSISTANT_FIELDS.split(", ")
        await self._write(
            f"UPDATE assistants SET {', '.join(f'{n}=?' for n in names)} WHERE id=?",
            (*assistant_values(assistant), assistant.id),
        )

    @retried
    async def delete_assistant(self, assistant_id: int) -> None:
        await self._erase(
            [
                ("DELETE FROM settings WHERE name='assistant' AND value=?", (str(assistant_id),)),
                ("DELETE FROM assistants WHERE id=?", (assistant_id,)),
            ]
        )

    async def claim_event(self, platform: str, event_id: str) -> bool:
        return await self._claim(platform, event_id, uuid.uuid4().hex)

    @retried
    async def _claim(self, platform: str, event_id: str, token: str) -> bool:
        # one statement (atomic, one trip to aiosqlite's thread) for the usual first delivery; under the
        # store's lock so it never lands inside another coroutine's transaction on this connection
        async with self._lock:
            rows = await self.db.execute_fetchall(
                "INSERT INTO processed_events (platform, event_id, created_at, claim) VALUES (?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING RETURNING claim",
                (platform, event_id, time.time(), token),
            )
        if not rows:  # claimed before: by someone else, or by a try of this call whose answer was lost
            rows = await self.db.execute_fetchall(
                "SELECT claim FROM processed_events WHERE platform=? AND event_id=?", (platform, event_id)
            )
        return bool(rows) and rows[0][0] == token

    @retried
    async def release_event(self, platform: str, event_id: str) -> None:
        await self._write("DELETE FROM processed_events WHERE platform=? AND event_id=?", (platform, event_id))

    # concurrency
    @contextlib.asynccontextmanager
    async def conversation_lock(self, conversation_id: int) -> AsyncIterator[None]:
        """A per-id asyncio.Lock: serialises replies within this process only."""
        entry = self._conversation_locks.setdefault(conversation_id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._conversation_locks[conversation_id]

    # scheduled prompts
    @retried
    async def add_schedule(self, schedule: Schedule) -> Schedule:
        schedule.created_at = schedule.created_at or time.time()
        cur = await self._write(
            f"INSERT INTO schedules ({', '.join(SCHEDULE_FIELDS)}) VALUES ({', '.join('?' * len(SCHEDULE_FIELDS))})",
            tuple(getattr(schedule, name) for name in SCHEDULE_FIELDS),
        )
        schedule.id = cur.lastrowid
        return schedule

    @retried
    async def get_schedule(self, schedule_id: int) -> Schedule | None:
        rows = await self.db.execute_fetchall(
            f"SELECT id, {', '.join(SCHEDULE_FIELDS)} FROM schedules WHERE id=?", (schedule_id,)
        )
        return schedule_from(rows[0]) if rows else None

    @retried
    async def list_schedules(
        self, platform: str, workspace: str, channel: str | None = None, owner_id: str | None = None
    ) -> list[Schedule]:
        sql = f"SELECT id, {', '.join(SCHEDULE_FIELDS)} FROM schedules WHERE platform=? AND workspace=?"
        params: list = [platform, workspace]
        if channel is not None:
            sql += " AND channel=?"
            params.append(channel)
        if owner_id is not None:
            sql += " AND owner_id=?"
            params.append(owner_id)
        rows = await self.db.execute_fetchall(sql + " ORDER BY id", params)
        return [schedule_from(row) for row in rows]

    @retried
    async def delete_schedule(self, schedule_id: int) -> None:
        await self._erase([("DELETE FROM schedules WHERE id=?", (schedule_id,))])

    @retried
    async def due_schedules(self, now: float, platforms: list[str], limit: int = 50) -> list[Schedule]:
        if not platforms:
            return []
        rows = await self.db.execute_fetchall(
            f"SELECT id, {', '.join(SCHEDULE_FIELDS)} FROM schedules WHERE next_run<=?"
            f" AND platform IN ({', '.join('?' * len(platforms))}) ORDER BY next_run, id LIMIT ?",
            (now, *platforms, limit),
        )
        return [schedule_from(row) for row in rows]

    @retried
    async def claim_schedule_run(self, schedule_id: int, expected_next: float, next_run: float, now: float) -> bool:
        cur = await self._write(
            "UPDATE schedules SET next_run=?, last_run=?, runs=runs+1 WHERE id=? AND next_run=?",
            (next_run, now, schedule_id, expected_next),
        )
        return cur.rowcount == 1

    # accounts
    @retried
    async def get_account(self, platform: str, user_id: str) -> Account | None:
        rows = await self.db.execute_fetchall(
            "SELECT hub_name, token, connected_at FROM accounts WHERE platform=? AND user_id=?", (platform, user_id)
        )
        return Account(platform, user_id, *rows[0]) if rows else None

    @retried
    async def save_account(self, account: Account) -> None:
        account.connected_at = account.connected_at or time.time()
        await self._erase(  # the replaced token's pages are zeroed and the WAL emptied, as for an erasure
            [
                (
                    "INSERT INTO accounts (platform, user_id, hub_name, token, connected_at) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (platform, user_id) DO UPDATE SET hub_name=excluded.hub_name,"
                    " token=excluded.token, connected_at=excluded.connected_at",
                    (account.platform, account.user_id, account.hub_name, account.token, account.connected_at),
                )
            ]
        )

    @retried
    async def delete_account(self, platform: str, user_id: str) -> bool:
        had = await self.get_account(platform, user_id)
        await self._erase([("DELETE FROM accounts WHERE platform=? AND user_id=?", (platform, user_id))])
        return had is not None

    # memory the person controls
    @retried
    async def add_memory(self, memory: Memory) -> Memory:
        memory.created_at = memory.created_at or time.time()
        cur = await self._write(
            "INSERT INTO memories (platform, workspace, user_id, fact, created_at) VALUES (?, ?, ?, ?, ?)",
            (memory.platform, memory.workspace, memory.user_id, memory.fact, memory.created_at),
        )
        memory.id = cur.lastrowid
        return memory

    @retried
    async def list_memories(self, platform: str, workspace: str, user_id: str) -> list[Memory]:
        rows = await self.db.execute_fetchall(
            "SELECT id, fact, created_at FROM memories WHERE platform=? AND workspace=? AND user_id=? ORDER BY id",
            (platform, workspace, user_id),
        )
        return [Memory(platform, workspace, user_id, row[1], row[2], row[0]) for row in rows]

    @retried
    async def delete_memories(self, platform: str, workspace: str, user_id: str, memory_id: int | None = None) -> int:
        where, params = "platform=? AND workspace=? AND user_id=?", (platform, workspace, user_id)
        if memory_id is not None:
            where, params = where + " AND id=?", (*params, memory_id)
        rows = await self.db.execute_fetchall(f"SELECT COUNT(*) FROM memories WHERE {where}", params)
        await self._erase([(f"DELETE FROM memories WHERE {where}", params)])
        return rows[0][0]

    # answer lengths (core.streaming.lengths): durations of one budget, no user data
    @retried
    async def record_answer_lengths(self, rows: list[tuple[str, str, float]], keep: int) -> None:
        if not rows:
            return
        ended_at = time.time()
        async with self._transaction() as db:
            await db.executemany(
                "INSERT INTO answer_lengths (budget, bucket, seconds, ended_at) VALUES (?, ?, ?, ?)",
                [(budget, bucket, seconds, ended_at) for budget, bucket, seconds in rows],
            )
            for budget, bucket in dict.fromkeys((budget, bucket) for budget, bucket, _ in rows):
                await db.execute(
                    "DELETE FROM answer_lengths WHERE budget=? AND bucket=? AND id <= COALESCE((SELECT id FROM"
                    " answer_lengths WHERE budget=? AND bucket=? ORDER BY id DESC LIMIT 1 OFFSET ?), -1)",
                    (budget, bucket, budget, bucket, keep),
                )

    @retried
    async def answer_lengths(self, budget: str, bucket: str | None, limit: int) -> list[float]:
        if bucket is None:
            sql, params = "SELECT seconds FROM answer_lengths WHERE budget=? ORDER BY id DESC LIMIT ?", (budget, limit)
        else:
            sql = "SELECT seconds FROM answer_lengths WHERE budget=? AND bucket=? ORDER BY id DESC LIMIT ?"
            params = (budget, bucket, limit)
        rows = await self.db.execute_fetchall(sql, params)
        return [row[0] for row in reversed(rows)]
