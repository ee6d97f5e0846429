"""`/usage` (tokens and cost: yours, or the workspace's with each person's share for admins) and `/limits`
(shown to everyone, changed by admins: the core checks)."""

from __future__ import annotations

import asyncio

from bots.slack.adapter import PLATFORM, SlackAdapter
from bots.slack.invocation import Invocation
from core.commands.text import parse_limits, parse_usage
from core.usage.accounting import format_usage


async def usage(slack: SlackAdapter, inv: Invocation, text: str) -> None:
    command = parse_usage(text)
    if not command.everyone:
        actor = await slack.actor(inv.team, inv.user)
        await inv.reply(format_usage(await slack.chat.usage.for_user(actor, command.days)))
        return
    actor = await slack.actor(inv.team, inv.user, fresh=True)
    summary = await slack.chat.usage.for_workspace(actor, inv.key, command.days)
    people = await asyncio.gather(*(slack.actor(inv.team, line.label) for line in summary.by_user))
    names = {person.user_id: person.display_name or person.user_id for person in people}
    await inv.reply(format_usage(summary, people=True, user_names=names))


async def limits(slack: SlackAdapter, inv: Invocation, text: str) -> None:
    name, value = parse_limits(text)
    if name is None:
        limits = await slack.chat.limits.get(PLATFORM, inv.team)
        hint = f"\n\nAdmins change one with `{inv.usage} NAME VALUE` (`none` removes it)."
        await inv.reply("**Limits in this workspace**\n" + limits.describe() + hint)
        return
    actor = await slack.actor(inv.team, inv.user, fresh=True)
    limits = await slack.chat.limits.set(actor, inv.key, name, value)
    await inv.reply("Updated. **Limits in this workspace**\n" + limits.describe())
