"""Settings for a core under test: the fake router, SQLite in a temp folder, nothing from the environment."""

from __future__ import annotations

from pathlib import Path

from core.config import Settings


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
