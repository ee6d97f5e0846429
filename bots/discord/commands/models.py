"""/model and /models: the model here and where that choice comes from, choosing one (the scope it is written at
is the core's rule, core.settings.scopes), and the router's list. Also the model autocomplete other commands use."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bots.discord.commands.slash import slash
from core.models.catalog import describe_model, matching_models
from core.records import Scope
from core.settings.scopes import model_scope

log = logging.getLogger(__name__)

MODELS_REPLY_CHARS = 1900
PLACES = {"channel": Scope.CHANNEL, "server": Scope.WORKSPACE}
CHOSEN = {
    Scope.CONVERSATION: "This conversation now uses",
    Scope.USER: "Your default model is now",
    Scope.CHANNEL: "This channel's default model is now",
    Scope.WORKSPACE: "This server's default model is now",
}


async def model_choices(interaction: discord.Interaction[Any], current: str) -> list[app_commands.Choice[str]]:
    """The model here and your recent ones first, then the router's that match what is typed."""
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    needle = current.strip().lower()
    try:
        key = await bot.interaction_key(interaction)
        conversation = await bot.chat.conversations.here(key)
        resolved = (
            await bot.chat.preferences.model_choice(key, actor.user_id, conversation.id if conversation else None)
        ).model
        first = [resolved, *await bot.chat.preferences.recent_models(actor, actor.platform)]
    except Exception as exc:  # autocomplete must answer anyway
        log.warning("model autocomplete: %s", type(exc).__name__)
        first = []
    catalog = bot.core.catalog
    rest = [n for n in catalog.ids() if needle in n.lower()] + (catalog.suggest(current, 25) if needle else [])
    names: list[str] = []
    for name in [n for n in first if needle in n.lower()] + rest:
        if name not in names and 0 < len(name) <= 100:
            names.append(name)
    return [app_commands.Choice(name=n, value=n) for n in names[:25]]


async def show_or_choose_model(interaction: discord.Interaction[Any], name: str | None, place: str | None) -> None:
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    key = await bot.interaction_key(interaction)
    conversation = await bot.chat.conversations.here(key)
    if not name:
        choice = await bot.chat.preferences.model_choice(key, actor.user_id, conversation=conversation)
        await bot.respond(interaction, f"Model here: `{choice.model}` ({choice.source}).")
        return
    # in a DM the current conversation is not "this conversation": /model there sets your default
    in_thread = isinstance(interaction.channel, discord.Thread) and conversation is not None
    target = model_scope(
        actor,
        key,
        PLACES[place] if place else None,
        in_conversation=in_thread,
        workspace="server",
        admins="members with Manage Server",
    )
    chosen = await bot.chat.preferences.set_model(actor, key, target, name)
    await bot.respond(interaction, f"{CHOSEN[target]} `{chosen}`.")


async def list_models(interaction: discord.Interaction[Any], needle: str | None) -> None:
    bot = interaction.client
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


def register(tree: app_commands.CommandTree) -> None:
    @slash(tree, "model")
    @app_commands.choices(
        scope=[
            app_commands.Choice(name="this channel", value="channel"),
            app_commands.Choice(name="this server", value="server"),
        ]
    )
    @app_commands.autocomplete(name=model_choices)
    async def model(
        interaction: discord.Interaction[Any],
        name: app_commands.Range[str, 1, 200] | None = None,
        scope: app_commands.Choice[str] | None = None,
    ) -> None:
        await show_or_choose_model(interaction, name, scope.value if scope else None)

    @slash(tree, "models")
    async def models(interaction: discord.Interaction[Any], search: app_commands.Range[str, 1, 100] | None = None):
        await list_models(interaction, search)
