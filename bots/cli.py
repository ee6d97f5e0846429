"""`hfchat`: run the configured front ends, the terminal chat, or maintenance commands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from core.config import ConfigError, load_settings
from core.logs import cap_payload_loggers


def _logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    cap_payload_loggers(logging.getLogger().level)


async def _console(settings) -> None:
    from bots.console.app import ConsoleApp
    from core.app import build_core

    core = await build_core(settings)
    try:
        await ConsoleApp(core).run()
    finally:
        await core.close()


async def _run(settings) -> None:
    from core.app import build_core, settle_memory

    frontends = []
    if settings.discord_token:
        frontends.append("discord")
    if settings.slack_bot_token or (settings.slack_client_id and settings.slack_client_secret):
        frontends.append("slack")  # a bot token, or OAuth installs into many workspaces
    if not frontends:
        print(
            "No chat platform configured (DISCORD_TOKEN, SLACK_BOT_TOKEN or SLACK_CLIENT_ID); "
            "starting the terminal chat.",
            file=sys.stderr,
        )
        await _console(settings)
        return
    core = await build_core(settings)
    # SIGTERM (and Ctrl-C) stop taking new work, let answers in flight finish within
    # SHUTDOWN_GRACE_SECONDS, stop the rest with their text kept, and exit 0
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stopping.set)
    metrics = None
    try:
        if settings.metrics_port is not None:
            from core.app import serve_metrics

            metrics = await serve_metrics(core, settings.metrics_host, settings.metrics_port)
        tasks = []
        if "discord" in frontends:
            from bots.discord.app import run_discord

            tasks.append(asyncio.create_task(run_discord(core)))
        if "slack" in frontends:
            from bots.slack.app import run_slack

            tasks.append(asyncio.create_task(run_slack(core)))
        settle_memory()
        stop = asyncio.create_task(stopping.wait())
        done, _ = await asyncio.wait([*tasks, stop], return_when=asyncio.FIRST_COMPLETED)
        if stop in done:
            logging.getLogger("hfchat").info("stopping: letting answers in flight finish")
        stop.cancel()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for task in done:
            if task is not stop and not task.cancelled() and task.exception() is not None:
                raise task.exception()
    finally:
        await core.close()
        if metrics is not None:
            await metrics.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hfchat", description="HuggingChat in Discord, Slack and the terminal")
    parser.add_argument("--local", action="store_true", help="serve a model on this machine (llama.cpp)")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start every configured front end (Discord, Slack), else the terminal chat")
    sub.add_parser("console", help="chat in the terminal")
    sub.add_parser("migrate", help="apply database migrations and exit")
    copy_db = sub.add_parser("copy-db", help="copy a SQLite database into PostgreSQL (ids kept) and exit")
    copy_db.add_argument("--from", dest="source", required=True, help="sqlite:///path/to/hfchat.db")
    copy_db.add_argument("--to", dest="target", required=True, help="postgresql://user@host/db")
    copy_db.add_argument("--schema", default=None, help="PostgreSQL schema (default: DATABASE_SCHEMA)")
    copy_db.add_argument("--force", action="store_true", help="empty a target that already holds data")
    args = parser.parse_args(argv)
    try:
        settings = load_settings(**({"local_mode": "on"} if args.local else {}))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    _logging(settings.log_level if args.command != "console" else "WARNING")
    command = args.command or "run"
    try:
        if command == "console":
            asyncio.run(_console(settings))
        elif command == "migrate":
            from core.store import open_store

            async def migrate() -> None:
                store = await open_store(settings.database_url, schema=settings.database_schema)
                await store.close()

            asyncio.run(migrate())
            print("database is up to date")
        elif command == "copy-db":
            from core.store.copy import TargetNotEmpty, copy_sqlite_to_postgres

            schema = args.schema or settings.database_schema
            try:
                report = asyncio.run(copy_sqlite_to_postgres(args.source, args.target, schema=schema, force=args.force))
            except (TargetNotEmpty, ValueError) as exc:
                print(f"hfchat copy-db: {exc}", file=sys.stderr)
                return 1
            print("\n".join(report.lines()))
        else:
            asyncio.run(_run(settings))
    except KeyboardInterrupt:
        pass
    except (ConfigError, RuntimeError) as exc:
        print(f"hfchat: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
