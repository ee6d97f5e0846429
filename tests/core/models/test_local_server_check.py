"""Whether the local llama.cpp server still takes connections (core.models.local.LocalModelServer.responsive): the
terminal chat's heartbeat restarts a server that does not. Found by trying the terminal chat: pasting a 54,000-
character message kept the event loop busy drawing it for longer than the check's first timeout, and a healthy
server was killed and restarted ("The local model server had stopped (it stopped taking requests)")."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
import time

from core.models.local import LocalModelServer


@contextlib.asynccontextmanager
async def server_at(port: int | None):
    """A LocalModelServer over a real, running process, whose URL has a listener (`port` None) or none."""
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", "import time; time.sleep(60)")
    listener = None
    try:
        if port is None:
            listener = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
            port = listener.sockets[0].getsockname()[1]
        yield LocalModelServer(f"http://127.0.0.1:{port}/v1", "m", 4096, process)
    finally:
        process.kill()
        await process.wait()
        if listener is not None:
            listener.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_a_busy_event_loop_does_not_make_a_healthy_server_look_hung():
    async with server_at(None) as server:
        check = asyncio.create_task(server.responsive())
        await asyncio.sleep(0)  # the connection is under way
        time.sleep(0.8)  # noqa: ASYNC251 (on purpose: the loop is busy, as drawing a huge paste, past the first timeout)
        assert await check is True


async def test_a_server_that_refuses_connections_is_not_responsive():
    async with server_at(free_port()) as server:
        assert server.alive
        assert await server.responsive() is False
