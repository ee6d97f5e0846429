"""Slack's interactions on messages: the buttons under an answer (Stop, Regenerate, Continue, Show reasoning,
feedback, Delete), starter prompts, the "erase everything" confirmation, the message shortcuts (Delete
conversation, Delete from here, Switch model) and the forms they open. Each is one call on the core, which
checks who may do it; buttons and shortcuts are acked first (ACK_FIRST), forms ack with their errors."""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt.async_app import AsyncApp

from bots.slack.adapter import PLATFORM, SlackAdapter
from bots.slack.assistants import ask_starter, error_block, form_fields, ref
from bots.slack.conversations import DELETED, delete_thread
from bots.slack.delete_from import delete_from_here
from bots.slack.home import publish_home
from bots.slack.middleware import ACK_FIRST
from bots.slack.views import FEEDBACK_ACTION, clip, form_values, starter_buttons, switch_model_modal
from core.errors import NotFound, UserFacingError
from core.keys import ConversationKey
from core.replies.actions import CONTINUE, DELETE, FEEDBACK_DOWN, FEEDBACK_UP, REGENERATE, STOP
from core.settings.assistants import describe
from core.settings.scopes import model_scope

REASONING_INLINE_CHARS = 3_500  # longer reasoning comes as a file
# the buttons under an answer that act on its conversation (core.replies.actions; Show reasoning has its own)
REPLY_BUTTONS = tuple(f"hfchat_{name}" for name in (STOP, REGENERATE, CONTINUE, DELETE, FEEDBACK_UP, FEEDBACK_DOWN))
NOTHING_TO_STOP = "Nothing is being written here."
PRESSED_NOTES = {
    DELETE: DELETED,
    FEEDBACK_UP: "Thanks for the feedback.",
    FEEDBACK_DOWN: "Thanks for the feedback.",
}


class Actions:
    def __init__(self, slack: SlackAdapter):
        self.slack = slack
        self.chat = slack.chat

    def register(self, app: AsyncApp) -> None:
        for action in REPLY_BUTTONS:
            app.action(action, middleware=ACK_FIRST)(self.on_reply_button)
        app.action(FEEDBACK_ACTION, middleware=ACK_FIRST)(self.on_feedback)
        app.action("hfchat_reasoning", middleware=ACK_FIRST)(self.on_reasoning_button)
        app.action(re.compile(r"^hfchat_starter_\d+$"), middleware=ACK_FIRST)(self.on_starter_button)
        app.action("hfchat_delete_all_confirm", middleware=ACK_FIRST)(self.on_delete_all_confirm)
        app.action("hfchat_delete_all_cancel", middleware=ACK_FIRST)(self.on_delete_all_cancel)
        app.shortcut("delete_conversation", middleware=ACK_FIRST)(self.on_delete_shortcut)
        app.shortcut("delete_from_here", middleware=ACK_FIRST)(self.on_delete_from_shortcut)
        app.shortcut("switch_model", middleware=ACK_FIRST)(self.on_switch_model_shortcut)
        app.view("switch_model_modal")(self.on_switch_model_submit)  # forms ack with their errors, or none
        app.view("assistant_modal")(self.on_assistant_submit)

    # ------------------------------------------------------------------ buttons
    async def on_reply_button(self, body: dict, respond: Any) -> None:
        slack = self.slack
        action = body["actions"][0]
        name, value = action["action_id"].removeprefix("hfchat_"), str(action.get("value") or "")
        team, user = body["team"]["id"], body["user"]["id"]
        actor = await slack.actor(team, user, fresh=name == DELETE)  # admin rights decide a deletion
        conversation = await self.chat.conversations.of_reply(value, actor)
        pressed = await self.chat.actions.press(
            name,
            conversation,
            actor,
            lambda key: slack.sink(team, key.channel, key.thread, user),
            reply_id=int(value),  # of_reply found the answer: its id is a number
        )
        if pressed.submitted is not None:
            slack.track_reply(pressed.submitted.reply)
        note = NOTHING_TO_STOP if not pressed.done else PRESSED_NOTES.get(name, "")
        if note:
            await respond(text=note, response_type="ephemeral", replace_original=False)

    async def on_feedback(self, body: dict) -> None:
        """Slack's native 👍 / 👎 under an answer (views.feedback_block): the vote is stored with the answer and
        the voter, and erased with the conversation. Slack shows the pressed state itself: nothing is posted."""
        vote, _, reply = str(body["actions"][0].get("value") or "").partition(":")
        if vote not in ("up", "down") or not reply.isdigit():
            raise NotFound("That answer no longer exists.")
        team, user = body["team"]["id"], body["user"]["id"]
        actor = await self.slack.actor(team, user)
        conversation = await self.chat.conversations.of_reply(reply, actor)
        action = FEEDBACK_UP if vote == "up" else FEEDBACK_DOWN
        await self.chat.actions.press(action, conversation, actor, lambda key: None, reply_id=int(reply))

    async def on_reasoning_button(self, body: dict) -> None:
        """The reasoning behind an answer, for the person who asked to see it (never in the answer)."""
        slack = self.slack
        team, user = body["team"]["id"], body["user"]["id"]
        value = str(body["actions"][0].get("value") or "")
        if not value.isdigit():
            raise NotFound("That answer no longer exists.")
        actor = await slack.actor(team, user)
        reasoning = await self.chat.conversations.reasoning(int(value), actor)
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        thread = message.get("thread_ts") or container.get("thread_ts") or message.get("ts")
        if len(reasoning) <= REASONING_INLINE_CHARS:
            await slack.ephemeral(channel, user, f"💭 **Reasoning**\n\n{reasoning}", thread)
            return
        dm = await slack.dm_channel(user)
        await slack.upload(dm, f"reasoning-{value}.md", reasoning, "Reasoning", "💭 The reasoning behind an answer")
        await slack.ephemeral(
            channel, user, "💭 The reasoning is long: it is in our direct messages as a file.", thread
        )

    async def on_starter_button(self, body: dict) -> None:
        await ask_starter(self.slack, body)

    async def on_delete_all_confirm(self, body: dict, respond: Any) -> None:
        actor = await self.slack.actor(body["team"]["id"], body["user"]["id"])
        count = await self.chat.delete_user_data(actor)
        await respond(
            text=f"Done: everything stored about you is erased ({count} conversation{'s' if count != 1 else ''}).",
            replace_original=True,
        )

    async def on_delete_all_cancel(self, respond: Any) -> None:
        await respond(text="Nothing was erased.", replace_original=True)

    # ------------------------------------------------------------------ message shortcuts
    async def on_delete_shortcut(self, body: dict, respond: Any) -> None:
        message = body.get("message") or {}
        team, user, channel = body["team"]["id"], body["user"]["id"], body["channel"]["id"]
        key = ConversationKey(PLATFORM, team, channel, message.get("thread_ts") or message["ts"])
        actor = await self.slack.actor(team, user, fresh=True)
        text = await delete_thread(self.slack, key, actor)
        await respond(text=text, response_type="ephemeral", replace_original=False)

    async def on_delete_from_shortcut(self, body: dict, respond: Any) -> None:
        text = await delete_from_here(self.slack, body)
        await respond(text=text, response_type="ephemeral", replace_original=False)

    async def on_switch_model_shortcut(self, body: dict) -> None:
        message = body.get("message") or {}
        team, user, channel = body["team"]["id"], body["user"]["id"], body["channel"]["id"]
        thread = message.get("thread_ts") or message["ts"]
        key = ConversationKey(PLATFORM, team, channel, thread)
        conversation = await self.chat.conversations.for_key(key)
        current = (await self.chat.preferences.model_choice(key, user, conversation.id if conversation else None)).model
        view = switch_model_modal(self.slack.core.catalog.ids(), current, {"channel": channel, "thread": thread})
        await self.slack.client.views_open(trigger_id=body["trigger_id"], view=view)

    # ------------------------------------------------------------------ forms
    async def on_switch_model_submit(self, ack: Any, body: dict, view: dict) -> None:
        team, user = body["team"]["id"], body["user"]["id"]
        meta = json.loads(view.get("private_metadata") or "{}")
        state = ((view.get("state") or {}).get("values") or {}).get("model", {}).get("choice", {})
        name = (state.get("selected_option") or {}).get("value") or (state.get("value") or "").strip()
        key = ConversationKey(PLATFORM, team, meta.get("channel", ""), meta.get("thread", ""))
        actor = await self.slack.actor(team, user)
        try:
            scope = model_scope(actor, key, None, in_conversation=True)
            chosen = await self.chat.preferences.set_model(actor, key, scope, name or None)
        except UserFacingError as exc:
            await ack(response_action="errors", errors={"model": str(exc)[:150]})
            return
        await ack()
        await self.slack.tell(key.channel, user, f"This thread now uses `{chosen}`.", key.thread)

    async def on_assistant_submit(self, ack: Any, body: dict, view: dict) -> None:
        """The assistant form, opened by `/assistant new|edit` or from the App Home."""
        slack = self.slack
        team, user = body["team"]["id"], body["user"]["id"]
        meta = json.loads(view.get("private_metadata") or "{}")
        channel = str(meta.get("channel") or "")
        key = ConversationKey(PLATFORM, team, channel, "")
        service = self.chat.assistants
        try:
            actor = await slack.actor(team, user, fresh=True)
            fields = form_fields(form_values(view))
            if meta.get("id"):
                named = await ref(slack, actor, key, int(meta["id"]))
                before = await service.find(actor, key, named)
                fields["options"] = {name: None for name in before.options} | fields["options"]
                assistant = await service.edit(actor, key, named, **fields)
            else:
                assistant = await service.create(actor, key, fields.pop("name"), **fields)
        except UserFacingError as exc:
            await ack(response_action="errors", errors={error_block(str(exc)): clip(str(exc), 150)})
            return
        await ack()
        done = "Updated" if meta.get("id") else "Created"
        if meta.get("home"):
            await publish_home(slack, team, user)
        elif channel:
            await slack.ephemeral(channel, user, f"{done}:\n{describe(assistant)}", None, starter_buttons(assistant))
