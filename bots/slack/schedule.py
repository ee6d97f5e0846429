"""Scheduled prompts on Slack: `/schedule ...` (also `/hfchat schedule ...`), whose words, rules and claims are the
core's (core.schedules), and each run: a message in the channel saying whose prompt it is and when it runs, the
answer streamed in its thread, where people go on."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError

from bots.slack.adapter import PLATFORM, SlackAdapter
from bots.slack.calls import slack_error
from bots.slack.invocation import Invocation
from bots.slack.text import neutralize
from bots.slack.views import markdown_blocks
from core.errors import NotAllowed, UserFacingError
from core.keys import Actor, ConversationKey
from core.records import Schedule

log = logging.getLogger(__name__)


async def schedule_command(slack: SlackAdapter, invocation: Invocation, text: str) -> None:
    key = ConversationKey(PLATFORM, invocation.team, invocation.channel, "")
    words = text.strip().split()
    creating = bool(words) and words[0].lower() not in ("list", "delete", "remove", "cancel", "allow", "help")
    if creating and not invocation.channel.startswith("D") and not await _bot_is_in(slack, invocation.channel):
        raise NotAllowed("Invite me to this channel first: each run posts here.")
    actor = await slack.actor(invocation.team, invocation.user, fresh=True)  # admin rights decide some of it
    direct = invocation.channel.startswith("D")
    await invocation.reply(await slack.chat.schedules.command(actor, key, text, direct=direct))


async def _bot_is_in(slack: SlackAdapter, channel: str) -> bool:
    try:
        return bool((await slack.client.conversations_info(channel=channel))["channel"].get("is_member"))
    except SlackApiError as exc:
        log.info("conversations.info failed: %s", slack_error(exc))
        return False


def announcement(schedule: Schedule) -> str:
    quoted = "\n".join("> " + line for line in schedule.prompt[:2500].split("\n"))
    owner = schedule.owner_name or "someone"
    return neutralize(f"⏰ **Scheduled prompt** by {owner} ({schedule.described}):\n{quoted}")


class SlackSchedules:
    """The core's ScheduleTarget for Slack: each run in the schedule's workspace, with that workspace's token."""

    def __init__(self, slack: SlackAdapter):
        self.slack = slack

    def handles(self, schedule: Schedule) -> bool:
        return True

    async def run(self, schedule: Schedule) -> None:
        slack = self.slack
        slack.bind_client(await slack.client_for(schedule.workspace))  # this task talks to that workspace
        text = announcement(schedule)
        try:
            root = await slack.client.chat_postMessage(
                channel=schedule.channel, text=text[:3000], blocks=markdown_blocks(text)
            )
        except SlackApiError as exc:
            log.warning("schedule %s: could not post its run: %s", schedule.id, slack_error(exc))
            return
        thread = root["ts"]
        key = ConversationKey(PLATFORM, schedule.workspace, schedule.channel, thread)
        actor = Actor(PLATFORM, schedule.owner_id, schedule.owner_name, schedule.workspace)
        sink = slack.sink(schedule.workspace, schedule.channel, thread, schedule.owner_id)
        try:
            submitted = await slack.chat.submit(key, actor, schedule.prompt, sink, title=schedule.prompt[:80])
        except UserFacingError as exc:  # past the owner's limits, a model gone: said where the answer would be
            await slack.post(schedule.channel, str(exc), thread)
            return
        slack.track_reply(submitted.reply)


def wire_schedules(slack: SlackAdapter, app: Any) -> None:
    slack.chat.scheduled_runs.serve(PLATFORM, SlackSchedules(slack))
