"""Builds the core from settings: store, router (remote or local), model catalog, chat service."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from aiohttp import web

from core.chat import ChatService
from core.config import Settings
from core.models.catalog import ModelCatalog
from core.models.local import (
    LOCAL_MAX_TOKENS,
    LOCAL_MODEL_NAME,
    LOCAL_SYSTEM_PROMPT,
    LocalModelServer,
    describe_exit,
    start_local_model,
)
from core.ops import http, metrics
from core.records import Scope, StoredMessage
from core.router.client import RouterClient
from core.startup import open_configured_store
from core.store import Store

if TYPE_CHECKING:
    from core.streaming.shared_budget import RedisBudgets

log = logging.getLogger(__name__)


@dataclass
class Core:
    settings: Settings
    store: Store
    router: RouterClient
    catalog: ModelCatalog
    chat: ChatService
    local: LocalModelServer | None = None
    _tasks: list[asyncio.Task] = field(default_factory=list)
    worker_id: str = ""
    # replies found cut short by a dead process at start-up, for adapters to mark on their platform
    interrupted: list[StoredMessage] = field(default_factory=list)
    _interrupt_handlers: list[Callable[[list[StoredMessage]], Awaitable[None]]] = field(default_factory=list)
    _local_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _local_restarted: str | None = None  # said to the person whose message comes next, whoever restarted it
    budgets: RedisBudgets | None = None  # the rate budgets shared with the bot's other processes (REDIS_URL)

    async def ensure_local_model(self) -> str | None:
        """Start the local model server again if it died. Returns a notice for the person whose message
        comes next (None when nothing happened since the last call, even if the heartbeat restarted it
        meanwhile); raises LocalModelUnavailable when it will not start."""
        await self.revive_local_model()
        notice, self._local_restarted = self._local_restarted, None
        return notice

    async def revive_local_model(self) -> None:
        """The restart itself, keeping its notice for the next message (the heartbeat calls this)."""
        async with self._local_lock:
            local = self.local
            if local is None or await local.responsive():
                return
            hung = local.alive  # running, yet refusing connections
            log.warning("the local model server stopped; starting it again")
            self.local = await local.restart()
            why = "it stopped taking requests" if hung else describe_exit(local.process.returncode)
            if self.local.url != local.url:
                self.router.base_url = self.local.url
                self.router.client.base_url = self.local.url
            self._local_restarted = f"The local model server had stopped ({why}); it was started again."

    def on_interrupted(self, handler: Callable[[list[StoredMessage]], Awaitable[None]]) -> None:
        """`handler(replies)` gets the replies a dead process left unfinished: those found at start-up at
        once, and later those the heartbeat sweep finds. Each adapter keeps the ones of its platform."""
        self._interrupt_handlers.append(handler)
        if self.interrupted:
            self._tasks.append(asyncio.create_task(_quietly(handler(list(self.interrupted)), "interrupted replies")))

    async def _announce_interrupted(self, replies: list[StoredMessage]) -> None:
        for handler in list(self._interrupt_handlers):
            await _quietly(handler(replies), "interrupted replies")

    async def close(self, grace: float | None = None) -> None:
        """Let answers in flight finish (`grace` seconds, default SHUTDOWN_GRACE_SECONDS), stop the rest,
        then mark whatever is still unfinished INTERRUPTED before letting go of the database."""
        self.chat.scheduled_runs.stopped = True  # no run is begun while shutting down
        await self.chat.replies.shutdown(self.settings.shutdown_grace_seconds if grace is None else grace)
        await self.chat.scheduled_runs.close()
        await self.chat.tools.close()  # MCP server processes and sessions
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.chat.replies.bus.close()
        await self.chat.throttles.close()  # the answer lengths learned, for the next process (core.streaming.lengths)
        if self.worker_id:
            with contextlib.suppress(Exception):
                left = await self.store.retire_worker(self.worker_id)
                if left:
                    log.info("marked %d unfinished answers interrupted at shutdown", left)
        if self.budgets is not None:
            await self.budgets.close()
        await self.catalog.stop()
        await self.router.close()
        await self.store.close()
        if self.local is not None:
            await self.local.stop()


async def build_core(settings: Settings) -> Core:
    # the database first: a wrong DATABASE_URL is told in a second, not after the local model has loaded
    store = await open_configured_store(settings)
    local = None
    base_url, token = settings.hf_router_url, settings.hf_token.get_secret_value() if settings.hf_token else None
    if settings.use_local_model:
        try:
            local = await start_local_model(
                settings.local_model_path,
                settings.local_context,
                log_path=settings.data_path / "logs" / "llama-server.log",
            )
        except BaseException:
            await store.close()
            raise
        base_url, token = local.url, None
        # the local server serves exactly one model: make it the default
        # one model and no router: nothing to fail over to (a fallback would be sent to this same server)
        update: dict = {"default_model": local.model, "fallback_models": "none"}
        if local.model == LOCAL_MODEL_NAME:  # defaults a 135M model copes with, unless set on purpose
            if "max_tokens" not in settings.model_fields_set:
                update["max_tokens"] = LOCAL_MAX_TOKENS
            if "system_prompt" not in settings.model_fields_set:
                update["system_prompt"] = LOCAL_SYSTEM_PROMPT
            if "auto_titles" not in settings.model_fields_set:  # its titles were junk ("I'm glad I could help! If")
                update["auto_titles"] = False  # the first line of the first prompt names the conversation instead
        settings = settings.model_copy(update=update)
        log.info("local mode: %s served on %s", local.model, local.url)
    worker_id = settings.worker_id or f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    await store.register_worker(worker_id, socket.gethostname(), os.getpid())
    # SQLite serves one process: whoever wrote there before is gone. PostgreSQL may have live neighbours.
    alive_since = time.time() - (0 if settings.sqlite_path is not None else settings.worker_stale_seconds)
    interrupted = await store.interrupt_orphans(alive_since, keep=worker_id)
    if interrupted:
        log.info("marked %d answers interrupted: the process writing them had died", len(interrupted))
        metrics.INTERRUPTED.inc(len(interrupted))
    router = RouterClient(base_url, token, request_timeout=settings.request_timeout, idle_timeout=settings.idle_timeout)
    catalog = ModelCatalog(router, settings.model_overrides_file, settings.models_refresh_seconds)
    if local is not None:
        catalog.overrides.setdefault(local.model, {})["context_length"] = local.context
    await catalog.start()
    core = Core(settings, store, router, catalog, ChatService(settings, store, router, catalog), local)
    core.worker_id, core.chat.pipeline.worker_id, core.interrupted = worker_id, worker_id, interrupted
    if settings.redis_url is not None:  # the platforms' budgets are the bot's, whichever process spends them
        from core.streaming.shared_budget import RedisBudgets

        core.budgets = core.chat.throttles.sharing = RedisBudgets(
            settings.redis_url.get_secret_value(),
            worker_id=worker_id,
            live_workers=store.live_workers,
            namespace=settings.redis_namespace,
        )
    await _start_stop_bus(core, settings, store)
    if local is not None:
        router.revive = core.revive_local_model
    core._tasks.append(asyncio.create_task(_worker_loop(core), name="worker-heartbeat"))
    core._tasks.append(asyncio.create_task(core.chat.scheduled_runs.loop(), name="scheduled-prompts"))
    if settings.retention_days:
        core._tasks.append(
            asyncio.create_task(
                _retention_loop(store, settings.retention_days, settings.retention_check_seconds), name="retention"
            )
        )
    return core


async def _start_stop_bus(core: Core, settings: Settings, store: Store) -> None:
    """A Stop that reaches another process than the one writing the answer is passed on (core.replies.stopbus):
    through Redis when it is configured, else through PostgreSQL; SQLite has one process, and needs none."""
    from core.replies.stopbus import RedisStopBus, StopBus, StoreStopBus

    bus: StopBus
    if settings.redis_url is not None:
        bus = RedisStopBus(settings.redis_url.get_secret_value(), settings.redis_namespace)
    elif store.shared_by_processes:
        bus = StoreStopBus(store)
    else:
        return
    try:
        await bus.start(core.chat.replies.stop_heard)
    except Exception as exc:  # a Stop still stops what this process writes
        log.warning("stop bus unavailable (%s): a Stop reaches only the process it is sent to", type(exc).__name__)
        await bus.close()
        return
    core.chat.replies.bus = bus


# The collector's thresholds once started (Python's are 700, 10, 10). Hundreds of answers in flight make a large live
# heap that each full collection walks whole: at 600 streams, with memory settled, 8-9 full collections cost 1.3-1.5 s
# of CPU and paused the process up to ~275 ms. With these, a young collection comes every 50,000 allocations instead of
# 700 and a full one after 100 middle ones: the collector's CPU (all generations) fell from 3.2-3.7 s to 0.5-0.6 s and
# its longest pause to 86-114 ms (bench/results/capacity-gc-thresholds.md). Cycles are still collected; garbage lives a
# little longer in the young generations, which peak memory did not show (160-165 MiB either way).
GC_THRESHOLDS = (50_000, 20, 100)


def settle_memory() -> None:
    """Once started (modules imported, clients built): put every object alive now out of the garbage
    collector's reach (`gc.freeze`), so a full collection walks only what answers create, and collect less
    often (`GC_THRESHOLDS`). Those objects live as long as the process anyway."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


async def _quietly(call: Awaitable[None], what: str) -> None:
    try:
        await call
    except Exception as exc:
        log.warning("%s: %s", what, type(exc).__name__)


async def _worker_loop(core: Core) -> None:
    """Heartbeats, and the sweep that finishes off the replies of processes that died without restarting."""
    settings = core.settings
    while True:
        await asyncio.sleep(settings.worker_heartbeat_seconds)
        try:
            await core.revive_local_model()  # back before anyone asks; the next message still says so
        except Exception as exc:
            log.warning("the local model server did not start again: %s", type(exc).__name__)
        try:
            await core.store.heartbeat(core.worker_id)
            found = await core.store.interrupt_orphans(time.time() - settings.worker_stale_seconds, keep=core.worker_id)
        except Exception as exc:
            log.warning("worker heartbeat failed: %s", type(exc).__name__)
            continue
        if found:
            log.info("marked %d answers interrupted: the process writing them had died", len(found))
            metrics.INTERRUPTED.inc(len(found))
            await core._announce_interrupted(found)


async def purge_expired(store: Store, days: float, now: float | None = None) -> int:
    """Erase the conversations idle for more than `days` (RETENTION_DAYS); returns how many went."""
    purged = await store.purge_idle((time.time() if now is None else now) - days * 86400)
    if purged:
        log.info("retention: purged %d idle conversations", purged)
    return purged


async def _retention_loop(store: Store, days: float, every: float = 3600.0) -> None:
    while True:
        try:
            await purge_expired(store, days)
        except Exception as exc:
            log.warning("retention purge failed: %s", type(exc).__name__)
        await asyncio.sleep(every)


async def serve_metrics(core: Core, host: str, port: int) -> web.AppRunner:
    """/healthz and /metrics for this core: healthy while the database answers (every answer needs it)."""

    async def health() -> dict:
        await core.store.get_setting("health", "", Scope.BOT, "", "ping")
        return {"worker": core.worker_id}

    return await http.serve(health, host, port)
