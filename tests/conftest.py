from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.app import Core, build_core
from core.logs import cap_payload_loggers
from core.store.base import Store
from tests.fakes.fake_router import FakeRouter
from tests.support.logs import Collect
from tests.support.settings import make_settings
from tests.support.stores import fresh_schema, open_store, pg_url_with_lock_timeout

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _root_logger_as_found():
    """Leave the root logger as the test found it. `hfchat` run in-process (bots.cli.main) replaces its handlers
    with one writing to the sys.stderr of that moment: a capture that is closed once the test ends, so every later
    record would print a logging error into whatever a later test reads from stderr."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in [h for h in root.handlers if h not in handlers and not _pytests(h)]:
        root.removeHandler(handler)
        handler.close()
    for handler in [h for h in handlers if h not in root.handlers and not _pytests(h)]:
        root.addHandler(handler)
    root.setLevel(level)


def _pytests(handler: logging.Handler) -> bool:
    return type(handler).__module__.startswith("_pytest")  # pytest's capture handlers come and go by phase


@pytest.fixture
async def fake_router():
    async with FakeRouter() as router:
        yield router


@pytest.fixture
async def core_factory(tmp_path):
    cores: list[Core] = []

    async def factory(router_url: str, **overrides) -> Core:
        core = await build_core(make_settings(tmp_path, router_url, **overrides))
        cores.append(core)
        return core

    yield factory
    for core in cores:
        await core.close()


@pytest.fixture
async def core(core_factory, fake_router) -> Core:
    return await core_factory(fake_router.url)


@pytest.fixture(scope="session")
def llama_server():
    """The real llama.cpp server with SmolLM2-135M-Instruct, once per test session."""
    try:
        from core.models.local import default_gguf

        default_gguf()
        import xllamacpp  # noqa: F401
    except Exception as exc:  # pragma: no cover - depends on the machine
        if os.environ.get("CI"):
            raise
        pytest.skip(f"local model not installed: {exc}")
    process = subprocess.Popen(
        [sys.executable, "-m", "core.models.local", "--ctx", "2048", "--parallel", "2"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    info = json.loads(process.stdout.readline())
    yield info
    process.stdin.close()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request, tmp_path) -> AsyncIterator[Store]:
    async with open_store(request.param, tmp_path) as s:
        yield s


@pytest.fixture
async def pg_schema() -> AsyncIterator[str]:
    async with fresh_schema() as schema:
        yield schema


@pytest.fixture
def debug_logs():
    """Every log record at DEBUG, configured as `hfchat --log-level DEBUG` does (bots.cli)."""
    root = logging.getLogger()
    handler, level = Collect(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    cap_payload_loggers(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
async def pg_app_schema() -> AsyncIterator[tuple[str, str]]:
    async with fresh_schema() as schema:
        yield schema, schema  # the schema's unique name doubles as the application_name


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def backend_settings(request) -> AsyncIterator[dict]:
    """Settings overrides for a core on each backend (SQLite: the default temp file)."""
    if request.param == "sqlite":
        yield {}
        return
    async with fresh_schema() as schema:
        yield {"database_url": pg_url_with_lock_timeout(schema), "database_schema": schema}


@pytest.fixture
def no_proxy(monkeypatch):
    """No proxy between the bot and the loopback fakes, whatever the environment says."""
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
