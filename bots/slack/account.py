"""`/account` on Slack: `connect` opens a modal (views.open) whose token goes to the core on view_submission, never
into a channel; a refused token is told in the form's field, with the way back; `status`, `disconnect`, and the
admins' `bill` and `shared` answer only the person. The words are the core's (core.commands.account)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncApp

from bots.slack.adapter import PLATFORM, SlackAdapter
from bots.slack.invocation import Invocation
from bots.slack.views import markdown_blocks
from core.accounts import SignIn
from core.commands.account import TOKEN_HINT, action_of
from core.errors import UserFacingError
from core.keys import Actor, ConversationKey

CONNECT_FORM = "hfchat_account_connect"
FIELD = "hf_token"


SIGN_IN = "hfchat_account_sign_in"
PROVIDER = "huggingface"  # the auth_provider block's value (its Connect button: auth_provider_connect_huggingface)


def connect_form(channel: str, sign_in_url: str | None = None) -> dict:
    """The private form for a token; with signing in set up, a button to sign in with Hugging Face instead."""
    sign_in = []
    if sign_in_url:
        sign_in = [
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": SIGN_IN,
                        "text": {"type": "plain_text", "text": "Sign in with Hugging Face"},
                        "url": sign_in_url,
                        "style": "primary",
                    }
                ],
            },
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "Or paste a token:"}]},
        ]
    return {
        "type": "modal",
        "callback_id": CONNECT_FORM,
        "private_metadata": json.dumps({"channel": channel}),
        "title": {"type": "plain_text", "text": "Hugging Face account"},
        "submit": {"type": "plain_text", "text": "Connect"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            *sign_in,
            {"type": "section", "text": {"type": "mrkdwn", "text": TOKEN_HINT}},
            {
                "type": "input",
                "block_id": FIELD,
                "label": {"type": "plain_text", "text": "Your Hugging Face token"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": FIELD,
                    "min_length": 8,
                    "max_length": 512,
                    "placeholder": {"type": "plain_text", "text": "hf_…"},
                },
            },
        ],
    }


async def account_command(slack: SlackAdapter, inv: Invocation, text: str) -> None:
    action, _ = action_of(text)
    if action == "connect" and slack.chat.accounts.enabled:
        if not inv.trigger_id:  # `@me account connect` in a message: no form can open from there
            await inv.reply("Use the `/account connect` slash command: it opens a private form for your token.")
            return
        actor = await slack.actor(inv.team, inv.user)
        # signing in comes back to the bot's HTTP endpoint (bots.slack.http): only in HTTP mode is there one
        serves = slack.core.settings.slack_mode == "http"
        url = slack.chat.accounts.sign_in_url(actor, {"channel": inv.channel}) if serves else None
        await slack.client.views_open(trigger_id=inv.trigger_id, view=connect_form(inv.channel, url))
        return
    fresh = action in ("bill", "shared")  # admin rights decide those
    actor = await slack.actor(inv.team, inv.user, fresh=fresh)
    said = await slack.chat.account(actor, inv.key, text)
    if action == "status" and slack.core.settings.slack_user_connections:
        await inv.reply(said, await connection_blocks(slack, actor))
        return
    await inv.reply(said)


async def connection_blocks(slack: SlackAdapter, actor: Actor) -> list[dict]:
    """Slack's own way to show a connected account (the `auth_provider` block), for apps set up with user
    connections: who is connected, and Connect (signing in, where the bot serves its callback)."""
    status = await slack.chat.accounts.status(actor, ConversationKey(PLATFORM, actor.workspace, "", ""))
    block: dict = {
        "type": "auth_provider",
        "value": PROVIDER,
        "name": {"type": "plain_text", "text": "Hugging Face"},
        "description": {"type": "plain_text", "text": "Answers use your own Hugging Face account and credits"},
        "is_connected": status.identity is not None,
        "fallback": markdown_blocks(status.text),
    }
    if status.identity is not None:
        block["connected_identity"] = {"type": "plain_text", "text": status.identity.name[:75]}
        if status.bill_to:
            block["connected_context"] = {"type": "plain_text", "text": f"billed to {status.bill_to}"[:75]}
    elif slack.core.settings.slack_mode == "http":
        url = slack.chat.accounts.sign_in_url(actor)
        if url:
            block["auth_url"] = url
    return [block]


class AccountForm:
    def __init__(self, slack: SlackAdapter):
        self.slack = slack

    def register(self, app: AsyncApp) -> None:
        app.view(CONNECT_FORM)(self.on_connect)  # the form acks itself: a refused token is shown in its field
        if self.slack.core.settings.slack_user_connections:
            self.slack.chat.accounts.watchers.append(self.show_connection)
        app.action(SIGN_IN)(self.on_sign_in_clicked)  # a link button still sends its click: acked, nothing to do

    async def on_sign_in_clicked(self, ack: Any) -> None:
        await ack()

    async def show_connection(self, actor: Actor, connected: bool) -> None:
        """Slack's user connections: Slack shows the person's connection as the app says it is."""
        if actor.platform != PLATFORM:
            return
        client = await self.slack.client_for(actor.workspace)
        status = "connected" if connected else "disconnected"
        await client.apps_user_connection_update(user_id=actor.user_id, status=status)

    async def told(self, signed_in: SignIn, text: str) -> None:
        """A sign-in finished in the browser: said in the channel where `/account connect` was typed."""
        channel = signed_in.where.get("channel")
        if channel:
            await self.slack.ephemeral(channel, signed_in.actor.user_id, text)

    async def on_connect(self, ack: Any, body: dict, view: dict) -> None:
        slack = self.slack
        token = view["state"]["values"][FIELD][FIELD].get("value") or ""
        actor = await slack.actor(body["team"]["id"], body["user"]["id"])
        try:
            text = (await slack.chat.accounts.connect(actor, token)).text
        except UserFacingError as refused:
            await ack(response_action="errors", errors={FIELD: str(refused)[:300]})
            return
        await ack()
        channel = json.loads(view.get("private_metadata") or "{}").get("channel")
        if channel:
            await slack.ephemeral(channel, actor.user_id, text)
