"""The terminal chat in a real terminal: `hfchat console` on a pseudo-terminal (raw mode, the tty path the pipe-fed
REPL tests do not take), keys sent as a terminal sends them, and the screen read back through a terminal emulator
(pyte), as one would drive it in tmux with send-keys and capture-pane."""

from __future__ import annotations

import asyncio
import time

import pexpect
import pyte
import pytest

from tests.e2e.test_cli import ROOT, env
from tests.fakes.fake_router import text_script

ROWS, COLS = 30, 100
ENTER, CTRL_C, UP = "\r", "\x03", "\x1b[A"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"


class Terminal:
    """A real pty running `hfchat console`, its output fed to an emulated screen."""

    def __init__(self, environment: dict):
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.child = pexpect.spawn(
            ".venv/bin/python" if (ROOT / ".venv/bin/python").exists() else "python",
            ["-m", "bots.cli", "console"],
            cwd=str(ROOT),
            env=environment,
            dimensions=(ROWS, COLS),
        )

    def pump(self) -> None:
        while True:
            try:
                data = self.child.read_nonblocking(65536, timeout=0)
            except (pexpect.TIMEOUT, pexpect.EOF):
                return
            self.stream.feed(data)

    def text(self) -> str:
        self.pump()
        return "\n".join(line.rstrip() for line in self.screen.display)

    def send(self, keys: str) -> None:
        self.child.send(keys)

    async def until(self, predicate, within: float = 15.0, what: str = "") -> float:
        """Wait (without blocking the loop the fake router runs on) until predicate(screen text) holds."""
        started = time.monotonic()
        while not predicate(self.text()):
            if time.monotonic() - started > within:
                raise AssertionError(f"timed out waiting for {what}; the screen:\n{self.text()}")
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    async def exited(self, within: float) -> bool:
        deadline = time.monotonic() + within
        while self.child.isalive() and time.monotonic() < deadline:
            self.pump()
            await asyncio.sleep(0.05)
        return not self.child.isalive()

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


@pytest.fixture
def terminal(tmp_path, fake_router):
    environment = env(tmp_path, HF_ROUTER_URL=fake_router.url, DATA_DIR=str(tmp_path / "data"), TERM="xterm")
    term = Terminal(environment)
    yield term
    term.close()


def prompt_is_ready(screen: str) -> bool:
    """The last non-empty line is the empty prompt."""
    lines = [line for line in screen.splitlines() if line.strip()]
    return bool(lines) and lines[-1].strip() == ">"


def asked(fake_router, words: str) -> list[dict]:
    """The answer requests (not title requests) whose last user message is `words`."""
    return [r for r in fake_router.requests if r["messages"][-1]["content"] == words]


async def test_ctrl_c_mid_answer_in_a_real_terminal_stops_it_keeps_the_text_and_returns_to_the_prompt(
    terminal, fake_router
):
    await terminal.until(prompt_is_ready, what="the first prompt")
    fake_router.queue(text_script("alpha " * 150, pieces=60, delay=0.1))  # 6 s if nothing stops it
    terminal.send("tell me a story" + ENTER)
    await terminal.until(lambda s: s.count("alpha") >= 5, what="the answer streaming")
    terminal.send(CTRL_C)
    took = await terminal.until(lambda s: "Stopped." in s, within=3, what="Stopped.")
    assert took < 1.5
    await terminal.until(prompt_is_ready, within=3, what="the prompt after the stop")
    screen = terminal.text()
    assert "alpha" in screen and "Traceback" not in screen
    # the router request was cancelled, not left running: nothing more left the router after the stop
    written = len(fake_router.streams[0].text)
    await asyncio.sleep(1.0)
    assert len(fake_router.streams[0].text) == written < len("alpha " * 150)
    # typed input shows again at once (the screen did not freeze), and the next message is answered
    terminal.send("again" + ENTER)
    await terminal.until(lambda s: "Hello from the fake router." in s, what="the next answer")
    assert len(asked(fake_router, "again")) == 1


async def test_a_pasted_block_is_one_message_up_recalls_it_and_ctrl_c_at_the_prompt_leaves(terminal, fake_router):
    await terminal.until(prompt_is_ready, what="the first prompt")
    terminal.send(PASTE_START + "line one\nline two\nline three" + PASTE_END)
    await asyncio.sleep(0.3)
    assert not fake_router.requests  # a paste with newlines is not sent until Enter
    terminal.send(ENTER)
    await terminal.until(lambda s: "Hello from the fake router." in s, what="the answer")
    await terminal.until(prompt_is_ready, what="the prompt")
    assert len(asked(fake_router, "line one\nline two\nline three")) == 1
    assert not asked(fake_router, "line one") and not asked(fake_router, "line two")
    terminal.send(UP)  # history brings the pasted message back into the input
    await terminal.until(lambda s: s.count("line three") >= 2, within=3, what="history recall")
    terminal.send(CTRL_C)  # Ctrl-C at the prompt leaves at once
    assert await terminal.exited(within=3), terminal.text()
