"""The Discord bot: discord.py events and slash commands in, one `core` call each, replies through
`DiscordSink`.

A conversation is a thread (ConversationKey("discord", guild, parent channel, thread)); the bot
answers every message in threads it holds a conversation for. An @mention in a channel opens a
thread from that message (or answers inline, per channel setting). DMs have a current
conversation, `/new` starts another, and replying to an older answer goes back to its conversation.
"""

from __future__ import annotations

import asyncio
import logging
import re
import sys
from typing import Any

import discord

from bots.discord.buttons import ReplyButton, reply_controls
from bots.discord.commands import register_commands
from bots.discord.commands.chat import thread_title
from bots.discord.commands.conversations import DELETED_THREAD_NAME
from bots.discord.sink import DISCORD_LIMITS, NO_MENTIONS, DiscordSink, rate_limit_trace
from bots.discord.tree import OnceCommandTree
from core.app import Core
from core.chat import NOT_SAVED, Submitted
from core.conversations.routing import IncomingMessage
from core.errors import StoreUnavailable, UserFacingError
from core.keys import Actor, ConversationKey
from core.ops import metrics
from core.prompts import clean_prompt
from core.records import MessageStatus, StoredMessage
from core.replies.attachments import Attachment, AttachmentLimits
from core.streaming import PlatformLimits, ReplyView

log = logging.getLogger(__name__)

# what tests read from here
__all__ = ["DELETED_THREAD_NAME", "INVITE_PERMISSIONS", "build_bot", "run_discord"]

PLATFORM = "discord"
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
MESSAGE_CONTENT_HELP = (
    "I can't read messages here: this bot runs without Discord's **Message Content** intent. "
    "Mention me (or reply to one of my answers) and I'll answer that message. "
    "The bot's owner can enable it in the Developer Portal → *Bot* → *Privileged Gateway Intents* → "
    "**Message Content Intent**, then restart the bot."
)
PRIVILEGED_INTENT_LINE = (
    "discord: the Message Content intent is not enabled for this application. Enable it in the Discord "
    "Developer Portal → your application → Bot → Privileged Gateway Intents → Message Content Intent. "
    "Until then the bot answers only mentions, replies to its messages and slash commands."
)
INTERRUPTED_NOTICE = "⚠️ *This answer was interrupted (the bot restarted).*"


def _tolerant_parser(event: str, parse: Any) -> Any:
    def run(data: Any) -> None:
        try:
            parse(data)
        except Exception as exc:
            log.warning("dropped a malformed %s gateway event: %s", event, type(exc).__name__)

    return run


def invite_url(application_id: int) -> str:
    return discord.utils.oauth_url(
        application_id, permissions=INVITE_PERMISSIONS, scopes=("bot", "applications.commands")
    )


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


class _ChatBot:
    """Everything the bot does; mixed into discord.Client or discord.AutoShardedClient."""

    def __init__(
        self,
        core: Core,
        *,
        limits: PlatformLimits | None = None,
        message_content: bool = True,
        print_invite: bool = True,
        **options: Any,
    ):
        intents = discord.Intents.default()
        intents.message_content = message_content
        options.setdefault("intents", intents)
        options.setdefault("allowed_mentions", NO_MENTIONS)
        options.setdefault("http_trace", rate_limit_trace())
        # discord.py's minimum: a bucket wait longer than this errors (mapped to RateLimited) instead of stalling
        options.setdefault("max_ratelimit_timeout", 30.0)
        super().__init__(**options)
        # discord.py lets an exception while parsing one gateway event end the whole client: a malformed
        # payload is dropped instead (the gateway's parsers dict is this one, read at each connect)
        parsers = self._connection.parsers
        for event, parse in list(parsers.items()):
            parsers[event] = _tolerant_parser(event, parse)
        self.core = core
        self.chat = core.chat
        self.limits = limits or DISCORD_LIMITS
        self.print_invite = print_invite
        self.tree = OnceCommandTree(self)
        register_commands(self.tree)
        self.invite_url = ""
        self.commands_synced = False
        self._told_no_content: set[int] = set()
        self._marking: set[asyncio.Task] = set()  # interrupted answers being marked

    # start-up
    async def setup_hook(self) -> None:
        self.add_dynamic_items(ReplyButton)
        self.core.on_interrupted(self.show_interrupted)
        self.commands_synced = await self.tree.sync_if_changed()
        self.invite_url = invite_url(self.application_id)
        if self.print_invite:
            print(f"Invite the Discord bot with: {self.invite_url}", flush=True)

    async def on_ready(self) -> None:
        if isinstance(self, discord.AutoShardedClient):
            log.info(
                "discord: ready in %d servers, shards %s of %s", len(self.guilds), sorted(self.shards), self.shard_count
            )
        else:
            log.info("discord: ready in %d servers", len(self.guilds))

    async def show_interrupted(self, replies: list[StoredMessage]) -> None:
        """Close, in place, the Discord messages of answers a dead process left unfinished: the text that was
        saved, an "interrupted" notice, and Regenerate / Continue instead of Stop. Runs in a task of its own
        (it waits for the gateway to be ready), so the core's heartbeat that reports them never waits."""
        if self.is_closed():
            return
        task = asyncio.create_task(self._mark_interrupted(replies), name="discord-interrupted")
        self._marking.add(task)
        task.add_done_callback(self._marking.discard)

    async def _mark_interrupted(self, replies: list[StoredMessage]) -> None:
        await self.wait_until_ready()
        for reply in replies:
            if not reply.platform_message_id.isdigit():
                continue  # nothing was posted (or not by Discord)
            last = str(reply.extra.get("last_message") or reply.platform_message_id)
            room = self.limits.max_chars - len(INTERRUPTED_NOTICE) - 2
            try:
                conversation = await self.chat.conversations.by_id(reply.conversation_id or 0)
                if conversation is None or conversation.key.platform != PLATFORM:
                    continue
                key = conversation.key
                channel = self.get_partial_messageable(int(key.thread if key.thread.isdigit() else key.channel))
                if last == reply.platform_message_id and len(reply.content) <= room:
                    text = reply.content  # the answer is this one message: show the text that was saved
                else:  # the answer's last message, as it was left, less the typing indicator
                    text = (await channel.fetch_message(int(last))).content.removesuffix(self.limits.typing_indicator)
                    text = text[:room]
                view = ReplyView(
                    reply.id,
                    "done",
                    MessageStatus.INTERRUPTED,
                    True,
                    0,
                    reply.model,
                    has_reasoning=bool(reply.reasoning.strip()),
                    conversation_id=conversation.id,
                )
                await channel.get_partial_message(int(last)).edit(
                    content=(text + "\n\n" if text.strip() else "") + INTERRUPTED_NOTICE,
                    view=reply_controls(view, conversation.id),
                    allowed_mentions=NO_MENTIONS,
                )
            except discord.HTTPException as exc:
                log.warning("could not mark interrupted reply %s: %s", reply.id, exc.status)
            except Exception as exc:  # the database or the network: the answer stays marked in the database
                log.warning("could not mark interrupted reply %s: %s", reply.id, type(exc).__name__)

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
        if guild_id is None:
            thread = await self.chat.dm_thread(PLATFORM, "", str(channel_id))
            return ConversationKey(PLATFORM, "", str(channel_id), thread)
        if isinstance(channel, discord.Thread):
            return ConversationKey(PLATFORM, str(guild_id), str(channel.parent_id), str(channel.id))
        return ConversationKey(PLATFORM, str(guild_id), str(channel_id), "")

    async def interaction_key(self, interaction: discord.Interaction) -> ConversationKey:
        return await self.key_for(interaction.channel_id or 0, interaction.guild_id, interaction.channel)

    async def submit(
        self,
        key: ConversationKey,
        actor: Actor,
        text: str,
        sink: DiscordSink,
        *,
        platform_message_id: str = "",
        title: str = "",
        message: discord.Message | None = None,
    ) -> Submitted:
        files = await download_attachments(message) if message is not None and message.attachments else None
        submitted = await self.chat.submit(
            key, actor, text, sink, platform_message_id=platform_message_id, title=title, attachments=files
        )
        # the reply task has not run yet: its first post already carries the buttons
        sink.conversation_id = submitted.conversation.id
        return submitted

    def sink(self, channel: Any, **kwargs: Any) -> DiscordSink:
        return DiscordSink(channel, limits=self.limits, **kwargs)

    # messages
    def prompt_text(self, content: str) -> str:
        if self.user is not None:
            content = re.sub(rf"<@!?{self.user.id}>", "", content)
        return content.strip()

    async def on_message(self, message: discord.Message) -> None:
        if self.user is not None and message.author.id == self.user.id:
            return  # the echo of our own answers
        metrics.event_received(PLATFORM, "message")
        if message.author.bot or message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return
        try:
            await self._on_message(message)
        except UserFacingError as exc:
            await message.channel.send(
                str(exc), allowed_mentions=NO_MENTIONS, reference=message.to_reference(fail_if_not_exists=False)
            )
        except StoreUnavailable:
            # Discord never delivers a message again: give the claim back (a gateway replay would then be
            # handled) and ask for it again, where the message was meant for the bot
            await self.chat.release_event(PLATFORM, f"message:{message.id}")
            if self._meant_for_me(message):
                await message.channel.send(
                    NOT_SAVED, allowed_mentions=NO_MENTIONS, reference=message.to_reference(fail_if_not_exists=False)
                )

    async def _claim(self, message: discord.Message) -> bool:
        if await self.chat.claim_event(PLATFORM, f"message:{message.id}"):
            return True
        metrics.duplicate_dropped(PLATFORM)
        return False

    def _meant_for_me(self, message: discord.Message) -> bool:
        """Without the database: a DM, a mention, a reply to the bot, or a message in a thread it started."""
        channel = message.channel
        return bool(
            message.guild is None
            or (self.user is not None and self.user in message.mentions)
            or self._replied_to_me(message)
            or (isinstance(channel, discord.Thread) and self.user is not None and channel.owner_id == self.user.id)
        )

    def _replied_to_me(self, message: discord.Message) -> discord.Message | None:
        resolved = message.reference.resolved if message.reference else None
        if isinstance(resolved, discord.Message) and self.user is not None and resolved.author.id == self.user.id:
            return resolved
        return None

    async def _on_message(self, message: discord.Message) -> None:
        channel = message.channel
        replied = self._replied_to_me(message)
        in_thread = isinstance(channel, discord.Thread)
        can_thread = (
            message.guild is not None
            and isinstance(channel, discord.TextChannel)
            and channel.permissions_for(message.guild.me).create_public_threads
        )
        route = await self.chat.route(
            IncomingMessage(
                PLATFORM,
                str(message.guild.id) if message.guild else "",
                str(channel.parent_id if in_thread else channel.id),
                str(message.id),
                thread=str(channel.id) if in_thread else "",
                is_dm=message.guild is None,
                mentioned=self.user is not None and self.user in message.mentions,
                replied_to=str(replied.id) if replied is not None else "",
                can_open_thread=can_thread,
            )
        )
        if route.key is None:
            return
        if not message.content and not message.attachments and not self.intents.message_content:
            return await self._explain_missing_intent(channel)
        if not await self._claim(message):
            return
        actor, text = self.message_actor(message), self.prompt_text(message.content)
        key, sink, title = route.key, self.sink(channel), ""
        if route.make_current:
            await self.chat.use_dm_thread(PLATFORM, key.workspace, key.channel, key.thread)
        if message.guild is None or route.inline:
            sink = self.sink(channel, reply_to=message)
        if route.starts_here:
            if not message.attachments:
                clean_prompt(text)  # an empty mention gets its explanation before any thread exists
            # as would a refused one (too long, past a limit): nothing is opened for a message that is not answered
            await self.chat.check_message(ConversationKey(PLATFORM, key.workspace, key.channel, ""), actor, text)
            title = thread_title(text)
        if route.open_thread:
            thread = await message.create_thread(name=title, auto_archive_duration=1440)
            key = ConversationKey(PLATFORM, key.workspace, key.channel, str(thread.id))
            sink = self.sink(thread)
        await self.submit(key, actor, text, sink, platform_message_id=str(message.id), title=title, message=message)

    async def _explain_missing_intent(self, channel: discord.abc.Messageable) -> None:
        channel_id = getattr(channel, "id", 0)
        if channel_id in self._told_no_content:
            return
        self._told_no_content.add(channel_id)
        await channel.send(MESSAGE_CONTENT_HELP, allowed_mentions=NO_MENTIONS)

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        metrics.event_received(PLATFORM, interaction.type.name)  # the command tree and the views handle it

    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        metrics.event_received(PLATFORM, "message_edit")
        data = payload.data
        if (data.get("author") or {}).get("bot") or not data.get("content"):
            return
        try:
            await self.chat.on_message_edited(PLATFORM, str(payload.message_id), self.prompt_text(data["content"]))
        except UserFacingError:
            pass  # edited down to nothing: keep what was stored

    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        metrics.event_received(PLATFORM, "message_delete")
        await self.chat.on_message_deleted(PLATFORM, str(payload.message_id))

    # interactions
    async def respond(self, interaction: discord.Interaction, text: str, **kwargs: Any) -> None:
        """An ephemeral answer, whether or not the interaction was already acknowledged."""
        kwargs.setdefault("allowed_mentions", NO_MENTIONS)
        if interaction.response.is_done():
            await interaction.followup.send(text, ephemeral=True, **kwargs)
        else:
            await interaction.response.send_message(text, ephemeral=True, **kwargs)


class ChatBot(_ChatBot, discord.Client):
    pass


class ShardedChatBot(_ChatBot, discord.AutoShardedClient):
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
                await core.chat.shutdown(core.settings.shutdown_grace_seconds)
                raise
    except discord.LoginFailure:
        print("discord: DISCORD_TOKEN was rejected by Discord (invalid or reset token)", file=sys.stderr)
    except discord.PrivilegedIntentsRequired:
        if options.get("message_content") is False:
            raise
        # say it once, then keep serving what works without the intent
        print(PRIVILEGED_INTENT_LINE, file=sys.stderr)
        await run_discord(core, **{**options, "message_content": False})
