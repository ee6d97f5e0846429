"""/new, /conversations, /delete and /export: a person's conversations. Which conversation a command acts on (one
picked from the list, else the one here) and who may act on it are the core's rules; this draws the list, the
confirmation before erasing everything, and removes an erased conversation's thread."""

from __future__ import annotations

import io
import logging
from datetime import UTC, datetime
from typing import Any

import discord
from discord import app_commands

from bots.discord import PLATFORM
from bots.discord.commands.slash import anywhere, slash
from bots.discord.sink import NO_MENTIONS
from core.errors import NotFound
from core.keys import Actor
from core.records import Conversation

log = logging.getLogger(__name__)

DELETED_THREAD_NAME = "deleted conversation"


def conversation_link(conversation: Conversation) -> str:
    key = conversation.key
    if not key.workspace:
        return "in our DMs"
    if key.thread.isdigit():
        return f"https://discord.com/channels/{key.workspace}/{key.thread}"
    if key.thread.startswith("msg-"):
        return f"https://discord.com/channels/{key.workspace}/{key.channel}/{key.thread[4:]}"
    return f"https://discord.com/channels/{key.workspace}/{key.channel}"


async def conversation_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    """Your conversations, newest first; the value is the conversation's id."""
    bot = interaction.client
    needle = current.strip().lower()
    choices = []
    for conversation in await bot.chat.conversations.list(bot.interaction_actor(interaction), 100):
        label = conversation.title or "(untitled)"
        when = datetime.fromtimestamp(conversation.updated_at, UTC).strftime("%Y-%m-%d")
        name = f"{label[:85]} · {when}"
        if needle in name.lower():
            choices.append(app_commands.Choice(name=name, value=str(conversation.id)))
    return choices[:25]


async def target_conversation(interaction: discord.Interaction[Any], choice: str | None, actor: Actor) -> Conversation:
    bot = interaction.client
    key = await bot.interaction_key(interaction)
    conversation = await bot.chat.conversations.named_or_here(actor, key, choice or "")
    if conversation is None:
        raise NotFound(
            "There is no conversation here. Run this in a conversation thread, or pick one with `conversation`."
        )
    return conversation


class ConfirmErase(discord.ui.View):
    def __init__(self, actor: Actor):
        super().__init__(timeout=300)
        self.actor = actor

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        return str(interaction.user.id) == self.actor.user_id

    @discord.ui.button(label="Erase everything", style=discord.ButtonStyle.danger, custom_id="hfchat:erase")
    async def erase(self, interaction: discord.Interaction[Any], button: discord.ui.Button) -> None:
        count = await interaction.client.chat.delete_user_data(self.actor)
        self.stop()
        await interaction.response.edit_message(
            content=f"Erased everything you stored: {count} conversation(s) and your settings.", view=None
        )

    @discord.ui.button(label="Cancel", style=discord.ButtonStyle.secondary, custom_id="hfchat:erase-cancel")
    async def cancel(self, interaction: discord.Interaction, button: discord.ui.Button) -> None:
        self.stop()
        await interaction.response.edit_message(content="Nothing was erased.", view=None)


async def delete(interaction: discord.Interaction[Any], choice: str | None, everything: bool) -> None:
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    if everything:
        await interaction.response.send_message(
            "This erases every conversation and setting you stored with this bot on Discord. It can't be undone.",
            view=ConfirmErase(actor),
            ephemeral=True,
        )
        return
    target = await target_conversation(interaction, choice, actor)
    deleted = await bot.chat.conversations.delete(target.id, actor)
    await bot.respond(interaction, f"Deleted “{discord.utils.escape_markdown(deleted.title or 'untitled')}”.")
    await remove_thread(bot, deleted)


async def remove_thread(bot: discord.Client, conversation: Conversation) -> None:
    """Delete the conversation's thread; without Manage Threads, archive and rename it instead."""
    key = conversation.key
    if not key.workspace or not key.thread.isdigit():
        return
    try:
        thread = bot.get_channel(int(key.thread)) or await bot.fetch_channel(int(key.thread))
        if not isinstance(thread, discord.Thread):
            return
        if thread.permissions_for(thread.guild.me).manage_threads:
            await thread.delete()
        else:
            await thread.edit(name=DELETED_THREAD_NAME, archived=True)
    except discord.HTTPException as exc:
        log.warning("could not remove thread %s: %s", key.thread, exc.status)


async def list_conversations(interaction: discord.Interaction[Any]) -> None:
    bot = interaction.client
    conversations = await bot.chat.conversations.list(bot.interaction_actor(interaction), 25)
    if not conversations:
        await bot.respond(interaction, "You have no stored conversations. Start one with /chat.")
        return
    lines = []
    for conversation in conversations:
        title = discord.utils.escape_markdown(conversation.title or "(untitled)")
        lines.append(f"• **{title}** · {conversation_link(conversation)} · <t:{int(conversation.updated_at)}:R>")
    text = "\n".join(lines)
    await bot.respond(interaction, text if len(text) <= 2000 else text[:1990] + "\n…")


async def export(interaction: discord.Interaction[Any], choice: str | None, fmt: str) -> None:
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    target = await target_conversation(interaction, choice, actor)
    fmt = "json" if fmt == "json" else "md"
    content = await bot.chat.conversations.export(target.id, actor, fmt)
    file = discord.File(io.BytesIO(content.encode("utf-8")), filename=f"conversation-{target.id}.{fmt}")
    title = discord.utils.escape_markdown(target.title or "untitled")
    label = "JSON" if fmt == "json" else "Markdown"
    await interaction.response.send_message(
        f"“{title}” as {label}:", file=file, ephemeral=True, allowed_mentions=NO_MENTIONS
    )


async def new(interaction: discord.Interaction[Any]) -> None:
    bot = interaction.client
    if interaction.guild_id is None and not interaction.context.private_channel:  # the bot's DMs
        await bot.chat.dms.key(PLATFORM, "", str(interaction.channel_id), new=True)
        await bot.respond(interaction, "New conversation: your next message starts it.")
        return
    # your own conversation here, the one /ask (and /chat where the bot is not present) goes on with
    place = (PLATFORM, str(interaction.guild_id or ""), str(interaction.channel_id))
    await bot.chat.dms.key(*place, new=True, person=str(interaction.user.id))
    if bot.is_present(interaction):
        await bot.respond(interaction, "Your next /ask here starts a new conversation (each /chat opens a thread).")
    else:
        await bot.respond(interaction, "Your next /ask or /chat here starts a new conversation.")


def register(tree: app_commands.CommandTree) -> None:
    @slash(tree, "delete", all="everything")
    @app_commands.autocomplete(conversation=conversation_choices)
    async def delete_command(
        interaction: discord.Interaction[Any], conversation: str | None = None, everything: bool = False
    ) -> None:
        await delete(interaction, conversation, everything)

    @slash(tree, "conversations")
    async def conversations(interaction: discord.Interaction[Any]) -> None:
        await list_conversations(interaction)

    @slash(tree, "export")
    @app_commands.choices(
        format=[app_commands.Choice(name="Markdown", value="md"), app_commands.Choice(name="JSON", value="json")]
    )
    @app_commands.autocomplete(conversation=conversation_choices)
    async def export_command(
        interaction: discord.Interaction[Any],
        conversation: str | None = None,
        format: app_commands.Choice[str] | None = None,
    ) -> None:
        await export(interaction, conversation, format.value if format else "md")

    @slash(tree, "new")
    @anywhere
    async def new_command(interaction: discord.Interaction[Any]) -> None:
        await new(interaction)
