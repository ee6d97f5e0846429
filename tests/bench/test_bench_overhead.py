"""bench/overhead.py runs: a few samples per path on SQLite, through the real adapters and the loopback fakes.
No timing is asserted, only that every sample was answered and its timestamps are in order."""

from __future__ import annotations

from bench.overhead import PATHS, markdown, run


async def test_overhead_bench_runs_every_path_on_sqlite():
    rows = await run(samples=3, warmup=1, backends=("sqlite",), sizes=(10, 300))
    assert [(r["path"], r["messages"]) for r in rows] == [(p, n) for p in PATHS for n in (10, 300)]
    for row in rows:
        assert row["errors"] == 0, row.get("note")
        assert row["samples"] == 3
        # per sample client <= core <= total (the adapter hands over before the core calls the router)
        assert 0 < row["client_p50_ms"] <= row["core_p50_ms"] <= row["total_p50_ms"] <= row["max_ms"]
        assert row["total_p99_ms"] <= row["max_ms"]
    table = markdown(rows)
    assert table.count("| sqlite |") == len(rows)


def test_unreachable_postgres_rows_say_why():
    table = markdown([{"path": "discord", "backend": "postgres", "messages": 10, "skipped": "PostgreSQL unreachable"}])
    assert "skipped: PostgreSQL unreachable" in table
