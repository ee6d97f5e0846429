"""`hfchat console`: chat in the terminal through the same core as the chat platforms. Here: one input handled (a
message, a command, stopping an answer); the prompt loop is bots/console/loop.py, the questions asked back
bots/console/questions.py, the commands bots/console/commands/, drawing bots/console/screen.py and sink.py."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from bots.console.commands import run_command
from bots.console.loop import PromptLoop
from bots.console.questions import Questions
from bots.console.repl import LineReader, PromptReader
from bots.console.screen import Screen
from bots.console.sink import ConsoleSink
from core.app import Core
from core.errors import UserFacingError
from core.keys import Actor, ConversationKey
from core.memory import Proposal
from core.models.local import LocalModelUnavailable
from core.replies.clarify import Question

PLATFORM = "console"
WORKSPACE = "local"
CHANNEL = "terminal"


def local_user() -> str:
    """The login name; a container run with a uid that has no passwd entry still gets a name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


class ConsoleApp(PromptLoop, Questions):
    def __init__(
        self,
        core: Core,
        console: Console | None = None,
        user: str | None = None,
        export_dir: Path | None = None,
        reader: PromptReader | LineReader | None = None,
    ):
        self.core = core
        self.chat = core.chat
        self.console = console or Console()
        user = user or local_user()
        self.actor = Actor(PLATFORM, user_id=user, display_name=user, workspace=WORKSPACE, is_admin=True)
        self.thread = ""
        self._reply: asyncio.Task | None = None
        self._submitting = False  # a message is being stored (await_reply)
        self._handling: asyncio.Task | None = None
        self._stopping: asyncio.Task | None = None
        self.data_dir = core.settings.data_path
        self.export_dir = export_dir or self.data_dir / "exports"  # where /export writes its files
        self.reader = reader
        self.screen: Screen | None = None  # while one input is handled
        self.question: Question | None = None  # a clarifying question the answer waits on: the next line answers it
        self.proposal: Proposal | None = None  # a fact the model suggested keeping: asked y/n after its answer
        self._answering: set[asyncio.Task] = set()

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(PLATFORM, WORKSPACE, CHANNEL, self.thread)

    async def start(self) -> None:
        self.new_conversation()

    def new_conversation(self) -> None:
        """The next message starts a conversation of its own."""
        self.thread = str(time.time_ns())

    def say(self, text: str, style: str = "") -> None:
        self.console.print(text, style=style or None, markup=False, highlight=False)

    def sink(self) -> ConsoleSink:
        return ConsoleSink(self.screen or Screen(self.console), ask=self.ask_question, propose=self.suggested)

    @contextlib.contextmanager
    def _on_screen(self) -> Iterator[Screen]:
        if self.screen is not None:
            yield self.screen
            return
        self.screen = Screen(self.console)
        try:
            yield self.screen
        finally:
            self.screen.close()
            self.screen = None

    async def handle_line(self, line: str) -> bool:
        """Handle one input (one line, or a paste of many); False means quit."""
        if not line.strip():
            return True
        with self._on_screen():
            try:
                if self.proposal is not None and await self._answer_proposal(line):
                    return True
                if line.lstrip().startswith("/") and "\n" not in line.strip():
                    return await run_command(self, line.strip())
                await self._message(line)
            except UserFacingError as exc:
                self.say(str(exc), "bold red")
            except LocalModelUnavailable as exc:
                self.say(f"The local model is not available: {exc}", "bold red")
        return True

    async def _message(self, text: str) -> None:
        self._submitting = True  # from here a stop waits for the answer to stop it: the message is never dropped
        try:
            notice = await self.core.ensure_local_model()  # a server that died is said, and started again
            if notice:
                self.say(notice, "yellow")
        except BaseException:
            self._submitting = False
            raise
        await self.await_reply(self.chat.submit(self.key, self.actor, text, self.sink()))
        self._ask_about_proposal()
        notice = await self.core.ensure_local_model()  # restarted while this message was being answered
        if notice:
            self.say(notice, "yellow")

    async def await_reply(self, submitting) -> None:
        self._submitting = True  # the message is being stored: a stop now waits for its answer, never drops it
        try:
            submitted = await submitting
        finally:
            self._submitting = False
        self._reply = submitted.reply
        if submitted.reply is None:
            return
        if self.screen is not None:
            self.screen.show_status("waiting for the first words")
        try:
            await submitted.reply
        finally:
            self._reply = None

    # stopping, from a key pressed while an answer streams
    def request_stop(self) -> None:
        if self._stopping is None or self._stopping.done():
            self._stopping = asyncio.create_task(self._stop_answer())

    async def _stop_answer(self) -> None:
        """Stop the answer being written (the text so far is kept). Nothing streams yet when the key comes
        before the reply has begun: ask again until it has, or is over. With no answer (a command, a
        comparison), the input's handling is cancelled."""
        while True:
            conversation = await self.chat.conversations.here(self.key)
            if conversation is not None and await self.chat.replies.stop(conversation.id, self.actor):
                return
            if not self._submitting and (self._reply is None or self._reply.done()):
                break
            await asyncio.sleep(0.05)
        if self._reply is None and self._handling is not None and not self._handling.done():
            self._handling.cancel()
