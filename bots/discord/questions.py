"""Clarifying questions (core.replies.clarify) drawn as buttons: one per choice and "Other…", which opens a form for
an answer in the person's own words. The click goes to the core, which checks who may answer and hands the choice to
the model; the question's message then shows the choice. The custom id carries the question and the choice, so a
click needs nothing kept here."""

from __future__ import annotations

import re
from typing import Any

import discord

from core.errors import UserFacingError
from core.replies.clarify import OTHER, Question

TEMPLATE = r"hfchat:q:(?P<question>[A-Za-z0-9_-]{6,32}):(?P<choice>[0-3]|o)"
OWN_WORDS = "o"


def question_text(question: Question) -> str:
    return f"❓ **{discord.utils.escape_markdown(question.text)}**"


def answered_text(question: Question) -> str:
    return f"{question_text(question)}\n→ {discord.utils.escape_markdown(question.choice)}"


class ChoiceButton(discord.ui.DynamicItem[discord.ui.Button], template=TEMPLATE):
    def __init__(self, question_id: str, choice: str, label: str):
        style = discord.ButtonStyle.secondary if choice == OWN_WORDS else discord.ButtonStyle.primary
        super().__init__(discord.ui.Button(label=label[:80], style=style, custom_id=f"hfchat:q:{question_id}:{choice}"))
        self.question_id = question_id
        self.choice = choice

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> ChoiceButton:
        return cls(match["question"], match["choice"], item.label or "")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client
        if self.choice == OWN_WORDS:
            await interaction.response.send_modal(OwnAnswer(self.question_id))
            return
        try:
            question = await bot.chat.questions.answer(
                self.question_id, bot.interaction_actor(interaction), option=int(self.choice)
            )
        except UserFacingError as exc:
            await bot.respond(interaction, str(exc))
            return
        await interaction.response.edit_message(content=answered_text(question), view=None)


class OwnAnswer(discord.ui.Modal, title="Your answer"):
    answer: discord.ui.TextInput = discord.ui.TextInput(
        label="Your answer", style=discord.TextStyle.paragraph, max_length=500
    )

    def __init__(self, question_id: str):
        super().__init__(custom_id=f"hfchat:qa:{question_id}")
        self.question_id = question_id

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client
        try:
            question = await bot.chat.questions.answer(
                self.question_id, bot.interaction_actor(interaction), text=self.answer.value
            )
        except UserFacingError as exc:
            await bot.respond(interaction, str(exc))
            return
        await interaction.response.edit_message(content=answered_text(question), view=None)


def question_view(question: Question) -> discord.ui.View:
    view = discord.ui.View(timeout=None)
    for index, option in enumerate(question.options):
        view.add_item(ChoiceButton(question.id, str(index), option))
    view.add_item(ChoiceButton(question.id, OWN_WORDS, OTHER))
    return view


async def show_in_channel(sink: Any, question: Question) -> None:
    """How a question shows where answers go to a channel, thread or DM (DiscordSink): a message of its own there."""
    await sink.channel.send(
        question_text(question), view=question_view(question), allowed_mentions=discord.AllowedMentions.none()
    )
