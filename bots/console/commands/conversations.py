"""The terminal's conversations: /new, /list, /open N (its last turns shown), /delete [N | all], /export to a file,
/forget N, and the answer being written: /stop, /continue, /retry, /reasoning. A number is the core's rule
(ConversationService.numbered: 1 is the newest, as /list shows them)."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markdown import Markdown
from rich.text import Text

from core.commands.text import parse_export
from core.conversations.export import export_filename, free_path
from core.errors import InvalidSetting, NotFound
from core.records import Conversation, MessageStatus

if TYPE_CHECKING:
    from bots.console.app import ConsoleApp

LISTED = 50  # conversations /list shows, and the numbers /open, /delete and /export take
SHOWN_LINES, SHOWN_CHARS = 12, 1_500  # of each turn /open shows again
EMPTY_ANSWER = {  # what /open shows for an answer that wrote nothing
    MessageStatus.ERROR: "*(the answer failed before any text: /retry asks again)*",
    MessageStatus.STOPPED: "*(stopped before any text)*",
    MessageStatus.INTERRUPTED: "*(interrupted before any text)*",
    MessageStatus.UNDELIVERED: "*(not delivered)*",
}
TURNS_SHOWN = 3


async def numbered(app: ConsoleApp, arg: str) -> Conversation | None:
    return await app.chat.conversations.numbered(app.actor, int(arg), listed=LISTED) if arg.isdigit() else None


async def new(app: ConsoleApp, arg: str) -> None:
    app.new_conversation()
    app.say("New conversation.")


async def list_conversations(app: ConsoleApp, arg: str) -> None:
    conversations = await app.chat.conversations.list(app.actor, LISTED)
    if not conversations:
        app.say("No conversations yet.")
    for number, conversation in enumerate(conversations, 1):
        marker = "*" if conversation.key.thread == app.thread else " "
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.updated_at))
        app.say(f"{marker}{number:3d}. {conversation.title or '(untitled)'}  [{when}]")


async def reopen(app: ConsoleApp, arg: str) -> None:
    """Back in a conversation: its last turns, so the next message has its context on screen."""
    conversation = await numbered(app, arg)
    if conversation is None:
        app.say("Give a number from /list.", "red")
        return
    app.thread = conversation.key.thread
    app.say(f"Back in: {conversation.title or '(untitled)'}", "bold")
    turns = await app.chat.conversations.last_turns(conversation.id, TURNS_SHOWN)
    for message in turns:
        if message.role == "user":
            app.console.print(Text.assemble(("> ", "bold cyan"), clipped(message.content)))
        else:
            app.console.print(Markdown(clipped(message.content) or EMPTY_ANSWER.get(message.status, "*(no text)*")))
            if message.model:
                app.say(message.model, "dim")
    if not turns:
        app.say("(nothing in it yet)", "dim")


def clipped(text: str) -> str:
    """A turn as /open shows it: a long paste would fill the screen, so its start and how much is left."""
    lines = text.split("\n")
    shown = "\n".join(lines[:SHOWN_LINES])[:SHOWN_CHARS]
    if len(shown) < len(text.rstrip()):
        shown = f"{shown.rstrip()}\n… ({len(text) - len(shown):,} more characters)"
    return shown


async def delete(app: ConsoleApp, arg: str) -> None:
    if arg == "all":
        count = await app.chat.delete_user_data(app.actor)
        if app.reader is not None:
            app.reader.forget_history()
        exports = await asyncio.to_thread(_erase_exports, app.export_dir)
        also = f", and {exports} export file(s) in {app.export_dir}" if exports else ""
        app.say(f"Erased everything you stored: {count} conversation(s) and what you typed{also}.")
        app.new_conversation()
        return
    if arg.isdigit():
        conversation = await numbered(app, arg)
        if conversation is None:
            app.say("Give a number from /list.", "red")
            return
    else:
        conversation = await app.chat.conversations.here(app.key)
        if conversation is None:
            app.say("This conversation has nothing stored yet.")
            return
    await app.chat.conversations.delete(conversation.id, app.actor)
    if conversation.key.thread == app.thread:
        app.new_conversation()
    app.say(f"Deleted: {conversation.title or '(untitled)'}")


async def export(app: ConsoleApp, arg: str) -> None:
    which, fmt = parse_export(arg)
    words = which.split()
    number = next((word for word in words if word.isdigit()), "")
    target = " ".join(word for word in words if word != number)
    if number:
        conversation = await numbered(app, number)
        if conversation is None:
            raise InvalidSetting("Give a number from /list: /export [md|json] [N].")
    else:
        conversation = await app.chat.conversations.here(app.key)
        if conversation is None:
            raise NotFound("This conversation has nothing stored yet.")
    content = await app.chat.conversations.export(conversation.id, app.actor, fmt)
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


def _erase_exports(folder: Path) -> int:
    """The exports the chat wrote into its own folder hold conversation text too (a PATH given to /export is the
    person's own file, and left alone)."""
    erased = 0
    for path in folder.glob("*"):
        if path.is_file() and path.suffix in (".md", ".json"):
            path.unlink(missing_ok=True)
            erased += 1
    return erased


def _write_private(path: Path, content: str) -> None:
    """Only the user may read it: a conversation is private."""
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(content)


async def forget(app: ConsoleApp, arg: str) -> None:
    if arg and not arg.isdigit():
        raise InvalidSetting("Write /forget N: how many of your last messages to forget (default 1).")
    deleted = await app.chat.conversations.forget(app.key, app.actor, int(arg or 1))
    questions = sum(1 for m in deleted.messages if m.role == "user")
    answers = len(deleted.messages) - questions
    app.say(
        f"Forgot {questions} message{'s' if questions != 1 else ''} of yours "
        f"and {answers} answer{'s' if answers != 1 else ''}."
    )


async def stop(app: ConsoleApp, arg: str) -> None:
    conversation = await app.chat.conversations.here(app.key)
    if not conversation or not await app.chat.replies.stop(conversation.id, app.actor):
        app.say("Nothing is being written.")


async def again(app: ConsoleApp, name: str) -> None:
    """/continue or /retry the last answer."""
    conversation = await app.chat.conversations.here(app.key)
    if conversation is None:
        app.say("Nothing to redo yet: ask something first.")
        return
    redo = app.chat.actions.continue_reply if name == "continue" else app.chat.actions.regenerate
    await app.await_reply(redo(conversation.id, app.actor, app.sink()))


async def reasoning(app: ConsoleApp, arg: str) -> None:
    """The last answer's reasoning."""
    reply_id = await app.chat.conversations.last_reply_id(app.key)
    if reply_id is None:
        app.say("No answer here yet.")
        return
    app.say(await app.chat.conversations.reasoning(reply_id, app.actor), "italic")


HANDLERS = {
    "new": new,
    "list": list_conversations,
    "open": reopen,
    "delete": delete,
    "export": export,
    "forget": forget,
    "stop": stop,
    "continue": lambda app, arg: again(app, "continue"),
    "retry": lambda app, arg: again(app, "retry"),
    "reasoning": reasoning,
}
