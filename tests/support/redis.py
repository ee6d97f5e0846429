"""The Redis server on 127.0.0.1:6379 for the shared-budget tests (skipped with a reason when it is not there,
failed instead when HFCHAT_REQUIRE_REDIS=1), a fresh key namespace per test, and a TCP proxy in front of it that a
test can cut and restore (Redis going away mid-run, and coming back)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import uuid
from collections.abc import AsyncIterator

import pytest

REDIS_URL = "redis://127.0.0.1:6379/0"


async def require_redis() -> None:
    import redis.asyncio as redis

    client = redis.from_url(REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        await client.ping()
    except (redis.RedisError, OSError) as exc:
        message = f"Redis not reachable on 127.0.0.1:6379: {type(exc).__name__}: {exc}"
        if os.environ.get("HFCHAT_REQUIRE_REDIS") == "1":
            pytest.fail(message)
        pytest.skip(message)
    finally:
        await client.aclose()


@contextlib.asynccontextmanager
async def fresh_namespace() -> AsyncIterator[str]:
    """A key prefix no other test uses; its keys are deleted afterwards."""
    import redis.asyncio as redis

    await require_redis()
    namespace = f"hfchat-test-{uuid.uuid4().hex[:12]}"
    try:
        yield namespace
    finally:
        client = redis.from_url(REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(f"{namespace}:*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()


class RedisProxy:
    """127.0.0.1:<port> forwarding to Redis; `cut()` closes every connection and refuses new ones until
    `restore()`."""

    def __init__(self, target: tuple[str, int] = ("127.0.0.1", 6379)):
        self.target = target
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pipes: set[asyncio.Task] = set()
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    async def __aenter__(self) -> RedisProxy:
        await self.restore()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cut()

    async def restore(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        for writer in list(self._writers):
            writer.close()
        for task in list(self._pipes):
            task.cancel()
        await asyncio.gather(*self._pipes, return_exceptions=True)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.create_task(self._pipe(source, sink))
            self._pipes.add(task)
            task.add_done_callback(self._pipes.discard)

    async def _pipe(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        try:
            while data := await source.read(65536):
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.CancelledError):
            pass
        finally:
            sink.close()
            self._writers.discard(sink)
