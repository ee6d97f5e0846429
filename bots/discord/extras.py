"""Discord side of files, /compare, /limits, /models, "Delete from here" and "Show reasoning" (the use
cases live in core)."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bots.discord.sink import NO_MENTIONS, DiscordSink
from core.chat import DeletedFrom
from core.commands.registry import command
from core.errors import NotAllowed, NotFound
from core.models.catalog import describe_model, matching_models
from core.replies.attachments import Attachment, AttachmentLimits
from core.usage.limits import NAMES as LIMIT_NAMES

log = logging.getLogger(__name__)

MODELS_REPLY_CHARS = 1900
EARLIER_PARTS = 20  # messages looked back through for the start of a long answer split over several


async def download_attachments(message: discord.Message, limits: AttachmentLimits | None = None) -> list[Attachment]:
    """Fetch a message's files now: Discord's attachment URLs expire. Too large ones are not fetched."""
    limits = limits or AttachmentLimits()
    files: list[Attachment] = []
    for item in message.attachments[: limits.max_files + 1]:
        if item.size > limits.max_file_bytes:
            files.append(Attachment(item.filename, item.content_type or "", b"", size=item.size))
            continue
        try:
            data = await item.read()
        except (discord.HTTPException, discord.NotFound) as exc:
            log.warning("attachment download failed: %s", type(exc).__name__)
            data = b""
        files.append(Attachment(item.filename, item.content_type or "", data))
    return files


async def cmd_compare(bot: Any, interaction: discord.Interaction, prompt: str, models: list[str]) -> None:
    actor = bot.interaction_actor(interaction)
    key = await bot.interaction_key(interaction)
    channel = interaction.channel

    async def announce(names: list[str]) -> None:  # only once the core accepted the request
        await interaction.response.send_message(
            f"⚖️ Comparing {', '.join(f'`{m}`' for m in names)}", allowed_mentions=NO_MENTIONS
        )

    await bot.chat.compare(
        key, actor, prompt, models, lambda model: DiscordSink(channel, limits=bot.limits), on_start=announce
    )


async def cmd_limits(bot: Any, interaction: discord.Interaction, name: str | None, value: str | None) -> None:
    actor = bot.interaction_actor(interaction)
    key = await bot.interaction_key(interaction)
    if interaction.guild_id is None:
        raise NotAllowed("Limits are a server setting.")
    if name is None:
        limits = await bot.chat.limits.get(key.platform, key.workspace)
        await bot.respond(interaction, "**Limits in this server**\n" + limits.describe())
        return
    limits = await bot.chat.limits.set(actor, key, name, value)
    await bot.respond(interaction, "Updated. **Limits in this server**\n" + limits.describe())


async def cmd_models(bot: Any, interaction: discord.Interaction, needle: str | None) -> None:
    models = matching_models(bot.core.catalog, needle or "")
    if not models:
        text = f"No model matches `{needle}`." if needle else "The model list is not loaded yet; try again soon."
        await bot.respond(interaction, text)
        return
    lines = ["**Models** (context · providers with the price per million tokens in/out · vision · tools)"]
    for shown, info in enumerate(models):
        line = f"• {describe_model(info)}"
        if len("\n".join([*lines, line])) > MODELS_REPLY_CHARS - 80:
            lines.append(f"… and {len(models) - shown} more: `/models WORD` narrows the list.")
            break
        lines.append(line)
    await bot.respond(interaction, "\n".join(lines))


async def cmd_delete_from(bot: Any, interaction: discord.Interaction, message: discord.Message) -> None:
    """Delete a message of one of our conversations and everything after it: the stored messages (owner or
    admin, checked by the core) and the bot's own messages that showed the deleted answers."""
    actor = bot.interaction_actor(interaction)
    await interaction.response.defer(ephemeral=True, thinking=True)
    try:
        deleted = await bot.chat.delete_from_message(str(message.id), actor)
    except NotFound:
        start = await _answer_started_before(bot, message)
        if start is None:
            raise
        deleted = await bot.chat.delete_from_message(str(start.id), actor)
        message = start
    removed = await _remove_bot_messages(bot, message, deleted)
    count = len(deleted.messages)
    await bot.respond(
        interaction,
        f"Deleted {count} stored message{'s' if count != 1 else ''} from there on"
        + (f" and {removed} of my messages." if removed else "."),
    )


async def _answer_started_before(bot: Any, message: discord.Message) -> discord.Message | None:
    """For a later part of a long answer (only an answer's first message is stored): that first message."""
    if bot.user is None or message.author.id != bot.user.id:
        return None
    async for earlier in message.channel.history(before=message, limit=EARLIER_PARTS):
        if earlier.author.id != bot.user.id:
            return None
        if await bot.chat.conversations.of_message("discord", str(earlier.id)) is not None:
            return earlier
    return None


async def _remove_bot_messages(bot: Any, target: discord.Message, deleted: DeletedFrom) -> int:
    """In the conversation's own thread, every message of ours from `target` on; elsewhere (DMs, inline
    answers in a channel, where other conversations share the channel) the messages of each deleted answer."""
    channel = target.channel
    mine = bot.user.id if bot.user is not None else 0
    found: list[discord.Message] = [target] if target.author.id == mine else []
    key = deleted.conversation.key
    if isinstance(channel, discord.Thread) and key.thread == str(channel.id):
        found += [m async for m in channel.history(after=target, limit=None, oldest_first=True) if m.author.id == mine]
    else:
        for answer in deleted.messages:
            first = int(answer.platform_message_id) if answer.platform_message_id.isdigit() else 0
            if answer.role != "assistant" or not first:
                continue
            last = int(str(answer.extra.get("last_message") or first))
            span = channel.history(after=discord.Object(first - 1), before=discord.Object(last + 1), limit=None)
            found += [m async for m in span if m.author.id == mine and m.id != target.id]
    removed = 0
    for item in found:
        try:
            await item.delete()
            removed += 1
        except discord.NotFound:
            pass  # already gone
        except discord.HTTPException as exc:
            log.warning("could not delete message %s: %s", item.id, exc.status)
    return removed


def register_extra_commands(tree: app_commands.CommandTree) -> None:
    async def models(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
        return await interaction.client.model_choices(interaction, current)

    @tree.command(name="compare", description=command("compare").summary)
    @app_commands.describe(**command("compare").described())
    @app_commands.autocomplete(model_a=models, model_b=models, model_c=models)
    async def compare(
        interaction: discord.Interaction[Any],
        prompt: app_commands.Range[str, 1, 6000],
        model_a: app_commands.Range[str, 1, 200],
        model_b: app_commands.Range[str, 1, 200],
        model_c: app_commands.Range[str, 1, 200] | None = None,
    ) -> None:
        bot = interaction.client
        names = [m for m in (model_a, model_b, model_c) if m]
        await cmd_compare(bot, interaction, prompt, names)

    @tree.command(name="limits", description=command("limits").summary)
    @app_commands.describe(**command("limits").described())
    @app_commands.choices(limit=[app_commands.Choice(name=n.replace("_", " "), value=n) for n in LIMIT_NAMES])
    @app_commands.guild_only()
    @app_commands.default_permissions(manage_guild=True)
    async def limits(
        interaction: discord.Interaction[Any],
        limit: app_commands.Choice[str] | None = None,
        value: app_commands.Range[str, 0, 2000] | None = None,
    ) -> None:
        bot = interaction.client
        await cmd_limits(bot, interaction, limit.value if limit else None, value)

    @tree.command(name="models", description=command("models").summary)
    @app_commands.describe(**command("models").described())
    async def models_list(interaction: discord.Interaction[Any], search: app_commands.Range[str, 1, 100] | None = None):
        bot = interaction.client
        await cmd_models(bot, interaction, search)

    @tree.context_menu(name="Delete from here")
    async def delete_from_here(interaction: discord.Interaction[Any], message: discord.Message) -> None:
        bot = interaction.client
        await cmd_delete_from(bot, interaction, message)
