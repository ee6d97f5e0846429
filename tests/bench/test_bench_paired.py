"""bench/paired.py: each side runs with its own environment on top of the caller's, and overhead pairs only the
databases asked for, so one tree can be paired against itself under two settings (EVENT_LOOP=asyncio, a knob)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import paired


def test_overhead_pairs_only_the_databases_asked_for():
    assert paired._backends(["--samples", "150", "--backends", "sqlite", "--paths", "discord"]) == (
        ["sqlite"],
        ["--samples", "150", "--paths", "discord"],
    )
    assert paired._backends(["--samples", "10"]) == (["sqlite", "postgres"], ["--samples", "10"])


def test_environment_pairs_are_parsed_and_a_bad_one_is_refused():
    assert paired._env(["EVENT_LOOP=asyncio", "X=a=b"]) == {"EVENT_LOOP": "asyncio", "X": "a=b"}
    with pytest.raises(SystemExit):
        paired._env(["EVENT_LOOP"])


def test_a_side_runs_with_its_environment(tmp_path: Path, monkeypatch):
    seen = {}

    def fake_run(command, cwd, env, **kwargs):
        seen.update(command=command, cwd=cwd, env=env)
        out = Path(command[command.index("--out") + 1])
        out.with_suffix(".json").write_text('{"rows": [{"n": 1}]}')

    monkeypatch.setattr(paired.subprocess, "run", fake_run)
    monkeypatch.setenv("KEPT", "yes")
    rows = paired.run(tmp_path, "overhead", ["--samples", "3"], {"EVENT_LOOP": "asyncio"})
    assert rows == [{"n": 1}]
    assert seen["cwd"] == tmp_path
    assert seen["command"][:3] == [sys.executable, "-m", "bench.overhead"]
    assert seen["env"]["EVENT_LOOP"] == "asyncio" and seen["env"]["KEPT"] == "yes"
