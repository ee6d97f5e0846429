"""The registry's commands (core/commands/registry.py) as Discord app commands: a command's name, description,
option descriptions and who may use it come from its registry entry; a module here adds only what Discord draws
(typed options, choices, autocomplete) and the call into the core.

`anywhere` makes a command part of the user-installable app as well: installed to a person's account, it works in
any server, in the bot's DMs and in group DMs and other people's DMs, where the bot itself is not (Discord:
`integration_types` guild and user, `contexts` guild, bot DM and private channel)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from discord import app_commands

from core.commands.registry import DISCORD, command

MAX_REPLY = 1900  # Discord's limit is 2000 characters


def slash(tree: app_commands.CommandTree, name: str, **python_names: str) -> Callable[[Any], Any]:
    """Register the decorated callback as the registry's command `name`. `python_names` maps an option's registry
    name to the callback's parameter where Python cannot use it (`all` is a builtin)."""
    entry = command(name)

    def decorate(callback: Any) -> Any:
        described = {python_names.get(option, option): help for option, help in entry.described().items()}
        if described:
            callback = app_commands.describe(**described)(callback)
        if python_names:
            callback = app_commands.rename(**{parameter: option for option, parameter in python_names.items()})(
                callback
            )
        if entry.admin_only:  # hidden from members by default; the core checks again on every use
            callback = app_commands.default_permissions(manage_guild=True)(callback)
        return tree.command(name=entry.name_on(DISCORD), description=entry.summary)(callback)

    return decorate


def anywhere(callback: Any) -> Any:
    """Installable to a server and to a person's account, usable in servers, the bot's DMs and private channels."""
    callback = app_commands.allowed_installs(guilds=True, users=True)(callback)
    return app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)(callback)


def on_message(tree: app_commands.CommandTree, name: str, *, everywhere: bool = True) -> Callable[[Any], Any]:
    """Register the decorated callback as the registry's message command `name` (a message's context menu)."""
    entry = command(name)

    def decorate(callback: Any) -> Any:
        if everywhere:
            callback = anywhere(callback)
        return tree.context_menu(name=entry.name_on(DISCORD))(callback)

    return decorate


def clip(text: str, limit: int = MAX_REPLY) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
