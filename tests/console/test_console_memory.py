"""Memory in the terminal (issue 16): `/memory` numbered, `/memory forget N`, `clear`, `on|off`; "remember that …"
kept only when on; the model's suggestion asked y/n after its answer, kept only on y."""

from __future__ import annotations

import io

from rich.console import Console

from bots.console.app import ConsoleApp
from core.tools.remember import NAME
from tests.fakes.fake_router import text_script, tool_calls_script

CANARY = "canary-console-91c4-uses-zsh"


def system_prompt(request: dict) -> str:
    return "\n".join(m["content"] for m in request["messages"] if m["role"] == "system")


async def terminal(core, user="carol") -> tuple[ConsoleApp, io.StringIO]:
    out = io.StringIO()
    app = ConsoleApp(core, Console(file=out, width=160, color_system=None), user=user)
    await app.start()
    return app, out


async def facts(core, user="carol") -> list[str]:
    return [m.fact for m in await core.store.list_memories("console", "local", user)]


async def test_remember_that_is_kept_only_when_on_and_used_in_the_next_request(core, fake_router):
    app, out = await terminal(core)
    fake_router.queue(text_script("Noted."))
    await app.handle_line(f"remember that {CANARY}")
    assert await facts(core) == [] and "Memory is off" in out.getvalue()
    await app.handle_line("/memory on")
    fake_router.queue(text_script("Noted."))
    await app.handle_line(f"remember that {CANARY}")
    assert await facts(core) == [CANARY]
    fake_router.queue(text_script("zsh."))
    await app.handle_line("Which shell do I use?")
    assert CANARY in system_prompt(fake_router.requests[-1])
    # another person on this machine's terminal: not theirs
    other, _ = await terminal(core, user="dave")
    await other.handle_line("/memory on")
    fake_router.queue(text_script("No idea."))
    await other.handle_line("Which shell do I use?")
    assert CANARY not in str(fake_router.requests[-1])


async def test_the_list_is_numbered_and_forget_n_deletes_that_item(core):
    app, out = await terminal(core)
    await app.handle_line("/memory on")
    for fact in ("alpha", "beta", "gamma"):
        await core.chat.memory.keep(app.actor, app.key, fact)
    await app.handle_line("/memory")
    assert "1. alpha" in out.getvalue() and "2. beta" in out.getvalue() and "3. gamma" in out.getvalue()
    await app.handle_line("/memory forget 2")
    assert await facts(core) == ["alpha", "gamma"] and "Deleted from your memory: “beta”" in out.getvalue()
    await app.handle_line("/memory forget 9")
    assert "There is no item 9" in out.getvalue()
    await app.handle_line("/memory clear")
    assert await facts(core) == []
    await app.handle_line("/memory off")
    assert not await core.chat.memory.is_on("console", "local", "carol")


async def test_a_suggestion_is_asked_y_n_after_the_answer_and_kept_only_on_y(core, fake_router):
    app, out = await terminal(core)
    await app.handle_line("/memory on")
    fake_router.queue(tool_calls_script((NAME, {"fact": CANARY})))
    fake_router.queue(text_script("Here is your prompt config."))
    await app.handle_line("I use zsh; make me a prompt")
    shown = out.getvalue()
    assert f"🧠 Remember this? “{CANARY}” (y/n)" in shown
    assert shown.index("Here is your prompt config.") < shown.index("Remember this?")
    assert await facts(core) == []
    await app.handle_line("y")
    assert await facts(core) == [CANARY]
    assert len(fake_router.requests) == 2  # "y" answered the question; it was not sent to the model


async def test_n_or_another_message_keeps_nothing(core, fake_router):
    app, out = await terminal(core)
    await app.handle_line("/memory on")
    fake_router.queue(tool_calls_script((NAME, {"fact": CANARY})))
    fake_router.queue(text_script("OK."))
    await app.handle_line("I use zsh")
    await app.handle_line("n")
    assert await facts(core) == [] and "Not kept." in out.getvalue()
    assert len(fake_router.requests) == 2  # "n" was the answer, not a message
    fake_router.queue(tool_calls_script((NAME, {"fact": CANARY})))
    fake_router.queue(text_script("OK."))
    await app.handle_line("I use zsh")
    fake_router.queue(text_script("Sure."))
    await app.handle_line("something else entirely")  # not an answer: a message, and the suggestion is not kept
    assert len(fake_router.requests) == 5 and await facts(core) == []
    await app.handle_line("y")  # too late: nothing is waiting for it
    assert await facts(core) == []
