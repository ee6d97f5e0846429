"""The terminal's settings: /model, /set, /system, /search and /limits, as text over the core's settings (each
setting's values, scopes and who may set it are the core's; the terminal's user is this workspace's admin)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.table import Table

from bots.console.commands.models import show_models
from core.commands.text import SCOPE_WORDS, parse_limits, parse_set, scope_phrase
from core.records import Scope
from core.settings.scopes import model_scope

if TYPE_CHECKING:
    from bots.console.app import ConsoleApp


async def model(app: ConsoleApp, arg: str) -> None:
    conversation = await app.chat.conversations.here(app.key)
    if not arg:
        choice = await app.chat.preferences.model_choice(app.key, app.actor.user_id, conversation=conversation)
        app.say(f"Model: {choice.model} ({choice.source})")
        return
    if arg.split(" ")[0] == "list":
        await show_models(app, arg[4:])
        return
    # the terminal is always in a conversation: /model NAME is that conversation's
    scope = model_scope(app.actor, app.key, None, in_conversation=True)
    chosen = await app.chat.preferences.set_model(app.actor, app.key, scope, arg)
    app.say(f"This conversation now uses {chosen}.")


async def settings(app: ConsoleApp, arg: str) -> None:
    if not arg:
        table = Table("setting", "value", "from")
        for option, value, where in await app.chat.preferences.describe(app.key, app.actor.user_id):
            shown = value if value is None or len(value) < 60 else value[:57] + "…"
            table.add_row(option, shown or "-", where or "")
        app.console.print(table)
        return
    command = parse_set(arg)
    scope, option = command.scope, command.name
    stored = await app.chat.preferences.change(app.actor, app.key, scope, option, command.value)
    where = scope_phrase(scope)
    app.say(f"{option} is now {stored} for {where}." if stored else f"{option} cleared for {where}.")


async def search(app: ConsoleApp, arg: str) -> None:
    """`/search on|off`: web search for you (models with tools only); same as `/set web_search on|off`."""
    await settings(app, f"web_search {arg or 'on'}")


async def system(app: ConsoleApp, arg: str) -> None:
    scope = Scope.CONVERSATION
    first, _, rest = arg.partition(" ")
    if first.lower() in ("channel", "workspace"):
        scope, arg = SCOPE_WORDS[first.lower()], rest.strip()
    if not arg:
        rows = {n: (v, w) for n, v, w in await app.chat.preferences.describe(app.key, app.actor.user_id)}
        value, where = rows["system_prompt"]
        app.say(f"System prompt ({where}): {value}" if value else "No system prompt is set.")
        return
    stored = await app.chat.preferences.set_option(app.actor, app.key, scope, "system_prompt", arg)
    where = "this conversation" if scope is Scope.CONVERSATION else f"the {scope.value}"
    app.say(f"System prompt set for {where}." if stored else f"System prompt cleared for {where}.")


async def limits(app: ConsoleApp, arg: str) -> None:
    """`/limits [NAME VALUE]`: show this workspace's limits, or change one."""
    limit, value = parse_limits(arg)
    if limit:
        current = await app.chat.limits.set(app.actor, app.key, limit, value)
    else:
        current = await app.chat.limits.get(app.key.platform, app.key.workspace)
    app.say(current.describe())


HANDLERS = {"model": model, "set": settings, "search": search, "system": system, "limits": limits}
