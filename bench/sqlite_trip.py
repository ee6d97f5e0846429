"""The cost of one trip to aiosqlite's worker thread, the unit the SQLite path's overhead is made of (issue 18).

    EVENT_LOOP=auto python -m bench.sqlite_trip          # uvloop (hfchat's default)
    EVENT_LOOP=asyncio python -m bench.sqlite_trip 5000  # asyncio's own loop, 5,000 trips per case

Three cases, each N times: an indexed one-row SELECT by `execute_fetchall` back to back, the same 1 ms apart (as on
the event path, where the loop goes idle between trips), and a bare thread hop (a future handed to a thread through
a SimpleQueue and resolved with `call_soon_threadsafe`, which is how aiosqlite answers) 1 ms apart. Prints p50,
p99 and max in µs. A trip is two cross-thread wake-ups; the event -> request path of one message makes about a
dozen (bench/steps.py counts them).
"""

from __future__ import annotations

import asyncio
import math
import os
import queue
import statistics
import sys
import tempfile
import threading
import time

import aiosqlite

from core.ops import eventloop


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


async def _trips(n: int) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        db = await aiosqlite.connect(f"{tmp}/trip.db", isolation_level=None)
        try:
            await db.execute("PRAGMA journal_mode=WAL")
            await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
            await db.execute("INSERT INTO t VALUES (1, 'x')")
            for label, gap in (("aiosqlite trip, back to back", 0.0), ("aiosqlite trip, 1 ms apart", 0.001)):
                times = []
                for _ in range(n):
                    if gap:
                        await asyncio.sleep(gap)
                    start = time.perf_counter()
                    await db.execute_fetchall("SELECT v FROM t WHERE id=1")
                    times.append((time.perf_counter() - start) * 1e6)
                out[label] = times
        finally:
            await db.close()
    loop = asyncio.get_running_loop()
    inbox: queue.SimpleQueue = queue.SimpleQueue()

    def worker() -> None:
        while (future := inbox.get()) is not None:
            loop.call_soon_threadsafe(future.set_result, None)

    thread = threading.Thread(target=worker)
    thread.start()
    times = []
    try:
        for _ in range(n):
            await asyncio.sleep(0.001)
            future = loop.create_future()
            start = time.perf_counter()
            inbox.put(future)
            await future
            times.append((time.perf_counter() - start) * 1e6)
    finally:
        inbox.put(None)
        thread.join()
    out["bare thread hop, 1 ms apart"] = times
    return out


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    choice = os.environ.get("EVENT_LOOP", "auto")
    for label, values in eventloop.run(_trips(n), choice).items():
        print(
            f"{choice:8s} {label:30s} p50 {statistics.median(values):6.0f} µs  p99 {_percentile(values, 99):6.0f} µs"
            f"  max {max(values):6.0f} µs  (n={len(values)})"
        )


if __name__ == "__main__":
    main()
