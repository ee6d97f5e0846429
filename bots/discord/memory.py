"""Memory on Discord (core.memory): `/memory list`'s answer, only its person sees it, with a delete button per fact and
Delete all; the model's "Remember this?" with Keep / Don't. Every button's custom id carries what it acts on (a fact's
id, a suggestion's id), so a click needs nothing kept here and works after a restart; whose memory it is, is the
core's check."""

from __future__ import annotations

import re
from typing import Any

import discord

from bots.discord import PLATFORM
from core.errors import UserFacingError
from core.keys import ConversationKey
from core.memory import Proposal
from core.memory.service import Listing

TEMPLATE = r"hfchat:mem:(?P<action>del|all|keep|drop)(?::(?P<target>[A-Za-z0-9_-]{1,32}))?"
ROW_WIDTH, ROWS = 5, 5  # Discord: 5 buttons a row, 5 rows a message
FOOTER = "🗑 N deletes fact N · `/memory on` · `/memory off` · `/memory clear`. Yours alone, in this server."


def _escaped(text: str) -> str:
    return discord.utils.escape_mentions(discord.utils.escape_markdown(text))


LINE_CHARS = 70  # a fact's line in the list: 24 of them, the header and the help fit one message (2000)


def _clipped(line: str) -> str:
    """A line of the list at most LINE_CHARS long, escapes counted (a dangling backslash would escape the "…")."""
    return line if len(line) <= LINE_CHARS else line[: LINE_CHARS - 1].rstrip("\\") + "…"


def listing_text(listing: Listing, said: str = "") -> str:
    lines = ([said] if said else []) + [listing.header()]
    lines += [_clipped(_escaped(line)) for line in listing.numbered()]
    lines.append(f"-# {FOOTER}")
    return "\n".join(lines)[:2000]


def listing_view(listing: Listing) -> discord.ui.View | None:
    if not listing.facts:
        return None
    view = discord.ui.View(timeout=None)
    for number, memory in enumerate(listing.facts[: ROW_WIDTH * ROWS - 1], 1):
        view.add_item(MemoryButton("del", str(memory.id), f"🗑 {number}", row=(number - 1) // ROW_WIDTH))
    view.add_item(MemoryButton("all", "", "Delete all", row=min(ROWS - 1, len(listing.facts) // ROW_WIDTH)))
    return view


def proposal_text(proposal: Proposal) -> str:
    return f"🧠 **Remember this?** {_escaped(proposal.fact)}"


def proposal_view(proposal: Proposal) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    view.add_item(MemoryButton("keep", proposal.id, "Keep"))
    view.add_item(MemoryButton("drop", proposal.id, "Don't"))
    return view


def place(interaction: discord.Interaction) -> ConversationKey:
    """Whose memory a command or click is about: the person's in this server (or in their DMs with the bot)."""
    return ConversationKey(PLATFORM, str(interaction.guild_id or ""), str(interaction.channel_id or ""), "")


async def show_listing(interaction: discord.Interaction[Any], said: str = "", *, edit: bool = False) -> None:
    bot = interaction.client
    listing = await bot.chat.memory.listing(bot.interaction_actor(interaction), place(interaction))
    text, view = listing_text(listing, said), listing_view(listing)
    if edit:
        await interaction.response.edit_message(content=text, view=view)
    else:
        await bot.respond(interaction, text, **({"view": view} if view is not None else {}))


class MemoryButton(discord.ui.DynamicItem[discord.ui.Button], template=TEMPLATE):
    def __init__(self, action: str, target: str, label: str, row: int | None = None):
        style = {
            "keep": discord.ButtonStyle.primary,
            "all": discord.ButtonStyle.danger,
        }.get(action, discord.ButtonStyle.secondary)
        custom_id = f"hfchat:mem:{action}" + (f":{target}" if target else "")
        super().__init__(discord.ui.Button(label=label, style=style, custom_id=custom_id, row=row))
        self.action, self.target = action, target

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> MemoryButton:
        return cls(match["action"], match["target"] or "", item.label or "")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client
        actor, key = bot.interaction_actor(interaction), place(interaction)
        memory = bot.chat.memory
        try:
            if self.action == "del":
                gone = self.target.isdigit() and await memory.forget(actor, key, int(self.target))
                await show_listing(interaction, "Deleted." if gone else "That was already gone.", edit=True)
            elif self.action == "all":
                await show_listing(interaction, memory.cleared(await memory.clear(actor, key)), edit=True)
            else:
                keep = self.action == "keep"
                proposal = await memory.decide(self.target, actor, keep)
                said = "🧠 Kept in your memory here:" if keep else "🧠 Not kept:"
                await interaction.response.edit_message(content=f"{said} {_escaped(proposal.fact)}", view=None)
        except UserFacingError as exc:
            await bot.respond(interaction, str(exc))


async def show_in_channel(sink: Any, proposal: Proposal) -> None:
    """How a suggestion shows where answers go to a channel, thread or DM (DiscordSink): a message there, under the
    answer it came from; only the person it is about may press Keep."""
    await sink.channel.send(
        proposal_text(proposal), view=proposal_view(proposal), allowed_mentions=discord.AllowedMentions.none()
    )
