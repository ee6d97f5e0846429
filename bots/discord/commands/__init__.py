"""The registry's commands as Discord app commands, one module per family: answers (/chat, /compare), models
(/model, /models), conversations (/new, /conversations, /delete, /export), "Delete from here", settings (/settings,
/mentions, /limits, /about), assistants and usage, /ask, and the message commands (Ask HuggingChat, Summarize
thread, Explain code, Translate), /account (a Hugging Face account, its token in a modal).

The families are modules, not `app_commands.Group`s: a Group is a parent command on Discord (`/conversation
delete`), which would rename every command people type and the registry defines. `/memory` is the one Group: its
subcommands are the registry's (`Command.subcommands`). Errors go through the tree's
`on_error` (bots.discord.tree), so no command wraps its own."""

from __future__ import annotations

from discord import app_commands

from bots.discord.commands import (
    account,
    ask,
    assistants,
    catchup,
    chat,
    conversations,
    delete_from,
    memory,
    messages,
    models,
    schedule,
    settings,
    usage,
)

FAMILIES = (
    chat,
    models,
    conversations,
    delete_from,
    settings,
    assistants,
    usage,
    ask,
    messages,
    catchup,
    schedule,
    account,
    memory,
)


def register_commands(tree: app_commands.CommandTree) -> None:
    for family in FAMILIES:
        family.register(tree)
