"""`/settings`, `/hfchat settings` and `@me set ...`: each setting's value and where it comes from, or one
changed (in a thread, `@me set` changes that thread; channel and workspace: admins, checked by the core)."""

from __future__ import annotations

from bots.slack.adapter import SlackAdapter
from bots.slack.invocation import Invocation
from bots.slack.views import clip, settings_lines
from core.commands.text import parse_set, scope_phrase
from core.errors import InvalidSetting
from core.records import Scope

SETTINGS_HINT = (
    "Change one: `/settings NAME VALUE` (yours), `/settings channel NAME VALUE` or `/settings workspace NAME VALUE` "
    "(admins); in a thread, `@me set NAME VALUE` changes that thread. `default` as the value clears it."
)


async def settings(slack: SlackAdapter, inv: Invocation, text: str) -> None:
    default_scope = Scope.CONVERSATION if inv.in_thread else Scope.USER
    command = parse_set(text, default_scope=default_scope, usage=inv.usage)
    if command.name is None:
        rows = await slack.chat.preferences.describe(inv.key, inv.user)
        where = "in this thread" if inv.in_thread else "in this conversation" if inv.thread else "here"
        lines = "\n".join(settings_lines(rows))
        await inv.reply(f"**Settings {where}** (value, and where it comes from)\n{lines}\n\n{SETTINGS_HINT}")
        return
    if command.scope is Scope.CONVERSATION and not inv.thread:
        raise InvalidSetting(
            "A slash command cannot tell which thread it was typed in: write `@me set NAME VALUE` in the "
            "thread, or choose me, channel or workspace."
        )
    place = command.scope in (Scope.CHANNEL, Scope.WORKSPACE)
    actor = await slack.actor(inv.team, inv.user, fresh=place)
    if command.name == "model":
        stored = await slack.chat.preferences.set_model(actor, inv.key, command.scope, command.value)
    else:
        stored = await slack.chat.preferences.set_option(actor, inv.key, command.scope, command.name, command.value)
    where = "this thread" if command.scope is Scope.CONVERSATION and inv.in_thread else scope_phrase(command.scope)
    if stored:
        shown = clip(" ".join(stored.replace("`", "'").split()), 200)
        await inv.reply(f"`{command.name}` is now `{shown}` for {where}.")
    else:
        await inv.reply(f"`{command.name}` is cleared for {where}.")
