"""Stop across processes. Behind a balancer several processes share one database, and a Stop (the button, `@bot
stop`, Slack's native Stop) may reach one that is not writing the answer. That process sees in the store that the
conversation's newest answer is being written by another (its STREAMING row and worker id), checks who may stop it,
and sends a note on the stop bus; the process writing it stops it (core.replies.scheduler), checking again, in
well under a second.

The bus: Redis pub/sub when `REDIS_URL` is set, else PostgreSQL's LISTEN/NOTIFY through the store; with SQLite
(one process) there is none. A note carries the conversation id and who pressed Stop (ids, never text); a note
lost while a connection is down is a Stop that did not happen, which the person can press again.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.keys import Actor
from core.store.base import Store

log = logging.getLogger(__name__)

STOP_CHANNEL = "hfchat_stop"


@dataclass(frozen=True, slots=True)
class StopNote:
    conversation_id: int
    actor: Actor
    sender: str  # the worker id of the process that sent it


def encode(note: StopNote) -> str:
    actor = note.actor
    fields = [actor.platform, actor.user_id, actor.display_name, actor.workspace, actor.is_admin]
    return json.dumps({"c": note.conversation_id, "a": fields, "s": note.sender}, separators=(",", ":"))


def decode(payload: str | bytes) -> StopNote | None:
    try:
        data = json.loads(payload)
        platform, user_id, name, workspace, is_admin = data["a"]
        actor = Actor(str(platform), str(user_id), str(name), str(workspace), bool(is_admin))
        return StopNote(int(data["c"]), actor, str(data.get("s") or ""))
    except (ValueError, KeyError, TypeError):
        log.warning("a stop note could not be read")
        return None


OnStop = Callable[[StopNote], None]


class StopBus:
    """No other process to reach (SQLite): nothing is sent, nothing heard."""

    reaches_others = False

    async def start(self, on_stop: OnStop) -> None:
        return None

    async def publish(self, note: StopNote) -> None:
        return None

    async def close(self) -> None:
        return None


class StoreStopBus(StopBus):
    """Through the database every process shares (PostgreSQL: LISTEN/NOTIFY on a channel of the schema)."""

    reaches_others = True

    def __init__(self, store: Store):
        self.store = store
        self._stop_listening: Callable[[], Awaitable[None]] | None = None

    async def start(self, on_stop: OnStop) -> None:
        def heard(payload: str) -> None:
            if (note := decode(payload)) is not None:
                on_stop(note)

        self._stop_listening = await self.store.listen(STOP_CHANNEL, heard)

    async def publish(self, note: StopNote) -> None:
        await self.store.notify(STOP_CHANNEL, encode(note))

    async def close(self) -> None:
        stop, self._stop_listening = self._stop_listening, None
        if stop is not None:
            await stop()


class RedisStopBus(StopBus):
    """Through Redis pub/sub (`REDIS_URL`), on a channel of the bot's namespace."""

    reaches_others = True
    RETRY_SECONDS = 1.0

    def __init__(self, url: str, namespace: str = "hfchat"):
        import redis.asyncio as redis  # only with REDIS_URL

        self.redis = redis.from_url(url, socket_connect_timeout=2.0)
        self.channel = f"{namespace}:stop"
        self._task: asyncio.Task | None = None

    async def start(self, on_stop: OnStop) -> None:
        pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        await pubsub.subscribe(self.channel)  # subscribed before start returns: no Stop sent after it is missed
        self._task = asyncio.create_task(self._listen(pubsub, on_stop), name="redis-stop-bus")

    async def _listen(self, pubsub, on_stop: OnStop) -> None:
        failing = False
        while True:
            try:
                message = await pubsub.get_message(timeout=1.0)
                failing = False
                if message and message.get("type") == "message" and (note := decode(message["data"])) is not None:
                    on_stop(note)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: listen again once it is back
                if not failing:
                    log.warning("stop bus: Redis unreachable (%s); listening again when it is back", type(exc).__name__)
                failing = True
                await asyncio.sleep(self.RETRY_SECONDS)
                with contextlib.suppress(Exception):
                    await pubsub.subscribe(self.channel)

    async def publish(self, note: StopNote) -> None:
        await self.redis.publish(self.channel, encode(note))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.redis.aclose()
