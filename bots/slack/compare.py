"""`/compare MODEL1,MODEL2 PROMPT`: the bot posts the prompt, and each model answers it in a reply of that
thread, streamed side by side through the core's engine."""

from __future__ import annotations

import asyncio

from bots.slack.adapter import PLATFORM, SlackAdapter
from bots.slack.invocation import Invocation
from bots.slack.text import neutralize
from bots.slack.views import quote
from core.commands.text import parse_compare
from core.errors import UserFacingError
from core.keys import Actor, ConversationKey
from core.replies.compare import check_models


async def compare(slack: SlackAdapter, inv: Invocation, text: str) -> None:
    models, prompt = parse_compare(text, usage=inv.usage)
    names = [slack.core.catalog.validate(m) for m in check_models(models)]  # before anything is posted
    actor = await slack.actor(inv.team, inv.user)
    listed = ", ".join(f"`{m}`" for m in names)
    header = neutralize(f"⚖️ {actor.display_name or 'Someone'} compares {listed}:\n{quote(prompt)}")
    root = await slack.post_root(inv.channel, header, inv.thread if inv.in_thread else None)
    thread = inv.thread if inv.in_thread else root["ts"]
    answers = _answer(slack, inv, actor, prompt, names, thread, root["ts"])
    slack.track_reply(asyncio.create_task(answers, name="slack-compare"))


async def _answer(
    slack: SlackAdapter, inv: Invocation, actor: Actor, prompt: str, names: list[str], thread: str, root_ts: str
) -> None:
    """One thread reply per model, streamed side by side through the core engine."""
    try:
        await slack.chat.compare(
            ConversationKey(PLATFORM, inv.team, inv.channel),
            actor,
            prompt,
            names,
            lambda model: slack.sink(inv.team, inv.channel, thread, inv.user),
        )
    except UserFacingError as exc:  # a limit, or a model refused: nothing was answered
        await slack.delete_quietly(inv.channel, root_ts)
        await inv.reply(str(exc))
