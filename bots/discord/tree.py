"""The command tree, through discord.py's own seams: `interaction_check` runs each slash command (and autocomplete)
once, `on_error` tells a refusal the core raised to the one who asked, and the commands are synced with Discord only
when their definitions changed since the last sync (their hash is kept in the database, so a restart or a second
process does not sync again)."""

from __future__ import annotations

import hashlib
import json
import logging

import discord
from discord import app_commands

from bots.discord import PLATFORM
from core.errors import UserFacingError

log = logging.getLogger(__name__)

HASH_NAME = "commands_hash"


class OnceCommandTree(app_commands.CommandTree):
    """Runs each slash command (and autocomplete) once: a gateway RESUME may deliver an interaction again, and two
    processes on one shard (a rolling deploy) both get it; Discord takes one response."""

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return await interaction.client.chat.claims.claim(PLATFORM, f"interaction:{interaction.id}")

    async def on_error(self, interaction: discord.Interaction, error: app_commands.AppCommandError) -> None:
        """A refusal the core raised (UserFacingError) is told to the one who asked, only them; anything else is
        logged by discord.py's own handler."""
        cause = getattr(error, "original", error)
        if isinstance(cause, UserFacingError):
            await interaction.client.respond(interaction, str(cause))
            return
        await super().on_error(interaction, error)

    def definitions_hash(self) -> str:
        """The commands' definitions as Discord gets them, in name order: registering them in another order
        (they are spread over modules by family) is not a change worth a sync."""
        payload = sorted(
            (command.to_dict(self) for command in self.get_commands()), key=lambda c: (c["type"], c["name"])
        )
        blob = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(blob.encode()).hexdigest()

    async def sync_if_changed(self, *, force: bool = False) -> bool:
        """Sync the slash commands only when their definitions changed since the last sync; True if it synced."""
        bot_state = self.client.chat.bot_state
        digest = self.definitions_hash()
        scope_id = str(self.client.application_id)
        stored = await bot_state.get(PLATFORM, HASH_NAME, record=scope_id)
        if stored == digest and not force:
            log.info("slash commands unchanged; not syncing")
            return False
        await self.sync()
        await bot_state.put(PLATFORM, HASH_NAME, digest, record=scope_id)
        log.info("slash commands synced")
        return True
