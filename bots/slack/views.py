"""Block Kit views: the model picker (modal and App Home), the App Home, the assistant and settings forms,
starter-prompt buttons and the "delete all my data" confirmation."""

from __future__ import annotations

import json

from core.models.catalog import ModelInfo, describe_model
from core.records import Assistant
from core.replies.actions import DELETE, FEEDBACK_DOWN, FEEDBACK_UP, STOP, reply_actions
from core.settings.options import REASONING_EFFORTS
from core.streaming import ReplyView

MAX_OPTIONS = 100  # Slack's limit for a static_select
SECTION_CHARS = 3000  # Slack's limit for a section's text
INPUT_CHARS = 3000  # Slack's limit for a plain_text_input
HOME_ASSISTANTS = 20  # shown in App Home (two blocks each; a view holds 100)
HOME_MODELS = 12
MARKDOWN_CHARS = 11_000  # a markdown block takes 12,000
# where a setting's value comes from (core.generation.Preferences.resolve), in words
WHERE = {
    "conversation": "this conversation",
    "assistant": "its assistant",
    "user": "your setting",
    "channel": "this channel",
    "workspace": "the workspace",
    "default": "default",
    "": "not set",
}
SUGGESTED_PROMPTS = [  # for AI-app threads when the person's assistant has no starters of its own
    {"title": "Explain a concept", "message": "Explain how transformers work, simply."},
    {"title": "Write some code", "message": "Write a Python function that merges two sorted lists."},
    {"title": "Summarize", "message": "Summarize the main ideas of the attention paper in five bullet points."},
]
# the settings the App Home form edits (the omni routes are for admins, by command)
FORM_SETTINGS = ("temperature", "top_p", "max_tokens", "reasoning_effort", "system_prompt", "provider", "web_search")


# the buttons under an answer (core.replies.actions names them; their action ids are `hfchat_` + the name)
REPLY_BUTTON_TEXT = {
    "stop": "⏹ Stop",
    "regenerate": "🔁 Regenerate",
    "continue": "▶️ Continue",
    "reasoning": "💭 Show reasoning",
    "feedback_up": "👍",
    "feedback_down": "👎",
    "delete": "🗑 Delete",
}


def plain(text: str, limit: int = 75) -> dict:
    return {"type": "plain_text", "text": (text[: limit - 1] + "…") if len(text) > limit else text, "emoji": True}


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(text: str, limit: int = 500) -> str:
    """Someone's prompt quoted in the bot's message (a starter prompt, a comparison), cut at `limit`."""
    return "> " + clip(text, limit).replace("\n", "\n> ")


def markdown_blocks(text: str) -> list[dict]:
    """Standard Markdown in a message (Slack renders the `markdown` block itself)."""
    return [{"type": "markdown", "text": clip(text, MARKDOWN_CHARS)}]


def model_lines(models: list[ModelInfo], limit: int) -> list[str]:
    lines = [f"• {describe_model(m)}" for m in models[:limit]]
    if len(models) > limit:
        lines.append(f"… and {len(models) - limit} more (`/model list WORD` finds them).")
    return lines


def settings_lines(rows: list[tuple[str, str | None, str]]) -> list[str]:
    """(name, value, where) rows from the core as short lines; long values (a system prompt) are cut."""
    lines = []
    for name, value, where in rows:
        shown = "—"
        if value:
            shown = "`" + clip(" ".join(value.replace("`", "'").split()), 60) + "`"
        lines.append(f"• `{name}` = {shown} ({WHERE.get(where, where)})")
    return lines


def assistant_summary(assistant: Assistant, *, default: bool = False) -> str:
    kind = "shared" if assistant.shared else "personal"
    line = f"{assistant.name} ({kind}) · model `{assistant.model or 'default'}`"
    return line + (" · ✓ your default" if default else "")


def starter_buttons(assistant: Assistant) -> list[dict]:
    """An assistant's starter prompts as buttons: a click starts a conversation with it."""
    if not assistant.starters or assistant.id is None:
        return []
    return [
        {
            "type": "actions",
            "block_id": f"hfchat_starters_{assistant.id}",
            "elements": [
                {
                    "type": "button",
                    "action_id": f"hfchat_starter_{index}",
                    "text": plain(starter),
                    "value": f"{assistant.id}:{index}",
                }
                for index, starter in enumerate(assistant.starters)
            ],
        }
    ]


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


def _button(text: str, action_id: str, value: str = "", *, style: str | None = None, confirm: dict | None = None):
    button: dict = {"type": "button", "action_id": action_id, "text": plain(text)}
    if value:
        button["value"] = value
    if style:
        button["style"] = style
    if confirm:
        button["confirm"] = confirm
    return button


def _confirm(title: str, text: str, yes: str) -> dict:
    return {"title": plain(title), "text": plain(text, 300), "confirm": plain(yes), "deny": plain("Cancel")}


def _section(text: str, accessory: dict | None = None, block_id: str | None = None) -> dict:
    block: dict = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_CHARS)}}
    if accessory:
        block["accessory"] = accessory
    if block_id:
        block["block_id"] = block_id
    return block


def home_view(
    models: list[str],
    current: str,
    source: str,
    *,
    settings: list[tuple[str, str | None, str]] | None = None,
    assistants: list[Assistant] | None = None,
    default_assistant: int | None = None,
    catalog: list[ModelInfo] | None = None,
    notice: str = "",
) -> dict:
    """The App Home: the person's model, settings and assistants, each with controls, then the models."""
    blocks: list[dict] = [
        {"type": "header", "text": {"type": "plain_text", "text": "HuggingChat"}},
        _section(
            f"*Model:* `{current}` ({source})",
            model_select(models, current, "home_model_select") if models else _button("Refresh", "home_refresh"),
            "home_model",
        ),
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": "Mention me in a channel to get an answer in the thread, or write to me here. "
                    "`/model NAME` sets your default model, `@me model NAME` one thread's model, "
                    "`/settings`, `/assistant`, `/usage`, `/compare`, `/conversations`, `/export`; "
                    "`/delete` erases a conversation and `/delete all` everything I stored about you.",
                }
            ],
        },
    ]
    if notice:
        blocks.insert(1, _section(f"⚠️ {notice}", block_id="home_notice"))
    if settings is not None:
        shown = [row for row in settings if not row[0].startswith("omni_") and row[0] != "model"]
        blocks += [
            {"type": "divider"},
            _section(
                "*Your settings*\n" + "\n".join(settings_lines(shown)),
                _button("Change", "home_settings_edit"),
                "home_settings",
            ),
        ]
    if assistants is not None:
        blocks += [
            {"type": "divider"},
            _section(
                "*Assistants*"
                + (
                    ""
                    if assistants
                    else "\nNone yet: an assistant keeps instructions, a model, settings and starter prompts together."
                ),
                _button("New assistant", "home_assistant_new", style="primary"),
                "home_assistants",
            ),
        ]
        for assistant in assistants[:HOME_ASSISTANTS]:
            value = str(assistant.id)
            chosen = assistant.id == default_assistant
            blocks.append(_section(assistant_summary(assistant, default=chosen), block_id=f"home_assistant_{value}"))
            buttons = [
                _button("Stop using" if chosen else "Use", "home_assistant_use", "none" if chosen else value),
                _button("Edit", "home_assistant_edit", value),
                _button(
                    "Delete",
                    "home_assistant_delete",
                    value,
                    style="danger",
                    confirm=_confirm("Delete this assistant?", f"“{assistant.name}” is deleted for good.", "Delete"),
                ),
            ]
            blocks.append({"type": "actions", "block_id": f"home_assistant_actions_{value}", "elements": buttons})
    if catalog:
        blocks += [
            {"type": "divider"},
            _section(
                "*Models* (price per million tokens, in/out)\n" + "\n".join(model_lines(catalog, HOME_MODELS)),
                block_id="home_models",
            ),
        ]
    return {"type": "home", "blocks": blocks}


def _input(block_id: str, label: str, element: dict, *, optional: bool = True, hint: str = "") -> dict:
    block: dict = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, 150)
    return block


def _text_input(initial: str = "", *, multiline: bool = False, placeholder: str = "", max_length: int = INPUT_CHARS):
    element: dict = {"type": "plain_text_input", "action_id": "value", "multiline": multiline}
    element["max_length"] = max_length
    if initial:
        element["initial_value"] = initial[:max_length]
    if placeholder:
        element["placeholder"] = plain(placeholder, 150)
    return element


def _choice(options: list[tuple[str, str]], initial: str) -> dict:
    made = [{"text": plain(label), "value": value} for value, label in options]
    element: dict = {"type": "static_select", "action_id": "value", "options": made}
    chosen = next((o for o in made if o["value"] == initial), None)
    if chosen:
        element["initial_option"] = chosen
    return element


def assistant_modal(models: list[str], metadata: dict, assistant: Assistant | None = None) -> dict:
    """The form to create (or, given one, edit) an assistant."""
    a = assistant or Assistant(platform="", workspace="", owner_id="", name=str(metadata.get("name") or ""))
    if models:
        model_element = _choice(
            [("default", "The default model"), *((m, m) for m in models[: MAX_OPTIONS - 1])], a.model or "default"
        )
    else:
        model_element = _text_input(a.model, placeholder="org/model (empty: the default)")
    flags = [
        ("web_search", "May search the web and read links (models with tools)"),
        ("shared", "Shared with the workspace (otherwise only you see it)"),
    ]
    options = [{"text": plain(label), "value": value} for value, label in flags]
    checkboxes: dict = {"type": "checkboxes", "action_id": "value", "options": options}
    initial = [o for o in options if getattr(a, o["value"])]
    if initial:
        checkboxes["initial_options"] = initial
    settings = " ".join(f"{k}={v}" for k, v in a.options.items())
    return {
        "type": "modal",
        "callback_id": "assistant_modal",
        "private_metadata": json.dumps(metadata),
        "title": plain("Edit assistant" if assistant else "New assistant", 24),
        "submit": plain("Save" if assistant else "Create", 24),
        "close": plain("Cancel", 24),
        "blocks": [
            _input("name", "Name", _text_input(a.name, max_length=60), optional=False),
            _input(
                "instructions",
                "Instructions",
                _text_input(a.instructions, multiline=True, placeholder="You are a friendly chef who ..."),
            ),
            _input("model", "Model", model_element),
            _input(
                "options",
                "Generation settings",
                _text_input(settings, placeholder="temperature=0.7 reasoning_effort=high"),
                hint="temperature, top_p, max_tokens, reasoning_effort, provider as name=value",
            ),
            _input(
                "starters",
                "Starter prompts",
                _text_input("\n".join(a.starters), multiline=True, placeholder="One per line, up to four"),
            ),
            _input("flags", "Options", checkboxes),
        ],
    }


def settings_modal(values: dict[str, str | None], metadata: dict) -> dict:
    """Your own settings (user scope): what you set, empty where you set nothing."""

    def current(name: str) -> str:
        return values.get(name) or ""

    blocks = [
        _input("temperature", "Temperature (0 to 2)", _text_input(current("temperature"), max_length=10)),
        _input("top_p", "Top p (above 0, up to 1)", _text_input(current("top_p"), max_length=10)),
        _input("max_tokens", "Longest answer, in tokens", _text_input(current("max_tokens"), max_length=10)),
        _input(
            "reasoning_effort",
            "Reasoning effort",
            _choice([("default", "Default"), *((e, e) for e in REASONING_EFFORTS)], current("reasoning_effort")),
        ),
        _input("system_prompt", "System prompt", _text_input(current("system_prompt"), multiline=True)),
        _input(
            "provider",
            "Provider",
            _text_input(current("provider"), max_length=64, placeholder="auto, cheapest, preferred or a name"),
        ),
        _input(
            "web_search",
            "Web search",
            _choice([("default", "Default"), ("on", "On"), ("off", "Off")], current("web_search")),
        ),
    ]
    return {
        "type": "modal",
        "callback_id": "settings_modal",
        "private_metadata": json.dumps(metadata),
        "title": plain("Your settings", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
    }


def form_values(view: dict) -> dict[str, object]:
    """What a submitted form holds, by block id: text, a selected option's value, or checked values."""
    values: dict[str, object] = {}
    for block_id, actions in ((view.get("state") or {}).get("values") or {}).items():
        state = actions.get("value") or next(iter(actions.values()), {})
        if "selected_options" in state:
            values[block_id] = [o.get("value") for o in state.get("selected_options") or []]
        elif "selected_option" in state:
            values[block_id] = (state.get("selected_option") or {}).get("value")
        else:
            values[block_id] = state.get("value")
    return values


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


def controls(view: ReplyView) -> list[dict]:
    """Buttons under an answer (core.replies.actions says which): Stop while it streams, the rest once it is
    done, under a footer naming the model (and its provider, and how long it thought)."""
    value = str(view.reply_id or "")
    if not value:
        return []
    actions = reply_actions(view)
    buttons = [
        _button(
            REPLY_BUTTON_TEXT[name],
            f"hfchat_{name}",
            value,
            style="danger" if name == STOP else None,
            confirm=_confirm("Delete this conversation?", "Its stored history is erased for good.", "Delete")
            if name == DELETE
            else None,
        )
        for name in actions
        if name not in (FEEDBACK_UP, FEEDBACK_DOWN)  # Slack's own feedback buttons, below
    ]
    if view.phase != "done":
        return [{"type": "actions", "block_id": f"hfchat_streaming_{value}", "elements": buttons}]
    footer = view.model + (f" via {view.provider}" if view.provider else "")
    if view.reasoning_seconds:
        footer += f" · thought for {view.reasoning_seconds:.0f} s"
    blocks: list[dict] = []
    if footer:
        blocks.append({"type": "context", "elements": [{"type": "plain_text", "text": footer[:150]}]})
    blocks.append({"type": "actions", "block_id": f"hfchat_done_{value}", "elements": buttons})
    if FEEDBACK_UP in actions:
        blocks.append(feedback_block(value))
    return blocks


FEEDBACK_ACTION = "hfchat_feedback"


def feedback_block(reply_id: str) -> dict:
    """Slack's native 👍 / 👎 under a finished answer (a context_actions block): the pressed one's value says
    which vote, on which answer."""
    return {
        "type": "context_actions",
        "block_id": f"hfchat_feedback_{reply_id}",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": FEEDBACK_ACTION,
                "positive_button": {
                    "text": plain(REPLY_BUTTON_TEXT["feedback_up"]),
                    "value": f"up:{reply_id}",
                    "accessibility_label": "A good answer",
                },
                "negative_button": {
                    "text": plain(REPLY_BUTTON_TEXT["feedback_down"]),
                    "value": f"down:{reply_id}",
                    "accessibility_label": "A bad answer",
                },
            }
        ],
    }
