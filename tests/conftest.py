from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.app import Core, build_core
from core.config import Settings
from tests.fakes.fake_router import FakeRouter

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
async def fake_router():
    async with FakeRouter() as router:
        yield router


def make_settings(tmp_path: Path, router_url: str, **overrides) -> Settings:
    values = dict(
        hf_token="hf_test_token",
        hf_router_url=router_url,
        default_model="meta-llama/Llama-3.3-70B-Instruct",
        database_url=f"sqlite:///{tmp_path}/test.db",
        local_mode="off",
        model_overrides_file=None,
        request_timeout=5,
        idle_timeout=5,
        auto_titles=False,  # a title request would take a scripted answer meant for the next message
        _env_file=None,
    )
    values.update(overrides)
    return Settings(**values)


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
