"""The terminal chat as a REPL: prompt_toolkit reads real key sequences from a pipe (pastes, Ctrl-C,
Esc, /stop while an answer streams), against the scripted router."""

from __future__ import annotations

import asyncio
import io
import stat
import time

import pytest
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from rich.console import Console

from bots.console.app import ConsoleApp
from bots.console.repl import PromptReader
from core.records import MessageStatus
from tests.fakes.fake_router import text_script

PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"
ENTER, CTRL_C, CTRL_D, ESC = "\r", "\x03", "\x04", "\x1b"
SLOW_ANSWER = "word " * 200  # 40 pieces, 0.1 s apart: 4 s if nothing stops it


@pytest.fixture
def keyboard():
    with create_pipe_input() as pipe:
        yield pipe


async def start(core, keyboard, tmp_path):
    out = io.StringIO()
    reader = PromptReader(tmp_path / "history", keyboard=keyboard, output=DummyOutput())
    app = ConsoleApp(core, Console(file=out, width=100, force_terminal=False), user="tester", reader=reader)
    return app, out, asyncio.create_task(app.run())


async def until(condition, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while not await condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def messages(core, app):
    conversation = await core.chat.conversations.for_key(app.key)
    return [] if conversation is None else await core.store.recent_messages(conversation.id, 50)


async def test_a_three_line_paste_is_one_message_and_one_answer(core, fake_router, keyboard, tmp_path):
    app, _, running = await start(core, keyboard, tmp_path)
    keyboard.send_text(PASTE_START + "first line\nsecond line\r\nthird line" + PASTE_END + ENTER)
    await until(lambda: _answered(core, app))
    keyboard.send_text("/quit" + ENTER)
    await asyncio.wait_for(running, 5)
    stored = await messages(core, app)
    assert [m.role for m in stored] == ["user", "assistant"]
    assert stored[0].content == "first line\nsecond line\nthird line"
    assert len(fake_router.requests) == 1


async def _answered(core, app) -> bool:
    stored = await messages(core, app)
    return bool(stored) and stored[-1].role == "assistant" and stored[-1].status == MessageStatus.COMPLETE


async def test_a_20000_character_paste_reaches_the_length_check_whole(core, fake_router, keyboard, tmp_path):
    app, out, running = await start(core, keyboard, tmp_path)
    keyboard.send_text(PASTE_START + "x" * 20_000 + PASTE_END + ENTER)
    keyboard.send_text("/quit" + ENTER)
    await asyncio.wait_for(running, 5)
    assert "Your message is 20,000 characters; the limit is 16,000." in out.getvalue()
    assert await messages(core, app) == [] and fake_router.requests == []


@pytest.mark.parametrize("key", [CTRL_C, ESC, "/stop" + ENTER], ids=["ctrl-c", "esc", "/stop"])
async def test_a_key_stops_the_answer_at_once_and_keeps_what_it_wrote(core, fake_router, keyboard, tmp_path, key):
    app, _, running = await start(core, keyboard, tmp_path)
    fake_router.queue(text_script(SLOW_ANSWER, pieces=40, delay=0.1))
    keyboard.send_text("tell me a long story" + ENTER)
    await until(lambda: _has_text(core, app))
    pressed = time.monotonic()
    keyboard.send_text(key)
    await until(lambda: _settled(core, app))
    assert time.monotonic() - pressed < 1.5  # the answer had 3+ s to go
    stored = await messages(core, app)
    assert stored[-1].status == MessageStatus.STOPPED
    assert stored[-1].content.startswith("word") and len(stored[-1].content) < len(SLOW_ANSWER)
    assert not running.done()  # back at the prompt, not out of the chat
    fake_router.queue(text_script("Still here."))
    keyboard.send_text("and then?" + ENTER)
    await until(lambda: _answered(core, app))
    keyboard.send_text(CTRL_D)
    await asyncio.wait_for(running, 5)
    assert (await messages(core, app))[-1].content == "Still here."


async def _has_text(core, app) -> bool:
    stream = next((lane.current for lane in core.chat.replies._lanes.values() if lane.current is not None), None)
    return stream is not None and len(stream.state.answer) >= 10


async def _settled(core, app) -> bool:
    stored = await messages(core, app)
    return bool(stored) and stored[-1].role == "assistant" and stored[-1].status != MessageStatus.STREAMING


async def test_ctrl_c_at_an_idle_prompt_leaves_at_once(core, keyboard, tmp_path):
    _, _, running = await start(core, keyboard, tmp_path)
    await asyncio.sleep(0.2)
    keyboard.send_text(CTRL_C)
    await asyncio.wait_for(running, 2)


async def test_a_line_typed_during_an_answer_is_sent_after_it(core, fake_router, keyboard, tmp_path):
    app, _, running = await start(core, keyboard, tmp_path)
    fake_router.queue(text_script("first answer " * 10, pieces=10, delay=0.1))
    fake_router.queue(text_script("second answer"))
    keyboard.send_text("one" + ENTER)
    await until(lambda: _has_text(core, app))
    keyboard.send_text("two" + ENTER + "three, unfinished")
    await until(lambda: _answers(core, app, 2), within=8)
    keyboard.send_text(ENTER)  # the unfinished line waits at the prompt, whole
    await until(lambda: _answers(core, app, 3), within=8)
    keyboard.send_text("/quit" + ENTER)
    await asyncio.wait_for(running, 5)
    questions = [m.content for m in await messages(core, app) if m.role == "user"]
    assert questions == ["one", "two", "three, unfinished"]


async def _answers(core, app, count: int) -> bool:
    stored = await messages(core, app)
    done = [m for m in stored if m.role == "assistant" and m.status == MessageStatus.COMPLETE]
    return len(done) >= count


async def test_history_is_private_and_delete_all_erases_it(core, fake_router, keyboard, tmp_path):
    app, out, running = await start(core, keyboard, tmp_path)
    keyboard.send_text("remember this canary-71" + ENTER)
    await until(lambda: _answered(core, app))
    history = tmp_path / "history"
    assert "canary-71" in history.read_text()
    assert stat.S_IMODE(history.stat().st_mode) == 0o600
    keyboard.send_text("/delete all" + ENTER)
    await until(lambda: _gone(history))
    keyboard.send_text("/quit" + ENTER)
    await asyncio.wait_for(running, 5)
    assert "canary-71" not in (history.read_text() if history.exists() else "")
    assert "and what you typed" in out.getvalue()


async def _gone(path) -> bool:
    return not path.exists() or "canary-71" not in path.read_text()


@pytest.mark.parametrize("key", [CTRL_C, ESC], ids=["ctrl-c", "esc"])
async def test_a_key_pressed_before_the_first_word_keeps_the_message(core, fake_router, keyboard, tmp_path, key):
    from tests.fakes.fake_router import Sleep

    app, _, running = await start(core, keyboard, tmp_path)
    fake_router.queue([Sleep(1.0), *text_script("Too late.")])
    submit = core.chat.submit

    async def slow_submit(*args, **kwargs):  # a busy database: the message takes a moment to be stored
        await asyncio.sleep(0.3)
        return await submit(*args, **kwargs)

    core.chat.submit = slow_submit
    keyboard.send_text("a question the key cuts short" + ENTER)
    await asyncio.sleep(0.1)  # the key comes while the message is being taken, before any word
    keyboard.send_text(key)
    await until(lambda: _settled(core, app))
    stored = await messages(core, app)
    assert (stored[0].role, stored[0].content) == ("user", "a question the key cuts short")
    assert stored[-1].status == MessageStatus.STOPPED  # stopped, with Continue/Retry to pick it up
    keyboard.send_text(CTRL_D)
    await asyncio.wait_for(running, 5)


@pytest.mark.parametrize("key", [CTRL_C, ESC], ids=["ctrl-c", "esc"])
async def test_a_key_sent_with_the_enter_stops_that_answer(core, fake_router, keyboard, tmp_path, key):
    # what tmux's send-keys (or a fast hand) delivers: the line, Enter and the key in one read
    app, _, running = await start(core, keyboard, tmp_path)
    fake_router.queue(text_script(SLOW_ANSWER, pieces=40, delay=0.1))
    keyboard.send_text("tell me a long story" + ENTER + key)
    await until(lambda: _settled(core, app))
    stored = await messages(core, app)
    assert stored[0].content == "tell me a long story"
    assert stored[-1].status == MessageStatus.STOPPED
    await asyncio.sleep(0.3)
    assert not running.done()  # the key stopped the answer; it did not wait for it to end and then leave
    keyboard.send_text(CTRL_D)
    await asyncio.wait_for(running, 5)
