"""What the terminal shows while one input is handled: answers as they stream, and under them one
status line (the text being typed ahead, or how to stop the answer).

One transient rich Live holds only what is still changing. An answer that is done is printed above it,
whole, as ordinary output, so the scrollback is the plain conversation. While an answer streams, the
Live shows its last screenful (a long answer would otherwise be cut at the bottom of the screen, where
the newest text is), and the status line is never left behind when the Live goes away.
"""

from __future__ import annotations

from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.live import Live
from rich.markdown import Markdown
from rich.segment import Segment
from rich.text import Text

HINT = "Esc or Ctrl-C stops the answer · what you type now is sent after it"


class Tail:
    """The last `height` lines of a renderable."""

    def __init__(self, renderable: RenderableType, height: int):
        self.renderable = renderable
        self.height = max(1, height)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        lines = console.render_lines(self.renderable, options, pad=False)
        for line in lines[-self.height :]:
            yield from line
            yield Segment.line()


class Block:
    """One streaming answer (or one model's answer in /compare)."""

    def __init__(self, screen: Screen):
        self.screen = screen
        self.text = ""
        self.done = False
        self.footer = ""

    def update(self, text: str) -> None:
        self.text = text
        self.screen.refresh()

    def finish(self, text: str, footer: str = "") -> None:
        self.text, self.footer, self.done = text, footer, True
        self.screen.settle()


class Screen:
    def __init__(self, console: Console, hint: str = HINT):
        self.console = console
        self.hint = hint
        self.typed = ""  # what the person is typing while the answer streams
        self.waiting = 0  # lines entered meanwhile, handled after the answer
        self.status = ""  # e.g. "SmolLM2 is thinking…" before the first token
        self._blocks: list[Block] = []
        self._live: Live | None = None

    # blocks
    def block(self) -> Block:
        block = Block(self)
        self._blocks.append(block)
        self.status = ""  # the first words are here
        self._start()
        self.refresh()
        return block

    def settle(self) -> None:
        """Print the finished answers at the head of the line (in order) and let the Live forget them."""
        while self._blocks and self._blocks[0].done:
            block = self._blocks.pop(0)
            if block.text.strip():
                self.console.print(Markdown(block.text))
            if block.footer:
                self.console.print(Text(block.footer, style="dim"))
        self.refresh()

    # status line
    def show_typing(self, typed: str, waiting: int) -> None:
        self.typed, self.waiting = typed, waiting
        self._start()
        self.refresh()

    def show_status(self, status: str) -> None:
        self.status = status
        self._start()
        self.refresh()

    def _status_line(self) -> Text | None:
        if self._live is None:
            return None
        waiting = f" ({self.waiting} waiting)" if self.waiting else ""
        if self.typed:
            shown = self.typed.replace("\n", " ⏎ ")
            room = max(10, self.console.width - 4 - len(waiting))
            return Text.assemble(("> ", "bold cyan"), (shown[-room:] + "▌", ""), (waiting, "dim"))
        return Text((self.status + " · " if self.status else "") + self.hint + waiting, style="dim")

    # the Live
    def _start(self) -> None:
        if self._live is None and self.console.is_terminal:
            self._live = Live(
                console=self.console,
                get_renderable=self._render,
                auto_refresh=False,
                transient=True,
                redirect_stdout=False,
                redirect_stderr=False,
            )
            self._live.start()

    def _render(self) -> RenderableType:
        status = self._status_line()
        blocks = list(self._blocks)
        room = (self.console.size.height - 2) // max(1, len(blocks))
        parts: list[RenderableType] = []
        for block in blocks:
            text = block.text.rstrip().removesuffix("▌").rstrip()
            parts.append(Tail(Markdown(text) if text else Text("▌", style="dim"), room))
        if status is not None:
            parts.append(status)
        return Group(*parts)

    def refresh(self) -> None:
        if self._live is not None:
            self._live.refresh()

    def close(self) -> None:
        """Print what is left and take the status line away."""
        for block in self._blocks:
            block.done = True
        self.settle()
        if self._live is not None:
            self._live.stop()
            self._live = None
