"""`hfchat console`: chat in the terminal through the same core as the chat platforms."""

from __future__ import annotations

import asyncio
import getpass
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.markdown import Markdown

from bots.console import commands, features
from core.app import Core
from core.errors import UserFacingError
from core.keys import Actor, ConversationKey
from core.records import Scope
from core.streaming import PlatformLimits, ReplyView
from core.text_commands import parse_compare, parse_limits

PLATFORM = "console"
WORKSPACE = "local"
CHANNEL = "terminal"
HELP = """\
Type a message to chat. Commands:
  /model            show the current model      /model list [filter]   list the router's models
  /model NAME       use NAME in this conversation (suffixes like :fastest or :groq pass through)
  /new              start a new conversation    /list                  your conversations
  /open N           go back to conversation N   /delete [N|all]        erase this one, N, or everything
  /stop             (or Ctrl-C while it writes) stop the answer
  /continue         go on with an answer cut by the length limit   /retry   answer the last question again
  /help             this text                   /quit                  leave
"""


class ConsoleSink:
    """Renders the answer as Markdown that grows in place."""

    limits = PlatformLimits(max_chars=1_000_000, edit_interval=0.05, file_after_messages=0)
    bucket = None

    def __init__(self, console: Console):
        self.console = console
        self.lane = ("console", id(console))
        self._live: Live | None = None
        self.final_text = ""

    def _footer(self, view: ReplyView) -> str:
        parts = [view.model]
        if view.provider:
            parts.append(f"via {view.provider}")
        if view.reasoning_seconds:
            parts.append(f"thought for {view.reasoning_seconds:.0f} s")
        return " · ".join(p for p in parts if p)

    async def post(self, text: str, view: ReplyView) -> Any:
        self._live = Live(Markdown(text), console=self.console, refresh_per_second=12, transient=False)
        self._live.start()
        await self.edit(None, text, view)
        return len(self.final_text)

    async def edit(self, ref: Any, text: str, view: ReplyView) -> None:
        if self._live is None:
            return
        self._live.update(Markdown(text))
        if view.phase == "done":
            self._live.stop()
            self._live = None
            self.final_text = text
            footer = self._footer(view)
            if footer and view.is_last:
                self.console.print(f"[dim]{footer}[/dim]")

    async def upload(self, filename: str, content: str, view: ReplyView) -> None:
        return None

    def ref_id(self, ref: Any) -> str:
        return ""


class ConsoleApp:
    def __init__(
        self, core: Core, console: Console | None = None, user: str | None = None, export_dir: Path | None = None
    ):
        self.core = core
        self.chat = core.chat
        self.console = console or Console()
        user = user or getpass.getuser()
        self.actor = Actor(PLATFORM, user_id=user, display_name=user, workspace=WORKSPACE, is_admin=True)
        self.thread = ""
        self._reply: asyncio.Task | None = None
        self.export_dir = export_dir or Path.cwd()  # where /export writes its files

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(PLATFORM, WORKSPACE, CHANNEL, self.thread)

    async def start(self) -> None:
        self.thread = str(time.time_ns())

    def say(self, text: str, style: str = "") -> None:
        self.console.print(text, style=style or None, markup=False, highlight=False)

    async def handle_line(self, line: str) -> bool:
        """Handle one line of input; False means quit."""
        line = line.strip()
        if not line:
            return True
        try:
            if line.startswith("/"):
                return await self._command(line)
            submitted = await self.chat.submit(self.key, self.actor, line, ConsoleSink(self.console))
            self._reply = submitted.reply
            if submitted.reply is not None:
                await submitted.reply
        except UserFacingError as exc:
            self.say(str(exc), "bold red")
        return True

    async def _command(self, line: str) -> bool:
        name, _, arg = line[1:].partition(" ")
        arg = arg.strip()
        if name in ("quit", "exit", "q"):
            return False
        if name == "help":
            self.say(HELP + features.HELP + commands.HELP)
        elif name == "new":
            self.thread = str(time.time_ns())
            self.say("New conversation.")
        elif name == "model":
            await self._model(arg)
        elif name == "list":
            await self._list()
        elif name == "open":
            conversations = await self.chat.list_conversations(self.actor, 50)
            index = int(arg) - 1 if arg.isdigit() else -1
            if not 0 <= index < len(conversations):
                self.say("Give a number from /list.", "red")
            else:
                self.thread = conversations[index].key.thread
                self.say(f"Back in: {conversations[index].title}")
        elif name == "delete":
            await self._delete(arg)
        elif name in ("compare", "limits", "reasoning"):
            await self._extras(name, arg)
        elif name in commands.COMMANDS:
            await commands.handle(self, name, arg)
        elif name in features.COMMANDS:
            await features.handle(self, name, arg)
        elif name == "stop":
            conversation = await self.chat.conversation_for(self.key)
            if not conversation or not await self.chat.stop(conversation.id, self.actor):
                self.say("Nothing is being written.")
        elif name in ("continue", "retry"):
            conversation = await self.chat.conversation_for(self.key)
            if conversation is None:
                self.say("Nothing to redo yet: ask something first.")
                return True
            again = self.chat.continue_reply if name == "continue" else self.chat.regenerate
            submitted = await again(conversation.id, self.actor, ConsoleSink(self.console))
            self._reply = submitted.reply
            if submitted.reply is not None:
                await submitted.reply
        else:
            self.say(f"Unknown command /{name}. Type /help.", "red")
        return True

    async def _extras(self, name: str, arg: str) -> None:
        """/compare m1,m2 prompt · /limits [name value] · /reasoning (of the last answer)."""
        if name == "compare":
            models, prompt = parse_compare(arg)
            results = await self.chat.compare(
                self.key, self.actor, prompt, models, lambda model: ConsoleSink(self.console)
            )
            self.say(" · ".join(f"{r.model}: {r.state.status}" for r in results), "dim")
        elif name == "limits":
            limit, value = parse_limits(arg)
            if limit:
                limits = await self.chat.limits.set(self.actor, self.key, limit, value)
            else:
                limits = await self.chat.limits.get(self.key.platform, self.key.workspace)
            self.say(limits.describe())
        else:
            reply_id = await self.chat.last_reply_id(self.key)
            if reply_id is None:
                self.say("No answer here yet.")
                return
            self.say(await self.chat.reasoning(reply_id, self.actor), "italic")

    async def _model(self, arg: str) -> None:
        conversation = await self.chat.conversation_for(self.key)
        if not arg:
            choice = await self.chat.model_choice(self.key, self.actor.user_id, conversation=conversation)
            self.say(f"Model: {choice.model} ({choice.source})")
            return
        if arg.split(" ")[0] == "list":
            await commands.show_models(self, arg[4:])
            return
        chosen = await self.chat.set_model(self.actor, self.key, Scope.CONVERSATION, arg)
        self.say(f"This conversation now uses {chosen}.")

    async def _list(self) -> None:
        conversations = await self.chat.list_conversations(self.actor, 50)
        if not conversations:
            self.say("No conversations yet.")
        for number, conversation in enumerate(conversations, 1):
            marker = "*" if conversation.key.thread == self.thread else " "
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(conversation.updated_at))
            self.say(f"{marker}{number:3d}. {conversation.title or '(untitled)'}  [{when}]")

    async def _delete(self, arg: str) -> None:
        if arg == "all":
            count = await self.chat.delete_user_data(self.actor)
            self.say(f"Erased everything you stored: {count} conversation(s).")
            self.thread = str(time.time_ns())
            return
        if arg.isdigit():
            conversations = await self.chat.list_conversations(self.actor, 50)
            index = int(arg) - 1
            if not 0 <= index < len(conversations):
                self.say("Give a number from /list.", "red")
                return
            conversation = conversations[index]
        else:
            conversation = await self.chat.conversation_for(self.key)
            if conversation is None:
                self.say("This conversation has nothing stored yet.")
                return
        await self.chat.delete_conversation(conversation.id, self.actor)
        if conversation.key.thread == self.thread:
            self.thread = str(time.time_ns())
        self.say(f"Deleted: {conversation.title or '(untitled)'}")

    async def run(self) -> None:
        await self.start()
        model = await self.chat.resolve_model(self.key, self.actor.user_id)
        self.say(f"HuggingChat in your terminal. Model: {model}. Type /help for commands.", "bold")
        while True:
            try:
                line = await asyncio.to_thread(self.console.input, "[bold cyan]> [/]")
            except (EOFError, KeyboardInterrupt):
                break
            try:
                if not await self.handle_line(line):
                    break
            except (KeyboardInterrupt, asyncio.CancelledError):
                conversation = await self.chat.conversation_for(self.key)
                if conversation:
                    await self.chat.stop(conversation.id, self.actor)
                if self._reply:
                    await asyncio.gather(self._reply, return_exceptions=True)
