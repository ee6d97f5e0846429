"""Console commands for settings, assistants and usage: thin text over the core's use cases."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from rich.table import Table
from rich.text import Text

from core.commands.text import SCOPE_WORDS, parse_assistant, parse_set, parse_usage, scope_phrase
from core.records import Scope
from core.settings.assistants import describe
from core.usage.accounting import UsageLine, UsageSummary, cost_text

if TYPE_CHECKING:
    from bots.console.app import ConsoleApp


COMMANDS = ("set", "system", "assistant", "usage", "search")


async def handle(app: ConsoleApp, name: str, arg: str) -> None:
    await {"set": _set, "system": _system, "assistant": _assistant, "usage": _usage, "search": _search}[name](app, arg)


async def _search(app: ConsoleApp, arg: str) -> None:
    """`/search on|off`: web search for you (models with tools only); same as `/set web_search on|off`."""
    await _set(app, f"web_search {arg or 'on'}")


async def _set(app: ConsoleApp, arg: str) -> None:
    if not arg:
        table = Table("setting", "value", "from")
        for option, value, where in await app.chat.describe_settings(app.key, app.actor.user_id):
            shown = value if value is None or len(value) < 60 else value[:57] + "…"
            table.add_row(option, shown or "-", where or "")
        app.console.print(table)
        return
    command = parse_set(arg)
    scope, option = command.scope, command.name
    if option == "model":
        stored = await app.chat.set_model(app.actor, app.key, scope, command.value)
    else:
        stored = await app.chat.set_option(app.actor, app.key, scope, option, command.value)
    where = scope_phrase(scope)
    app.say(f"{option} is now {stored} for {where}." if stored else f"{option} cleared for {where}.")


async def _system(app: ConsoleApp, arg: str) -> None:
    scope = Scope.CONVERSATION
    first, _, rest = arg.partition(" ")
    if first.lower() in ("channel", "workspace"):
        scope, arg = SCOPE_WORDS[first.lower()], rest.strip()
    if not arg:
        rows = {n: (v, w) for n, v, w in await app.chat.describe_settings(app.key, app.actor.user_id)}
        value, where = rows["system_prompt"]
        app.say(f"System prompt ({where}): {value}" if value else "No system prompt is set.")
        return
    stored = await app.chat.set_option(app.actor, app.key, scope, "system_prompt", arg)
    where = "this conversation" if scope is Scope.CONVERSATION else f"the {scope.value}"
    app.say(f"System prompt set for {where}." if stored else f"System prompt cleared for {where}.")


async def _assistant(app: ConsoleApp, arg: str) -> None:
    command = parse_assistant(arg)
    action, name = command.action, command.name
    service = app.chat.assistants
    if action == "list":
        assistants = await service.list(app.actor, app.key)
        if not assistants:
            app.say("No assistants yet. Create one with /assistant new NAME instructions=...")
        for number, assistant in enumerate(assistants, 1):
            kind = "shared" if assistant.shared else "personal"
            app.say(f"{number:3d}. {assistant.name} ({kind}) · {assistant.model or 'default model'}")
        return
    if action == "new":
        assistant = await service.create(app.actor, app.key, name, **command.fields)
        app.console.print(describe(assistant), markup=False, highlight=False)
        app.say(f"Created. Start a conversation with it: /assistant use {assistant.name}")
    elif action == "edit":
        assistant = await service.edit(app.actor, app.key, name, **command.fields)
        app.console.print(describe(assistant), markup=False, highlight=False)
    elif action == "show":
        app.console.print(describe(await service.find(app.actor, app.key, name)), markup=False, highlight=False)
    elif action == "use":
        assistant = await service.use(app.actor, app.key, name)
        app.thread = str(time.time_ns())  # a conversation keeps its assistant: the new one starts fresh
        if assistant is None:
            app.say("New conversation, without an assistant.")
            return
        app.say(f"New conversation with {assistant.name}.")
        for number, starter in enumerate(assistant.starters, 1):
            app.say(f"  try {number}: {starter}")
    elif action == "delete":
        assistant = await service.delete(app.actor, app.key, name)
        app.say(f"Deleted the assistant {assistant.name}.")
    elif action == "channel":
        assistant = await service.set_channel_default(app.actor, app.key, name)
        app.say(f"New conversations here start with {assistant.name}." if assistant else "No channel assistant.")
    else:  # sharing
        await service.allow_members_to_share(app.actor, app.key, name == "on")
        app.say("Members may now create shared assistants." if name == "on" else "Only admins create shared ones.")


async def _usage(app: ConsoleApp, arg: str) -> None:
    command = parse_usage(arg)
    days = command.days
    if command.everyone:
        summary = await app.chat.usage.for_workspace(app.actor, app.key, days)
    else:
        summary = await app.chat.usage.for_user(app.actor, days)
    app.console.print(usage_table(summary, people=command.everyone))


def usage_table(summary: UsageSummary, *, people: bool = False) -> Table | Text:
    """One table: the total, then a section by model, by day and (for admins) by person."""
    if not summary.total.requests:
        return Text(f"{summary.title}, last {summary.days} days: nothing yet.")
    table = Table("", "answers", "tokens in", "tokens out", "cost", title=f"{summary.title}, last {summary.days} days")
    for column in table.columns[1:]:
        column.justify = "right"
    sections = [("by model", summary.by_model), ("by day (UTC)", summary.by_day)]
    if people:
        sections.append(("by person", summary.by_user))
    table.add_row(*_cells(summary.total, "total"), style="bold", end_section=True)
    for heading, lines in sections:
        table.add_row(Text(heading, style="dim italic"))
        for number, line in enumerate(lines, 1):
            table.add_row(*_cells(line, f"  {line.label}"), end_section=number == len(lines))
    if summary.total.estimated:
        table.caption = "~ marks an estimate: the provider's price was not known."
    return table


def _cells(line: UsageLine, label: str) -> list[str]:
    return [label, f"{line.requests:,}", f"{line.prompt_tokens:,}", f"{line.completion_tokens:,}", cost_text(line)]
