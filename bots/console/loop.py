"""The terminal's prompt loop: read a line (with the keyboard live while it is handled, so Esc, Ctrl-C and /stop
act at once), hand it to `ConsoleApp.handle_line`, and the first-run notice about the tiny local model. Mixed into
`ConsoleApp` (bots/console/app.py)."""

from __future__ import annotations

import asyncio
import sys

from rich.text import Text

from bots.console.commands.account import is_connect
from bots.console.keys import AnswerKeys
from bots.console.repl import LineReader, PromptReader
from core.models.local import TINY_MODEL_NOTICE

HISTORY_FILE = "console_history"
NOTICE_MARKER = ".local-model-notice-shown"


class PromptLoop:
    """Mixed into `ConsoleApp`: `core`, `chat`, `console`, `data_dir`, `reader`, `key`, `actor`, `_handling`,
    `say`, `start`, `handle_line`, `request_stop`, `take_line` and `_on_screen` are its."""

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
