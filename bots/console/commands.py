"""Console commands for the model list, exports to a file and forgetting the last messages."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import TYPE_CHECKING

from rich.table import Table

from core.commands.text import parse_export
from core.conversations.export import export_filename, free_path
from core.errors import InvalidSetting, NotFound
from core.models.catalog import format_price, matching_models

if TYPE_CHECKING:
    from bots.console.app import ConsoleApp


COMMANDS = ("models", "export", "forget")


async def handle(app: ConsoleApp, name: str, arg: str) -> None:
    await {"models": show_models, "export": export, "forget": forget}[name](app, arg)


async def show_models(app: ConsoleApp, arg: str) -> None:
    models = matching_models(app.core.catalog, arg)
    if not models:
        app.say(f"No model matches “{arg.strip()}”." if arg.strip() else "The model list is not loaded yet.")
        return
    table = Table("model", "context", "provider", "$/M in", "$/M out", "vision", "tools")
    for info in models:
        context = f"{info.context_length:,}" if info.context_length else "?"
        flags = ("yes" if info.vision else "", "yes" if info.tools else "")
        for number, provider in enumerate(info.providers or [None]):
            priced = provider is not None and provider.input_price is not None and provider.output_price is not None
            table.add_row(
                info.id if number == 0 else "",
                context if number == 0 else "",
                provider.name if provider is not None and provider.name else "-",
                format_price(provider.input_price) if priced else "",
                format_price(provider.output_price) if priced else "",
                *(flags if number == 0 else ("", "")),
            )
    app.console.print(table)


async def export(app: ConsoleApp, arg: str) -> None:
    which, fmt = parse_export(arg)
    words = which.split()
    number = next((word for word in words if word.isdigit()), "")
    target = " ".join(word for word in words if word != number)
    if number:
        conversations = await app.chat.list_conversations(app.actor, 50)
        index = int(number) - 1
        if not 0 <= index < len(conversations):
            raise InvalidSetting("Give a number from /list: /export [md|json] [N].")
        conversation = conversations[index]
    else:
        conversation = await app.chat.conversation_for(app.key)
        if conversation is None:
            raise NotFound("This conversation has nothing stored yet.")
    if fmt == "json":
        content = await app.chat.export_json(conversation.id, app.actor)
    else:
        content = await app.chat.export_markdown(conversation.id, app.actor)
    path = await asyncio.to_thread(_save, target, app.export_dir, export_filename(conversation, fmt), content)
    app.say(f"Saved “{conversation.title or 'untitled'}” to {path}")


def _save(target: str, folder: Path, name: str, content: str) -> Path:
    """Into `target` (a file, or a folder) or else `folder`; in a folder under the readable `name`, never
    over another export."""
    path = Path(target).expanduser() if target else folder
    if not target or path.is_dir() or target.endswith(("/", os.sep)):
        path = free_path(path, name)
    path = path.resolve()
    _write_private(path, content)
    return path


def _write_private(path: Path, content: str) -> None:
    """Only the user may read it: a conversation is private."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(content)


async def forget(app: ConsoleApp, arg: str) -> None:
    arg = arg.strip()
    if arg and not arg.isdigit():
        raise InvalidSetting("Write /forget N: how many of your last messages to forget (default 1).")
    deleted = await app.chat.forget(app.key, app.actor, int(arg or 1))
    questions = sum(1 for m in deleted.messages if m.role == "user")
    answers = len(deleted.messages) - questions
    app.say(
        f"Forgot {questions} message{'s' if questions != 1 else ''} of yours "
        f"and {answers} answer{'s' if answers != 1 else ''}."
    )
