"""Every command is defined once (core/commands/registry.py) and each front end renders exactly that: Discord's
app commands and their options (tests/discord/test_commands_registry.py), Slack's slash commands in the manifest
(tests/slack/test_manifest.py), the terminal's /help (here). `/about` is the proof that adding a command is one
entry plus what each platform draws: it works in all three."""

from __future__ import annotations

import io

from rich.console import Console

from bots.console.app import ConsoleApp
from bots.console.commands import help_text
from core.commands.registry import COMMANDS, CONSOLE, SUMMARY_CHARS, commands_on


def test_summaries_fit_every_platform():
    for command in COMMANDS:
        assert 0 < len(command.summary) <= SUMMARY_CHARS, command.name
        assert all(0 < len(a.help) <= SUMMARY_CHARS for a in command.arguments), command.name


def test_the_terminal_help_lists_every_terminal_command():
    text = help_text()
    for command in commands_on(CONSOLE):
        assert f"/{command.name_on(CONSOLE)}" in text and command.summary in text


def _says_about(text: str, model: str) -> bool:
    return "HuggingChat bot" in text and f"`{model}`" in text and "/delete all" in text and "training" in text


async def test_about_in_the_terminal(core, fake_router):
    out = io.StringIO()
    app = ConsoleApp(core, Console(file=out, width=200, color_system=None), user="carol")
    await app.start()
    await app.handle_line("/about")
    assert "HuggingChat bot" in out.getvalue() and "meta-llama/Llama-3.3-70B-Instruct" in out.getvalue()
