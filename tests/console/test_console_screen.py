"""What the terminal shows, read back through a terminal emulator (pyte): an answer streamed in place
leaves exactly its text in the scrollback, once, with no typing-indicator or status line left over."""

from __future__ import annotations

import io

import pyte
from rich.console import Console

from bots.console.screen import Screen
from bots.console.sink import ConsoleSink
from core.streaming import ReplyView

WIDTH, HEIGHT = 60, 12


def view(phase: str) -> ReplyView:
    return ReplyView(reply_id=1, phase=phase, status="complete", is_last=True, index=0, model="some-model")


def terminal_lines(output: str) -> list[str]:
    """Every line the person can scroll back to, then the screen, as a terminal would show them."""
    screen = pyte.HistoryScreen(WIDTH, HEIGHT, history=1000)
    pyte.Stream(screen).feed(output.replace("\n", "\r\n"))
    scrolled = ["".join(row[x].data for x in range(WIDTH)).rstrip() for row in screen.history.top]
    return [line for line in scrolled + [line.rstrip() for line in screen.display] if line]


async def stream_answer(paragraphs: list[str]) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=WIDTH, height=HEIGHT, color_system=None)
    console.print("> question")
    screen = Screen(console)
    screen.show_status("waiting for the first words")
    screen.show_typing("typed ahead", 1)
    sink = ConsoleSink(screen)
    await sink.post(" ▌", view("streaming"))  # the first fragment: the typing indicator alone
    for count in range(1, len(paragraphs) + 1):
        await sink.edit(None, "\n\n".join(paragraphs[:count]) + " ▌", view("streaming"))
    await sink.edit(None, "\n\n".join(paragraphs), view("done"))
    screen.close()
    console.print("> next")
    return terminal_lines(out.getvalue())


async def test_a_short_answer_leaves_only_its_text_and_footer():
    assert await stream_answer(["Hello", "world."]) == ["> question", "Hello", "world.", "some-model", "> next"]


async def test_an_answer_taller_than_the_screen_is_in_the_scrollback_whole_and_once():
    paragraphs = [f"paragraph {number}" for number in range(30)]
    lines = await stream_answer(paragraphs)
    assert lines == ["> question", *paragraphs, "some-model", "> next"]


async def test_while_streaming_the_newest_lines_show_with_the_line_being_typed():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=WIDTH, height=HEIGHT, color_system=None)
    screen = Screen(console)
    sink = ConsoleSink(screen)
    await sink.post("\n\n".join(f"paragraph {n}" for n in range(30)) + " ▌", view("streaming"))
    screen.show_typing("/sto", 0)
    display = pyte.Screen(WIDTH, HEIGHT)
    pyte.Stream(display).feed(out.getvalue().replace("\n", "\r\n"))
    shown = [line.rstrip() for line in display.display if line.strip()]
    assert "paragraph 29" in shown  # the newest text, not the top of the answer cut off
    assert shown[-1] == "> /sto▌"
    screen.close()
