"""Slack's slash commands (`/model`, `/delete`, `/about`, `/hfchat`, and HuggingChat's feature commands), and the
commands written in a message to the bot (`@me set ...`, `@me assistant ...`, `@me delete`, `@me stop`,
`@me model [NAME]`, `@me help`). Every feature command also works as `/hfchat COMMAND ...`, with the same words."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bots.slack.account import account_command
from bots.slack.adapter import PLATFORM, SlackAdapter
from bots.slack.assistants import assistant
from bots.slack.catchup import catchup_command
from bots.slack.compare import compare
from bots.slack.conversations import DELETED, conversations, delete_thread, export
from bots.slack.invocation import Invocation, slash_invocation, thread_invocation
from bots.slack.memory import memory_command
from bots.slack.middleware import ACK_FIRST
from bots.slack.schedule import schedule_command
from bots.slack.settings import settings
from bots.slack.usage import limits, usage
from bots.slack.views import delete_all_confirmation, markdown_blocks, model_lines
from core.commands.registry import SLACK, commands_on
from core.commands.text import is_assistant_command, is_set_command, parse_model
from core.errors import UserFacingError
from core.keys import ConversationKey
from core.models.catalog import matching_models
from core.records import Scope
from core.settings.scopes import model_scope

MODELS_LISTED = 25  # models in `/model`'s answer (`/model list WORD` finds the others)
TextCommand = Callable[[SlackAdapter, Invocation, str], Awaitable[None]]
# the feature commands' words, after their own slash command, `/hfchat` or `@me`
TEXT_COMMANDS: dict[str, TextCommand] = {
    "settings": settings,
    "set": settings,
    "assistant": assistant,
    "assistants": assistant,
    "usage": usage,
    "limits": limits,
    "compare": compare,
    "conversations": conversations,
    "export": export,
    "catchup": catchup_command,
    "schedule": schedule_command,
    "account": account_command,
    "memory": memory_command,
}
# Slack's slash commands are the registry's (core/commands/registry.py), as the manifest lists them; `hfchat help`
# there is a word of /hfchat, not a command of its own
SLASH_COMMANDS = tuple(f"/{c.name_on(SLACK)}" for c in commands_on(SLACK) if " " not in c.name_on(SLACK))
FEATURE_COMMANDS = tuple(name for name in SLASH_COMMANDS if name[1:] in TEXT_COMMANDS)
MENTION_HELP = (
    "Mention me to get an answer in the thread; I answer later messages in my threads without a mention, and "
    "read the images, PDFs and text files you attach. In a thread: `@me model NAME` switches its model, "
    "`@me set NAME VALUE` one of its settings, `@me assistant use NAME` its assistant, `@me stop` stops the "
    "answer, `@me delete` erases it."
)


def help_text() -> str:
    """What `/hfchat help` and `@me help` say: the commands in a message, then every slash command from the
    registry with how its arguments are typed."""
    lines = [MENTION_HELP]
    for command in commands_on(SLACK):
        name = command.name_on(SLACK)
        if " " not in name:
            typed = f"/{name} {command.usage}".strip()
            lines.append(f"• `{typed}` {command.summary}")
    lines.append("Every command also works as `/hfchat COMMAND ...`.")
    return "\n".join(lines)


async def run_text_command(slack: SlackAdapter, name: str, invocation: Invocation, text: str) -> None:
    """A feature command; what the core refuses is told to the person who asked, only them."""
    try:
        await TEXT_COMMANDS[name](slack, invocation, text)
    except UserFacingError as exc:
        await invocation.reply(str(exc))


async def _safely(call: Awaitable[Any]) -> Any:
    """The call's result, or the text of the user-facing error it raised."""
    try:
        return await call
    except UserFacingError as exc:
        return str(exc)


async def message_command(
    slack: SlackAdapter, text: str, key: ConversationKey, user: str, *, mentioned: bool = True, in_thread: bool = True
) -> bool:
    """`@bot set ...`, `@bot settings`, `@bot assistant ...` (in a thread they apply to it), and with a
    mention `@bot delete`, `@bot stop`, `@bot model [NAME]`, `@bot help`; False if the text is a prompt."""
    chat = slack.chat
    words = text.split()
    first = words[0].lower().strip(".!:") if words else ""
    rest = text.strip()[len(words[0]) :].strip() if words else ""
    if (first == "settings" and not rest) or (first == "set" and is_set_command(rest)):
        invocation = thread_invocation(slack, key, user, "@me set", in_thread=in_thread)
        await run_text_command(slack, "settings", invocation, rest)
        return True
    if first in ("assistant", "assistants") and is_assistant_command(rest):
        invocation = thread_invocation(slack, key, user, "@me assistant", in_thread=in_thread)
        await run_text_command(slack, "assistant", invocation, rest)
        return True
    if not mentioned or not words or len(words) > 2:
        return False
    command = words[0].lower().strip(".!")
    arg = words[1] if len(words) == 2 else ""
    if command == "delete" and arg.lower() in ("", "this", "thread", "conversation"):
        actor = await slack.actor(key.workspace, user, fresh=True)
        reply = await _safely(delete_thread(slack, key, actor))
    elif command == "stop" and not arg:
        actor = await slack.actor(key.workspace, user)
        conversation = await chat.conversations.for_key(key)
        stopped = conversation is not None and await _safely(chat.replies.stop(conversation.id, actor))
        if stopped is True:
            return True
        reply = stopped if isinstance(stopped, str) else "Nothing is being written here."
    elif command == "model":
        actor = await slack.actor(key.workspace, user)
        if arg:
            try:
                chosen = await chat.preferences.set_model(
                    actor, key, model_scope(actor, key, None, in_conversation=True), arg
                )
                reply = f"This thread now uses `{chosen}`."
            except UserFacingError as exc:
                reply = str(exc)
        else:
            conversation = await chat.conversations.for_key(key)
            model = (await chat.preferences.model_choice(key, user, conversation.id if conversation else None)).model
            reply = f"This thread uses `{model}`. Change it with `@me model NAME`."
    elif command == "help" and not arg:
        reply = help_text()
    else:
        return False
    await slack.tell(key.channel, user, str(reply), key.thread)
    return True


class Commands:
    def __init__(self, slack: SlackAdapter):
        self.slack = slack
        self.chat = slack.chat

    def register(self, app: AsyncApp) -> None:
        own = {
            "/model": self.on_model_command,
            "/delete": self.on_delete_command,
            "/about": self.on_about_command,
            "/hfchat": self.on_hfchat_command,
        }
        for name in SLASH_COMMANDS:  # a registry command without a listener stops the start here
            listener = self.on_feature_command if name in FEATURE_COMMANDS else own[name]
            app.command(name, middleware=ACK_FIRST)(listener)

    async def on_model_command(self, command: dict, respond: Any) -> None:
        slack, chat = self.slack, self.chat
        team, channel, user = command["team_id"], command["channel_id"], command["user_id"]
        key = ConversationKey(PLATFORM, team, channel, "")
        words = parse_model(command.get("text") or "")
        if words.show:
            choice = await chat.preferences.model_choice(key, user)
            actor = await slack.actor(team, user)
            recent = [m for m in await chat.preferences.recent_models(actor, PLATFORM) if m != choice.model][:5]
            found = matching_models(slack.core.catalog, words.search)
            lines = [f"Current model: `{choice.model}` ({choice.source})."]
            if recent:
                lines.append("Your recent ones: " + ", ".join(f"`{m}`" for m in recent))
            if found:
                lines += ["", "**Models** (context, providers with the price per million tokens in/out)"]
                lines += model_lines(found, MODELS_LISTED)
            elif words.search:
                lines.append(f"No model name contains `{words.search[:40]}`.")
            lines += ["", "`/model NAME` sets your default, `/model channel NAME` this channel's (admins)."]
            text = "\n".join(lines)
            await respond(text=text[:3000], blocks=markdown_blocks(text), response_type="ephemeral")
            return
        # a slash command is typed in the channel, never in a thread: its choice is the person's, or a place's
        actor = await slack.actor(team, user, fresh=words.scope is not None)  # admin rights decide a place's
        scope = model_scope(actor, key, words.scope, in_conversation=False)
        chosen = await chat.preferences.set_model(actor, key, scope, words.name)
        if scope is Scope.USER:
            resolved = chosen or (await chat.preferences.model_choice(key, user)).model
            text = (
                f"Your default model is now `{chosen}`."
                if chosen
                else f"Your default is cleared; you get `{resolved}`."
            )
        else:
            place = "This channel" if scope is Scope.CHANNEL else "The workspace"
            text = f"{place} now defaults to `{chosen}`." if chosen else f"{place}'s default is cleared."
        await respond(text=text, response_type="ephemeral")

    async def on_delete_command(self, command: dict, respond: Any) -> None:
        slack = self.slack
        team, channel, user = command["team_id"], command["channel_id"], command["user_id"]
        arg = (command.get("text") or "").strip()
        if arg.lower() == "all":
            await respond(
                text="Erase everything stored about you?", blocks=delete_all_confirmation(), response_type="ephemeral"
            )
            return
        if arg.isdigit():  # a number from /conversations
            actor = await slack.actor(team, user, fresh=True)
            conversation = await self.chat.conversations.pick(actor, arg, listed_in=team)
            await self.chat.conversations.delete(conversation.id, actor)
            await respond(text=DELETED, response_type="ephemeral")
            return
        if arg:
            key = await slack.linked_thread(team, arg, command.get("team_domain") or "")
        elif channel.startswith("D"):
            current = await self.chat.dms.current_if_any(PLATFORM, team, channel)
            if current is None:
                await respond(text="Nothing is stored for this conversation.")
                return
            key = current
        else:
            await respond(
                text="Use `/delete <thread link>` or `/delete N` (N from `/conversations`) here, `@me delete` in the "
                "thread, or `/delete all` for everything."
            )
            return
        actor = await slack.actor(team, user, fresh=True)
        await respond(text=await delete_thread(slack, key, actor), response_type="ephemeral")

    async def on_feature_command(self, command: dict, respond: Any) -> None:
        """`/settings`, `/assistant`, `/usage`, `/compare`, `/limits`, `/conversations`, `/export`."""
        name = command["command"].lstrip("/")
        invocation = await slash_invocation(self.slack, command, respond, command["command"])
        await run_text_command(self.slack, name, invocation, command.get("text") or "")

    async def on_about_command(self, command: dict, respond: Any) -> None:
        key = ConversationKey(PLATFORM, command["team_id"], command["channel_id"], "")
        text = await self.chat.about(key, command["user_id"])
        await respond(text=text[:3000], blocks=markdown_blocks(text), response_type="ephemeral")

    async def on_hfchat_command(self, command: dict, respond: Any) -> None:
        team, channel, user = command["team_id"], command["channel_id"], command["user_id"]
        sub, _, rest = (command.get("text") or "").strip().partition(" ")
        sub = sub.lower()
        if sub == "about":
            await self.on_about_command(command, respond)
            return
        if sub in TEXT_COMMANDS:  # the same words as the command of that name
            invocation = await slash_invocation(self.slack, command, respond, f"/hfchat {sub}")
            await run_text_command(self.slack, sub, invocation, rest.strip())
            return
        if sub in ("model", "delete"):
            handler = self.on_model_command if sub == "model" else self.on_delete_command
            await handler({**command, "text": rest.strip()}, respond)
            return
        words = (command.get("text") or "").lower().split()
        if len(words) == 2 and words[0] == "replies" and words[1] in ("on", "off"):
            actor = await self.slack.actor(team, user, fresh=True)
            await self.chat.policy.set_follow_ups(actor, team, channel, words[1] == "on")
            state = "answer" if words[1] == "on" else "only answer mentions in"
            await respond(text=f"I now {state} thread follow-ups in this channel.")
            return
        text = help_text()
        await respond(text=text[:3000], blocks=markdown_blocks(text), response_type="ephemeral")
