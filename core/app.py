"""Builds the core from settings: store, router (remote or local), model catalog, chat service."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field

from core.chat import ChatService
from core.config import Settings
from core.local_model import LocalModelServer, start_local_model
from core.models import ModelCatalog
from core.router import RouterClient
from core.store import Store, open_store

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

    async def close(self, grace: float = 10.0) -> None:
        await self.chat.shutdown(grace)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.catalog.stop()
        await self.router.close()
        await self.store.close()
        if self.local is not None:
            await self.local.stop()


async def build_core(settings: Settings) -> Core:
    local = None
    base_url, token = settings.hf_router_url, settings.hf_token.get_secret_value() if settings.hf_token else None
    if settings.use_local_model:
        local = await start_local_model(settings.local_model_path, settings.local_context)
        base_url, token = local.url, None
        # the local server serves exactly one model: make it the default
        settings = settings.model_copy(update={"default_model": local.model})
        log.info("local mode: %s served on %s", local.model, local.url)
    store = await open_store(settings.database_url)
    interrupted = await store.mark_interrupted()
    if interrupted:
        log.info("marked %d answers interrupted by the last shutdown", interrupted)
    router = RouterClient(base_url, token, request_timeout=settings.request_timeout, idle_timeout=settings.idle_timeout)
    catalog = ModelCatalog(router, settings.model_overrides_file, settings.models_refresh_seconds)
    if local is not None:
        catalog.overrides.setdefault(local.model, {})["context_length"] = local.context
    await catalog.start()
    core = Core(settings, store, router, catalog, ChatService(settings, store, router, catalog), local)
    if settings.retention_days:
        core._tasks.append(asyncio.create_task(_retention_loop(store, settings.retention_days)))
    return core


async def _retention_loop(store: Store, days: float) -> None:
    while True:
        with contextlib.suppress(Exception):
            purged = await store.purge_idle(time.time() - days * 86400)
            if purged:
                log.info("retention: purged %d idle conversations", purged)
        await asyncio.sleep(3600)
