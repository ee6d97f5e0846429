"""Block Kit views: the model picker (modal and App Home) and the "delete all my data" confirmation."""

from __future__ import annotations

import json

MAX_OPTIONS = 100  # Slack's limit for a static_select


def _option(model: str) -> dict:
    return {"text": {"type": "plain_text", "text": model[:75]}, "value": model[:150]}


def model_select(models: list[str], current: str | None, action_id: str) -> dict:
    """A static_select of the router's models, or a text input when the list is not loaded."""
    if not models:
        return {
            "type": "plain_text_input",
            "action_id": action_id,
            "placeholder": {"type": "plain_text", "text": "org/model or org/model:provider"},
        }
    chosen = [current] if current and current in models else []
    listed = (chosen + [m for m in models if m != current])[:MAX_OPTIONS]
    element = {
        "type": "static_select",
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": "Choose a model"},
        "options": [_option(m) for m in listed],
    }
    if chosen:
        element["initial_option"] = _option(current)
    return element


def switch_model_modal(models: list[str], current: str, metadata: dict) -> dict:
    return {
        "type": "modal",
        "callback_id": "switch_model_modal",
        "private_metadata": json.dumps(metadata),
        "title": {"type": "plain_text", "text": "Switch model"},
        "submit": {"type": "plain_text", "text": "Use this model"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"This thread uses `{current}`."},
            },
            {
                "type": "input",
                "block_id": "model",
                "label": {"type": "plain_text", "text": "Model for this thread"},
                "element": model_select(models, current, "choice"),
            },
        ],
    }


def home_view(models: list[str], current: str, scope: str | None) -> dict:
    where = "your default" if scope == "user" else f"the {scope} default" if scope else "the bot's default"
    return {
        "type": "home",
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": "HuggingChat"}},
            {
                "type": "section",
                "block_id": "home_model",
                "text": {"type": "mrkdwn", "text": f"*Model:* `{current}` ({where})"},
                "accessory": model_select(models, current, "home_model_select")
                if models
                else {
                    "type": "button",
                    "action_id": "home_refresh",
                    "text": {"type": "plain_text", "text": "Refresh"},
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Mention me in a channel to get an answer in the thread, or write to me here. "
                        "`/model NAME` sets your default model, `@me model NAME` one thread's model, "
                        "`/delete` erases a conversation and `/delete all` everything I stored about you.",
                    }
                ],
            },
        ],
    }


def delete_all_confirmation() -> list[dict]:
    return [
        {
            "type": "section",
            "text": {
                "type": "mrkdwn",
                "text": "*Erase everything stored about you?* Every conversation you started and every "
                "message you wrote here is deleted for good.",
            },
        },
        {
            "type": "actions",
            "block_id": "hfchat_delete_all",
            "elements": [
                {
                    "type": "button",
                    "style": "danger",
                    "action_id": "hfchat_delete_all_confirm",
                    "value": "all",
                    "text": {"type": "plain_text", "text": "Erase everything"},
                },
                {
                    "type": "button",
                    "action_id": "hfchat_delete_all_cancel",
                    "value": "cancel",
                    "text": {"type": "plain_text", "text": "Cancel"},
                },
            ],
        },
    ]
