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
from bots.slack.commands import message_command
from bots.slack.files import download_files
from bots.slack.sink import message_id, slack_error
from bots.slack.text import strip_mention
from core.chat import NOT_SAVED
from core.conversations.routing import IncomingMessage
from core.errors import StoreUnavailable, UserFacingError
from core.keys import ConversationKey
from core.records import StoredMessage
from core.replies.adoption import ThreadMessage, adopted_messages

log = logging.getLogger(__name__)

THINKING = "is thinking…"
ANSWERED_SUBTYPES = (None, "file_share", "thread_broadcast")


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
        if event.get("bot_id") or not event.get("user"):
            return
        channel = event["channel"]
        text, _ = strip_mention(event.get("text") or "", self.slack.bot_user_id)
        await self.handle_message(
            team=context.get("team_id") or event.get("team") or "",
            channel=channel,
            is_dm=channel.startswith("D"),
            ts=event["ts"],
            thread_ts=event.get("thread_ts"),
            user=event["user"],
            text=text,
            mentioned=True,
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
        if event.get("bot_id") or subtype not in ANSWERED_SUBTYPES:
            return
        user = event.get("user")
        if not user:  # the bot's own messages never get here: Bolt's ignoring_self_events drops them
            return
        is_dm = event.get("channel_type") == "im"
        text, mentioned = strip_mention(event.get("text") or "", self.slack.bot_user_id)
        if mentioned and not is_dm:
            return  # the app_mention event for the same message answers it
        await self.handle_message(
            team=team,
            channel=event["channel"],
            is_dm=is_dm,
            ts=event["ts"],
            thread_ts=event.get("thread_ts"),
            user=user,
            text=text,
            mentioned=mentioned,
            files=event.get("files"),
        )

    async def _on_edited(self, event: dict) -> None:
        message = event.get("message") or {}
        if self.slack.ours(message) or self.slack.ours(event.get("previous_message")) or message.get("bot_id"):
            return  # the echo of our own chat.update / stopStream: nothing to do
        if not message.get("ts") or not message.get("user"):
            return
        text, _ = strip_mention(message.get("text") or "", self.slack.bot_user_id)
        try:
            await self.chat.on_message_edited(PLATFORM, message_id(event["channel"], message["ts"]), text)
        except UserFacingError:
            pass  # edited down to nothing: keep what was stored

    async def _on_deleted(self, event: dict) -> None:
        previous = event.get("previous_message") or {}
        if self.slack.ours(previous) or previous.get("bot_id") or not event.get("deleted_ts"):
            return
        await self.chat.on_message_deleted(PLATFORM, message_id(event["channel"], event["deleted_ts"]))

    async def handle_message(self, **message: Any) -> None:
        """Answer a user's message (the keyword arguments of `_answer_message`), once per Slack message
        whichever events (app_mention, message) announce it. If the database cannot store it, the claim is
        given back: in HTTP mode the request fails (Slack delivers it again), in Socket Mode the user is
        asked to send it again."""
        slack = self.slack
        channel, user, thread = message["channel"], message["user"], message.get("thread_ts") or message["ts"]
        claim = f"msg:{channel}/{message['ts']}"
        try:
            if not await self.chat.claim_event(PLATFORM, claim):
                return
            await self._answer_message(**message)
        except StoreUnavailable:
            await self.chat.release_event(PLATFORM, claim)
            if not slack.store_before_ack:  # acknowledged already: ask for it again
                if message["is_dm"]:
                    if message.get("thread_ts"):  # an assistant thread still says "is thinking…"
                        await slack.assistant_call(
                            "assistant.threads.setStatus", channel_id=channel, thread_ts=thread, status=""
                        )
                    await slack.post(channel, NOT_SAVED, thread)
                else:
                    await slack.tell(channel, user, NOT_SAVED, thread)
            raise

    async def _answer_message(
        self,
        *,
        team: str,
        channel: str,
        is_dm: bool,
        ts: str,
        thread_ts: str | None,
        user: str,
        text: str,
        mentioned: bool,
        files: list[dict] | None = None,
    ) -> None:
        slack = self.slack
        thread = thread_ts or ts
        key = ConversationKey(PLATFORM, team, channel, thread)
        # in a DM every message is to the bot: its settings and assistant commands need no mention there
        if (mentioned or is_dm) and not files:
            if await message_command(slack, text, key, user, mentioned=mentioned, in_thread=thread_ts is not None):
                return
        incoming = IncomingMessage(
            PLATFORM, team, channel, ts, thread=thread_ts or "", is_dm=is_dm, dm_threads=True, mentioned=mentioned
        )
        route = await self.chat.route(incoming)
        if route.key is None:
            return
        key = route.key
        earlier = None
        if route.adopt:  # the core reads it only if it may adopt it

            async def earlier(after: float) -> list[StoredMessage]:
                return await self._thread_prior(team, channel, thread_ts, ts, after)

        actor = await slack.actor(team, user)
        assistant = is_dm and thread_ts is not None  # Slack's AI-app threads live in the DM, in threads
        untitled = assistant and await self.chat.conversation_for(key) is None
        if assistant:
            await slack.assistant_call(
                "assistant.threads.setStatus", channel_id=channel, thread_ts=thread, status=THINKING
            )
        # fetched now, with the bot token: what cannot be used gets a note under the answer
        attachments = await download_files(slack.client, files) if files else None
        try:
            submitted = await self.chat.submit(
                key,
                actor,
                text,
                slack.sink(team, channel, thread, user, assistant_thread=assistant),
                platform_message_id=message_id(channel, ts),
                earlier=earlier,
                attachments=attachments,
            )
        except UserFacingError as exc:
            if assistant:
                await slack.assistant_call(
                    "assistant.threads.setStatus", channel_id=channel, thread_ts=thread, status=""
                )
            if is_dm:
                await slack.post(channel, str(exc), thread)
            else:
                await slack.tell(channel, user, str(exc), thread)
            return
        slack.track_reply(submitted.reply)
        if route.make_current:
            await self.chat.use_dm_thread(PLATFORM, team, channel, thread)
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
        model = await self.chat.resolve_model(key, user)
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
