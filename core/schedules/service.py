"""Scheduled prompts: who may schedule where, how many, listing and deleting them, and the words of `/schedule`.

In a channel of a workspace, by its members (anyone who can use the command there) unless its admins narrowed it to
admins, or turned schedules off. A schedule runs as its owner (their limits, their model settings) and is erased
with their data; its owner or an admin of the workspace deletes it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from core.errors import InvalidSetting, NotAllowed, NotFound
from core.keys import Actor, ConversationKey
from core.records import Schedule, Scope
from core.schedules.spec import HELP, parse_schedule
from core.store.base import Store

WHO = "schedules"  # the channel setting: members (default), admins or off
WHO_MAY = ("members", "admins", "off")
PER_CHANNEL = 10
PER_OWNER = 5  # in one workspace
USAGE = f"{HELP} Also `/schedule list`, `/schedule delete N`, and for admins `/schedule allow members|admins|off`."


@dataclass(frozen=True, slots=True)
class ScheduleConfig:
    default_zone: str = "UTC"
    min_interval_minutes: float = 60.0


class ScheduleService:
    def __init__(self, store: Store, config: ScheduleConfig):
        self.store = store
        self.config = config

    async def command(
        self, actor: Actor, key: ConversationKey, text: str, *, direct: bool = False, now: float | None = None
    ) -> str:
        """What `/schedule TEXT` typed at `key` does, and the answer to show (only to the one who typed it).
        `direct`: typed in a direct message (where there is no channel to run in)."""
        if direct:
            _in_channel(ConversationKey(key.platform, "", key.channel))
        words = text.strip().split()
        first = words[0].lower() if words else ""
        if not words or first in ("help", "?"):
            return USAGE
        if first == "list" and len(words) == 1:
            return await self.describe(key)
        if first in ("delete", "remove", "cancel") and len(words) == 2:
            gone = await self.delete(actor, key, words[1])
            return f"Deleted schedule {words[1].lstrip('#')}: “{gone.prompt}” ({gone.described})."
        if first == "allow" and len(words) == 2:
            await self.set_who(actor, key, words[1].lower())
            return {
                "members": "Anyone in this channel may now schedule prompts here.",
                "admins": "Only admins may now schedule prompts in this channel.",
                "off": "Scheduled prompts are now off in this channel (the existing ones keep running until deleted).",
            }[words[1].lower()]
        created = await self.create(actor, key, text, now=now)
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(created.next_run))
        return (
            f"Scheduled “{created.prompt}” {created.described}: each run opens a new thread here with the answer, "
            f"and anyone can go on in it. First run: {when}. `/schedule list` shows this channel's schedules."
        )

    async def who_may(self, key: ConversationKey) -> str:
        value = await self.store.get_setting(key.platform, key.workspace, Scope.CHANNEL, key.channel, WHO)
        return value if value in WHO_MAY else "members"

    async def set_who(self, actor: Actor, key: ConversationKey, mode: str) -> None:
        _in_channel(key)
        if not actor.is_admin or actor.workspace != key.workspace:
            raise NotAllowed("Only an admin can choose who may schedule prompts in this channel.")
        if mode not in WHO_MAY:
            raise InvalidSetting(f"Pick one of: {', '.join(WHO_MAY)}.")
        await self.store.set_setting(
            key.platform, key.workspace, Scope.CHANNEL, key.channel, WHO, None if mode == "members" else mode
        )

    async def create(self, actor: Actor, key: ConversationKey, text: str, *, now: float | None = None) -> Schedule:
        _in_channel(key)
        if actor.platform != key.platform or actor.workspace != key.workspace:
            raise NotAllowed("Schedule prompts from the workspace they run in.")
        allowed = await self.who_may(key)
        if allowed == "off" or (allowed == "admins" and not actor.is_admin):
            who = "turned off" if allowed == "off" else "only for admins"
            raise NotAllowed(f"Scheduled prompts are {who} in this channel.")
        prompt, when = parse_schedule(text, self.config.default_zone, self.config.min_interval_minutes)
        here = await self.store.list_schedules(key.platform, key.workspace, channel=key.channel)
        if len(here) >= PER_CHANNEL:
            raise NotAllowed(f"This channel has {PER_CHANNEL} schedules already; delete one first.")
        mine = await self.store.list_schedules(key.platform, key.workspace, owner_id=actor.user_id)
        if len(mine) >= PER_OWNER:
            raise NotAllowed(f"You have {PER_OWNER} schedules in this workspace already; delete one first.")
        moment = time.time() if now is None else now
        schedule = Schedule(
            platform=key.platform,
            workspace=key.workspace,
            channel=key.channel,
            owner_id=actor.user_id,
            owner_name=actor.display_name,
            prompt=prompt,
            cron=when.cron,
            zone=when.zone,
            described=when.described,
            next_run=when.next_after(moment),
        )
        return await self.store.add_schedule(schedule)

    async def listed(self, key: ConversationKey) -> list[Schedule]:
        return await self.store.list_schedules(key.platform, key.workspace, channel=key.channel)

    async def describe(self, key: ConversationKey) -> str:
        """The channel's schedules, numbered as `/schedule delete N` takes them."""
        _in_channel(key)
        found = await self.listed(key)
        if not found:
            return "No prompts are scheduled in this channel. " + HELP
        lines = ["Scheduled in this channel:"]
        for number, schedule in enumerate(found, start=1):
            when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(schedule.next_run))
            owner = schedule.owner_name or "someone"
            lines.append(f"{number}. “{schedule.prompt}” {schedule.described}, by {owner}; next: {when}")
        lines.append("`/schedule delete N` deletes one (its owner or an admin).")
        return "\n".join(lines)

    async def delete(self, actor: Actor, key: ConversationKey, number: str) -> Schedule:
        _in_channel(key)
        found = await self.listed(key)
        choice = number.lstrip("#")
        if not choice.isdigit() or not 1 <= int(choice) <= len(found):
            raise NotFound(f"There is no schedule number {choice[:10]} here; `/schedule list` numbers them.")
        schedule = found[int(choice) - 1]
        admin_here = actor.is_admin and actor.workspace == schedule.workspace
        if schedule.owner_id != actor.user_id and not admin_here:
            raise NotAllowed("Only the schedule's owner or an admin can delete it.")
        await self.store.delete_schedule(schedule.id)
        return schedule


def _in_channel(key: ConversationKey) -> None:
    if not key.workspace:
        raise NotAllowed("Schedules live in a channel of a server or workspace, not in direct messages.")
