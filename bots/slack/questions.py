"""Clarifying questions (core.replies.clarify) on Slack: a message in the answer's thread with a button per choice
and "Other…", which opens a form for the person's own words. The click goes to the core (who may answer is its rule)
and the question then shows the choice."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError

from bots.slack.adapter import PLATFORM
from bots.slack.middleware import ACK_FIRST
from core.errors import UserFacingError
from core.replies.clarify import OTHER, Question

log = logging.getLogger(__name__)


CHOICE = re.compile(r"^hfchat_q_(?P<choice>[0-3]|other)$")
OWN_WORDS_FORM = "hfchat_q_own_words"
FIELD = "answer"


def _escaped(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def question_blocks(question: Question, *, answered: bool = False) -> list[dict]:
    text = f"❓ *{_escaped(question.text)}*"
    if answered:
        return [{"type": "section", "text": {"type": "mrkdwn", "text": f"{text}\n→ {_escaped(question.choice)}"}}]
    buttons = [
        {
            "type": "button",
            "action_id": f"hfchat_q_{index}",
            "value": question.id,
            "text": {"type": "plain_text", "text": option[:75]},
            **({"style": "primary"} if index == 0 else {}),
        }
        for index, option in enumerate(question.options)
    ]
    buttons.append(
        {
            "type": "button",
            "action_id": "hfchat_q_other",
            "value": question.id,
            "text": {"type": "plain_text", "text": OTHER},
        }
    )
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {"type": "actions", "block_id": "hfchat_question", "elements": buttons},
    ]


def own_words_form(question_id: str, channel: str, ts: str) -> dict:
    return {
        "type": "modal",
        "callback_id": OWN_WORDS_FORM,
        "private_metadata": json.dumps({"question": question_id, "channel": channel, "ts": ts}),
        "title": {"type": "plain_text", "text": "Your answer"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": FIELD,
                "label": {"type": "plain_text", "text": "Your answer"},
                "element": {"type": "plain_text_input", "action_id": FIELD, "multiline": True, "max_length": 500},
            }
        ],
    }


async def show(sink: Any, question: Question) -> None:
    """How a question shows on Slack: a message of its own in the answer's thread (SlackSink's channel and thread)."""
    await sink.client.chat_postMessage(
        channel=sink.channel, thread_ts=sink.thread_ts, text=f"❓ {question.text}", blocks=question_blocks(question)
    )


class Questions:
    """The question buttons and the own-words form; questions shown in the app's threads."""

    def __init__(self, adapter: Any):
        self.adapter = adapter

    def register(self, app: Any) -> None:
        self.adapter.chat.questions.show_with(PLATFORM, show)
        app.action(CHOICE, middleware=ACK_FIRST)(self.on_choice)
        app.view(OWN_WORDS_FORM)(self.on_own_words)  # a form acks itself, with its errors

    async def on_choice(self, body: dict) -> None:
        adapter = self.adapter
        action = body["actions"][0]
        question_id, choice = str(action.get("value") or ""), CHOICE.match(action["action_id"])["choice"]
        channel, ts = body["container"]["channel_id"], body["container"]["message_ts"]
        if choice == "other":
            await adapter.client.views_open(
                trigger_id=body["trigger_id"], view=own_words_form(question_id, channel, ts)
            )
            return
        actor = await adapter.actor(body["team"]["id"], body["user"]["id"])
        question = await adapter.chat.questions.answer(question_id, actor, option=int(choice))
        await _show_answered(adapter, channel, ts, question)

    async def on_own_words(self, ack: Any, body: dict, view: dict) -> None:
        adapter = self.adapter
        where = json.loads(view.get("private_metadata") or "{}")
        typed = view["state"]["values"][FIELD][FIELD].get("value") or ""
        actor = await adapter.actor(body["team"]["id"], body["user"]["id"])
        try:
            question = await adapter.chat.questions.answer(where.get("question", ""), actor, text=typed)
        except UserFacingError as exc:
            await ack(response_action="errors", errors={FIELD: str(exc)})
            return
        await ack()
        await _show_answered(adapter, where["channel"], where["ts"], question)


async def _show_answered(adapter: Any, channel: str, ts: str, question: Question) -> None:
    try:
        await adapter.client.chat_update(
            channel=channel,
            ts=ts,
            text=f"❓ {question.text} → {question.choice}",
            blocks=question_blocks(question, answered=True),
        )
    except SlackApiError as exc:  # the choice counted; only its display failed
        log.warning("question message not updated: %s", exc.response.get("error"))
