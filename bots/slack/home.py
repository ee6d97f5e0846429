"""The App Home: the person's model (a picker), their settings (a form) and assistants (buttons), and the models
with context, providers, prices, vision and tools. It has no thread to answer in: a refusal is shown on the page."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bots.slack.adapter import PLATFORM, SlackAdapter
from bots.slack.assistants import default_assistant, open_form, ref
from bots.slack.middleware import ACK_FIRST
from bots.slack.views import FORM_SETTINGS, clip, form_values, home_view, settings_modal
from core.errors import NotAllowed, UserFacingError
from core.keys import ConversationKey
from core.records import Scope
from core.settings.options import parse_option
from core.settings.scopes import model_scope

ASSISTANT_BUTTONS = ("home_assistant_new", "home_assistant_edit", "home_assistant_use", "home_assistant_delete")


async def publish_home(slack: SlackAdapter, team: str, user: str, notice: str = "") -> None:
    key = ConversationKey(PLATFORM, team, "", "")
    chat, catalog = slack.chat, slack.core.catalog
    choice = await chat.preferences.model_choice(key, user)
    actor = await slack.actor(team, user)
    default = await default_assistant(slack, team, user)
    view = home_view(
        catalog.ids(),
        choice.model,
        choice.source,
        settings=await chat.preferences.describe(key, user),
        assistants=await chat.assistants.list(actor, key),
        default_assistant=default.id if default else None,
        catalog=catalog.models,
        notice=notice,
    )
    await slack.client.views_publish(user_id=user, view=view)


class Home:
    def __init__(self, slack: SlackAdapter):
        self.slack = slack
        self.chat = slack.chat

    def register(self, app: AsyncApp) -> None:
        app.event("app_home_opened")(self.on_app_home_opened)
        app.action("home_model_select", middleware=ACK_FIRST)(self.on_model_select)
        app.action("home_refresh", middleware=ACK_FIRST)(self.on_refresh)
        app.action("home_settings_edit", middleware=ACK_FIRST)(self.on_settings_edit)
        for action in ASSISTANT_BUTTONS:
            app.action(action, middleware=ACK_FIRST)(self.on_assistant_button)
        app.view("settings_modal")(self.on_settings_submit)  # forms ack with their errors, or none

    async def on_app_home_opened(self, event: dict, context: Any) -> None:
        if event.get("tab", "home") == "home":
            await publish_home(self.slack, context.get("team_id") or "", event["user"])

    async def on_model_select(self, body: dict) -> None:
        team, user = body["team"]["id"], body["user"]["id"]
        action = body["actions"][0]
        name = (action.get("selected_option") or {}).get("value") or action.get("value")
        actor = await self.slack.actor(team, user)
        key = ConversationKey(PLATFORM, team, "", "")
        await self.chat.preferences.set_model(actor, key, model_scope(actor, key, None, in_conversation=False), name)
        await publish_home(self.slack, team, user)

    async def on_refresh(self, body: dict) -> None:
        await publish_home(self.slack, body["team"]["id"], body["user"]["id"])

    async def on_settings_edit(self, body: dict) -> None:
        key = ConversationKey(PLATFORM, body["team"]["id"], "", "")
        rows = await self.chat.preferences.describe(key, body["user"]["id"])
        values = {name: value for name, value, where in rows if where == "user"}
        await self.slack.client.views_open(trigger_id=body["trigger_id"], view=settings_modal(values, {}))

    async def on_assistant_button(self, body: dict) -> None:
        slack = self.slack
        team, user = body["team"]["id"], body["user"]["id"]
        action = body["actions"][0]
        action_id, value = action["action_id"], str(action.get("value") or "")
        key = ConversationKey(PLATFORM, team, "", "")
        service = self.chat.assistants
        try:
            if action_id == "home_assistant_new":
                await open_form(slack, body["trigger_id"], {"home": True})
                return
            actor = await slack.actor(team, user, fresh=action_id != "home_assistant_use")
            named = None if value == "none" else await ref(slack, actor, key, int(value) if value.isdigit() else -1)
            if action_id == "home_assistant_edit":
                assistant = await service.find(actor, key, named or "")
                if not service.may_edit(assistant, actor):
                    raise NotAllowed("Only its creator or a workspace admin can change this assistant.")
                await open_form(slack, body["trigger_id"], {"home": True, "id": assistant.id}, assistant)
                return
            if action_id == "home_assistant_use":
                await service.use(actor, key, named)
            elif action_id == "home_assistant_delete":
                await service.delete(actor, key, named or "")
            await publish_home(slack, team, user)
        except UserFacingError as exc:  # App Home has no thread to answer in: the page says it
            await publish_home(slack, team, user, notice=str(exc))

    async def on_settings_submit(self, ack: Any, body: dict, view: dict) -> None:
        """The App Home settings form: what changed is checked first, all of it, then stored."""
        team, user = body["team"]["id"], body["user"]["id"]
        key = ConversationKey(PLATFORM, team, "", "")
        values = form_values(view)
        rows = await self.chat.preferences.describe(key, user)
        current = {name: value or "" for name, value, where in rows if where == "user"}
        changes: dict[str, str | None] = {}
        errors: dict[str, str] = {}
        for name in FORM_SETTINGS:
            raw = values.get(name)
            raw = "" if raw in (None, "default") else str(raw).strip()
            if raw == current.get(name, ""):
                continue
            try:
                parse_option(name, raw or "default", self.slack.core.catalog)
            except UserFacingError as exc:
                errors[name] = clip(str(exc), 150)
            changes[name] = raw or None
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        actor = await self.slack.actor(team, user)
        for name, raw in changes.items():
            await self.chat.preferences.set_option(actor, key, Scope.USER, name, raw)
        await publish_home(self.slack, team, user)
