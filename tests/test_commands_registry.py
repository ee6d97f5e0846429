"""Every command is defined once (core/commands/registry.py) and each front end renders exactly that: Discord's
app commands and their options, Slack's slash commands in the manifest, the terminal's /help. `/about` is the
proof that adding a command is one entry plus what each platform draws: it works in all three."""

from __future__ import annotations

import io
from pathlib import Path

import yaml
from rich.console import Console

from bots.console.app import ConsoleApp, help_text
from bots.discord.app import build_bot
from core.commands.registry import COMMANDS, CONSOLE, DISCORD, SLACK, SUMMARY_CHARS, commands_on

ROOT = Path(__file__).resolve().parent.parent


def test_summaries_fit_every_platform():
    for command in COMMANDS:
        assert 0 < len(command.summary) <= SUMMARY_CHARS, command.name
        assert all(0 < len(a.help) <= SUMMARY_CHARS for a in command.arguments), command.name


async def test_discord_app_commands_are_the_registry(core):
    bot = build_bot(core, print_invite=False)
    tree = {c.name: c for c in bot.tree.get_commands() if hasattr(c, "parameters")}  # not the context menus
    assert set(tree) == {c.name_on(DISCORD) for c in commands_on(DISCORD)}
    for command in commands_on(DISCORD):
        rendered = tree[command.name_on(DISCORD)]
        assert rendered.description == command.summary, command.name
        described = {p.display_name: p.description for p in rendered.parameters}
        assert described == command.described(), command.name


def test_slack_manifest_commands_are_the_registry():
    manifest = yaml.safe_load((ROOT / "config" / "slack-manifest.yaml").read_text())
    listed = {c["command"]: c for c in manifest["features"]["slash_commands"]}
    expected = {f"/{c.name_on(SLACK)}": c for c in commands_on(SLACK) if " " not in c.name_on(SLACK)}
    assert set(listed) == set(expected)
    for name, command in expected.items():
        assert listed[name]["description"] == command.summary, name
        assert listed[name].get("usage_hint", "") == command.usage, name


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
