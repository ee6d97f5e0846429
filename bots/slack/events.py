"""Slack's events: messages and mentions (answered through the core), edits and deletions of what people wrote,
AI-app threads starting, and the app leaving a workspace.

A message is answered once whichever events announce it (app_mention and message both do for a mention): its
`msg:` claim in the store decides. Bolt acks every event before its listener runs.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError

from bots.slack.adapter import PLATFORM, SlackAdapter
from bots.slack.assistants import suggest_prompts
from bots.slack.calls import message_id, slack_error
from bots.slack.commands import message_command
from bots.slack.files import download_files
from bots.slack.text import strip_mention
from bots.slack.voice import show_transcript
from core.chat import NOT_SAVED
from core.conversations.routing import IncomingMessage, Route
from core.errors import StoreUnavailable, UserFacingError
from core.keys import ConversationKey
from core.records import StoredMessage
from core.replies.adoption import ThreadMessage, adopted_messages

log = logging.getLogger(__name__)

THINKING = "is thinking…"
ANSWERED_SUBTYPES = (None, "file_share", "thread_broadcast")


def _incoming(event: dict, team: str, *, is_dm: bool, mentioned: bool) -> IncomingMessage:
    """A Slack message as the core's router reads it: in a DM, a thread is a conversation of its own."""
    return IncomingMessage(
        PLATFORM,
        team,
        event["channel"],
        event["ts"],
        thread=event.get("thread_ts") or "",
        is_dm=is_dm,
        dm_threads=True,
        mentioned=mentioned,
        from_bot=bool(event.get("bot_id")),  # another app's bot: the core never answers one
    )


class Events:
    def __init__(self, slack: SlackAdapter):
        self.slack = slack
        self.chat = slack.chat

    def register(self, app: AsyncApp) -> None:
        app.event("app_mention")(self.on_app_mention)
        app.event("message")(self.on_message)
        app.event("assistant_thread_started")(self.on_assistant_thread_started)
        app.event("assistant_thread_context_changed")(self.on_nothing_to_do)
        if app.installation_store is not None:
            app.event("app_uninstalled")(self.on_app_uninstalled)
            app.event("tokens_revoked")(self.on_tokens_revoked)

    async def on_nothing_to_do(self) -> None:
        """An event the app subscribes to but has nothing to do with (Bolt acks events before listeners)."""

    # ------------------------------------------------------------------ messages
    async def on_app_mention(self, event: dict, context: Any) -> None:
        self.slack.learn_identity(context)
        if not event.get("user"):
            return  # no one to answer
        channel = event["channel"]
        text, _ = strip_mention(event.get("text") or "", self.slack.bot_user_id)
        team = context.get("team_id") or event.get("team") or ""
        await self.handle_message(
            _incoming(event, team, is_dm=channel.startswith("D"), mentioned=True),
            user=event["user"],
            text=text,
            files=event.get("files"),
        )

    async def on_message(self, event: dict, context: Any) -> None:
        self.slack.learn_identity(context)
        subtype = event.get("subtype")
        team = context.get("team_id") or event.get("team") or ""
        if subtype == "message_changed":
            await self._on_edited(event)
            return
        if subtype == "message_deleted":
            await self._on_deleted(event)
            return
        if subtype not in ANSWERED_SUBTYPES:
            return
        user = event.get("user")
        if not user:  # the bot's own messages never get here: Bolt's ignoring_self_events drops them
            return
        is_dm = event.get("channel_type") == "im"
        text, mentioned = strip_mention(event.get("text") or "", self.slack.bot_user_id)
        if mentioned and not is_dm:
            return  # the app_mention event for the same message answers it
        incoming = _incoming(event, team, is_dm=is_dm, mentioned=mentioned)
        await self.handle_message(incoming, user=user, text=text, files=event.get("files"))

    async def _on_edited(self, event: dict) -> None:
        message = event.get("message") or {}
        if self.slack.ours(message) or self.slack.ours(event.get("previous_message")) or message.get("bot_id"):
            return  # the echo of our own chat.update / stopStream: nothing to do
        if not message.get("ts") or not message.get("user"):
            return
        text, _ = strip_mention(message.get("text") or "", self.slack.bot_user_id)
        try:
            await self.chat.conversations.on_message_edited(PLATFORM, message_id(event["channel"], message["ts"]), text)
        except UserFacingError:
            pass  # edited down to nothing: keep what was stored

    async def _on_deleted(self, event: dict) -> None:
        previous = event.get("previous_message") or {}
        if self.slack.ours(previous) or previous.get("bot_id") or not event.get("deleted_ts"):
            return
        await self.chat.conversations.on_message_deleted(PLATFORM, message_id(event["channel"], event["deleted_ts"]))

    async def handle_message(self, message: IncomingMessage, *, user: str, text: str, files: list | None) -> None:
        """Answer a message if the core routes it to the bot, once per Slack message whichever events
        (app_mention, message) announce it. If the database cannot store it, the claim is given back: in HTTP mode
        the request fails (Slack delivers it again), in Socket Mode the user is asked to send it again."""
        slack = self.slack
        channel, thread = message.channel, message.thread or message.message_id
        claim = f"msg:{channel}/{message.message_id}"
        try:
            route = await self.chat.routing.route(message)  # whether and where: other bots, follow-ups, channel policy
            if route.key is None or not await self.chat.claims.claim(PLATFORM, claim):
                return
            await self._answer(message, route, user, text, files)
        except StoreUnavailable:
            await self.chat.claims.release(PLATFORM, claim)
            if not slack.store_before_ack:  # acknowledged already: ask for it again
                if message.is_dm:
                    if message.thread:  # an assistant thread still says "is thinking…"
                        await slack.assistant_call(
                            "assistant.threads.setStatus", channel_id=channel, thread_ts=thread, status=""
                        )
                    await slack.post(channel, NOT_SAVED, thread)
                else:
                    await slack.tell(channel, user, NOT_SAVED, thread)
            raise

    async def _answer(
        self, message: IncomingMessage, route: Route, user: str, text: str, files: list[dict] | None
    ) -> None:
        slack = self.slack
        team, channel, ts, thread_ts = message.workspace, message.channel, message.message_id, message.thread
        key = route.key
        thread = key.thread
        # in a DM every message is to the bot: its settings and assistant commands need no mention there
        if (message.mentioned or message.is_dm) and not files:
            in_thread = bool(thread_ts)
            if await message_command(slack, text, key, user, mentioned=message.mentioned, in_thread=in_thread):
                return
        earlier = None
        if route.adopt:  # the core reads it only if it may adopt it

            async def earlier(after: float) -> list[StoredMessage]:
                return await self._thread_prior(team, channel, thread_ts, ts, after)

        actor = await slack.actor(team, user)
        assistant = message.is_dm and bool(thread_ts)  # Slack's AI-app threads live in the DM, in threads
        untitled = assistant and await self.chat.conversations.for_key(key) is None
        if assistant:
            await slack.assistant_call(
                "assistant.threads.setStatus", channel_id=channel, thread_ts=thread, status=THINKING
            )
        # fetched now, with the bot token: what cannot be used gets a note under the answer
        voice_mb = slack.core.settings.voice_max_mb
        attachments = await download_files(slack.client, files, voice_mb=voice_mb) if files else None
        try:
            submitted = await self.chat.submit(
                key,
                actor,
                text,
                slack.sink(team, channel, thread, user, assistant_thread=assistant),
                platform_message_id=message_id(channel, ts),
                earlier=earlier,
                attachments=attachments,
                on_transcript=show_transcript(slack.client, channel, thread, files),
            )
        except UserFacingError as exc:
            if assistant:
                await slack.assistant_call(
                    "assistant.threads.setStatus", channel_id=channel, thread_ts=thread, status=""
                )
            if message.is_dm:
                await slack.post(channel, str(exc), thread)
            else:
                await slack.tell(channel, user, str(exc), thread)
            return
        slack.track_reply(submitted.reply)
        if route.make_current:
            await self.chat.dms.use(PLATFORM, team, channel, thread)
        if untitled:
            await slack.assistant_call(
                "assistant.threads.setTitle", channel_id=channel, thread_ts=thread, title=submitted.conversation.title
            )

    async def _thread_prior(
        self, team: str, channel: str, thread_ts: str, before_ts: str, after: float
    ) -> list[StoredMessage]:
        """A thread the bot is adopting, from after `after` (epoch seconds) to before `before_ts`, read once; which
        messages come in, and as what, is the core's (core.replies.adoption)."""
        slack = self.slack
        window = {"oldest": f"{after:.6f}"} if after else {}
        try:
            response = await slack.client.conversations_replies(channel=channel, ts=thread_ts, limit=200, **window)
        except SlackApiError as exc:
            log.warning("conversations.replies failed: %s", slack_error(exc))
            return []
        listed = []
        for message in response.get("messages") or []:
            if message.get("subtype") not in ANSWERED_SUBTYPES:
                continue
            text, _ = strip_mention(message.get("text") or "", slack.bot_user_id)
            user = message.get("user")
            author = user or message.get("bot_id") or "someone"
            # a bot is named by its message; a person by users.info, asked only for the messages taken
            named = "" if user else (message.get("bot_profile") or {}).get("name") or message.get("username") or "a bot"
            sent_at = float(message.get("ts", "0"))
            listed.append(ThreadMessage(text, sent_at, author, named, ours=slack.ours(message)))

        async def name_of(user: str) -> str:
            return (await slack.actor(team, user)).display_name or user

        return await adopted_messages(listed, before=float(before_ts), after=after, name_of=name_of)

    # ------------------------------------------------------------------ AI-app threads
    async def on_assistant_thread_started(self, event: dict, context: Any) -> None:
        thread = event.get("assistant_thread") or {}
        channel, thread_ts, user = thread.get("channel_id"), thread.get("thread_ts"), thread.get("user_id")
        if not (channel and thread_ts and user):
            return
        team = context.get("team_id") or ""
        key = ConversationKey(PLATFORM, team, channel, thread_ts)
        model = (await self.chat.preferences.model_choice(key, user)).model
        assistant = await self.chat.assistants.default_for(key, user)
        who = f" as {assistant.name}" if assistant else ""
        await self.slack.post(channel, f"Hi! Ask me anything. I'm answering{who} with `{model}`.", thread_ts)
        # the person's assistant's starter prompts (or general ideas), as Slack's suggested prompts
        await suggest_prompts(self.slack, channel, thread_ts, assistant)

    # ------------------------------------------------------------------ installs (OAuth)
    async def on_app_uninstalled(self, context: Any) -> None:
        installations = self.slack.app.installation_store
        await installations.async_delete_all(enterprise_id=context.enterprise_id, team_id=context.team_id)
        self.slack.forget_team(context.team_id)

    async def on_tokens_revoked(self, event: dict, context: Any) -> None:
        await self.slack.app.default_tokens_revoked_event_listener()(event=event, context=context)
