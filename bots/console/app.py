"""`hfchat console`: chat in the terminal through the same core as the chat platforms."""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.text import Text

from bots.console.commands import run_command
from bots.console.commands.account import is_connect
from bots.console.keys import AnswerKeys
from bots.console.repl import LineReader, PromptReader
from bots.console.screen import Screen
from bots.console.sink import ConsoleSink
from core.app import Core
from core.errors import UserFacingError
from core.keys import Actor, ConversationKey
from core.memory import Proposal
from core.models.local import TINY_MODEL_NOTICE, LocalModelUnavailable
from core.replies.clarify import Question

PLATFORM = "console"
WORKSPACE = "local"
CHANNEL = "terminal"
HISTORY_FILE = "console_history"
NOTICE_MARKER = ".local-model-notice-shown"


def local_user() -> str:
    """The login name; a container run with a uid that has no passwd entry still gets a name."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid{os.getuid()}"


class ConsoleApp:
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

    # memory suggestions: "Remember this? (y/n)" once the answer is written; only y keeps it
    async def suggested(self, proposal: Proposal) -> None:
        self.proposal = proposal

    def _ask_about_proposal(self) -> None:
        if self.proposal is not None:
            self.say(f"🧠 Remember this? “{self.proposal.fact}” (y/n)", "bold")

    async def _answer_proposal(self, line: str) -> bool:
        """The line after "Remember this?": y keeps it, n does not; anything else leaves it unkept and is handled as
        it is. True when the line was the answer."""
        proposal, self.proposal = self.proposal, None
        word = line.strip().lower()
        if proposal is None or word not in ("y", "yes", "n", "no"):
            return False
        keep = word in ("y", "yes")
        try:
            await self.chat.memory.decide(proposal.id, self.actor, keep)
        except UserFacingError as exc:
            self.say(str(exc), "bold red")
            return True
        self.say("🧠 Kept. /memory shows what I keep." if keep else "🧠 Not kept.", "dim")
        return True

    # clarifying questions: a numbered prompt, answered by the next line (a number or one's own words)
    async def ask_question(self, question: Question) -> None:
        self.say(f"❓ {question.text}", "bold")
        for line in question.numbered():
            self.say(f"   {line}")
        self.question = question
        if self.screen is not None:
            self.screen.show_status("type a number or your own answer, then Enter")
        if self.reader is not None and not self.reader.interactive:  # piped input: the next line is the answer
            self._answer_soon(question)

    def take_line(self, line: str) -> bool:
        """A line entered while an answer streams: True when it answered the question the answer waits on."""
        question = self.question
        if question is None or not self.chat.questions.is_waiting(question.id):
            return False
        self._answer_soon(question, line)
        return True

    def _answer_soon(self, question: Question, line: str | None = None) -> None:
        """Answer `question` with `line`, or with the next line read (piped input)."""

        async def answer() -> None:
            typed = line
            if typed is None:
                try:
                    typed = await self._reader().read()
                except EOFError:
                    return
            try:
                await self.chat.questions.answer_typed(question.id, self.actor, typed)
                self.question = None
                self.say(f"→ {question.choice}", "dim")
            except UserFacingError as exc:
                self.say(str(exc), "bold red")
                if line is None and self.chat.questions.is_waiting(question.id):
                    self._answer_soon(question)  # piped: the next line, then

        task = asyncio.create_task(answer())
        self._answering.add(task)
        task.add_done_callback(self._answering.discard)

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

    def _first_run_notice(self) -> None:
        """Once per data folder: the local model is tiny, and how to get the router's models."""
        if self.core.local is None:
            return
        marker = self.data_dir / NOTICE_MARKER
        if marker.exists():
            return
        self.say(TINY_MODEL_NOTICE.format(model=self.core.local.model), "yellow")
        try:
            marker.parent.mkdir(parents=True, exist_ok=True)
            marker.touch()
        except OSError:
            pass

    async def read_secret(self, prompt: str) -> str:
        """A secret (a token) typed at a prompt that does not show it."""
        return await self._reader().read_secret(prompt)

    def _reader(self) -> PromptReader | LineReader:
        if self.reader is None:
            interactive = sys.stdin.isatty() and self.console.is_terminal
            self.reader = PromptReader(self.data_dir / HISTORY_FILE) if interactive else LineReader()
        return self.reader

    async def run(self) -> None:
        reader = self._reader()
        await self.start()
        model = (await self.chat.preferences.model_choice(self.key, self.actor.user_id)).model
        self.say(f"HuggingChat in your terminal. Model: {model}. Type /help for commands.", "bold")
        if reader.interactive:
            self.say("Enter sends, Alt-Enter adds a line, Esc or Ctrl-C stops an answer, Ctrl-D leaves.", "dim")
        self._first_run_notice()
        waiting: list[str] = []  # entered while an answer streamed
        typed = ""  # typed then, not yet sent: it waits at the prompt
        while True:
            if waiting:
                line = waiting.pop(0)
                self.console.print(Text.assemble(("> ", "bold cyan"), line))
            else:
                try:
                    line = await reader.read(typed)
                except (EOFError, KeyboardInterrupt):
                    break
                typed = ""  # it was the prompt's to finish, and went out with this line
            if reader.interactive and is_connect(line):  # the token prompt takes the keyboard alone
                await self.handle_line(line)
            elif reader.interactive:
                keep_going, keys = await self._handle_with_keys(line, reader, typed)
                waiting.extend(keys.lines)
                typed = keys.typed
                if not keep_going or keys.quit:
                    break
            elif not await self.handle_line(line):
                break

    async def _handle_with_keys(self, line: str, reader: PromptReader, typed: str) -> tuple[bool, AnswerKeys]:
        """Handle one input with the keyboard live: Esc, Ctrl-C and /stop act at once. `typed` is a line
        begun earlier and not sent yet: it goes on being typed."""
        with (
            self._on_screen() as screen,
            AnswerKeys(reader.keyboard, screen, self.request_stop, typed, take_line=self.take_line) as keys,
        ):
            self._handling = asyncio.create_task(self.handle_line(line))
            await asyncio.sleep(0)  # the input is being handled (a message, being stored) before a key acts on it
            keys.take_typeahead()
            try:
                await asyncio.wait([self._handling])
            finally:
                handling, self._handling = self._handling, None
            if handling.cancelled():
                self.say("Stopped.", "dim")
                return True, keys
            return handling.result(), keys
