"""The Discord bot, built and run: discord.py events and slash commands in, one `core` call each, replies through
`DiscordSink`.

A conversation is a thread (ConversationKey("discord", guild, parent channel, thread)); the bot answers every
message in threads it holds a conversation for. An @mention in a channel opens a thread from that message (or
answers inline, per channel setting). DMs have a current conversation, `/new` starts another, and replying to an
older answer goes back to its conversation. What the bot does is spread by what discord.py gives: client (identities,
start-up), events, tree (command errors and sync), commands/, buttons, sink.
"""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import discord

from bots.discord.client import ChatClient
from bots.discord.events import MessageEvents
from bots.discord.interrupted import InterruptedAnswers
from core.app import Core

PRIVILEGED_INTENT_LINE = (
    "discord: the Message Content intent is not enabled for this application. Enable it in the Discord "
    "Developer Portal → your application → Bot → Privileged Gateway Intents → Message Content Intent. "
    "Until then the bot answers only mentions, replies to its messages and slash commands."
)


class ChatBot(ChatClient, MessageEvents, InterruptedAnswers, discord.Client):
    pass


class ShardedChatBot(ChatClient, MessageEvents, InterruptedAnswers, discord.AutoShardedClient):
    pass


def build_bot(
    core: Core,
    *,
    sharded: bool | None = None,
    shard_count: int | None = None,
    shard_ids: list[int] | None = None,
    **options: Any,
) -> ChatBot | ShardedChatBot:
    """The bot for `core`; AutoShardedClient when shard settings are given (or `sharded=True`)."""
    settings = core.settings
    shard_count = shard_count if shard_count is not None else settings.discord_shard_count
    shard_ids = shard_ids if shard_ids is not None else settings.discord_shard_ids
    if sharded is None:
        sharded = shard_count is not None or bool(shard_ids)
    if not sharded:
        return ChatBot(core, **options)
    if shard_ids and shard_count is None:
        raise ValueError("DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT")
    return ShardedChatBot(core, shard_count=shard_count, shard_ids=shard_ids or None, **options)


def use_endpoints(api_url: str | None, gateway_url: str | None) -> None:
    """Send REST calls and the gateway connection elsewhere (a proxy, a test double). discord.py keeps
    both at class level: this is for the whole process."""
    import discord.gateway
    import discord.http
    import yarl

    if api_url:
        discord.http.Route.BASE = api_url
    if gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


async def run_discord(core: Core, **options: Any) -> None:
    """Run the bot until it is closed; a bad token or a missing intent ends with one clear line."""
    token = core.settings.discord_token
    if token is None:
        print("discord: DISCORD_TOKEN is not set", file=sys.stderr)
        return
    use_endpoints(core.settings.discord_api_url, core.settings.discord_gateway_url)
    bot = build_bot(core, **options)
    try:
        async with bot:
            try:
                await bot.start(token.get_secret_value())
            except asyncio.CancelledError:
                # stopping: closing the bot closes its HTTP session, and answers in flight still need it
                await core.chat.replies.shutdown(core.settings.shutdown_grace_seconds)
                raise
    except discord.PrivilegedIntentsRequired:
        if options.get("message_content") is False:
            raise
        # say it once, then keep serving what works without the intent
        print(PRIVILEGED_INTENT_LINE, file=sys.stderr)
        await run_discord(core, **{**options, "message_content": False})
