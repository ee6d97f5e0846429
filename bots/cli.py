"""`hfchat`: run the configured front ends, the terminal chat, or maintenance commands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from core.config import ConfigError, load_settings
from core.logs import cap_payload_loggers


def _logging(level: str) -> None:
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    cap_payload_loggers()


async def _console(settings) -> None:
    from bots.console.app import ConsoleApp
    from core.app import build_core

    core = await build_core(settings)
    try:
        await ConsoleApp(core).run()
    finally:
        await core.close()


async def _run(settings) -> None:
    from core.app import build_core

    frontends = []
    if settings.discord_token:
        frontends.append("discord")
    if settings.slack_bot_token:
        frontends.append("slack")
    if not frontends:
        print(
            "No chat platform configured (DISCORD_TOKEN or SLACK_BOT_TOKEN); starting the terminal chat.",
            file=sys.stderr,
        )
        await _console(settings)
        return
    core = await build_core(settings)
    try:
        tasks = []
        if "discord" in frontends:
            from bots.discord.app import run_discord

            tasks.append(asyncio.create_task(run_discord(core)))
        if "slack" in frontends:
            from bots.slack.app import run_slack

            tasks.append(asyncio.create_task(run_slack(core)))
        await asyncio.gather(*tasks)
    finally:
        await core.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="hfchat", description="HuggingChat in Discord, Slack and the terminal")
    parser.add_argument("--local", action="store_true", help="serve a model on this machine (llama.cpp)")
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("run", help="start every configured front end (Discord, Slack), else the terminal chat")
    sub.add_parser("console", help="chat in the terminal")
    sub.add_parser("migrate", help="apply database migrations and exit")
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
                store = await open_store(settings.database_url)
                await store.close()

            asyncio.run(migrate())
            print("database is up to date")
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
