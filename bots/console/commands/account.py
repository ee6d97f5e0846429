"""The terminal's /account: `connect` reads the token at a prompt that does not echo it (and keeps it out of the
input history), `status`, `disconnect`; the words are the core's (core.commands.account)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.markdown import Markdown

from core.commands.account import TOKEN_HINT, action_of

if TYPE_CHECKING:
    from bots.console.app import ConsoleApp

SECRET_PROMPT = "Hugging Face token (not shown as you type): "


def is_connect(line: str) -> bool:
    """`/account connect`: read before the answer keys take the keyboard, so nothing else sees the token typed."""
    name, _, arg = line.strip().partition(" ")
    return name == "/account" and action_of(arg)[0] == "connect"


async def account(app: ConsoleApp, arg: str) -> None:
    if action_of(arg)[0] == "connect" and app.chat.accounts.enabled:
        app.say(TOKEN_HINT, "dim")
        token = await app.read_secret(SECRET_PROMPT)
        app.console.print(Markdown((await app.chat.accounts.connect(app.actor, token)).text))
        return
    app.console.print(Markdown(await app.chat.account(app.actor, app.key, arg)))


HANDLERS = {"account": account}
