"""Keys while an answer streams: the terminal stays in raw mode, so every key arrives at once.

Ctrl-C and Esc stop the answer (its text so far is kept); `/stop` and Enter stops it too. Anything else
typed meanwhile shows under the answer and is handled after it: a line ended with Enter is sent then,
an unfinished one is waiting at the next prompt; while the answer waits on a clarifying question, the line
ended with Enter answers it instead. Ctrl-D (on an empty line) stops and leaves.

Without raw mode the terminal's line discipline would keep the keys until Enter (so `/stop` waited for
the whole answer) and turn Ctrl-C into a SIGINT that froze the screen.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prompt_toolkit.input import Input
from prompt_toolkit.input.typeahead import get_typeahead
from prompt_toolkit.keys import Keys

from bots.console.screen import Screen

ESCAPE_WAIT = 0.05  # a lone Esc is known only when no sequence (an arrow key) follows it
STOP_WORDS = ("/stop",)
QUIT_WORDS = ("/quit", "/exit", "/q")
ENTER = (Keys.ControlM, Keys.ControlJ)
ERASE = (Keys.ControlH, Keys.Backspace)
BRACKETED_PASTE_ON, BRACKETED_PASTE_OFF = "\x1b[?2004h", "\x1b[?2004l"


class AnswerKeys:
    def __init__(
        self,
        keyboard: Input,
        screen: Screen,
        stop: Callable[[], None],
        typed: str = "",
        take_line: Callable[[str], bool] | None = None,
    ):
        self.keyboard = keyboard
        self.screen = screen
        self.stop = stop  # asks for the answer (or whatever is running) to stop
        self.take_line = take_line  # a line entered now answers a question the answer is waiting on, if it says so
        self.typed = typed
        self.lines: list[str] = []  # entered while the answer streamed: handled after it
        self.quit = False
        self._flush: asyncio.TimerHandle | None = None
        self._raw = None
        self._attached = None

    def __enter__(self) -> AnswerKeys:
        self._raw = self.keyboard.raw_mode()
        self._raw.__enter__()
        self._attached = self.keyboard.attach(self._read)
        self._attached.__enter__()
        self._terminal(BRACKETED_PASTE_ON)
        if self.typed:
            self.screen.show_typing(self.typed, 0)
        return self

    def __exit__(self, *exc) -> None:
        if self._flush is not None:
            self._flush.cancel()
        self._terminal(BRACKETED_PASTE_OFF)
        self._attached.__exit__(*exc)
        self._raw.__exit__(*exc)

    def take_typeahead(self) -> None:
        """Keys that came right behind the Enter (a quick Ctrl-C, or what tmux sends in one go) were read by the
        prompt, which keeps what it did not use for the next prompt: they belong to this answer. Left there, a
        Ctrl-C meant to stop the answer waited for it to end and then left the chat."""
        for key in get_typeahead(self.keyboard):
            self.press(key.key, key.data)
        # a lone Esc waits in the key parser for what might follow it (an arrow key's sequence)
        self._flush = asyncio.get_running_loop().call_later(ESCAPE_WAIT, self._flush_pending)

    def _terminal(self, sequence: str) -> None:
        console = self.screen.console
        if console.is_terminal:
            console.file.write(sequence)
            console.file.flush()

    def _read(self) -> None:
        for key in self.keyboard.read_keys():
            self.press(key.key, key.data)
        if self._flush is not None:
            self._flush.cancel()
        self._flush = asyncio.get_running_loop().call_later(ESCAPE_WAIT, self._flush_pending)

    def _flush_pending(self) -> None:
        self._flush = None
        for key in self.keyboard.flush_keys():
            self.press(key.key, key.data)

    def press(self, key: str, data: str) -> None:
        if key in (Keys.ControlC, Keys.Escape):
            self.stop()
        elif key == Keys.ControlD and not self.typed:
            self.quit = True
            self.stop()
        elif key in ENTER:
            self._enter()
        elif key in ERASE:
            self.typed = self.typed[:-1]
        elif key == Keys.ControlU:
            self.typed = ""
        elif key == Keys.BracketedPaste:
            self.typed += data.replace("\r\n", "\n").replace("\r", "\n")
        elif not isinstance(key, Keys) and data.isprintable():
            self.typed += data
        else:
            return  # arrows and the like: nothing to edit here
        self.screen.show_typing(self.typed, len(self.lines))

    def _enter(self) -> None:
        line, self.typed = self.typed, ""
        word = line.strip().lower()
        if word in STOP_WORDS:
            self.stop()
        elif word in QUIT_WORDS:
            self.quit = True
            self.stop()
        elif word and self.take_line is not None and self.take_line(line):
            pass  # it answered the question shown above
        elif word:
            self.lines.append(line)
