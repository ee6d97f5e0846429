"""HuggingChat's features on Slack: settings, assistants, usage, limits, compare, conversations, export,
"Show reasoning", starter prompts and the App Home.

Each is a slash command (`/settings`, `/assistant`, `/usage`, ...), the same words after `/hfchat`, and
for settings and assistants also `@bot set ...` / `@bot assistant ...` in a thread, where "here" is that
thread. The words are read by core.commands.text (shared with the terminal); every action is one call
on the core, which checks who may do it. Admin rights come from users.info, fetched fresh whenever they
decide the outcome.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bots.slack.sink import slack_error
from bots.slack.text import neutralize, parse_thread_link
from bots.slack.views import (
    FORM_SETTINGS,
    SUGGESTED_PROMPTS,
    assistant_modal,
    assistant_summary,
    clip,
    form_values,
    home_view,
    markdown_blocks,
    settings_lines,
    settings_modal,
    starter_buttons,
)
from core.commands.text import (
    parse_assistant,
    parse_compare,
    parse_export,
    parse_limits,
    parse_set,
    parse_usage,
    scope_phrase,
)
from core.errors import InvalidSetting, NotAllowed, NotFound, UserFacingError
from core.keys import Actor, ConversationKey
from core.records import Assistant, Conversation, Scope
from core.replies.compare import check_models
from core.settings.assistants import describe, parse_fields
from core.settings.options import ASSISTANT_OPTIONS, parse_option
from core.usage.accounting import format_usage

if TYPE_CHECKING:
    from bots.slack.app import SlackAdapter

log = logging.getLogger(__name__)

PLATFORM = "slack"
REPLY_TEXT_CHARS = 3_000  # the notification text sent next to a markdown block
REASONING_INLINE_CHARS = 3_500  # longer reasoning comes as a file
CONVERSATIONS_SHOWN = 20
PROMPT_QUOTE_CHARS = 500
SETTINGS_HINT = (
    "Change one: `/settings NAME VALUE` (yours), `/settings channel NAME VALUE` or `/settings workspace NAME VALUE` "
    "(admins); in a thread, `@me set NAME VALUE` changes that thread. `default` as the value clears it."
)
ASSISTANT_HINT = (
    '`/assistant new` opens a form (or `/assistant new NAME instructions="..." model=... temperature=0.7 '
    'starter="..." web=yes shared=yes`), `/assistant use NAME`, `show`, `edit`, `delete`; admins: '
    "`/assistant channel NAME` and `/assistant sharing on|off`. In a thread, `@me assistant use NAME` switches it."
)
FORM_BLOCKS = ("name", "instructions", "model", "options", "starters", "flags")

Reply = Callable[..., Awaitable[None]]


@dataclass
class Invocation:
    """One use of a text command: who, where, and how to answer only them."""

    team: str
    channel: str
    user: str
    reply: Reply  # reply(markdown, blocks=[...]): only the user sees it
    usage: str  # how the user called the command, for hints: "/settings", "/hfchat assistant", "@me set"
    trigger_id: str = ""  # lets a command open a form (slash commands have one)
    thread: str = ""  # the conversation "here": the thread it was typed in, or a DM's current one
    in_thread: bool = False  # typed in a thread (`@me ...`)
    domain: str = ""  # the workspace's domain when the request says it (a slash command's team_domain)

    @property
    def key(self) -> ConversationKey:
        return ConversationKey(PLATFORM, self.team, self.channel, self.thread)


def _quote(text: str) -> str:
    return "> " + clip(text, PROMPT_QUOTE_CHARS).replace("\n", "\n> ")


def _link_text(text: str) -> str:
    return clip(" ".join(text.replace("[", "(").replace("]", ")").split()), 80)


def _error_block(message: str) -> str:
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


class SlackFeatures:
    COMMANDS = ("settings", "set", "assistant", "assistants", "usage", "limits", "compare", "conversations", "export")

    def __init__(self, adapter: SlackAdapter):
        self.adapter = adapter
        self.core = adapter.core
        self.chat = adapter.chat

    @property
    def client(self) -> Any:
        return self.adapter.client

    # ------------------------------------------------------------------ plumbing
    async def run(self, name: str, invocation: Invocation, text: str) -> None:
        handlers = {
            "settings": self.settings,
            "set": self.settings,
            "assistant": self.assistant,
            "assistants": self.assistant,
            "usage": self.usage,
            "limits": self.limits,
            "compare": self.compare,
            "conversations": self.conversations,
            "export": self.export,
        }
        try:
            await handlers[name](invocation, text)
        except UserFacingError as exc:
            await invocation.reply(str(exc))

    async def slash_invocation(self, command: dict, respond: Any, usage: str) -> Invocation:
        team, channel, user = command["team_id"], command["channel_id"], command["user_id"]
        thread = ""
        if channel.startswith("D"):  # a DM's current conversation is "here"
            current = await self.chat.dms.current_if_any(PLATFORM, team, channel)
            thread = current.thread if current else ""

        async def reply(text: str, blocks: list[dict] | None = None) -> None:
            text = neutralize(text)
            await respond(
                text=clip(text, REPLY_TEXT_CHARS),
                blocks=markdown_blocks(text) + (blocks or []),
                response_type="ephemeral",
                replace_original=False,
            )

        return Invocation(
            team,
            channel,
            user,
            reply,
            usage,
            command.get("trigger_id") or "",
            thread,
            domain=command.get("team_domain") or "",
        )

    def thread_invocation(self, key: ConversationKey, user: str, usage: str, *, in_thread: bool = True) -> Invocation:
        """A command written in a message (`@me set ...`): "here" is its thread when it was written in one."""

        async def reply(text: str, blocks: list[dict] | None = None) -> None:
            await self.ephemeral(key.channel, user, text, key.thread, blocks)

        return Invocation(
            key.workspace, key.channel, user, reply, usage, thread=key.thread if in_thread else "", in_thread=in_thread
        )

    async def ephemeral(
        self, channel: str, user: str, text: str, thread_ts: str | None = None, blocks: list[dict] | None = None
    ) -> None:
        """Markdown only `user` sees, in the channel (and thread)."""
        text = neutralize(text)
        try:
            await self.client.chat_postEphemeral(
                channel=channel,
                user=user,
                thread_ts=thread_ts,
                text=clip(text, REPLY_TEXT_CHARS),
                blocks=markdown_blocks(text) + (blocks or []),
            )
        except SlackApiError as exc:
            log.warning("chat.postEphemeral failed: %s", slack_error(exc))

    async def _dm(self, user: str) -> str:
        """The DM channel between the bot and `user` (files meant for them alone go there)."""
        return (await self.client.conversations_open(users=user))["channel"]["id"]

    async def _upload(self, channel: str, filename: str, content: str, title: str, comment: str) -> None:
        try:
            await self.client.files_upload_v2(
                channel=channel, content=content, filename=filename, title=title, initial_comment=neutralize(comment)
            )
        except SlackApiError as exc:
            log.warning("file upload failed: %s", slack_error(exc))
            raise NotAllowed("Slack refused the file upload; try again in a moment.") from None

    # ------------------------------------------------------------------ settings
    async def settings(self, inv: Invocation, text: str) -> None:
        default_scope = Scope.CONVERSATION if inv.in_thread else Scope.USER
        command = parse_set(text, default_scope=default_scope, usage=inv.usage)
        if command.name is None:
            rows = await self.chat.describe_settings(inv.key, inv.user)
            where = "in this thread" if inv.in_thread else "in this conversation" if inv.thread else "here"
            lines = "\n".join(settings_lines(rows))
            await inv.reply(f"**Settings {where}** (value, and where it comes from)\n{lines}\n\n{SETTINGS_HINT}")
            return
        if command.scope is Scope.CONVERSATION and not inv.thread:
            raise InvalidSetting(
                "A slash command cannot tell which thread it was typed in: write `@me set NAME VALUE` in the "
                "thread, or choose me, channel or workspace."
            )
        place = command.scope in (Scope.CHANNEL, Scope.WORKSPACE)
        actor = await self.adapter.actor(inv.team, inv.user, fresh=place)
        if command.name == "model":
            stored = await self.chat.set_model(actor, inv.key, command.scope, command.value)
        else:
            stored = await self.chat.set_option(actor, inv.key, command.scope, command.name, command.value)
        where = "this thread" if command.scope is Scope.CONVERSATION and inv.in_thread else scope_phrase(command.scope)
        if stored:
            shown = clip(" ".join(stored.replace("`", "'").split()), 200)
            await inv.reply(f"`{command.name}` is now `{shown}` for {where}.")
        else:
            await inv.reply(f"`{command.name}` is cleared for {where}.")

    # ------------------------------------------------------------------ assistants
    async def assistant(self, inv: Invocation, text: str) -> None:
        command = parse_assistant(text, usage=inv.usage, form=bool(inv.trigger_id))
        service = self.chat.assistants
        key, action, name = inv.key, command.action, command.name
        # admin rights decide these outcomes: ask Slack again rather than trust the cache
        fresh = action in ("new", "edit", "delete", "channel", "sharing")
        actor = await self.adapter.actor(inv.team, inv.user, fresh=fresh)
        if action == "list":
            assistants = await service.list(actor, key)
            default = await self._default_assistant(inv.team, inv.user)
            lines = [
                f"{n}. {assistant_summary(a, default=default is not None and a.id == default.id)}"
                for n, a in enumerate(assistants, 1)
            ]
            body = "\n".join(lines) if lines else "No assistants yet."
            await inv.reply(f"**Assistants you can use**\n{body}\n\n{ASSISTANT_HINT}")
        elif action == "new" and (name is None or (inv.trigger_id and not command.fields)):
            await self._open_form(inv.trigger_id, {"channel": inv.channel, "name": name or ""})
        elif action == "new":
            assistant = await service.create(actor, key, name or "", **command.fields)
            hint = f"`{inv.usage} use {_arg(assistant.name)}` makes it your default."
            await inv.reply(f"Created:\n{describe(assistant)}\n\n{hint}")
        elif action == "edit" and inv.trigger_id and not command.fields:
            assistant = await service.find(actor, key, name or "")
            if not service.may_edit(assistant, actor):
                raise NotAllowed("Only its creator or a workspace admin can change this assistant.")
            await self._open_form(inv.trigger_id, {"channel": inv.channel, "id": assistant.id}, assistant)
        elif action == "edit":
            assistant = await service.edit(actor, key, name or "", **command.fields)
            await inv.reply(f"Updated:\n{describe(assistant)}")
        elif action == "show":
            assistant = await service.find(actor, key, name or "")
            await inv.reply(describe(assistant), starter_buttons(assistant))
        elif action == "use" and inv.in_thread:
            chosen = await service.find(actor, key, name) if name else None
            await self.chat.use_assistant_here(actor, key, chosen.id if chosen else None)
            if chosen is None:
                await inv.reply("This thread no longer uses an assistant.")
                return
            if inv.channel.startswith("D") and chosen.starters:  # an AI-app thread: its prompts, Slack's way
                await self.suggest_prompts(inv.channel, inv.thread, chosen)
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

    async def _default_assistant(self, team: str, user: str) -> Assistant | None:
        """The person's own default (not a channel's)."""
        return await self.chat.assistants.default_for(ConversationKey(PLATFORM, team, "", ""), user)

    async def _open_form(self, trigger_id: str, metadata: dict, assistant: Assistant | None = None) -> None:
        await self.client.views_open(
            trigger_id=trigger_id, view=assistant_modal(self.core.catalog.ids(), metadata, assistant)
        )

    async def _ref(self, actor: Actor, key: ConversationKey, assistant_id: int) -> str:
        """How the core's name-based calls find this very assistant: its number in the actor's list
        (names may repeat between personal and shared ones; numbers do not)."""
        for number, assistant in enumerate(await self.chat.assistants.list(actor, key), 1):
            if assistant.id == assistant_id:
                return str(number)
        raise NotFound("That assistant no longer exists.")

    async def suggest_prompts(self, channel: str, thread_ts: str, assistant: Assistant | None) -> None:
        """Slack's suggested prompts in an AI-app thread: the assistant's starters, or general ideas."""
        if assistant is not None and assistant.starters:
            title = clip(f"Try one of {assistant.name}'s prompts:", 150)
            prompts = [{"title": clip(s, 75), "message": s} for s in assistant.starters]
        else:
            title, prompts = "Try one of these:", SUGGESTED_PROMPTS
        try:
            await self.client.assistant_threads_setSuggestedPrompts(
                channel_id=channel, thread_ts=thread_ts, title=title, prompts=prompts
            )
        except SlackApiError as exc:  # not an AI-app thread: nothing to show
            log.debug("assistant.threads.setSuggestedPrompts failed: %s", slack_error(exc))

    async def on_starter(self, body: dict) -> None:
        """A starter prompt's button: the prompt is asked, as its assistant, in a new thread."""
        team, user = body["team"]["id"], body["user"]["id"]
        assistant_id, _, index = str(body["actions"][0].get("value") or "").partition(":")
        if not (assistant_id.isdigit() and index.isdigit()):
            raise NotFound("That prompt no longer exists.")
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id") or await self._dm(user)
        actor = await self.adapter.actor(team, user)
        place = ConversationKey(PLATFORM, team, channel)
        assistant = await self.chat.assistants.visible(actor, place, int(assistant_id))
        if assistant is None or int(index) >= len(assistant.starters):
            raise NotFound("That assistant or prompt no longer exists.")
        prompt = assistant.starters[int(index)]
        header = neutralize(f"💬 {actor.display_name or 'Someone'} asks **{assistant.name}**:\n{_quote(prompt)}")
        root = await self._post_root(channel, header)
        channel, thread = root.get("channel") or channel, root["ts"]
        key = ConversationKey(PLATFORM, team, channel, thread)
        try:
            await self.chat.use_assistant_here(actor, key, assistant.id, title=prompt)
            submitted = await self.chat.submit(key, actor, prompt, self.adapter.sink(team, channel, thread, user))
        except UserFacingError:
            conversation = await self.chat.conversation_for(key)
            if conversation is not None:
                await self.chat.delete_conversation(conversation.id, actor)
            await self._delete_quietly(channel, thread)
            raise
        self.adapter._track_reply(submitted.reply)
        if channel.startswith("D"):
            await self.chat.use_dm_thread(PLATFORM, team, channel, thread)

    async def _post_root(self, channel: str, text: str, thread_ts: str | None = None) -> Any:
        """The bot's message that opens a thread (a starter prompt, a comparison)."""
        try:
            return await self.client.chat_postMessage(
                channel=channel, thread_ts=thread_ts, text=clip(text, REPLY_TEXT_CHARS), blocks=markdown_blocks(text)
            )
        except SlackApiError as exc:
            log.warning("chat.postMessage failed: %s", slack_error(exc))
            raise NotAllowed("I cannot post in this conversation; invite me to the channel first.") from None

    async def _delete_quietly(self, channel: str, ts: str) -> None:
        try:
            await self.client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as exc:
            log.debug("chat.delete failed: %s", slack_error(exc))

    # ------------------------------------------------------------------ the assistant form
    def _assistant_fields(self, values: dict) -> dict:
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

    async def on_assistant_submit(self, ack: Any, body: dict, view: dict, respond: Any = None) -> None:
        team, user = body["team"]["id"], body["user"]["id"]
        meta = json.loads(view.get("private_metadata") or "{}")
        channel = str(meta.get("channel") or "")
        key = ConversationKey(PLATFORM, team, channel, "")
        service = self.chat.assistants
        try:
            actor = await self.adapter.actor(team, user, fresh=True)
            fields = self._assistant_fields(form_values(view))
            if meta.get("id"):
                ref = await self._ref(actor, key, int(meta["id"]))
                before = await service.find(actor, key, ref)
                fields["options"] = {name: None for name in before.options} | fields["options"]
                assistant = await service.edit(actor, key, ref, **fields)
            else:
                assistant = await service.create(actor, key, fields.pop("name"), **fields)
        except UserFacingError as exc:
            await ack(response_action="errors", errors={_error_block(str(exc)): clip(str(exc), 150)})
            return
        await ack()
        done = "Updated" if meta.get("id") else "Created"
        if meta.get("home"):
            await self.publish_home(team, user)
        elif channel:
            await self.ephemeral(channel, user, f"{done}:\n{describe(assistant)}", None, starter_buttons(assistant))

    # ------------------------------------------------------------------ usage and limits
    async def usage(self, inv: Invocation, text: str) -> None:
        command = parse_usage(text)
        if not command.everyone:
            actor = await self.adapter.actor(inv.team, inv.user)
            await inv.reply(format_usage(await self.chat.usage.for_user(actor, command.days)))
            return
        actor = await self.adapter.actor(inv.team, inv.user, fresh=True)
        summary = await self.chat.usage.for_workspace(actor, inv.key, command.days)
        people = await asyncio.gather(*(self.adapter.actor(inv.team, line.label) for line in summary.by_user))
        names = {person.user_id: person.display_name or person.user_id for person in people}
        await inv.reply(format_usage(summary, people=True, user_names=names))

    async def limits(self, inv: Invocation, text: str) -> None:
        name, value = parse_limits(text)
        if name is None:
            limits = await self.chat.limits.get(PLATFORM, inv.team)
            hint = f"\n\nAdmins change one with `{inv.usage} NAME VALUE` (`none` removes it)."
            await inv.reply("**Limits in this workspace**\n" + limits.describe() + hint)
            return
        actor = await self.adapter.actor(inv.team, inv.user, fresh=True)
        limits = await self.chat.limits.set(actor, inv.key, name, value)
        await inv.reply("Updated. **Limits in this workspace**\n" + limits.describe())

    # ------------------------------------------------------------------ compare
    async def compare(self, inv: Invocation, text: str) -> None:
        models, prompt = parse_compare(text, usage=inv.usage)
        names = [self.core.catalog.validate(m) for m in check_models(models)]  # before anything is posted
        actor = await self.adapter.actor(inv.team, inv.user)
        listed = ", ".join(f"`{m}`" for m in names)
        header = neutralize(f"⚖️ {actor.display_name or 'Someone'} compares {listed}:\n{_quote(prompt)}")
        root = await self._post_root(inv.channel, header, inv.thread if inv.in_thread else None)
        thread = inv.thread if inv.in_thread else root["ts"]
        task = asyncio.create_task(self._compare(inv, actor, prompt, names, thread, root["ts"]), name="slack-compare")
        self.adapter._track_reply(task)

    async def _compare(
        self, inv: Invocation, actor: Actor, prompt: str, names: list[str], thread: str, root_ts: str
    ) -> None:
        """One thread reply per model, streamed side by side through the core engine."""
        try:
            await self.chat.compare(
                ConversationKey(PLATFORM, inv.team, inv.channel),
                actor,
                prompt,
                names,
                lambda model: self.adapter.sink(inv.team, inv.channel, thread, inv.user),
            )
        except UserFacingError as exc:  # a limit, or a model refused: nothing was answered
            await self._delete_quietly(inv.channel, root_ts)
            await inv.reply(str(exc))

    # ------------------------------------------------------------------ conversations and export
    async def _permalink(self, key: ConversationKey) -> str:
        try:
            return (await self.client.chat_getPermalink(channel=key.channel, message_ts=key.thread))["permalink"]
        except SlackApiError:
            return ""  # the thread's first message is gone; the conversation is still listed

    async def conversations(self, inv: Invocation, text: str) -> None:
        actor = await self.adapter.actor(inv.team, inv.user)
        items = await self.chat.list_conversations(actor, CONVERSATIONS_SHOWN, workspace=inv.team)
        if not items:
            await inv.reply("You have no stored conversations here. Mention me in a channel, or write to me.")
            return
        links = await asyncio.gather(*(self._permalink(c.key) for c in items))
        lines = []
        for number, (conversation, link) in enumerate(zip(items, links, strict=True), 1):
            title = _link_text(conversation.title or "(untitled)")
            when = time.strftime("%Y-%m-%d %H:%M", time.gmtime(conversation.updated_at))
            lines.append(f"{number}. [{title}]({link}) · {when} UTC" if link else f"{number}. {title} · {when} UTC")
        await inv.reply(
            "**Your conversations**, newest first\n"
            + "\n".join(lines)
            + "\n\n`/export N` (or `/export N json`) downloads one; `/delete <thread link>` erases one."
        )

    async def _export_target(self, inv: Invocation, actor: Actor, target: str) -> Conversation:
        if target.isdigit():
            items = await self.chat.list_conversations(actor, CONVERSATIONS_SHOWN, workspace=inv.team)
            if not 0 < int(target) <= len(items):
                raise NotFound(f"There is no conversation number {target}; `/conversations` lists them.")
            return items[int(target) - 1]
        if target:
            if parse_thread_link(target) is None:
                raise InvalidSetting("Give a thread link (Copy link on a message) or a number from `/conversations`.")
            key = await self.adapter.linked_thread(inv.team, target, inv.domain)
        elif inv.thread:
            key = inv.key
        else:
            raise InvalidSetting(f"Which one? `{inv.usage} N [json]`, N from `/conversations`, or a thread link.")
        conversation = await self.chat.conversation_for(key)
        if conversation is None:
            raise NotFound("Nothing is stored for that conversation.")
        return conversation

    async def export(self, inv: Invocation, text: str) -> None:
        target, fmt = parse_export(text)
        actor = await self.adapter.actor(inv.team, inv.user, fresh=True)
        conversation = await self._export_target(inv, actor, target)
        if fmt == "json":
            content, label = await self.chat.export_json(conversation.id, actor), "JSON"
        else:
            content, label = await self.chat.export_markdown(conversation.id, actor), "Markdown"
        title = clip(" ".join((conversation.title or "untitled").split()), 80)
        dm = await self._dm(inv.user)
        await self._upload(dm, f"conversation-{conversation.id}.{fmt}", content, title, f"“{title}” as {label}")
        where = "here" if dm == inv.channel else "in our direct messages"
        await inv.reply(f"Exported “{title}” as {label}: the file is {where}.")

    # ------------------------------------------------------------------ reasoning
    async def show_reasoning(self, body: dict) -> None:
        """The reasoning behind an answer, for the person who asked to see it (never in the answer)."""
        team, user = body["team"]["id"], body["user"]["id"]
        value = str(body["actions"][0].get("value") or "")
        if not value.isdigit():
            raise NotFound("That answer no longer exists.")
        actor = await self.adapter.actor(team, user)
        reasoning = await self.chat.reasoning(int(value), actor)
        container = body.get("container") or {}
        message = body.get("message") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        thread = message.get("thread_ts") or container.get("thread_ts") or message.get("ts")
        if len(reasoning) <= REASONING_INLINE_CHARS:
            await self.ephemeral(channel, user, f"💭 **Reasoning**\n\n{reasoning}", thread)
            return
        dm = await self._dm(user)
        await self._upload(dm, f"reasoning-{value}.md", reasoning, "Reasoning", "💭 The reasoning behind an answer")
        await self.ephemeral(channel, user, "💭 The reasoning is long: it is in our direct messages as a file.", thread)

    # ------------------------------------------------------------------ App Home
    async def publish_home(self, team: str, user: str, notice: str = "") -> None:
        key = ConversationKey(PLATFORM, team, "", "")
        choice = await self.chat.model_choice(key, user)
        actor = await self.adapter.actor(team, user)
        default = await self._default_assistant(team, user)
        view = home_view(
            self.core.catalog.ids(),
            choice.model,
            choice.source,
            settings=await self.chat.describe_settings(key, user),
            assistants=await self.chat.assistants.list(actor, key),
            default_assistant=default.id if default else None,
            catalog=self.core.catalog.models,
            notice=notice,
        )
        await self.client.views_publish(user_id=user, view=view)

    async def on_home_action(self, body: dict) -> None:
        team, user = body["team"]["id"], body["user"]["id"]
        action = body["actions"][0]
        action_id, value = action["action_id"], str(action.get("value") or "")
        key = ConversationKey(PLATFORM, team, "", "")
        service = self.chat.assistants
        try:
            if action_id == "home_settings_edit":
                rows = await self.chat.describe_settings(key, user)
                values = {name: value for name, value, where in rows if where == "user"}
                await self.client.views_open(trigger_id=body["trigger_id"], view=settings_modal(values, {}))
                return
            if action_id == "home_assistant_new":
                await self._open_form(body["trigger_id"], {"home": True})
                return
            actor = await self.adapter.actor(team, user, fresh=action_id != "home_assistant_use")
            ref = None if value == "none" else await self._ref(actor, key, int(value) if value.isdigit() else -1)
            if action_id == "home_assistant_edit":
                assistant = await service.find(actor, key, ref or "")
                if not service.may_edit(assistant, actor):
                    raise NotAllowed("Only its creator or a workspace admin can change this assistant.")
                await self._open_form(body["trigger_id"], {"home": True, "id": assistant.id}, assistant)
                return
            if action_id == "home_assistant_use":
                await service.use(actor, key, ref)
            elif action_id == "home_assistant_delete":
                await service.delete(actor, key, ref or "")
            await self.publish_home(team, user)
        except UserFacingError as exc:  # App Home has no thread to answer in: the page says it
            await self.publish_home(team, user, notice=str(exc))

    async def on_settings_submit(self, ack: Any, body: dict, view: dict, respond: Any = None) -> None:
        """The App Home settings form: what changed is checked first, all of it, then stored."""
        team, user = body["team"]["id"], body["user"]["id"]
        key = ConversationKey(PLATFORM, team, "", "")
        values = form_values(view)
        rows = await self.chat.describe_settings(key, user)
        current = {name: value or "" for name, value, where in rows if where == "user"}
        changes: dict[str, str | None] = {}
        errors: dict[str, str] = {}
        for name in FORM_SETTINGS:
            raw = values.get(name)
            raw = "" if raw in (None, "default") else str(raw).strip()
            if raw == current.get(name, ""):
                continue
            try:
                parse_option(name, raw or "default", self.core.catalog)
            except UserFacingError as exc:
                errors[name] = clip(str(exc), 150)
            changes[name] = raw or None
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        actor = await self.adapter.actor(team, user)
        for name, raw in changes.items():
            await self.chat.set_option(actor, key, Scope.USER, name, raw)
        await self.publish_home(team, user)


def _arg(name: str) -> str:
    """A name as a command argument: quoted when it has spaces."""
    return f'"{name}"' if " " in name else name
