"""PostgreSQL backend (for several bot processes sharing one database): asyncpg connection pools.

Migrations run at open() in one transaction behind a transaction-level advisory lock, so processes
starting together apply each migration once. Event claims are a single INSERT ... ON CONFLICT DO
NOTHING, so exactly one process wins a redelivered event. `conversation_lock` is a session-level
advisory lock, and all of a process's conversation locks live on one connection of their own (taken
with `pg_try_advisory_lock`, polled while another process holds it): replies that hold locks for
minutes never starve the query pool, and a process can hold any number of them at once.

With `async_commit` (DATABASE_ASYNC_COMMIT), an event's claim and a person's message commit without waiting for
the WAL to reach the disk (`synchronous_commit` off for that transaction only): the two writes on the way to the
router request then cost a round trip instead of a disk flush. The trade-off is PostgreSQL's own: if the database
server (not the bot) crashes within ~3 x wal_writer_delay (200 ms by default) of such a commit, it may be lost,
although the bot went on as if stored. The next durable commit of any process (an answer's row, written right after
the message) flushes the earlier ones with it, so the window closes within milliseconds while answers flow.

Deletes are real deletes, committed together. PostgreSQL keeps dead row versions on disk until
(auto)vacuum reclaims the space; no query can see them after the commit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import itertools
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import asyncpg

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

log = logging.getLogger(__name__)
# `SET LOCAL synchronous_commit = off` inside the statement itself (set_config's `true`: this transaction only),
# so an asynchronous commit costs no round trip of its own
_ASYNC_COMMIT_FROM = " FROM (SELECT set_config('synchronous_commit', 'off', true)) AS async_commit"

_CONVERSATION_COLUMNS = "id, platform, workspace, channel, thread, owner_id, title, created_at, updated_at"
_MESSAGE_COLUMNS = "id, conversation_id, " + ", ".join(MESSAGE_FIELDS)

# One key for every process and schema: migrations are rare and quick, so sharing it costs nothing.
_MIGRATION_LOCK_SQL = "SELECT pg_advisory_xact_lock(hashtextextended('hfchat-bots:migrations', 0))"
# Per conversation, namespaced by the schema so two deployments in one database don't collide.
_WORKER_KEY_SQL = "hashtextextended('hfchat-bots:' || coalesce(current_schema(), '') || ':worker:' || $1::text, 0)"
_CONVERSATION_KEY_SQL = (
    "hashtextextended('hfchat-bots:' || coalesce(current_schema(), '') || ':conversation:' || $1::bigint::text, 0)"
)


def _assistant(row) -> Assistant:
    return Assistant(
        id=row["id"],
        platform=row["platform"],
        workspace=row["workspace"],
        owner_id=row["owner_id"],
        shared=row["shared"],
        name=row["name"],
        instructions=row["instructions"],
        model=row["model"],
        options=json.loads(row["options"]),
        starters=json.loads(row["starters"]),
        web_search=row["web_search"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _conversation(row) -> Conversation:
    return Conversation(
        id=row["id"],
        key=ConversationKey(row["platform"], row["workspace"], row["channel"], row["thread"]),
        owner_id=row["owner_id"],
        title=row["title"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _message(row) -> StoredMessage:
    return message_from(row["id"], row["conversation_id"], [row[name] for name in MESSAGE_FIELDS])


def _count(status: str) -> int:
    """Rows affected, from a command tag such as 'DELETE 3' or 'INSERT 0 1'."""
    return int(status.rsplit(" ", 1)[-1])


def _terminate(conn: asyncpg.Connection) -> None:
    """End a pool connection's session now; the pool may have taken back a connection that closed."""
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


# Errors after which the same call may simply run again: the connection was lost or refused (server
# restarted, backend terminated, pool connection broken), the server is starting or shutting down, out of
# connection slots, or the statement was rolled back (lock timeout, serialization failure, deadlock).
_TRANSIENT = (
    asyncpg.PostgresConnectionError,  # class 08, with "connection was closed in the middle of operation"
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    ConnectionError,  # refused or reset before PostgreSQL said anything
    TimeoutError,  # connecting timed out
)


def _transient(error: BaseException) -> bool:
    if isinstance(error, _TRANSIENT):
        return True
    # a connection found closed under us, or one the pool took back when it closed (asyncpg raises
    # InterfaceError for these, as for misuse)
    if isinstance(error, asyncpg.InterfaceError) and (
        "connection is closed" in str(error) or "released back to the pool" in str(error)
    ):
        return True
    # a pool connection whose backend was terminated while it sat idle: asyncpg took in the server's
    # FATAL error and wedged the protocol (MagicStack/asyncpg#1069); the pool drops it on release
    return isinstance(error, asyncpg.exceptions.InternalClientError) and "cannot switch to state" in str(error)


class _Listener:
    """One LISTEN on a connection of its own, connected again (and listening again) when it is lost: a note sent
    while it was away is missed, which its callers allow for."""

    RECONNECT_SECONDS = (0.2, 0.5, 1.0, 2.0, 5.0)

    def __init__(self, store: PostgresStore, channel: str, on_note: Callable[[str], None]):
        self.store, self.channel, self.on_note = store, channel, on_note
        self.conn: asyncpg.Connection | None = None
        self.closed = False
        self._reconnecting: asyncio.Task | None = None

    def _note(self, _conn, _pid, _channel, payload: str) -> None:
        try:
            self.on_note(payload)
        except Exception as exc:
            log.warning("a note on %s could not be handled: %s", self.channel, type(exc).__name__)

    def _lost(self, _conn) -> None:
        if not self.closed and (self._reconnecting is None or self._reconnecting.done()):
            self._reconnecting = asyncio.get_running_loop().create_task(self._reconnect(), name="pg-listen")

    async def connect(self) -> None:
        conn = await asyncpg.connect(self.store.database_url, server_settings=self.store.server_settings)
        conn.add_termination_listener(self._lost)
        await conn.add_listener(self.channel, self._note)
        self.conn = conn

    async def _reconnect(self) -> None:
        for attempt in itertools.count():
            if self.closed:
                return
            await asyncio.sleep(self.RECONNECT_SECONDS[min(attempt, len(self.RECONNECT_SECONDS) - 1)])
            try:
                await self.connect()
                log.info("listening on %s again", self.channel)
                return
            except (OSError, asyncpg.PostgresError) as exc:
                if attempt == 0:
                    log.warning("could not listen on %s again (%s); retrying", self.channel, type(exc).__name__)

    async def close(self) -> None:
        self.closed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        conn, self.conn = self.conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=2)


class PostgresStore(Store):
    backend = "postgres"

    def __init__(
        self,
        database_url: str,
        *,
        schema: str | None = None,
        server_settings: dict[str, str] | None = None,
        min_size: int = 1,
        max_size: int = 10,
        async_commit: bool = False,
    ):
        """`schema`, if given, is created when missing and made the only entry of `search_path`.

        The queries' pool is `min_size..max_size`; conversation locks use one more connection. `async_commit`:
        claims and people's messages commit asynchronously (see the module's docstring).
        """
        self.database_url = database_url
        self.async_commit = async_commit
        self.schema = schema
        self.server_settings = dict(server_settings or {})
        if schema is not None:
            self.server_settings["search_path"] = _quote_ident(schema)
        self.min_size = min_size
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None
        # the session holding this process's conversation locks, used by one query at a time
        self._lock_session: asyncpg.Connection | None = None
        self._lock_io = asyncio.Lock()
        self._held: set[int] = set()  # conversation ids locked on that session
        self._worker_conn: asyncpg.Connection | None = None  # holds this process's worker lock
        # In-process queue in front of the advisory lock: waiters of this process for one conversation
        # share one lock connection instead of each parking its own. id -> [lock, holders + waiters]
        self._local_locks: dict[int, list] = {}
        self._listeners: list[_Listener] = []  # LISTEN connections (listen())
        self.history = HistoryCache()  # recent messages of active conversations (core.store.history)

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("store is not open")
        return self._pool

    def is_transient(self, error: BaseException) -> bool:
        return _transient(error)

    async def _next_id(self, table: str) -> int:
        """An id from the table's sequence, taken before inserting: the insert can then be retried after a
        lost connection without adding the row twice (`ON CONFLICT (id) DO NOTHING`). A lost id is a gap."""
        return await self.retrying(
            f"next {table} id", lambda: self.pool.fetchval("SELECT nextval(pg_get_serial_sequence($1, 'id'))", table)
        )

    async def open(self) -> None:
        pool = await asyncpg.create_pool(
            self.database_url,
            min_size=self.min_size,
            max_size=self.max_size,
            server_settings=self.server_settings,
        )
        try:
            await self._migrate(pool)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def _migrate(self, pool: asyncpg.Pool) -> None:
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(_MIGRATION_LOCK_SQL)
            if self.schema is not None:
                await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote_ident(self.schema)}")
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations"
                " (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at DOUBLE PRECISION NOT NULL)"
            )
            applied = {row["version"] for row in await conn.fetch("SELECT version FROM schema_migrations")}
            for version, name, sql in migrations.load("postgres"):
                if version in applied:
                    continue
                await conn.execute(sql)  # no arguments: the simple protocol runs the whole script
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
                    version,
                    name,
                    time.time(),
                )

    # notes between processes: LISTEN/NOTIFY, one channel per schema (NOTIFY reaches the whole database)
    shared_by_processes = True

    def _note_channel(self, channel: str) -> str:
        if not self.schema:
            return channel
        return f"{channel}_{hashlib.sha1(self.schema.encode()).hexdigest()[:16]}"  # within 63 characters

    async def listen(self, channel: str, on_note: Callable[[str], None]) -> Callable[[], Awaitable[None]]:
        listener = _Listener(self, self._note_channel(channel), on_note)
        await listener.connect()
        self._listeners.append(listener)
        return listener.close

    async def notify(self, channel: str, payload: str) -> None:
        await self.retrying(
            "notify", lambda: self.pool.execute("SELECT pg_notify($1, $2)", self._note_channel(channel), payload)
        )

    async def close(self) -> None:
        for listener in self._listeners:
            await listener.close()
        self._listeners.clear()
        worker_conn, self._worker_conn = self._worker_conn, None
        if worker_conn is not None:
            await worker_conn.close()
        lock_session, self._lock_session = self._lock_session, None
        if lock_session is not None:
            _terminate(lock_session)
        pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()

    # conversations
    @retried
    async def get_conversation(self, key: ConversationKey) -> Conversation | None:
        row = await self.pool.fetchrow(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations"
            " WHERE platform=$1 AND workspace=$2 AND channel=$3 AND thread=$4",
            key.platform,
            key.workspace,
            key.channel,
            key.thread,
        )
        return _conversation(row) if row else None

    @retried
    async def get_conversation_by_id(self, conversation_id: int) -> Conversation | None:
        row = await self.pool.fetchrow(
            f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE id=$1", conversation_id
        )
        return _conversation(row) if row else None

    @retried
    async def create_conversation(self, key: ConversationKey, owner_id: str, title: str = "") -> Conversation:
        now = time.time()
        row = await self.pool.fetchrow(
            "INSERT INTO conversations (platform, workspace, channel, thread, owner_id, title, created_at,"
            " updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7) ON CONFLICT DO NOTHING"
            f" RETURNING {_CONVERSATION_COLUMNS}",
            key.platform,
            key.workspace,
            key.channel,
            key.thread,
            owner_id,
            title,
            now,
        )
        if row is not None:
            return _conversation(row)
        conversation = await self.get_conversation(key)  # another caller created it first
        if conversation is None:  # ... and it was deleted in between: try again
            return await self.create_conversation(key, owner_id, title)
        return conversation

    @retried
    async def set_title(self, conversation_id: int, title: str) -> None:
        await self.pool.execute("UPDATE conversations SET title=$1 WHERE id=$2", title, conversation_id)

    @retried
    async def list_conversations(
        self, platform: str, owner_id: str, limit: int = 25, workspace: str | None = None
    ) -> list[Conversation]:
        sql = f"SELECT {_CONVERSATION_COLUMNS} FROM conversations WHERE platform=$1 AND owner_id=$2"
        params: list = [platform, owner_id]
        if workspace is not None:
            params.append(workspace)
            sql += f" AND workspace=${len(params)}"
        params.append(limit)
        sql += f" ORDER BY updated_at DESC, id DESC LIMIT ${len(params)}"
        return [_conversation(row) for row in await self.pool.fetch(sql, *params)]

    @staticmethod
    async def _erase_conversations(conn: asyncpg.Connection, ids: Sequence[int]) -> None:
        """Inside a transaction: erase these conversations, their messages and their settings."""
        if not ids:
            return
        ids = list(ids)
        # where they lived and when they went (never their text): those threads start fresh
        await conn.execute(
            "INSERT INTO erased_threads (platform, workspace, channel, thread, erased_at)"
            " SELECT platform, workspace, channel, thread, $2 FROM conversations WHERE id = ANY($1::bigint[])"
            " ON CONFLICT (platform, workspace, channel, thread) DO UPDATE SET erased_at = EXCLUDED.erased_at",
            ids,
            time.time(),
        )
        await conn.execute("DELETE FROM messages WHERE conversation_id = ANY($1::bigint[])", ids)
        await conn.execute(
            "DELETE FROM settings WHERE scope=$1 AND scope_id = ANY($2::text[])",
            Scope.CONVERSATION.value,
            [str(i) for i in ids],
        )
        await conn.execute("UPDATE usage SET conversation_id=NULL WHERE conversation_id = ANY($1::bigint[])", ids)
        await conn.execute("DELETE FROM conversations WHERE id = ANY($1::bigint[])", ids)

    @retried
    async def delete_conversation(self, conversation_id: int) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await self._erase_conversations(conn, [conversation_id])
        self.history.drop(conversation_id)

    @retried
    async def delete_user_data(self, platform: str, user_id: str) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            owned = [
                row["id"]
                for row in await conn.fetch(
                    "SELECT id FROM conversations WHERE platform=$1 AND owner_id=$2 FOR UPDATE",
                    platform,
                    user_id,
                )
            ]
            await self._erase_conversations(conn, owned)
            # what they wrote in other people's conversations goes too
            await conn.execute(
                "DELETE FROM messages WHERE role='user' AND author_id=$1 AND conversation_id IN"
                " (SELECT id FROM conversations WHERE platform=$2)",
                user_id,
                platform,
            )
            await conn.execute(
                "DELETE FROM settings WHERE platform=$1 AND scope=$2 AND scope_id=$3",
                platform,
                Scope.USER.value,
                user_id,
            )
            await conn.execute("DELETE FROM usage WHERE platform=$1 AND user_id=$2", platform, user_id)
            await conn.execute(
                "DELETE FROM assistants WHERE platform=$1 AND owner_id=$2 AND NOT shared", platform, user_id
            )
            await conn.execute("DELETE FROM schedules WHERE platform=$1 AND owner_id=$2", platform, user_id)
            await conn.execute("DELETE FROM accounts WHERE platform=$1 AND user_id=$2", platform, user_id)
            await conn.execute("DELETE FROM memories WHERE platform=$1 AND user_id=$2", platform, user_id)
        self.history.clear()  # their text in anyone's conversation: nothing of it stays in memory
        return len(owned)

    @retried
    async def purge_idle(self, older_than: float) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            # FOR UPDATE waits for a concurrent add_message and then re-checks updated_at, so a
            # conversation that just came back to life is not purged
            ids = [
                row["id"]
                for row in await conn.fetch("SELECT id FROM conversations WHERE updated_at < $1 FOR UPDATE", older_than)
            ]
            await self._erase_conversations(conn, ids)
        for conversation_id in ids:
            self.history.drop(conversation_id)
        return len(ids)

    @retried
    async def erased_at(self, key: ConversationKey) -> float | None:
        return await self.pool.fetchval(
            "SELECT erased_at FROM erased_threads WHERE platform=$1 AND workspace=$2 AND channel=$3 AND thread=$4",
            key.platform,
            key.workspace,
            key.channel,
            key.thread,
        )

    # messages
    async def add_message(self, conversation_id: int, message: StoredMessage) -> int:
        message.created_at = message.created_at or time.time()
        values = [encode_field(name, getattr(message, name)) for name in MESSAGE_FIELDS]
        message_id = await self._next_id("messages")
        ticket = self.history.ticket(conversation_id)
        relaxed = self.async_commit and message.role == "user"  # an answer's row always commits durably
        await self._insert_message(message_id, conversation_id, message.created_at, values, relaxed)
        message.id = message_id
        message.conversation_id = conversation_id
        self.history.added(ticket, message_as_read(message))  # its trigger (migration 013) bumped the version once
        return message_id

    @retried
    async def _insert_message(
        self, message_id: int, conversation_id: int, created_at: float, values: list, relaxed: bool = False
    ) -> None:
        placeholders = ", ".join(f"${i}" for i in range(4, len(MESSAGE_FIELDS) + 4))
        # one statement: atomic like a transaction, and one round trip instead of five (BEGIN ... COMMIT)
        await self.pool.execute(
            f"WITH added AS (INSERT INTO messages (id, conversation_id, {', '.join(MESSAGE_FIELDS)})"
            f" VALUES ($1, $2, {placeholders}) ON CONFLICT (id) DO NOTHING)"
            f" UPDATE conversations SET updated_at=$3{_ASYNC_COMMIT_FROM if relaxed else ''} WHERE id=$2",
            message_id,
            conversation_id,
            created_at,
            *values,
        )

    @retried
    async def update_message(self, message_id: int, **fields) -> None:
        unknown = set(fields) - set(MESSAGE_FIELDS)
        if unknown:
            raise ValueError(f"unknown message fields: {sorted(unknown)}")
        if not fields:
            return
        ticket = self.history.ticket(message_id=message_id)
        encoded = {name: encode_field(name, value) for name, value in fields.items()}
        assignments = ", ".join(f"{name}=${i}" for i, name in enumerate(encoded, start=1))
        status = await self.pool.execute(
            f"UPDATE messages SET {assignments} WHERE id=${len(encoded) + 1}", *encoded.values(), message_id
        )
        if _count(status) == 1:
            self.history.updated(ticket, message_id, {name: as_read(name, value) for name, value in fields.items()})

    @retried
    async def update_messages(self, updates: list[tuple[int, dict]]) -> None:
        groups = grouped_updates(updates)
        if not groups:
            return
        tickets = {message_id: self.history.ticket(message_id=message_id) for message_id, _ in updates}
        found: set[int] = set()
        # one statement per row (each bumps its conversation's version once, as update_message does), pipelined
        # by fetchmany, under one commit
        async with self.pool.acquire() as conn, conn.transaction():
            for names, rows in groups.items():
                assignments = ", ".join(f"{name}=${i}" for i, name in enumerate(names, start=1))
                sql = f"UPDATE messages SET {assignments} WHERE id=${len(names) + 1} RETURNING id"
                found.update(record["id"] for record in await conn.fetchmany(sql, rows))
        for message_id, fields in updates:
            if message_id in found and fields:
                read = {name: as_read(name, value) for name, value in fields.items()}
                self.history.updated(tickets[message_id], message_id, read)

    @retried
    async def get_message(self, message_id: int) -> StoredMessage | None:
        row = await self.pool.fetchrow(f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE id=$1", message_id)
        return _message(row) if row else None

    async def _read_recent(self, conversation_id: int, limit: int) -> list[StoredMessage]:
        rows = await self.pool.fetch(
            f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id=$1 ORDER BY id DESC LIMIT $2",
            conversation_id,
            limit,
        )
        return [_message(row) for row in reversed(rows)]

    @retried
    async def conversation_version(self, conversation_id: int) -> int | None:
        return await self.pool.fetchval("SELECT version FROM conversations WHERE id=$1", conversation_id)

    @retried
    async def count_messages(self, conversation_id: int) -> int:
        return await self.pool.fetchval("SELECT COUNT(*) FROM messages WHERE conversation_id=$1", conversation_id)

    @retried
    async def find_by_platform_message(self, platform: str, platform_message_id: str) -> StoredMessage | None:
        if not platform_message_id:  # "" means "never posted", not an id to look up
            return None
        columns = ", ".join("m." + column.strip() for column in _MESSAGE_COLUMNS.split(","))
        row = await self.pool.fetchrow(
            f"SELECT {columns} FROM messages m JOIN conversations c ON c.id = m.conversation_id"
            " WHERE m.platform_message_id=$1 AND m.platform_message_id <> '' AND c.platform=$2"
            " ORDER BY m.id DESC LIMIT 1",
            platform_message_id,
            platform,
        )
        return _message(row) if row else None

    @retried
    async def delete_messages_from(self, conversation_id: int, message_id: int) -> int:
        ticket = self.history.ticket(conversation_id)
        status = await self.pool.execute(
            "DELETE FROM messages WHERE conversation_id=$1 AND id>=$2", conversation_id, message_id
        )
        count = _count(status)
        self.history.deleted_from(ticket, message_id, bumps=1 if count else 0)  # its trigger bumps once a statement
        return count

    @retried
    async def mark_interrupted(self) -> int:
        status = await self.pool.execute(
            "UPDATE messages SET status=$1 WHERE status=$2",
            MessageStatus.INTERRUPTED.value,
            MessageStatus.STREAMING.value,
        )
        return _count(status)

    # workers
    async def _hold_worker_lock(self, worker_id: str) -> None:
        """A session lock on a connection of its own, held while this process lives: PostgreSQL drops it
        the moment the process (or its connection) dies, which tells the others at once."""
        if self._worker_conn is not None and not self._worker_conn.is_closed():
            return
        conn = await asyncpg.connect(self.database_url, server_settings=self.server_settings)
        try:
            await conn.execute(f"SELECT pg_advisory_lock({_WORKER_KEY_SQL})", worker_id)
        except BaseException:
            conn.terminate()
            raise
        self._worker_conn = conn

    @retried
    async def register_worker(self, worker_id: str, host: str = "", pid: int = 0) -> None:
        await self._hold_worker_lock(worker_id)
        now = time.time()
        await self.pool.execute(
            "INSERT INTO workers (id, host, pid, started_at, heartbeat_at) VALUES ($1, $2, $3, $4, $4)"
            " ON CONFLICT (id) DO UPDATE SET host=excluded.host, pid=excluded.pid, heartbeat_at=excluded.heartbeat_at",
            worker_id,
            host,
            pid,
            now,
        )

    @retried
    async def heartbeat(self, worker_id: str) -> None:
        await self._hold_worker_lock(worker_id)  # back after a lost connection
        now = time.time()
        await self.pool.execute(
            "INSERT INTO workers (id, started_at, heartbeat_at) VALUES ($1, $2, $2)"
            " ON CONFLICT (id) DO UPDATE SET heartbeat_at=excluded.heartbeat_at",
            worker_id,
            now,
        )

    @retried
    async def live_workers(self, stale_before: float) -> int:
        return int(await self.pool.fetchval("SELECT COUNT(*) FROM workers WHERE heartbeat_at >= $1", stale_before))

    @retried
    async def retire_worker(self, worker_id: str) -> int:
        async with self.pool.acquire() as conn, conn.transaction():
            status = await conn.execute(
                "UPDATE messages SET status=$1 WHERE status=$2 AND worker_id=$3",
                MessageStatus.INTERRUPTED.value,
                MessageStatus.STREAMING.value,
                worker_id,
            )
            await conn.execute("DELETE FROM workers WHERE id=$1", worker_id)
        conn, self._worker_conn = self._worker_conn, None
        if conn is not None:
            await conn.close()  # ending the session releases the worker lock
        return _count(status)

    @retried
    async def interrupt_orphans(self, stale_before: float, *, keep: str = "") -> list[StoredMessage]:
        async with self.pool.acquire() as conn, conn.transaction():
            candidates = await conn.fetch(
                "SELECT DISTINCT m.worker_id, w.heartbeat_at FROM messages m LEFT JOIN workers w ON w.id = m.worker_id"
                " WHERE m.status=$1 AND m.worker_id <> $2",
                MessageStatus.STREAMING.value,
                keep,
            )
            dead = []
            for row in candidates:
                worker_id, heartbeat_at = row["worker_id"], row["heartbeat_at"]
                # a free lock means its holder is gone; the xact lock we take to see it ends with this transaction
                if (
                    not worker_id
                    or heartbeat_at is None
                    or heartbeat_at < stale_before
                    or await conn.fetchval(f"SELECT pg_try_advisory_xact_lock({_WORKER_KEY_SQL})", worker_id)
                ):
                    dead.append(worker_id)
            rows = await conn.fetch(
                f"UPDATE messages SET status=$1 WHERE status=$2 AND worker_id = ANY($3::text[])"
                f" RETURNING {_MESSAGE_COLUMNS}",
                MessageStatus.INTERRUPTED.value,
                MessageStatus.STREAMING.value,
                dead,
            )
            await conn.execute(
                "DELETE FROM workers WHERE id <> $1 AND (id = ANY($2::text[]) OR heartbeat_at < $3)",
                keep,
                dead,
                stale_before,
            )
        return sorted((_message(row) for row in rows), key=lambda m: m.id or 0)

    # settings
    @retried
    async def get_settings(self, platform: str, places: list[Place]) -> dict[tuple[str, str, str, str], str]:
        if not places:
            return {}
        numbers = range(2, 2 + 3 * len(places), 3)
        at = " OR ".join(f"(workspace=${i} AND scope=${i + 1} AND scope_id=${i + 2})" for i in numbers)
        params = [str(part) for place in places for part in place]
        rows = await self.pool.fetch(
            f"SELECT workspace, scope, scope_id, name, value FROM settings WHERE platform=$1 AND ({at})",
            platform,
            *params,
        )
        return {(row[0], row[1], row[2], row[3]): row[4] for row in rows}

    @retried
    async def get_setting(self, platform: str, workspace: str, scope: Scope, scope_id: str, name: str) -> str | None:
        return await self.pool.fetchval(
            "SELECT value FROM settings WHERE platform=$1 AND workspace=$2 AND scope=$3 AND scope_id=$4 AND name=$5",
            platform,
            workspace,
            scope.value,
            scope_id,
            name,
        )

    @retried
    async def set_setting(
        self, platform: str, workspace: str, scope: Scope, scope_id: str, name: str, value: str | None
    ) -> None:
        if value is None:
            await self.pool.execute(
                "DELETE FROM settings WHERE platform=$1 AND workspace=$2 AND scope=$3 AND scope_id=$4 AND name=$5",
                platform,
                workspace,
                scope.value,
                scope_id,
                name,
            )
            return
        await self.pool.execute(
            "INSERT INTO settings (platform, workspace, scope, scope_id, name, value, updated_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (platform, workspace, scope, scope_id, name)"
            " DO UPDATE SET value=excluded.value, updated_at=excluded.updated_at",
            platform,
            workspace,
            scope.value,
            scope_id,
            name,
            value,
            time.time(),
        )

    # usage and events
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
        usage_id, now = await self._next_id("usage"), time.time()
        await self.retrying(
            "record_usage",
            lambda: self.pool.execute(
                "INSERT INTO usage (id, platform, workspace, user_id, conversation_id, model, prompt_tokens,"
                " completion_tokens, created_at, provider, estimated)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
                " ON CONFLICT (id) DO NOTHING",
                usage_id,
                platform,
                workspace,
                user_id,
                conversation_id,
                model,
                prompt_tokens,
                completion_tokens,
                now,
                provider,
                int(estimated),
            ),
        )

    @retried
    async def usage_rows(
        self, platform: str, *, workspace: str | None = None, user_id: str | None = None, since: float = 0.0
    ) -> list[UsageRow]:
        sql = (
            "SELECT to_char(to_timestamp(created_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, user_id, model,"
            " provider, SUM(prompt_tokens), SUM(completion_tokens), COUNT(*), SUM(estimated) FROM usage"
            " WHERE platform=$1 AND created_at>=$2"
        )
        params: list = [platform, since]
        if workspace is not None:
            params.append(workspace)
            sql += f" AND workspace=${len(params)}"
        if user_id is not None:
            params.append(user_id)
            sql += f" AND user_id=${len(params)}"
        sql += " GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4"
        return [
            UsageRow(*(row[i] for i in range(4)), *(int(row[i]) for i in range(4, 8)))
            for row in await self.pool.fetch(sql, *params)
        ]

    # assistants
    async def create_assistant(self, assistant: Assistant) -> Assistant:
        assistant.created_at = assistant.updated_at = time.time()
        placeholders = ", ".join(f"${i}" for i in range(2, 14))
        assistant_id = await self._next_id("assistants")
        await self.retrying(
            "create_assistant",
            lambda: self.pool.execute(
                f"INSERT INTO assistants (id, {ASSISTANT_FIELDS}) VALUES ($1, {placeholders})"
                " ON CONFLICT (id) DO NOTHING",
                assistant_id,
                *assistant_values(assistant),
            ),
        )
        assistant.id = assistant_id
        return assistant

    @retried
    async def get_assistant(self, assistant_id: int) -> Assistant | None:
        row = await self.pool.fetchrow(f"SELECT id, {ASSISTANT_FIELDS} FROM assistants WHERE id=$1", assistant_id)
        return _assistant(row) if row else None

    @retried
    async def list_assistants(self, platform: str, workspace: str, user_id: str) -> list[Assistant]:
        rows = await self.pool.fetch(
            f"SELECT id, {ASSISTANT_FIELDS} FROM assistants WHERE platform=$1"
            " AND ((NOT shared AND owner_id=$2) OR (shared AND workspace=$3)) ORDER BY lower(name), shared, id",
            platform,
            user_id,
            workspace,
        )
        return [_assistant(row) for row in rows]

    @retried
    async def update_assistant(self, assistant: Assistant) -> None:
        assistant.updated_at = time.time()
        names = ASSISTANT_FIELDS.split(", ")
        assignments = ", ".join(f"{n}=${i}" for i, n in enumerate(names, start=1))
        await self.pool.execute(
            f"UPDATE assistants SET {assignments} WHERE id=${len(names) + 1}",
            *assistant_values(assistant),
            assistant.id,
        )

    @retried
    async def delete_assistant(self, assistant_id: int) -> None:
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.execute("DELETE FROM settings WHERE name='assistant' AND value=$1", str(assistant_id))
            await conn.execute("DELETE FROM assistants WHERE id=$1", assistant_id)

    async def claim_event(self, platform: str, event_id: str) -> bool:
        return await self._claim(platform, event_id, uuid.uuid4().hex)

    @retried
    async def _claim(self, platform: str, event_id: str, token: str) -> bool:
        # the token tells a retry whether the row is the one its lost first try inserted
        rows = f"SELECT $1, $2, $3, $4{_ASYNC_COMMIT_FROM}" if self.async_commit else "VALUES ($1, $2, $3, $4)"
        claim = await self.pool.fetchval(
            f"INSERT INTO processed_events (platform, event_id, created_at, claim) {rows}"
            " ON CONFLICT DO NOTHING RETURNING claim",
            platform,
            event_id,
            time.time(),
            token,
        )
        if claim is None:
            claim = await self.pool.fetchval(
                "SELECT claim FROM processed_events WHERE platform=$1 AND event_id=$2", platform, event_id
            )
        return claim == token

    @retried
    async def release_event(self, platform: str, event_id: str) -> None:
        await self.pool.execute("DELETE FROM processed_events WHERE platform=$1 AND event_id=$2", platform, event_id)

    # concurrency
    @contextlib.asynccontextmanager
    async def _local_lock(self, conversation_id: int) -> AsyncIterator[None]:
        entry = self._local_locks.setdefault(conversation_id, [asyncio.Lock(), 0])
        entry[1] += 1
        try:
            async with entry[0]:
                yield
        finally:
            entry[1] -= 1
            if entry[1] == 0:
                del self._local_locks[conversation_id]

    @contextlib.asynccontextmanager
    async def conversation_lock(self, conversation_id: int) -> AsyncIterator[None]:
        """A session-level advisory lock on this process's lock session: serialises across processes.

        Waiters in this process queue on an asyncio lock first (a session's advisory locks are re-entrant,
        so two holders in one process must never both ask PostgreSQL). Waiting on another process is a poll
        of `pg_try_advisory_lock`, so no connection is parked per waiter. If the session dies while locks
        are held, PostgreSQL drops them with it; the next lock query reconnects and takes them back.
        """
        if self._pool is None:
            raise RuntimeError("store is not open")
        async with self._local_lock(conversation_id):
            delay = 0.02
            while not await self._take(conversation_id):
                await asyncio.sleep(delay)
                delay = min(delay * 2, 0.25)
            try:
                yield
            finally:
                # run to the end even if cancelled: a lock left on the session would outlive its holder
                unlock = asyncio.ensure_future(self._unlock(conversation_id))
                try:
                    await asyncio.shield(unlock)
                except asyncio.CancelledError:
                    await asyncio.wait([unlock])
                    raise

    async def _take(self, conversation_id: int) -> bool:
        """One `pg_try_advisory_lock`; if the caller is cancelled meanwhile, a granted lock is given back."""
        attempt = asyncio.ensure_future(self._try_lock(conversation_id))
        try:
            return await asyncio.shield(attempt)
        except asyncio.CancelledError:
            await asyncio.wait([attempt])
            if not attempt.cancelled() and attempt.exception() is None and attempt.result():
                await self._unlock(conversation_id)
            raise

    async def _try_lock(self, conversation_id: int) -> bool:
        async def attempt() -> bool:
            async with self._lock_io:
                session = await self._lock_connection()
                got = await session.fetchval(f"SELECT pg_try_advisory_lock({_CONVERSATION_KEY_SQL})", conversation_id)
                if got:
                    self._held.add(conversation_id)
                return bool(got)

        return await self.retrying("conversation_lock", attempt)

    async def _unlock(self, conversation_id: int) -> bool:
        async with self._lock_io:
            self._held.discard(conversation_id)
            session = self._lock_session
            if session is None or session.is_closed():
                return True  # the lock went with its session
            try:
                await session.execute(f"SELECT pg_advisory_unlock({_CONVERSATION_KEY_SQL})", conversation_id)
            except Exception as exc:
                if not self.is_transient(exc):
                    raise
                _terminate(session)  # the session (and every lock on it) is gone or going
                log.warning("conversation lock session lost: %s", type(exc).__name__)
            return True

    async def _lock_connection(self) -> asyncpg.Connection:
        """The lock session (caller holds `_lock_io`), reconnected after a loss with its locks taken back."""
        session = self._lock_session
        if session is not None and not session.is_closed():
            return session
        session = await asyncpg.connect(self.database_url, server_settings=self.server_settings)
        self._lock_session = session
        lost = 0
        for held in list(self._held):
            if not await session.fetchval(f"SELECT pg_try_advisory_lock({_CONVERSATION_KEY_SQL})", held):
                lost += 1
        if lost:
            log.warning("%d conversation locks were taken by another process while the lock session was down", lost)
        return session

    # scheduled prompts
    @retried
    async def add_schedule(self, schedule: Schedule) -> Schedule:
        schedule.created_at = schedule.created_at or time.time()
        placeholders = ", ".join(f"${i}" for i in range(1, len(SCHEDULE_FIELDS) + 1))
        schedule.id = await self.pool.fetchval(
            f"INSERT INTO schedules ({', '.join(SCHEDULE_FIELDS)}) VALUES ({placeholders}) RETURNING id",
            *(getattr(schedule, name) for name in SCHEDULE_FIELDS),
        )
        return schedule

    @retried
    async def get_schedule(self, schedule_id: int) -> Schedule | None:
        row = await self.pool.fetchrow(
            f"SELECT id, {', '.join(SCHEDULE_FIELDS)} FROM schedules WHERE id=$1", schedule_id
        )
        return schedule_from(tuple(row)) if row else None

    @retried
    async def list_schedules(
        self, platform: str, workspace: str, channel: str | None = None, owner_id: str | None = None
    ) -> list[Schedule]:
        rows = await self.pool.fetch(
            f"SELECT id, {', '.join(SCHEDULE_FIELDS)} FROM schedules WHERE platform=$1 AND workspace=$2"
            " AND ($3::text IS NULL OR channel=$3) AND ($4::text IS NULL OR owner_id=$4) ORDER BY id",
            platform,
            workspace,
            channel,
            owner_id,
        )
        return [schedule_from(tuple(row)) for row in rows]

    @retried
    async def delete_schedule(self, schedule_id: int) -> None:
        await self.pool.execute("DELETE FROM schedules WHERE id=$1", schedule_id)

    @retried
    async def due_schedules(self, now: float, platforms: list[str], limit: int = 50) -> list[Schedule]:
        rows = await self.pool.fetch(
            f"SELECT id, {', '.join(SCHEDULE_FIELDS)} FROM schedules WHERE next_run<=$1 AND platform = ANY($2::text[])"
            " ORDER BY next_run, id LIMIT $3",
            now,
            platforms,
            limit,
        )
        return [schedule_from(tuple(row)) for row in rows]

    @retried
    async def claim_schedule_run(self, schedule_id: int, expected_next: float, next_run: float, now: float) -> bool:
        # one statement: of any number of processes comparing the same next_run, exactly one matches it
        status = await self.pool.execute(
            "UPDATE schedules SET next_run=$1, last_run=$2, runs=runs+1 WHERE id=$3 AND next_run=$4",
            next_run,
            now,
            schedule_id,
            expected_next,
        )
        return _count(status) == 1

    # accounts
    @retried
    async def get_account(self, platform: str, user_id: str) -> Account | None:
        row = await self.pool.fetchrow(
            "SELECT hub_name, token, connected_at FROM accounts WHERE platform=$1 AND user_id=$2", platform, user_id
        )
        return Account(platform, user_id, *row) if row else None

    @retried
    async def save_account(self, account: Account) -> None:
        account.connected_at = account.connected_at or time.time()
        await self.pool.execute(
            "INSERT INTO accounts (platform, user_id, hub_name, token, connected_at) VALUES ($1, $2, $3, $4, $5)"
            " ON CONFLICT (platform, user_id) DO UPDATE SET hub_name=EXCLUDED.hub_name, token=EXCLUDED.token,"
            " connected_at=EXCLUDED.connected_at",
            account.platform,
            account.user_id,
            account.hub_name,
            account.token,
            account.connected_at,
        )

    @retried
    async def delete_account(self, platform: str, user_id: str) -> bool:
        status = await self.pool.execute("DELETE FROM accounts WHERE platform=$1 AND user_id=$2", platform, user_id)
        return status != "DELETE 0"

    # memory the person controls
    async def add_memory(self, memory: Memory) -> Memory:
        memory.created_at = memory.created_at or time.time()
        memory.id = await self._next_id("memories")  # taken first: a retried insert never keeps the fact twice
        await self._insert_memory(memory)
        return memory

    @retried
    async def _insert_memory(self, memory: Memory) -> None:
        await self.pool.execute(
            "INSERT INTO memories (id, platform, workspace, user_id, fact, created_at) VALUES ($1, $2, $3, $4, $5, $6)"
            " ON CONFLICT (id) DO NOTHING",
            memory.id,
            memory.platform,
            memory.workspace,
            memory.user_id,
            memory.fact,
            memory.created_at,
        )

    @retried
    async def list_memories(self, platform: str, workspace: str, user_id: str) -> list[Memory]:
        rows = await self.pool.fetch(
            "SELECT id, fact, created_at FROM memories WHERE platform=$1 AND workspace=$2 AND user_id=$3 ORDER BY id",
            platform,
            workspace,
            user_id,
        )
        return [Memory(platform, workspace, user_id, row["fact"], row["created_at"], row["id"]) for row in rows]

    @retried
    async def delete_memories(self, platform: str, workspace: str, user_id: str, memory_id: int | None = None) -> int:
        status = await self.pool.execute(
            "DELETE FROM memories WHERE platform=$1 AND workspace=$2 AND user_id=$3 AND ($4::bigint IS NULL OR id=$4)",
            platform,
            workspace,
            user_id,
            memory_id,
        )
        return _count(status)

    # answer lengths (core.streaming.lengths): durations of one budget, no user data
    @retried
    async def record_answer_lengths(self, rows: list[tuple[str, str, float]], keep: int) -> None:
        if not rows:
            return
        ended_at = time.time()
        async with self.pool.acquire() as conn, conn.transaction():
            await conn.executemany(
                "INSERT INTO answer_lengths (budget, bucket, seconds, ended_at) VALUES ($1, $2, $3, $4)",
                [(budget, bucket, seconds, ended_at) for budget, bucket, seconds in rows],
            )
            for budget, bucket in dict.fromkeys((budget, bucket) for budget, bucket, _ in rows):
                await conn.execute(
                    "DELETE FROM answer_lengths WHERE budget=$1 AND bucket=$2 AND id <= COALESCE((SELECT id FROM"
                    " answer_lengths WHERE budget=$1 AND bucket=$2 ORDER BY id DESC LIMIT 1 OFFSET $3), -1)",
                    budget,
                    bucket,
                    keep,
                )

    @retried
    async def answer_lengths(self, budget: str, bucket: str | None, limit: int) -> list[float]:
        if bucket is None:
            rows = await self.pool.fetch(
                "SELECT seconds FROM answer_lengths WHERE budget=$1 ORDER BY id DESC LIMIT $2", budget, limit
            )
        else:
            rows = await self.pool.fetch(
                "SELECT seconds FROM answer_lengths WHERE budget=$1 AND bucket=$2 ORDER BY id DESC LIMIT $3",
                budget,
                bucket,
                limit,
            )
        return [row["seconds"] for row in reversed(rows)]
