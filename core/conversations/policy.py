"""What a channel lets the bot do, set by its admins: how it answers a mention at the top of the channel (open a
thread, answer inline, or not at all) and whether it answers follow-ups in its threads without a mention."""

from __future__ import annotations

from core.errors import InvalidSetting, NotAllowed
from core.keys import Actor
from core.records import Scope
from core.store.base import Store

MENTION_MODES = ("thread", "inline", "off")
MENTIONS = "mention_mode"
FOLLOW_UPS = "slack_thread_replies"  # stored name kept from when only Slack had it: "off" turns follow-ups off


class ChannelPolicy:
    def __init__(self, store: Store):
        self.store = store

    async def mention_mode(self, platform: str, workspace: str, channel: str) -> str:
        mode = await self.store.get_setting(platform, workspace, Scope.CHANNEL, channel, MENTIONS)
        return mode if mode in MENTION_MODES else "thread"

    async def follow_ups(self, platform: str, workspace: str, channel: str) -> bool:
        return await self.store.get_setting(platform, workspace, Scope.CHANNEL, channel, FOLLOW_UPS) != "off"

    async def set_mention_mode(self, actor: Actor, workspace: str, channel: str, mode: str) -> None:
        self._check_admin(actor, workspace, "change how I answer mentions")
        if mode not in MENTION_MODES:
            raise InvalidSetting(f"Pick one of: {', '.join(MENTION_MODES)}.")
        await self.store.set_setting(actor.platform, workspace, Scope.CHANNEL, channel, MENTIONS, mode)

    async def set_follow_ups(self, actor: Actor, workspace: str, channel: str, on: bool) -> None:
        self._check_admin(actor, workspace, "change this")
        await self.store.set_setting(
            actor.platform, workspace, Scope.CHANNEL, channel, FOLLOW_UPS, None if on else "off"
        )

    @staticmethod
    def _check_admin(actor: Actor, workspace: str, what: str) -> None:
        if not workspace:
            raise NotAllowed("This is a channel setting: use it in a channel of a server or workspace.")
        if not actor.is_admin or actor.workspace != workspace:
            raise NotAllowed(f"Only an admin can {what}.")
