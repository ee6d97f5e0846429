"""discord.py glue: point a real discord.Client at the fake and run it until it is ready."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from tests.fakes.discord.server import FakeDiscord

# --------------------------------------------------------------------------- discord.py glue


@contextlib.contextmanager
def patched_discord(fake: FakeDiscord) -> Iterator[None]:
    """Point discord.py at the fake: REST base (read when each Route is built) and gateway URL.

    Non-sharded clients never call GET /gateway/bot: they connect straight to DEFAULT_GATEWAY,
    appending ?v=10&encoding=json&compress=zlib-stream, and RESUME against READY's resume_gateway_url.
    """
    import discord.gateway
    import discord.http
    import yarl

    old_base, old_gateway = discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = fake.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


@contextlib.asynccontextmanager
async def running_client(fake: FakeDiscord, client: Any, *, ready_within: float = 5.0) -> AsyncIterator[Any]:
    """Start `client` against the fake (patched), wait for on_ready, and close it afterwards.

    Build the client with a small guild_ready_timeout (e.g. 0.05): discord.py waits that long
    after the last GUILD_CREATE before on_ready (default 2 s).
    """
    with patched_discord(fake):
        task = asyncio.create_task(client.start(fake.token))
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + ready_within
            while not client.is_ready():
                if task.done():
                    task.result()  # re-raise why the client stopped (e.g. PrivilegedIntentsRequired)
                    raise RuntimeError("client stopped before becoming ready")
                if loop.time() > deadline:
                    raise TimeoutError("client did not become ready")
                await asyncio.sleep(0.01)
            yield client
        finally:
            await client.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(task, 5.0)
