"""`hfchat`: run the configured front ends, the terminal chat, or maintenance commands."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

from core.commands.about import version
from core.config import ConfigError, Settings, load_settings
from core.logs import configure_logging
from core.ops import eventloop
from core.startup import StartupFailure

DESCRIPTIONS = {
    "run": "Start every configured front end: Discord with DISCORD_TOKEN, Slack with SLACK_BOT_TOKEN (or "
    "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET). With neither, the terminal chat.",
    "console": "Chat in the terminal. With no HF_TOKEN (or with --local) the model runs on this machine. "
    "Logs go to DATA_DIR/logs/hfchat.log, not onto the screen. Type /help in the chat for its commands.",
    "migrate": "Apply the database migrations of DATABASE_URL and exit.",
    "copy-db": "Copy a SQLite database into PostgreSQL (ids and relations kept, sequences reset) and exit.",
}


def frontends(settings: Settings) -> list[str]:
    found = []
    if settings.discord_token:
        found.append("discord")
    if settings.slack_bot_token or (settings.slack_client_id and settings.slack_client_secret):
        found.append("slack")  # a bot token, or OAuth installs into many workspaces
    return found


async def _console(settings: Settings) -> None:
    from bots.console.app import ConsoleApp
    from core.app import build_core

    core = await build_core(settings)
    logging.getLogger("hfchat").info("event loop: %s", eventloop.describe())
    try:
        await ConsoleApp(core).run()
    finally:
        await core.close()


async def _run(settings: Settings) -> None:
    from core.app import build_core, settle_memory

    chosen = frontends(settings)
    if not chosen:
        print(
            "No chat platform configured (DISCORD_TOKEN, SLACK_BOT_TOKEN, SLACK_CLIENT_ID): the terminal chat.",
            file=sys.stderr,
        )
        await _console(settings)
        return
    if "slack" in chosen:
        from bots.slack.startup import check_slack

        await check_slack(settings)
    core = await build_core(settings)
    logging.getLogger("hfchat").info("event loop: %s", eventloop.describe())
    # SIGTERM (and Ctrl-C) stop taking new work, let answers in flight finish within
    # SHUTDOWN_GRACE_SECONDS, stop the rest with their text kept, give up at its end on any still sending
    # (stored interrupted), and exit 0
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
        tasks = {}
        if "discord" in chosen:
            from bots.discord.app import run_discord

            tasks[asyncio.create_task(run_discord(core))] = "discord"
        if "slack" in chosen:
            from bots.slack.app import run_slack

            tasks[asyncio.create_task(run_slack(core))] = "slack"
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
                from bots.startup import describe_frontend_failure

                line = describe_frontend_failure(tasks[task], task.exception(), settings)
                if line is not None:
                    raise StartupFailure(line) from task.exception()
                raise task.exception()
    finally:
        await core.close()
        if metrics is not None:
            await metrics.cleanup()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hfchat",
        description="HuggingChat in Discord, Slack and the terminal. Settings come from the environment and .env "
        "(config/example.env lists them).",
    )
    parser.add_argument("--version", action="version", version=f"hfchat {version()}")
    parser.add_argument("--local", action="store_true", help="serve the model on this machine (llama.cpp)")
    # `hfchat console --local` as well as `hfchat --local console`: SUPPRESS keeps the subcommand's
    # absent flag from overwriting the one given before it
    local = argparse.ArgumentParser(add_help=False)
    local.add_argument("--local", action="store_true", default=argparse.SUPPRESS, help="serve the model here")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, short in (
        ("run", "start every configured front end (Discord, Slack), else the terminal chat"),
        ("console", "chat in the terminal"),
        ("migrate", "apply database migrations and exit"),
    ):
        sub.add_parser(name, help=short, description=DESCRIPTIONS[name], parents=[local])
    copy_db = sub.add_parser(
        "copy-db", help="copy a SQLite database into PostgreSQL and exit", description=DESCRIPTIONS["copy-db"]
    )
    copy_db.add_argument("--from", dest="source", required=True, help="sqlite:///path/to/hfchat.db")
    copy_db.add_argument("--to", dest="target", required=True, help="postgresql://user@host/db")
    copy_db.add_argument("--schema", default=None, help="PostgreSQL schema (default: DATABASE_SCHEMA)")
    copy_db.add_argument("--force", action="store_true", help="empty a target that already holds data")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(**({"local_mode": "on"} if args.local else {}))
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    command = args.command or "run"
    in_terminal = command == "console" or (command == "run" and not frontends(settings))
    if in_terminal:
        # the screen belongs to the conversation: records go to a file (message text never goes anywhere)
        configure_logging(settings.log_level, settings.data_path / "logs" / "hfchat.log")
    else:
        configure_logging(settings.log_level)
    try:
        if command == "console":
            eventloop.run(_console(settings), settings.event_loop)
        elif command == "migrate":
            from core.maintenance import migrate

            eventloop.run(migrate(settings), settings.event_loop)
            print("database is up to date")
        elif command == "copy-db":
            from core.maintenance import CopyRefused, copy_database

            schema = args.schema or settings.database_schema
            try:
                lines = eventloop.run(
                    copy_database(args.source, args.target, schema=schema, force=args.force), settings.event_loop
                )
            except CopyRefused as exc:
                print(f"hfchat copy-db: {exc}", file=sys.stderr)
                return 1
            print("\n".join(lines))
        else:
            eventloop.run(_run(settings), settings.event_loop)
    except KeyboardInterrupt:
        pass
    except (ConfigError, RuntimeError) as exc:
        print(f"hfchat: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
