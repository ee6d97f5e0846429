"""The terminal's /assistant: list, new, show, edit, use (a new conversation with it), delete, a channel's default
and whether members may share them. The words are read by core.commands.text, the rules are the core's."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.commands.text import parse_assistant
from core.settings.assistants import describe

if TYPE_CHECKING:
    from bots.console.app import ConsoleApp


async def assistant(app: ConsoleApp, arg: str) -> None:
    command = parse_assistant(arg)
    action, name = command.action, command.name
    service = app.chat.assistants
    if action == "list":
        assistants = await service.list(app.actor, app.key)
        if not assistants:
            app.say("No assistants yet. Create one with /assistant new NAME instructions=...")
        for number, assistant in enumerate(assistants, 1):
            kind = "shared" if assistant.shared else "personal"
            app.say(f"{number:3d}. {assistant.name} ({kind}) · {assistant.model or 'default model'}")
        return
    if action == "new":
        assistant = await service.create(app.actor, app.key, name, **command.fields)
        app.console.print(describe(assistant), markup=False, highlight=False)
        app.say(f"Created. Start a conversation with it: /assistant use {assistant.name}")
    elif action == "edit":
        assistant = await service.edit(app.actor, app.key, name, **command.fields)
        app.console.print(describe(assistant), markup=False, highlight=False)
    elif action == "show":
        app.console.print(describe(await service.find(app.actor, app.key, name)), markup=False, highlight=False)
    elif action == "use":
        assistant = await service.use(app.actor, app.key, name)
        app.new_conversation()  # a conversation keeps its assistant: the new one starts fresh
        if assistant is None:
            app.say("New conversation, without an assistant.")
            return
        app.say(f"New conversation with {assistant.name}.")
        for number, starter in enumerate(assistant.starters, 1):
            app.say(f"  try {number}: {starter}")
    elif action == "delete":
        assistant = await service.delete(app.actor, app.key, name)
        app.say(f"Deleted the assistant {assistant.name}.")
    elif action == "channel":
        assistant = await service.set_channel_default(app.actor, app.key, name)
        app.say(f"New conversations here start with {assistant.name}." if assistant else "No channel assistant.")
    else:  # sharing
        await service.allow_members_to_share(app.actor, app.key, name == "on")
        app.say("Members may now create shared assistants." if name == "on" else "Only admins create shared ones.")


HANDLERS = {"assistant": assistant}
