"""`/compare MODEL1,MODEL2 PROMPT`: once the core has accepted the request (models, limits), the bot posts the
prompt, and each model answers it in a reply of that thread, streamed side by side through the core's engine."""

from __future__ import annotations

import asyncio

from bots.slack.adapter import PLATFORM, SlackAdapter
from bots.slack.invocation import Invocation
from bots.slack.text import neutralize
from bots.slack.views import quote
from core.commands.text import parse_compare
from core.errors import UserFacingError
from core.keys import ConversationKey


async def compare(slack: SlackAdapter, inv: Invocation, text: str) -> None:
    models, prompt = parse_compare(text, usage=inv.usage)
    actor = await slack.actor(inv.team, inv.user)
    root: dict[str, str] = {}  # the bot's message that opens the comparison's thread, once posted

    async def post_root(names: list[str]) -> None:  # the core's checks passed: nothing is posted before
        listed = ", ".join(f"`{m}`" for m in names)
        header = neutralize(f"⚖️ {actor.display_name or 'Someone'} compares {listed}:\n{quote(prompt)}")
        root["ts"] = (await slack.post_root(inv.channel, header, inv.thread if inv.in_thread else None))["ts"]

    def sink_for(model: str):
        return slack.sink(inv.team, inv.channel, inv.thread if inv.in_thread else root["ts"], inv.user)

    async def answer() -> None:
        """One thread reply per model; what the core refuses is told to the one who asked."""
        try:
            await slack.chat.comparer.compare(
                ConversationKey(PLATFORM, inv.team, inv.channel), actor, prompt, models, sink_for, on_start=post_root
            )
        except UserFacingError as exc:
            if root:  # refused after the header went up: nothing was answered under it
                await slack.delete_quietly(inv.channel, root["ts"])
            await inv.reply(str(exc))

    slack.track_reply(asyncio.create_task(answer(), name="slack-compare"))
