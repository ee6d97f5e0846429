"""docker-compose.yml: the bot (this repository's image, non-root) on PostgreSQL, with health checks.

Docker cannot run here, so this reads the file and checks what matters; `docker compose config` and a
real `docker compose up` are left to a machine with a Docker engine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

yaml = pytest.importorskip("yaml")

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text("utf-8"))


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def test_services_and_database_url(compose):
    services = compose["services"]
    assert {"bot", "db"} <= set(services)
    bot, db = services["bot"], services["db"]
    assert db["image"].startswith("postgres:")
    db_env = _env(db)
    url = _env(bot)["DATABASE_URL"]
    match = re.fullmatch(r"postgresql://(\w+):([^@]+)@db:5432/(\w+)", url)
    assert match, url
    assert match.group(1) == db_env["POSTGRES_USER"]
    assert match.group(2) == db_env["POSTGRES_PASSWORD"]  # the same ${POSTGRES_PASSWORD:-...} on both sides
    assert match.group(3) == db_env["POSTGRES_DB"]
    assert bot["depends_on"]["db"]["condition"] == "service_healthy"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])


def test_bot_is_this_image_and_not_root(compose):
    bot = compose["services"]["bot"]
    build = bot["build"]
    context = build if isinstance(build, str) else build.get("context", ".")
    assert (ROOT / context / "Dockerfile").is_file()
    dockerfile = (ROOT / "Dockerfile").read_text("utf-8")
    user = re.findall(r"^USER\s+(\S+)", dockerfile, re.MULTILINE)
    assert user and user[-1] not in ("root", "0")
    uid = re.search(r"useradd .*--uid (\d+) (\w+)", dockerfile)
    assert uid and str(bot.get("user", uid.group(1))) in (uid.group(1), uid.group(2))
    assert str(bot.get("user", "")) not in ("root", "0")


def test_postgres_data_lives_in_a_named_volume(compose):
    mounts = compose["services"]["db"]["volumes"]
    sources = {m.split(":", 1)[0]: m.split(":", 1)[1] for m in mounts if isinstance(m, str)}
    assert "/var/lib/postgresql/data" in sources.values()
    volume = next(name for name, target in sources.items() if target == "/var/lib/postgresql/data")
    assert volume in (compose.get("volumes") or {})


def test_bot_healthcheck_asks_healthz_on_the_metrics_port(compose):
    bot = compose["services"]["bot"]
    port = _env(bot)["METRICS_PORT"]
    check = bot["healthcheck"]
    command = " ".join(check["test"]) if isinstance(check["test"], list) else check["test"]
    assert f":{port}/healthz" in command
    assert "curl" not in command and "wget" not in command  # python:3.11-slim has neither
    assert check["test"][0] in ("CMD", "CMD-SHELL")
    # SIGTERM lets answers finish for SHUTDOWN_GRACE_SECONDS: compose must wait longer before SIGKILL
    grace = float(_env(bot).get("SHUTDOWN_GRACE_SECONDS", "10"))
    assert float(str(bot["stop_grace_period"]).removesuffix("s")) > grace
