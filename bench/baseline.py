"""The baseline the benchmark compares against: one bot-wide edit timer, the way the most popular Discord LLM bot
(jakobdylanc/llmcord) streams. Written for this benchmark from that idea; nothing here is used by the bots.

The rule: the first text of an answer is posted at once; after that, whenever a chunk arrives, the message is
edited only if at least `interval` seconds passed since the bot's last request *anywhere* (one timer for every
conversation), and the edit is awaited before reading on. When the answer ends, the last edit waits for that
timer too, then always goes out. 429s are left to the platform library (discord.py sleeps and retries; the Slack
client gets slack_sdk's rate-limit retry handler), as such a bot would.

Three ways to talk to a platform, one rule: Discord (discord.py, message content), Slack edits
(chat.postMessage + chat.update) and Slack native streaming (chat.startStream/appendStream/stopStream).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from openai import AsyncOpenAI

INDICATOR = " ▌"
MODEL = "meta-llama/Llama-3.3-70B-Instruct"


class BotWideTimer:
    def __init__(self, interval: float = 1.0):
        self.interval = interval
        self.last = float("-inf")

    def since(self) -> float:
        return time.monotonic() - self.last

    def mark(self) -> None:
        self.last = time.monotonic()


class DiscordPoster:
    """discord.py's REST client, logged in to the fake (no gateway needed to post and edit)."""

    def __init__(self, client: Any):
        self.client = client

    async def post(self, target: dict, text: str) -> Any:
        import discord

        channel = self.client.get_partial_messageable(int(target["thread"]))
        return await channel.send(text, allowed_mentions=discord.AllowedMentions.none())

    async def edit(self, message: Any, text: str, final: bool) -> Any:
        return await message.edit(content=text)


class SlackEditPoster:
    def __init__(self, client: Any):
        self.client = client

    async def post(self, target: dict, text: str) -> Any:
        response = await self.client.chat_postMessage(
            channel=target["channel"], thread_ts=target["ts"], text=text, blocks=_markdown(text)
        )
        return (response["channel"], response["ts"])

    async def edit(self, message: Any, text: str, final: bool) -> Any:
        channel, ts = message
        await self.client.chat_update(channel=channel, ts=ts, text=text, blocks=_markdown(text))
        return message


class SlackNativePoster:
    """Appends what is new since the last request; the stream is stopped with the rest."""

    def __init__(self, client: Any, team_id: str, user_id: str):
        self.client, self.team_id, self.user_id = client, team_id, user_id
        self.sent: dict[Any, int] = {}

    async def post(self, target: dict, text: str) -> Any:
        response = await self.client.chat_startStream(
            channel=target["channel"],
            thread_ts=target["ts"],
            markdown_text=text,
            recipient_team_id=self.team_id,
            recipient_user_id=self.user_id,
        )
        message = (response["channel"], response["ts"])
        self.sent[message] = len(text)
        return message

    async def edit(self, message: Any, text: str, final: bool) -> Any:
        channel, ts = message
        delta = text[self.sent[message] :]
        self.sent[message] = len(text)
        if final:
            await self.client.chat_stopStream(channel=channel, ts=ts, **({"markdown_text": delta} if delta else {}))
        elif delta:
            await self.client.chat_appendStream(channel=channel, ts=ts, markdown_text=delta)
        return message


def _markdown(text: str) -> list[dict]:
    return [{"type": "markdown", "text": text}]


class GlobalTimerBot:
    def __init__(self, router_url: str, poster: Any, *, interval: float = 1.0, indicator: bool = True):
        self.openai = AsyncOpenAI(base_url=router_url, api_key="hf_bench", max_retries=0)
        self.poster = poster
        self.timer = BotWideTimer(interval)
        # native streams cannot take the indicator back, so they never show one
        self.indicator = INDICATOR if indicator else ""

    async def answer(self, target: dict, prompt: str) -> str:
        stream = await self.openai.chat.completions.create(
            model=MODEL, messages=[{"role": "user", "content": prompt}], stream=True, max_tokens=2048
        )
        text, message = "", None
        async for chunk in stream:
            choice = chunk.choices[0] if chunk.choices else None
            if choice is None or not choice.delta.content:
                continue
            text += choice.delta.content
            if message is None:
                message = await self.poster.post(target, text + self.indicator)
                self.timer.mark()
            elif self.timer.since() >= self.timer.interval:
                self.timer.mark()
                message = await self.poster.edit(message, text + self.indicator, False)
        if message is None:
            return text
        wait = self.timer.interval - self.timer.since()
        if wait > 0:
            await asyncio.sleep(wait)
        self.timer.mark()
        await self.poster.edit(message, text, True)
        return text

    async def close(self) -> None:
        await self.openai.close()
