"""The terminal's /account: the token is read at a prompt that does not echo it (real key presses through
prompt_toolkit, what the terminal shows read back through pyte) and never reaches the input history; status and
disconnect; a refused token is told with the way back."""

from __future__ import annotations

import asyncio
import io
import time

import pyte
import pytest
from prompt_toolkit.data_structures import Size
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output.vt100 import Vt100_Output
from rich.console import Console

from bots.console.app import ConsoleApp
from bots.console.repl import PromptReader
from tests.fakes.fake_hub import FakeHub, HubUser
from tests.support.accounts import accounts_settings

TOKEN = "hf_terminal_0123456789abcdef"
ENTER = "\r"
WIDTH, HEIGHT = 100, 30


@pytest.fixture
async def hub():
    async with FakeHub() as hub:
        hub.add_token(TOKEN, HubUser("carol-hf", "Carol"))
        yield hub


@pytest.fixture
async def core(core_factory, fake_router, hub):
    return await core_factory(fake_router.url, **accounts_settings(hub.url))


async def until(condition, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


def terminal_text(raw: str) -> str:
    screen = pyte.HistoryScreen(WIDTH, HEIGHT, history=1000)
    pyte.Stream(screen).feed(raw.replace("\r\n", "\n").replace("\n", "\r\n"))
    scrolled = ["".join(row[x].data for x in range(WIDTH)) for row in screen.history.top]
    return "\n".join(scrolled + list(screen.display))


async def test_connect_reads_the_token_without_echo_and_keeps_it_out_of_the_history(core, fake_router, tmp_path):
    terminal = io.StringIO()  # everything the terminal receives: the prompts' output and the chat's
    output = Vt100_Output(terminal, lambda: Size(rows=HEIGHT, columns=WIDTH), term="xterm")
    with create_pipe_input() as keyboard:
        reader = PromptReader(tmp_path / "history", keyboard=keyboard, output=output)
        console = Console(file=terminal, width=WIDTH, force_terminal=True, color_system=None)
        app = ConsoleApp(core, console, user="carol", reader=reader)
        running = asyncio.create_task(app.run())
        keyboard.send_text("/account connect" + ENTER)
        await until(lambda: "not shown as you type" in terminal.getvalue())
        keyboard.send_text(TOKEN + ENTER)
        await until(lambda: "carol-hf" in terminal.getvalue())
        keyboard.send_text("/account status" + ENTER)
        await until(lambda: terminal.getvalue().count("carol-hf") >= 2)
        keyboard.send_text("/quit" + ENTER)
        await asyncio.wait_for(running, 5)
    shown = terminal_text(terminal.getvalue())
    assert "Connected to Hugging Face as" in shown and "*" * len(TOKEN) in shown  # stars, not the token
    assert TOKEN not in terminal.getvalue() and TOKEN not in shown
    history = (tmp_path / "history").read_text()
    assert "/account connect" in history and TOKEN not in history
    assert await core.store.get_account("console", "carol") is not None


async def test_status_disconnect_and_a_refused_token_piped(core, hub):
    out = io.StringIO()
    app = ConsoleApp(core, Console(file=out, width=WIDTH, force_terminal=False), user="carol")
    await app.start()

    async def typed(line: str) -> str:  # what LineReader would read from a pipe
        return line

    app.read_secret = lambda prompt: typed("hf_not_a_real_token_0123")  # type: ignore[method-assign]
    await app.handle_line("/account connect")
    assert "refused that token (401)" in out.getvalue() and "/account connect" in out.getvalue()
    app.read_secret = lambda prompt: typed(TOKEN)  # type: ignore[method-assign]
    await app.handle_line("/account connect")
    await app.handle_line("/account")
    assert "carol-hf" in out.getvalue()
    await app.handle_line("/account disconnect")
    assert "Disconnected" in out.getvalue() and await core.store.get_account("console", "carol") is None
