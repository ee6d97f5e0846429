"""Every terminal command in the registry (core/commands/registry.py) has its handler, under the name the terminal
gives it, and the terminal handles no command the registry does not define."""

from __future__ import annotations

from bots.console.commands import HANDLERS, QUIT_WORDS
from core.commands.registry import CONSOLE, commands_on


def test_each_registry_command_of_the_terminal_has_a_handler_and_no_other():
    registered = {command.name_on(CONSOLE) for command in commands_on(CONSOLE)}
    handled = set(HANDLERS) | {"quit"}
    assert handled == registered
    assert "quit" in QUIT_WORDS and "quit" not in HANDLERS  # leaving is the REPL's, not a command's
