"""Reading a message at the prompt: prompt_toolkit (line editing, arrows, history, multi-line input,
bracketed paste) when the terminal is interactive, plain lines when input is piped.

A paste arrives whole, as one message, whatever its length or its lines: the terminal's own line
buffer (4,095 characters, each newline a message) is out of the way in raw mode.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from prompt_toolkit import PromptSession
from prompt_toolkit.formatted_text import FormattedText
from prompt_toolkit.history import FileHistory
from prompt_toolkit.input import Input
from prompt_toolkit.key_binding import KeyBindings
from prompt_toolkit.output import Output

PROMPT = FormattedText([("bold ansicyan", "> ")])
CONTINUATION = FormattedText([("ansibrightblack", "… ")])


class PrivateHistory(FileHistory):
    """The input history holds what was typed: readable by its owner only."""

    def store_string(self, string: str) -> None:
        path = Path(self.filename)
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600))
        super().store_string(string)


def key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("enter")
    def _submit(event) -> None:
        event.current_buffer.validate_and_handle()

    @bindings.add("escape", "enter")  # Alt-Enter
    @bindings.add("c-j")
    def _newline(event) -> None:
        event.current_buffer.insert_text("\n")

    return bindings


class PromptReader:
    """The interactive prompt. Raises EOFError (Ctrl-D) and KeyboardInterrupt (Ctrl-C) to leave."""

    interactive = True

    def __init__(self, history: Path | None, keyboard: Input | None = None, output: Output | None = None):
        self.history_path = history
        self.keyboard = keyboard
        self.session: PromptSession[str] = PromptSession(
            history=PrivateHistory(str(history)) if history else None,
            multiline=True,  # shown on several lines; Enter still sends (see key_bindings)
            key_bindings=key_bindings(),
            prompt_continuation=CONTINUATION,
            enable_open_in_editor=False,
            input=keyboard,
            output=output,
        )
        self.keyboard = self.session.input

    async def read(self, default: str = "") -> str:
        return await self.session.prompt_async(PROMPT, default=default)

    async def read_secret(self, prompt: str) -> str:
        """A line typed without echo (shown as stars), in a session of its own: never in the input history."""
        secret: PromptSession[str] = PromptSession(is_password=True, input=self.keyboard, output=self.session.output)
        return await secret.prompt_async(prompt)

    def forget_history(self) -> None:
        """`/delete all` erases what was typed too."""
        if self.history_path is not None:
            self.history_path.unlink(missing_ok=True)
            self.session.history = PrivateHistory(str(self.history_path))
            self.session.default_buffer.history = self.session.history
            self.session.default_buffer.reset()


class LineReader:
    """Piped input: one line, one message."""

    interactive = False
    keyboard = None

    async def read(self, default: str = "") -> str:
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line:
            raise EOFError
        return line.rstrip("\n")

    async def read_secret(self, prompt: str) -> str:
        return await self.read()  # piped: nothing is echoed but what the program prints

    def forget_history(self) -> None:
        return None
