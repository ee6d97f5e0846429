"""The "Share" button under an answer only its asker sees: it posts the question and the answer where they asked, for
everyone there, as the click's own response (so it works where the bot is not a member too). Who may share is the
core's rule (the person who asked)."""

from __future__ import annotations

import io
import re
from typing import Any

import discord

from bots.discord.sink import NO_MENTIONS
from core.errors import UserFacingError

TEMPLATE = r"hfchat:share:(?P<reply>[0-9]+)"
MAX_CHARS = 2000


def shared_message(asker: str, question: str, answer: str, model: str) -> tuple[str, str | None]:
    """The public message (within Discord's 2,000 characters) and, when the answer does not fit, the answer as a
    file's content."""
    quoted = "\n".join("> " + line if line else ">" for line in question.strip()[:600].split("\n"))
    head = f"**{discord.utils.escape_markdown(asker)}** asked:\n{quoted}\n\n"
    footer = f"\n\n-# {model}" if model else ""
    if len(head) + len(answer) + len(footer) <= MAX_CHARS:
        return head + answer + footer, None
    room = MAX_CHARS - len(head) - len(footer) - 60
    return head + answer[:room].rstrip() + "…\n\n📄 *The whole answer is attached.*" + footer, answer


class ShareButton(discord.ui.DynamicItem[discord.ui.Button], template=TEMPLATE):
    def __init__(self, reply_id: int):
        super().__init__(
            discord.ui.Button(
                label="Share", style=discord.ButtonStyle.success, emoji="📣", custom_id=f"hfchat:share:{reply_id}"
            )
        )
        self.reply_id = reply_id

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction, item: discord.ui.Button, match: re.Match[str], /
    ) -> ShareButton:
        return cls(int(match["reply"]))

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        bot = interaction.client
        try:
            shared = await bot.chat.shared_answer(self.reply_id, bot.interaction_actor(interaction))
        except UserFacingError as exc:
            await bot.respond(interaction, str(exc))
            return
        text, whole = shared_message(shared.asker_name, shared.question, shared.answer, shared.model)
        kwargs: dict[str, Any] = {"allowed_mentions": NO_MENTIONS}
        if whole is not None:
            kwargs["file"] = discord.File(io.BytesIO(whole.encode("utf-8")), filename="answer.md")
        await interaction.response.send_message(text, **kwargs)
