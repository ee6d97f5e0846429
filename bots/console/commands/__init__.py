"""The terminal's commands: each registry command for the terminal (core/commands/registry.py) has its handler
here, by the name the terminal gives it, and /help is drawn from the registry. Adding a command is its registry
entry plus a handler in the module of its family: conversations, settings, models, assistants, usage."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from rich.markdown import Markdown

from bots.console.commands import account, assistants, conversations, memory, models, settings, usage
from core.commands.registry import CONSOLE, commands_on

if TYPE_CHECKING:
    from bots.console.app import ConsoleApp

Handler = Callable[["ConsoleApp", str], Awaitable[None]]

QUIT_WORDS = ("quit", "exit", "q")
KEYS_HELP = (
    "Enter sends; Alt-Enter or Ctrl-J starts a new line; a paste is one message. Up and Down: earlier input.\n"
    "Esc or Ctrl-C while an answer streams stops it (what it wrote is kept); Ctrl-C at the prompt leaves."
)


def help_text() -> str:
    """Every terminal command, from core/commands/registry.py, with how its arguments are typed."""
    rows = []
    for command in commands_on(CONSOLE):
        usage_line = f"/{command.name_on(CONSOLE)} {command.usage}".strip()
        rows.append(
            f"  {usage_line:<34} {command.summary}"
            if len(usage_line) <= 34
            else f"  {usage_line}\n  {'':<34} {command.summary}"
        )
    return "Type a message to chat. Commands:\n" + "\n".join(rows) + "\n" + KEYS_HELP + "\n"


async def show_help(app: ConsoleApp, arg: str) -> None:
    app.say(help_text())


async def about(app: ConsoleApp, arg: str) -> None:
    app.console.print(Markdown(await app.chat.about(app.key, app.actor.user_id)))


HANDLERS: dict[str, Handler] = {
    "help": show_help,
    "about": about,
    **conversations.HANDLERS,
    **settings.HANDLERS,
    **models.HANDLERS,
    **assistants.HANDLERS,
    **usage.HANDLERS,
    **account.HANDLERS,
    **memory.HANDLERS,
}


async def run_command(app: ConsoleApp, line: str) -> bool:
    """Handle `/name arg`; False means quit."""
    name, _, arg = line[1:].partition(" ")
    if name in QUIT_WORDS:
        return False
    handler = HANDLERS.get(name)
    if handler is None:
        app.say(f"Unknown command /{name}. Type /help.", "red")
    else:
        await handler(app, arg.strip())
    return True
