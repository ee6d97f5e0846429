"""The bot's client: what it is built with, start-up, who acts and where (an Actor, a ConversationKey), and how it
answers an interaction or hands a message to the core. Events, commands and buttons reach it as `self` or
`interaction.client`."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import Any

import discord

from bots.discord import PLATFORM
from bots.discord.budget import GLOBAL_BUCKET, budget_trace
from bots.discord.buttons import ReplyButton
from bots.discord.commands import register_commands
from bots.discord.interaction_sink import TOKEN_SECONDS, InteractionSink
from bots.discord.memory import MemoryButton
from bots.discord.memory import show_in_channel as show_proposal
from bots.discord.questions import ChoiceButton, show_in_channel
from bots.discord.scheduled import DiscordSchedules
from bots.discord.sharing import ShareButton
from bots.discord.sink import DISCORD_LIMITS, NO_MENTIONS, DiscordSink
from bots.discord.tree import OnceCommandTree
from bots.discord.voice import as_attachment, download_limit, show_transcript
from core.app import Core
from core.chat import Submitted
from core.keys import Actor, ConversationKey
from core.replies.attachments import Attachment, AttachmentLimits
from core.streaming import PlatformLimits

log = logging.getLogger(__name__)

INVITE_PERMISSIONS = discord.Permissions(
    send_messages=True,
    send_messages_in_threads=True,
    create_public_threads=True,
    create_private_threads=True,
    manage_threads=True,
    read_message_history=True,
    attach_files=True,
    embed_links=True,
)


def invite_url(application_id: int) -> str:
    """Adding the bot to a server (a guild install): the bot joins, with its permissions."""
    url = discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=("bot", "applications.commands")
    )
    return f"{url}&integration_type=0"


def user_install_url(application_id: int) -> str:
    """Installing the app to one's own account (a user install): its commands work in any DM, group DM or server,
    answered through the command itself; the bot joins nothing."""
    return f"https://discord.com/oauth2/authorize?client_id={application_id}&integration_type=1&scope=applications.commands"


def _own_edit(state: Any, data: Any, user: discord.ClientUser | None) -> bool:
    """A MESSAGE_UPDATE for one of the bot's own messages (the echo of every edit of a streamed answer, a thousand
    a second with a thousand streams): the cached copy takes the change, and nothing more is built or dispatched
    (the edit handlers ignore bots' edits: bots.discord.events)."""
    author = data.get("author") if isinstance(data, dict) else None
    if user is None or not isinstance(author, dict) or author.get("id") != str(user.id):
        return False
    cached = state._get_message(int(data["id"]))
    if cached is not None:
        cached._update(data)
    return True


def _tolerant_parser(event: str, parse: Any) -> Any:
    def run(data: Any) -> None:
        try:
            parse(data)
        except Exception as exc:
            log.warning("dropped a malformed %s gateway event: %s", event, type(exc).__name__)

    return run


async def download_attachments(
    message: discord.Message | list[discord.Attachment],
    limits: AttachmentLimits | None = None,
    voice_mb: float = 25.0,
) -> list[Attachment]:
    """Fetch a message's files (or these files) now: Discord's attachment URLs expire. Too large ones are not
    fetched (a voice message or audio file may be as large as `voice_mb`)."""
    limits = limits or AttachmentLimits()
    items = message if isinstance(message, list) else message.attachments
    files: list[Attachment] = []
    for item in items[: limits.max_files + 1]:
        if item.size > download_limit(item, limits.max_file_bytes, voice_mb):
            files.append(as_attachment(item, b"", size=item.size))
            continue
        try:
            data = await item.read()
        except (discord.HTTPException, discord.NotFound) as exc:
            log.warning("attachment download failed: %s", type(exc).__name__)
            data = b""
        files.append(as_attachment(item, data))
    return files


class ChatClient:
    """Mixed into discord.Client or discord.AutoShardedClient (bots.discord.app), with the event mixins."""

    def __init__(
        self,
        core: Core,
        *,
        limits: PlatformLimits | None = None,
        message_content: bool = True,
        print_invite: bool = True,
        interaction_token_seconds: float = TOKEN_SECONDS,
        **options: Any,
    ):
        intents = discord.Intents.default()
        intents.message_content = message_content
        options.setdefault("intents", intents)
        options.setdefault("allowed_mentions", NO_MENTIONS)
        self.limits = limits or DISCORD_LIMITS
        # every request discord.py sends waits for its share of the bot's global budget, the streamed answers' one
        options.setdefault("http_trace", budget_trace(core.chat.throttles.for_limits(self.limits), GLOBAL_BUCKET))
        # discord.py's minimum: a bucket wait longer than this errors (mapped to RateLimited) instead of stalling
        options.setdefault("max_ratelimit_timeout", 30.0)
        super().__init__(**options)
        # discord.py lets an exception while parsing one gateway event end the whole client: a malformed
        # payload is dropped instead (the gateway's parsers dict is this one, read at each connect)
        parsers = self._connection.parsers
        parsers["MESSAGE_UPDATE"] = self._own_edits_skipped(parsers["MESSAGE_UPDATE"])
        for event, parse in list(parsers.items()):
            parsers[event] = _tolerant_parser(event, parse)
        self.core = core
        self.chat = core.chat
        self.print_invite = print_invite
        self.interaction_token_seconds = interaction_token_seconds  # Discord's 15 minutes (tests shorten it)
        self.tree = OnceCommandTree(self)
        register_commands(self.tree)
        self.invite_url = ""
        self.user_install_url = ""
        self.commands_synced = False
        self._told_no_content: set[int] = set()
        self._marking: set[asyncio.Task] = set()  # interrupted answers being marked

    def _own_edits_skipped(self, parse: Any) -> Any:
        def run(data: Any) -> None:
            if not _own_edit(self._connection, data, self.user):
                parse(data)

        return run

    # start-up
    async def setup_hook(self) -> None:
        self.add_dynamic_items(ReplyButton, ChoiceButton, ShareButton, MemoryButton)
        self.core.on_interrupted(self.show_interrupted)
        self.chat.questions.show_with(PLATFORM, show_in_channel)
        self.chat.memory_proposals.show_with(PLATFORM, show_proposal)
        self.chat.scheduled_runs.serve(PLATFORM, DiscordSchedules(self))
        self.commands_synced = await self.tree.sync_if_changed()
        self.invite_url = invite_url(self.application_id)
        self.user_install_url = user_install_url(self.application_id)
        if self.print_invite:
            print(f"Add the Discord bot to a server: {self.invite_url}", flush=True)
            print(f"Or install it to your account (any DM or server): {self.user_install_url}", flush=True)

    async def on_ready(self) -> None:
        if isinstance(self, discord.AutoShardedClient):
            log.info(
                "discord: ready in %d servers, shards %s of %s", len(self.guilds), sorted(self.shards), self.shard_count
            )
        else:
            log.info("discord: ready in %d servers", len(self.guilds))

    # identities
    @staticmethod
    def actor_for(user: discord.abc.User, guild: discord.Guild | None, perms: discord.Permissions | None) -> Actor:
        is_admin = bool(guild is not None and perms is not None and (perms.manage_guild or perms.administrator))
        return Actor(PLATFORM, str(user.id), user.display_name, str(guild.id) if guild else "", is_admin)

    def interaction_actor(self, interaction: discord.Interaction) -> Actor:
        # interaction.permissions come from Discord's payload: the server vouches for them
        guild = interaction.guild
        if guild is None and interaction.guild_id is not None:
            guild = discord.Object(interaction.guild_id)  # type: ignore[assignment]
        return self.actor_for(interaction.user, guild, interaction.permissions)

    def message_actor(self, message: discord.Message) -> Actor:
        perms = message.author.guild_permissions if isinstance(message.author, discord.Member) else None
        return self.actor_for(message.author, message.guild, perms)

    async def key_for(self, channel_id: int, guild_id: int | None, channel: Any = None) -> ConversationKey:
        if guild_id is None:  # a DM: its current conversation
            return await self.chat.dms.key(PLATFORM, "", str(channel_id))
        if isinstance(channel, discord.Thread):
            return ConversationKey(PLATFORM, str(guild_id), str(channel.parent_id), str(channel.id))
        return ConversationKey(PLATFORM, str(guild_id), str(channel_id), "")

    async def interaction_key(self, interaction: discord.Interaction) -> ConversationKey:
        return await self.key_for(interaction.channel_id or 0, interaction.guild_id, interaction.channel)

    def is_present(self, interaction: discord.Interaction) -> bool:
        """Whether the bot itself is where the interaction was used: its DMs, or a server it is in. Elsewhere (a
        group DM, a DM between people, a server it is not in) only the user-installed app is, and everything goes
        through the interaction: no channel to read or post in, no thread to open."""
        if interaction.context.private_channel:
            return False
        return interaction.guild_id is None or self.get_guild(interaction.guild_id) is not None

    async def place_key(self, interaction: discord.Interaction) -> ConversationKey:
        """The conversation a command answered through its interaction goes on in: in the bot's DMs the DM's current
        one; anywhere else the person's own current one there (what one asks privately is never another's context)."""
        channel = str(interaction.channel_id or 0)
        if interaction.guild_id is None and not interaction.context.private_channel:
            return await self.chat.dms.key(PLATFORM, "", channel)
        workspace = str(interaction.guild_id or "")
        return await self.chat.dms.key(PLATFORM, workspace, channel, person=str(interaction.user.id))

    def interaction_sink(
        self, interaction: discord.Interaction, *, ephemeral: bool, original: bool, conversation_id: int | None = None
    ) -> InteractionSink:
        return InteractionSink(
            interaction,
            ephemeral=ephemeral,
            original=original,
            conversation_id=conversation_id,
            limits=dataclasses.replace(self.limits, bucket_rate=None, file_after_messages=0),
            token_seconds=self.interaction_token_seconds,
        )

    # talking back
    async def respond(self, interaction: discord.Interaction, text: str, **kwargs: Any) -> None:
        """An ephemeral answer, whether or not the interaction was already acknowledged."""
        kwargs.setdefault("allowed_mentions", NO_MENTIONS)
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, **kwargs)
        else:
            await interaction.response.send_message(text, ephemeral=True, **kwargs)

    def sink(self, channel: Any, **kwargs: Any) -> DiscordSink:
        return DiscordSink(channel, limits=self.limits, **kwargs)

    async def submit(
        self,
        key: ConversationKey,
        actor: Actor,
        text: str,
        sink: DiscordSink | InteractionSink,
        *,
        platform_message_id: str = "",
        title: str = "",
        message: discord.Message | None = None,
        attachments: list[discord.Attachment] | None = None,
    ) -> Submitted:
        """`attachments`: files to read with the text (default: the message's own)."""
        if attachments is None and message is not None:
            attachments = list(message.attachments)
        voice_mb = self.core.settings.voice_max_mb
        files = await download_attachments(attachments, voice_mb=voice_mb) if attachments else None
        channel = getattr(sink, "channel", None)  # an interaction's answer has no channel to show a transcript in
        transcript = show_transcript(message, channel) if files and message is not None and channel else None
        submitted = await self.chat.submit(
            key, actor, text, sink, platform_message_id=platform_message_id, title=title, attachments=files,
            on_transcript=transcript,
        )  # fmt: skip
        # the reply task has not run yet: its first post already carries the buttons
        sink.conversation_id = submitted.conversation.id
        return submitted
