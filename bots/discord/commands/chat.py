"""/chat and /compare: the commands that start answers. /chat shows the prompt and opens a thread for the
conversation (public, or private with `private`), or answers in the thread or DM it is typed in; where the bot is not
present (the app installed to a person's account, used in a group DM or a server the bot is not in) it answers
through the command itself, in the person's conversation there; /compare asks several models the same thing in the
channel."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bots.discord import PLATFORM
from bots.discord.commands.models import model_choices
from bots.discord.commands.slash import anywhere, slash
from bots.discord.sink import NO_MENTIONS, DiscordSink
from core.errors import NotAllowed
from core.keys import Actor, ConversationKey
from core.prompts import clean_prompt
from core.records import Scope

PRIVATE_THREAD_NAME = "Private conversation"  # a private thread's name shows in the channel list


def thread_title(text: str) -> str:
    """The name of a thread opened for a conversation: its first line, within Discord's 100 characters."""
    first = " ".join(text.strip().split("\n", 1)[0].split())
    return (first[:97] + "…" if len(first) > 98 else first) or "Conversation"


def quoted_prompt(author: str, text: str, limit: int = 1900) -> str:
    """The prompt as the channel shows it (the model gets the full text from the core)."""
    body = text if len(text) <= limit else text[:limit] + "…"
    quoted = "\n".join("> " + line if line else ">" for line in body.split("\n"))
    return f"**{discord.utils.escape_markdown(author)}** asked:\n{quoted}"


async def answer_here(
    interaction: discord.Interaction[Any],
    key: ConversationKey,
    actor: Actor,
    text: str,
    *,
    private: bool,
    shown: str = "",
    title: str = "",
    attachments: list[discord.Attachment] | None = None,
) -> None:
    """Answer `text` through the interaction: privately in its original response, or, with `shown` (the question as
    the channel should read it), publicly below it."""
    bot = interaction.client
    original = True
    if shown and not private and not interaction.response.is_done():
        await interaction.response.send_message(shown, allowed_mentions=NO_MENTIONS)
        original = False
    elif not interaction.response.is_done():
        await interaction.response.defer(ephemeral=private, thinking=True)
    sink = bot.interaction_sink(interaction, ephemeral=private, original=original)
    await bot.submit(key, actor, text, sink, title=title, attachments=attachments)


async def start_chat(interaction: discord.Interaction[Any], prompt: str, model: str | None, private: bool) -> None:
    bot = interaction.client
    text = clean_prompt(prompt)
    if model:
        model = bot.core.catalog.validate(model)
    actor = bot.interaction_actor(interaction)
    title = thread_title(text)
    shown = quoted_prompt(interaction.user.display_name, text)
    if not bot.is_present(interaction):  # no channel to post in, no thread to open: through the interaction
        key = await bot.place_key(interaction)
        await bot.chat.intake.check(key, actor, text, model)
        if model:
            await bot.chat.preferences.set_model(actor, key, Scope.CONVERSATION, model)
        await answer_here(interaction, key, actor, text, private=private, shown=shown, title=title)
        return
    # refused by a limit: say so before the prompt is shown or a thread opened
    await bot.chat.intake.check(await bot.interaction_key(interaction), actor, text, model)
    channel = interaction.channel
    if interaction.guild_id is None or isinstance(channel, discord.Thread):
        key = await bot.interaction_key(interaction)
        await interaction.response.send_message(shown, allowed_mentions=NO_MENTIONS)
        original = await interaction.original_response()
        target = channel if isinstance(channel, discord.Thread) else await interaction.user.create_dm()
        sink = bot.sink(target, reply_to=original, interaction=interaction)
    else:
        if not isinstance(channel, discord.TextChannel):
            raise NotAllowed("Use /chat in a text channel, in one of my threads or in a DM.")
        perms = interaction.app_permissions
        if private:
            if not perms.create_private_threads:
                raise NotAllowed("I can't create private threads in this channel (Create Private Threads).")
            await interaction.response.defer(ephemeral=True, thinking=True)
            thread = await channel.create_thread(
                name=PRIVATE_THREAD_NAME,
                type=discord.ChannelType.private_thread,
                invitable=False,
                auto_archive_duration=1440,
            )
            await thread.add_user(interaction.user)
            await thread.send(shown, allowed_mentions=NO_MENTIONS)
            await interaction.edit_original_response(content=f"Your private conversation: {thread.mention}")
        else:
            if not perms.create_public_threads:
                raise NotAllowed("I can't create threads in this channel (Create Public Threads).")
            await interaction.response.send_message(shown, allowed_mentions=NO_MENTIONS)
            original = await interaction.original_response()
            thread = await original.create_thread(name=title, auto_archive_duration=1440)
        key = ConversationKey(PLATFORM, str(interaction.guild_id), str(channel.id), str(thread.id))
        sink = bot.sink(thread, interaction=interaction)
    if model:
        await bot.chat.preferences.set_model(actor, key, Scope.CONVERSATION, model)
        await bot.chat.conversations.name_if_untitled(key, title)
    await bot.submit(key, actor, text, sink, title=title)


async def start_compare(interaction: discord.Interaction[Any], prompt: str, models: list[str]) -> None:
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    key = await bot.interaction_key(interaction)
    channel = interaction.channel

    async def announce(names: list[str]) -> None:  # only once the core accepted the request
        await interaction.response.send_message(
            f"⚖️ Comparing {', '.join(f'`{m}`' for m in names)}", allowed_mentions=NO_MENTIONS
        )

    await bot.chat.comparer.compare(
        key, actor, prompt, models, lambda model: DiscordSink(channel, limits=bot.limits), on_start=announce
    )


def register(tree: app_commands.CommandTree) -> None:
    @slash(tree, "chat")
    @anywhere
    @app_commands.autocomplete(model=model_choices)
    async def chat(
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, 6000],
        model: app_commands.Range[str, 1, 200] | None = None,
        private: bool = False,
    ) -> None:
        await start_chat(interaction, prompt, model, private)

    @slash(tree, "compare")
    @app_commands.autocomplete(model_a=model_choices, model_b=model_choices, model_c=model_choices)
    async def compare(
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, 6000],
        model_a: app_commands.Range[str, 1, 200],
        model_b: app_commands.Range[str, 1, 200],
        model_c: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        await start_compare(interaction, prompt, [m for m in (model_a, model_b, model_c) if m])
