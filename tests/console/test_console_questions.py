"""Clarifying questions in the terminal: a numbered prompt; the next line (a number or one's own words) goes back to
the model and the same answer goes on, typed at the live keyboard or piped in."""

from __future__ import annotations

import asyncio
import io

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from bots.console.app import ConsoleApp
from bots.console.repl import PromptReader
from tests.fakes.fake_router import text_script
from tests.support.questions import asking_script

ENTER = "\r"
ANSWER = "Then use the 2.7 installer."


def tool_results(request: dict) -> list[str]:
    return [m["content"] for m in request["messages"] if m["role"] == "tool"]


class ScriptedLines:
    """Piped input: the lines a script would send."""

    interactive = False
    keyboard = None

    def __init__(self, *lines: str):
        self.lines = asyncio.Queue()
        for line in lines:
            self.lines.put_nowait(line)

    async def read(self, default: str = "") -> str:
        return await self.lines.get()

    def forget_history(self) -> None:
        return None


async def test_a_piped_answer_picks_a_numbered_choice(core, fake_router):
    fake_router.queue(asking_script())
    fake_router.queue(text_script(ANSWER))
    out = io.StringIO()
    app = ConsoleApp(core, Console(file=out, width=100, force_terminal=False), user="tester", reader=ScriptedLines("2"))
    await app.start()
    await asyncio.wait_for(app.handle_line("How do I install it?"), 10)
    shown = out.getvalue()
    assert "❓ Which Python do you mean?" in shown
    assert "1. Python 3.12" in shown and "2. Python 2.7" in shown and "Or type your own answer." in shown
    assert tool_results(fake_router.requests[-1]) == ["The user's answer: Python 2.7"]
    assert ANSWER in shown


@pytest.fixture
def keyboard():
    with create_pipe_input() as pipe:
        yield pipe


async def test_at_the_live_keyboard_the_next_line_answers_in_ones_own_words(core, fake_router, keyboard, tmp_path):
    fake_router.queue(asking_script())
    fake_router.queue(text_script(ANSWER))
    out = io.StringIO()
    reader = PromptReader(tmp_path / "history", keyboard=keyboard, output=DummyOutput())
    app = ConsoleApp(core, Console(file=out, width=100, force_terminal=False), user="tester", reader=reader)
    running = asyncio.create_task(app.run())
    keyboard.send_text("How do I install it?" + ENTER)
    for _ in range(200):
        if "❓ Which Python" in out.getvalue():
            break
        await asyncio.sleep(0.02)
    keyboard.send_text("the one in my distro" + ENTER)
    for _ in range(200):
        if ANSWER in out.getvalue():
            break
        await asyncio.sleep(0.02)
    keyboard.send_text("/quit" + ENTER)
    await asyncio.wait_for(running, 5)
    assert tool_results(fake_router.requests[-1]) == ["The user's answer: the one in my distro"]
    assert ANSWER in out.getvalue()
    assert len(fake_router.requests) == 2  # the line answered the question: it was not sent as a new message
