"""Commands on a message (its context menu), in any server, DM or group DM: "Ask HuggingChat" (a question about
the message, its files and the message it replies to; answered in a thread from it, or only to the asker), "Summarize
thread" (the thread the message is in), "Explain code" and "Translate" (into the person's Discord language), answered
only to the person, with a Share button.

Each reads only what the person picked: the message Discord hands over with the command (and what it replies to or
forwards), or for a summary the thread it is in where the bot can read it. Never anything else from the channel.
How the picked messages become a prompt is the core's (core.replies.picked)."""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

from bots.discord import PLATFORM
from bots.discord.commands.chat import answer_here, quoted_prompt, thread_title
from bots.discord.commands.slash import on_message
from core.keys import ConversationKey
from core.replies.picked import ASK_DEFAULT, Picked, Request, Task

log = logging.getLogger(__name__)

ONLY_ME, IN_A_THREAD = "me", "thread"
TITLES = {Task.SUMMARIZE: "Summary", Task.EXPLAIN: "Explained", Task.TRANSLATE: "Translation"}


def picked(message: discord.Message) -> Picked:
    """A message as the model reads it: author, text, file names, what it forwards and what it replies to."""
    replied = message.reference.resolved if message.reference is not None else None
    replies_to = Picked(replied.author.display_name, replied.content) if isinstance(replied, discord.Message) else None
    forwarded = tuple(
        Picked("", snapshot.content, tuple(a.filename for a in snapshot.attachments))
        for snapshot in message.message_snapshots
    )
    files = tuple(a.filename for a in message.attachments)
    return Picked(message.author.display_name, message.content, files, forwarded, replies_to)


def files_of(message: discord.Message) -> list[discord.Attachment]:
    """The files a message carries, its own and those of the messages it forwards."""
    return [*message.attachments, *(a for snapshot in message.message_snapshots for a in snapshot.attachments)]


def first_line(message: discord.Message) -> str:
    text = message.content or next((s.content for s in message.message_snapshots if s.content), "")
    return thread_title(text) if text.strip() else "a message"


async def answer_privately(
    interaction: discord.Interaction[Any], request: Request, title: str, message: discord.Message
) -> None:
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    key = await bot.place_key(interaction)
    text = bot.chat.picked_prompt(request)
    await bot.chat.intake.check(key, actor, text)
    if not interaction.response.is_done():
        await interaction.response.defer(ephemeral=True, thinking=True)
    await answer_here(interaction, key, actor, text, private=True, title=title, attachments=files_of(message))


class AskAbout(discord.ui.Modal, title="Ask HuggingChat"):
    """What to ask about the picked message, and where the answer goes (a thread where one can be opened)."""

    question: discord.ui.TextInput = discord.ui.TextInput(
        label="Your question (optional)",
        style=discord.TextStyle.paragraph,
        required=False,
        max_length=1000,
        placeholder=ASK_DEFAULT,
    )

    def __init__(self, message: discord.Message, can_thread: bool):
        super().__init__(custom_id=f"hfchat:ask:{message.id}")
        self.message = message
        self.where: discord.ui.Select | None = None
        if can_thread:
            self.where = discord.ui.Select(
                custom_id="where",
                options=[
                    discord.SelectOption(label="Only to me", value=ONLY_ME, default=True),
                    discord.SelectOption(label="In a thread from this message", value=IN_A_THREAD),
                ],
            )
            self.add_item(discord.ui.Label(text="Where should the answer go?", component=self.where))

    async def on_submit(self, interaction: discord.Interaction[Any]) -> None:
        question = self.question.value.strip()
        request = Request(Task.ASK, [picked(self.message)], question=question)
        title = thread_title(question or f"About {first_line(self.message)}")
        if self.where is not None and self.where.values and self.where.values[0] == IN_A_THREAD:
            await answer_in_thread(interaction, self.message, request, question, title)
        else:
            await answer_privately(interaction, request, title, self.message)

    async def on_error(self, interaction: discord.Interaction[Any], error: Exception) -> None:
        await interaction.client.tree.on_error(interaction, app_commands.CommandInvokeError(None, error))  # type: ignore[arg-type]


def can_open_thread(interaction: discord.Interaction[Any], message: discord.Message) -> bool:
    bot = interaction.client
    return (
        bot.is_present(interaction)
        and isinstance(message.channel, discord.TextChannel)
        and interaction.app_permissions.create_public_threads
    )


async def answer_in_thread(
    interaction: discord.Interaction[Any], message: discord.Message, request: Request, question: str, title: str
) -> None:
    """A thread opened from the picked message (or the one it already has), and the answer in it for everyone."""
    bot = interaction.client
    actor = bot.interaction_actor(interaction)
    text = bot.chat.picked_prompt(request)
    channel = message.channel
    await bot.chat.intake.check(ConversationKey(PLATFORM, str(interaction.guild_id), str(channel.id), ""), actor, text)
    await interaction.response.defer(ephemeral=True, thinking=True)
    thread = message.thread or (message.guild.get_thread(message.id) if message.guild else None)
    if thread is None:
        thread = await message.create_thread(name=title, auto_archive_duration=1440)
    await thread.send(quoted_prompt(interaction.user.display_name, question or ASK_DEFAULT))
    key = ConversationKey(PLATFORM, str(interaction.guild_id), str(channel.id), str(thread.id))
    sink = bot.sink(thread, interaction=interaction)
    await bot.submit(key, actor, text, sink, title=title, attachments=files_of(message))
    await interaction.edit_original_response(content=f"Answering in {thread.mention}")


async def summarize_picked(interaction: discord.Interaction[Any], message: discord.Message) -> None:
    """"Summarize thread" where the bot cannot read the thread (a user install where it is not present): the message
    picked, alone. Where it can, the thread is summarized with links (bots.discord.commands.catchup)."""
    request = Request(Task.SUMMARIZE, [picked(message)])
    await answer_privately(interaction, request, f"Summary: {first_line(message)}", message)


def register(tree: app_commands.CommandTree) -> None:
    @on_message(tree, "ask_message")
    async def ask_message(interaction: discord.Interaction[Any], message: discord.Message) -> None:
        await interaction.response.send_modal(AskAbout(message, can_open_thread(interaction, message)))

    @on_message(tree, "explain_code")
    async def explain_code(interaction: discord.Interaction[Any], message: discord.Message) -> None:
        request = Request(Task.EXPLAIN, [picked(message)])
        await answer_privately(interaction, request, f"Explained: {first_line(message)}", message)

    @on_message(tree, "translate")
    async def translate(interaction: discord.Interaction[Any], message: discord.Message) -> None:
        request = Request(Task.TRANSLATE, [picked(message)], locale=interaction.locale.value)
        await answer_privately(interaction, request, f"Translation: {first_line(message)}", message)
