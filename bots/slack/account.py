"""`/account` on Slack: `connect` opens a modal (views.open) whose token goes to the core on view_submission, never
into a channel; a refused token is told in the form's field, with the way back; `status`, `disconnect`, and the
admins' `bill` and `shared` answer only the person. The words are the core's (core.commands.account)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.async_app import AsyncApp

from bots.slack.adapter import SlackAdapter
from bots.slack.invocation import Invocation
from core.commands.account import TOKEN_HINT, action_of
from core.errors import UserFacingError

CONNECT_FORM = "hfchat_account_connect"
FIELD = "hf_token"


def connect_form(channel: str) -> dict:
    return {
        "type": "modal",
        "callback_id": CONNECT_FORM,
        "private_metadata": json.dumps({"channel": channel}),
        "title": {"type": "plain_text", "text": "Hugging Face account"},
        "submit": {"type": "plain_text", "text": "Connect"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
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
    if action == "connect":
        if not inv.trigger_id:  # `@me account connect` in a message: no form can open from there
            await inv.reply("Use the `/account connect` slash command: it opens a private form for your token.")
            return
        await slack.client.views_open(trigger_id=inv.trigger_id, view=connect_form(inv.channel))
        return
    fresh = action in ("bill", "shared")  # admin rights decide those
    actor = await slack.actor(inv.team, inv.user, fresh=fresh)
    await inv.reply(await slack.chat.account(actor, inv.key, text))


class AccountForm:
    def __init__(self, slack: SlackAdapter):
        self.slack = slack

    def register(self, app: AsyncApp) -> None:
        app.view(CONNECT_FORM)(self.on_connect)  # the form acks itself: a refused token is shown in its field

    async def on_connect(self, ack: Any, body: dict, view: dict) -> None:
        slack = self.slack
        token = view["state"]["values"][FIELD][FIELD].get("value") or ""
        actor = await slack.actor(body["team"]["id"], body["user"]["id"])
        try:
            text = await slack.chat.connect_account(actor, token)
        except UserFacingError as refused:
            await ack(response_action="errors", errors={FIELD: str(refused)[:300]})
            return
        await ack()
        channel = json.loads(view.get("private_metadata") or "{}").get("channel")
        if channel:
            await slack.ephemeral(channel, actor.user_id, text)
