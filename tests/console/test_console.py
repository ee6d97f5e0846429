"""The terminal front end against the scripted router: commands and their messages."""

import io

from rich.console import Console

from bots.console.app import ConsoleApp
from tests.fakes.fake_router import text_script
from tests.support.console import make_app


async def test_continue_and_retry(core, fake_router):
    app, out = await make_app(core)
    fake_router.queue(text_script("Once upon", finish="length"))
    await app.handle_line("tell me a story")
    assert "Continue picks it up" in out.getvalue()
    fake_router.queue(text_script(" a time, the end."))
    await app.handle_line("/continue")
    conversation = await core.chat.conversations.for_key(app.key)
    messages = await core.store.recent_messages(conversation.id, 10)
    assert messages[-1].content == "Once upon a time, the end."
    fake_router.queue(text_script("A different story."))
    await app.handle_line("/retry")
    messages = await core.store.recent_messages(conversation.id, 10)
    assert [m.content for m in messages] == ["tell me a story", "A different story."]


async def test_help_new_list_open_and_unknown(core, fake_router):
    app, out = await make_app(core)
    await app.handle_line("/help")
    await app.handle_line("first topic")
    first = app.thread
    await app.handle_line("/new")
    await app.handle_line("second topic")
    await app.handle_line("/list")
    await app.handle_line("/open 2")
    assert app.thread == first
    await app.handle_line("/nope")
    await app.handle_line("/continue")  # the last answer is complete
    text = out.getvalue()
    assert "/model" in text and "first topic" in text and "second topic" in text
    assert "Unknown command /nope" in text and "nothing to continue" in text
    assert await app.handle_line("/quit") is False


async def test_a_uid_without_a_passwd_entry_still_gets_a_name(core, monkeypatch):
    import getpass
    import os

    def no_entry() -> str:
        raise KeyError(f"getpwuid(): uid not found: {os.getuid()}")

    monkeypatch.setattr(getpass, "getuser", no_entry)  # `docker run --user 12345`
    app = ConsoleApp(core, Console(file=io.StringIO()))
    assert app.actor.user_id == f"uid{os.getuid()}"
