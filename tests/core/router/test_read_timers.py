"""A streamed completion is read with no timer re-armed per chunk (aiohttp's socket read timeout costs ~2 µs a
chunk, and a process reads 20,000 a second at 1,000 streams); the wait for the response's headers is still
bounded, on every try, and so is the gap between chunks (test_router.py)."""

from __future__ import annotations

import asyncio
import time

import aiohttp.client_proto
import pytest

from core.errors import RouterError
from core.router.client import ChatRequest, RouterClient, TextDelta
from tests.fakes.fake_router import text_script


def _request() -> ChatRequest:
    return ChatRequest(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=64)


async def test_reading_a_stream_arms_no_read_timer_per_chunk(fake_router, monkeypatch):
    client = RouterClient(fake_router.url, "hf_x", request_timeout=5, idle_timeout=1.0, max_retries=0)
    loop = asyncio.get_running_loop()
    armed: list[str] = []
    call_later = loop.call_later

    def counting(delay, callback, *args, **kwargs):
        if isinstance(getattr(callback, "__self__", None), aiohttp.client_proto.ResponseHandler):
            armed.append(callback.__name__)  # the client connection's own timers: aiohttp's read timeout
        return call_later(delay, callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_later", counting)
    fake_router.queue(text_script("".join(f"w{i} " for i in range(40)), pieces=40, delay=0.01))
    try:
        events = [event async for event in client.stream_chat(_request())]
    finally:
        await client.close()
    assert "".join(e.text for e in events if isinstance(e, TextDelta)).count("w") == 40
    assert armed == []  # before: one per chunk read (40 or so)


@pytest.fixture
async def silent_router():
    """A server that takes requests and never answers them: how many it took."""
    taken: list[int] = []
    writers: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        await reader.readuntil(b"\r\n\r\n")
        taken.append(1)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}/v1", taken
    for writer in writers:
        writer.close()
    server.close()
    await server.wait_closed()


async def test_a_router_that_never_answers_times_out_on_each_try(silent_router):
    url, taken = silent_router
    client = RouterClient(url, "hf_x", request_timeout=0.4, idle_timeout=0.4, max_retries=2)
    started = time.monotonic()
    with pytest.raises(RouterError) as error:
        async for _ in client.stream_chat(_request()):
            pass
    took = time.monotonic() - started
    await client.close()
    assert error.value.kind == "timeout" and error.value.before_first_token
    assert len(taken) == 3  # tried again after each try timed out, max_retries times
    assert 1.2 <= took < 8, took  # each try waited its 0.4 s (plus a backoff between them)
