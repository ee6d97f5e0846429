"""Persistent reply buttons (discord.py's DynamicItem): the custom id names the action and what it acts on, so a
click works after a restart without any view kept in memory. Which buttons an answer carries is the core's rule
(core.replies.actions); this draws them, and turns a click into the core's use case."""

from __future__ import annotations

import io
import re
from typing import Any

import discord

from bots.discord import PLATFORM
from core.errors import NotFound, UserFacingError
from core.replies.actions import ReplyAction, reply_actions
from core.streaming import ReplyView

REASONING_INLINE_CHARS = 1900  # longer reasoning comes as a file

# The words of custom ids already posted under answers: they outlive any rename here. `think` carries the answer's
# id (its reasoning is shown), the others the conversation's.
CUSTOM_ID_TEMPLATE = r"hfchat:(?P<action>stop|regen|cont|think):(?P<conversation>[0-9]+)"
_WORDS = {
    ReplyAction.STOP: "stop",
    ReplyAction.REGENERATE: "regen",
    ReplyAction.CONTINUE: "cont",
    ReplyAction.REASONING: "think",
}
_ACTIONS = {word: action for action, word in _WORDS.items()}
_LOOK = {
    ReplyAction.STOP: ("Stop", discord.ButtonStyle.danger, "⏹️"),
    ReplyAction.REGENERATE: ("Regenerate", discord.ButtonStyle.secondary, "🔄"),
    ReplyAction.CONTINUE: ("Continue", discord.ButtonStyle.primary, "▶️"),
    ReplyAction.REASONING: ("Show reasoning", discord.ButtonStyle.secondary, "💭"),
}


def custom_id(action: ReplyAction, target_id: int) -> str:
    return f"hfchat:{_WORDS[action]}:{target_id}"


class ReplyButton(discord.ui.DynamicItem[discord.ui.Button], template=CUSTOM_ID_TEMPLATE):
    def __init__(self, action: ReplyAction, target_id: int):
        label, style, emoji = _LOOK[action]
        super().__init__(
            discord.ui.Button(label=label, style=style, emoji=emoji, custom_id=custom_id(action, target_id))
        )
        self.action = action
        self.target_id = target_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> ReplyButton:
        return cls(_ACTIONS[match["action"]], int(match["conversation"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await pressed(interaction, self.action, self.target_id)


def reply_controls(view: ReplyView, conversation_id: int | None) -> discord.ui.View | None:
    """The buttons of one message of an answer (none but on its last message), acting on `conversation_id`."""
    actions = [action for action in reply_actions(view) if action in _WORDS]  # Discord draws no votes or Delete
    if not actions or conversation_id is None:
        return None
    controls = discord.ui.View(timeout=None)
    for action in actions:
        target = view.reply_id if action is ReplyAction.REASONING else conversation_id
        controls.add_item(ReplyButton(action, target))
    return controls


async def pressed(interaction: discord.Interaction[Any], action: ReplyAction, target_id: int) -> None:
    """A click on a reply button. A button's errors never reach the command tree's on_error: refusals are told here."""
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    try:
        if action is ReplyAction.REASONING:  # the id is the answer's
            return await show_reasoning(interaction, target_id)
        conversation = await bot.chat.conversations.get(target_id)
        if conversation.key.platform != PLATFORM:
            raise NotFound("That conversation no longer exists.")
        through = action is not ReplyAction.STOP and through_interaction(interaction)
        if through:  # the next answer goes out as the click's follow-ups, as the first went through its command's
            await interaction.response.defer()
            ephemeral = bool(interaction.message is not None and interaction.message.flags.ephemeral)

            def sink_for(key: Any) -> Any:
                return bot.interaction_sink(interaction, ephemeral=ephemeral, original=False, conversation_id=target_id)

        else:
            channel = interaction.channel
            reply_to = interaction.message if action is ReplyAction.CONTINUE else None  # Continue goes on under it

            def sink_for(key: Any) -> Any:
                return bot.sink(channel, conversation_id=target_id, reply_to=reply_to)

        outcome = await bot.chat.actions.press(action, conversation, actor, sink_for)
        if action is ReplyAction.STOP:
            if outcome.done:
                await interaction.response.defer()  # the engine's last edit swaps the buttons
            else:
                await bot.respond(interaction, "Nothing is being written here right now.")
            return
        if through:
            await interaction.edit_original_response(view=None)  # the clicked answer loses its buttons
        else:
            await interaction.response.edit_message(view=None)  # the old answer loses its buttons
    except UserFacingError as exc:
        await bot.respond(interaction, str(exc))


def through_interaction(interaction: discord.Interaction[Any]) -> bool:
    """An answer only its asker sees, or one where the bot is not present (a user install in a group DM): the next
    answer goes through the click's own interaction, as the first one went through its command's."""
    message = interaction.message
    return not interaction.client.is_present(interaction) or bool(message is not None and message.flags.ephemeral)


async def show_reasoning(interaction: discord.Interaction[Any], reply_id: int) -> None:
    bot = interaction.client
    reasoning = await bot.chat.conversations.reasoning(reply_id, bot.interaction_actor(interaction))
    if len(reasoning) <= REASONING_INLINE_CHARS:
        await bot.respond(interaction, f"💭 **Reasoning**\n>>> {reasoning}")
        return
    file = discord.File(io.BytesIO(reasoning.encode("utf-8")), filename=f"reasoning-{reply_id}.md")
    await bot.respond(interaction, "💭 The reasoning, as a file:", file=file)
