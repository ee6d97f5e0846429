"""What the bot keeps about itself, per platform: the slash command definitions it last synced, the installs
of a multi-workspace app and their OAuth states. Never anything a person wrote."""

from __future__ import annotations

from core.records import Scope
from core.store.base import Store


class BotState:
    def __init__(self, store: Store):
        self.store = store

    async def get(self, platform: str, name: str, *, workspace: str = "", record: str = "") -> str | None:
        return await self.store.get_setting(platform, workspace, Scope.BOT, record, name)

    async def put(self, platform: str, name: str, value: str | None, *, workspace: str = "", record: str = "") -> None:
        """Keep `value` (None forgets it)."""
        await self.store.set_setting(platform, workspace, Scope.BOT, record, name, value)

    async def claim_once(self, platform: str, token: str) -> bool:
        """True for the first caller only, in every process sharing the database (an OAuth state, consumed once)."""
        return await self.store.claim_event(platform, token)
