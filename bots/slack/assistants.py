"""HuggingChat's assistants on Slack: `/assistant ...` (and `@me assistant ...` in a thread, where "use" applies to
that thread), the assistant form, starter prompts as buttons, and Slack's suggested prompts in AI-app threads.
Who may create, edit, share or delete one is the core's rule; admin rights come fresh from users.info whenever
they decide the outcome."""

from __future__ import annotations

import logging
import shlex

from slack_sdk.errors import SlackApiError

from bots.slack.adapter import PLATFORM, SlackAdapter
from bots.slack.calls import slack_error
from bots.slack.invocation import Invocation
from bots.slack.text import neutralize
from bots.slack.views import SUGGESTED_PROMPTS, assistant_modal, assistant_summary, clip, quote, starter_buttons
from core.commands.text import parse_assistant
from core.errors import InvalidSetting, NotAllowed, NotFound, UserFacingError
from core.keys import Actor, ConversationKey
from core.records import Assistant
from core.settings.assistants import describe, parse_fields
from core.settings.options import ASSISTANT_OPTIONS

log = logging.getLogger(__name__)

ASSISTANT_HINT = (
    '`/assistant new` opens a form (or `/assistant new NAME instructions="..." model=... temperature=0.7 '
    'starter="..." web=yes shared=yes`), `/assistant use NAME`, `show`, `edit`, `delete`; admins: '
    "`/assistant channel NAME` and `/assistant sharing on|off`. In a thread, `@me assistant use NAME` switches it."
)


def _arg(name: str) -> str:
    """A name as a command argument: quoted when it has spaces."""
    return f'"{name}"' if " " in name else name


async def assistant(slack: SlackAdapter, inv: Invocation, text: str) -> None:
    command = parse_assistant(text, usage=inv.usage, form=bool(inv.trigger_id))
    service = slack.chat.assistants
    key, action, name = inv.key, command.action, command.name
    # admin rights decide these outcomes: ask Slack again rather than trust the cache
    fresh = action in ("new", "edit", "delete", "channel", "sharing")
    actor = await slack.actor(inv.team, inv.user, fresh=fresh)
    if action == "list":
        assistants = await service.list(actor, key)
        default = await default_assistant(slack, inv.team, inv.user)
        lines = [
            f"{n}. {assistant_summary(a, default=default is not None and a.id == default.id)}"
            for n, a in enumerate(assistants, 1)
        ]
        body = "\n".join(lines) if lines else "No assistants yet."
        await inv.reply(f"**Assistants you can use**\n{body}\n\n{ASSISTANT_HINT}")
    elif action == "new" and (name is None or (inv.trigger_id and not command.fields)):
        await open_form(slack, inv.trigger_id, {"channel": inv.channel, "name": name or ""})
    elif action == "new":
        created = await service.create(actor, key, name or "", **command.fields)
        hint = f"`{inv.usage} use {_arg(created.name)}` makes it your default."
        await inv.reply(f"Created:\n{describe(created)}\n\n{hint}")
    elif action == "edit" and inv.trigger_id and not command.fields:
        found = await service.find(actor, key, name or "")
        if not service.may_edit(found, actor):
            raise NotAllowed("Only its creator or a workspace admin can change this assistant.")
        await open_form(slack, inv.trigger_id, {"channel": inv.channel, "id": found.id}, found)
    elif action == "edit":
        edited = await service.edit(actor, key, name or "", **command.fields)
        await inv.reply(f"Updated:\n{describe(edited)}")
    elif action == "show":
        found = await service.find(actor, key, name or "")
        await inv.reply(describe(found), starter_buttons(found))
    elif action == "use" and inv.in_thread:
        chosen = await service.find(actor, key, name) if name else None
        await slack.chat.preferences.use_assistant_here(actor, key, chosen.id if chosen else None)
        if chosen is None:
            await inv.reply("This thread no longer uses an assistant.")
            return
        if inv.channel.startswith("D") and chosen.starters:  # an AI-app thread: its prompts, Slack's way
            await suggest_prompts(slack, inv.channel, inv.thread, chosen)
        await inv.reply(f"This thread now answers as **{chosen.name}**.")
    elif action == "use":
        chosen = await service.use(actor, key, name)
        if chosen is None:
            await inv.reply("Your new conversations start without an assistant.")
            return
        starters = " Start with one of its prompts:" if chosen.starters else ""
        await inv.reply(f"Your new conversations start with **{chosen.name}**.{starters}", starter_buttons(chosen))
    elif action == "delete":
        await inv.reply(f"Deleted the assistant **{(await service.delete(actor, key, name or '')).name}**.")
    elif action == "channel":
        chosen = await service.set_channel_default(actor, key, name)
        await inv.reply(
            f"New conversations in this channel start with **{chosen.name}**."
            if chosen
            else "This channel has no default assistant now."
        )
    else:  # sharing
        await service.allow_members_to_share(actor, key, name == "on")
        await inv.reply(
            "Members may now create shared assistants in this workspace."
            if name == "on"
            else "Only admins create shared assistants in this workspace now."
        )


async def default_assistant(slack: SlackAdapter, team: str, user: str) -> Assistant | None:
    """The person's own default (not a channel's)."""
    return await slack.chat.assistants.default_for(ConversationKey(PLATFORM, team, "", ""), user)


async def open_form(slack: SlackAdapter, trigger_id: str, metadata: dict, assistant: Assistant | None = None) -> None:
    await slack.client.views_open(
        trigger_id=trigger_id, view=assistant_modal(slack.core.catalog.ids(), metadata, assistant)
    )


async def ref(slack: SlackAdapter, actor: Actor, key: ConversationKey, assistant_id: int) -> str:
    """How the core's name-based calls find this very assistant: its number in the actor's list
    (names may repeat between personal and shared ones; numbers do not)."""
    for number, listed in enumerate(await slack.chat.assistants.list(actor, key), 1):
        if listed.id == assistant_id:
            return str(number)
    raise NotFound("That assistant no longer exists.")


async def suggest_prompts(slack: SlackAdapter, channel: str, thread_ts: str, assistant: Assistant | None) -> None:
    """Slack's suggested prompts in an AI-app thread: the assistant's starters, or general ideas."""
    if assistant is not None and assistant.starters:
        title = clip(f"Try one of {assistant.name}'s prompts:", 150)
        prompts = [{"title": clip(s, 75), "message": s} for s in assistant.starters]
    else:
        title, prompts = "Try one of these:", SUGGESTED_PROMPTS
    try:
        await slack.client.assistant_threads_setSuggestedPrompts(
            channel_id=channel, thread_ts=thread_ts, title=title, prompts=prompts
        )
    except SlackApiError as exc:  # not an AI-app thread: nothing to show
        log.debug("assistant.threads.setSuggestedPrompts failed: %s", slack_error(exc))


async def ask_starter(slack: SlackAdapter, body: dict) -> None:
    """A starter prompt's button: the prompt is asked, as its assistant, in a new thread."""
    chat = slack.chat
    team, user = body["team"]["id"], body["user"]["id"]
    assistant_id, _, index = str(body["actions"][0].get("value") or "").partition(":")
    if not (assistant_id.isdigit() and index.isdigit()):
        raise NotFound("That prompt no longer exists.")
    container = body.get("container") or {}
    channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or await slack.dm_channel(user)
    actor = await slack.actor(team, user)
    place = ConversationKey(PLATFORM, team, channel)
    chosen = await chat.assistants.visible(actor, place, int(assistant_id))
    if chosen is None or int(index) >= len(chosen.starters):
        raise NotFound("That assistant or prompt no longer exists.")
    prompt = chosen.starters[int(index)]
    header = neutralize(f"💬 {actor.display_name or 'Someone'} asks **{chosen.name}**:\n{quote(prompt)}")
    root = await slack.post_root(channel, header)
    channel, thread = root.get("channel") or channel, root["ts"]
    key = ConversationKey(PLATFORM, team, channel, thread)
    try:
        await chat.preferences.use_assistant_here(actor, key, chosen.id, title=prompt)
        submitted = await chat.submit(key, actor, prompt, slack.sink(team, channel, thread, user))
    except UserFacingError:
        conversation = await chat.conversations.for_key(key)
        if conversation is not None:
            await chat.conversations.delete(conversation.id, actor)
        await slack.delete_quietly(channel, thread)
        raise
    slack.track_reply(submitted.reply)
    if channel.startswith("D"):
        await chat.dms.use(PLATFORM, team, channel, thread)


# ---------------------------------------------------------------------- the assistant form
def form_fields(values: dict) -> dict:
    """The form's values as the core's create()/edit() keyword arguments."""
    flags = values.get("flags") or []
    options_text = str(values.get("options") or "").strip()
    try:
        parsed = parse_fields(shlex.split(options_text)) if options_text else {}
    except ValueError as exc:
        raise InvalidSetting(f"Could not read the settings: {exc}.") from None
    if set(parsed) - {"options"}:
        raise InvalidSetting(f"Only generation settings go here: {', '.join(ASSISTANT_OPTIONS)}.")
    model = values.get("model")
    return {
        "name": str(values.get("name") or "").strip(),
        "instructions": str(values.get("instructions") or ""),
        "model": "" if model in (None, "", "default") else str(model).strip(),
        "options": parsed.get("options", {}),
        "starters": [line for line in str(values.get("starters") or "").splitlines() if line.strip()],
        "web_search": "web_search" in flags,
        "shared": "shared" in flags,
    }


def error_block(message: str) -> str:
    """The form field a core error is about, so Slack shows the message under it."""
    lowered = message.lower()
    for block, words in (
        ("model", ("model",)),
        ("starters", ("starter",)),
        ("instructions", ("instructions",)),
        ("flags", ("share", "admin")),
        ("options", ("temperature", "top_p", "max_tokens", "reasoning", "provider", "setting", "field")),
    ):
        if any(word in lowered for word in words):
            return block
    return "name"
