"""Assistants: a name, instructions, a default model, generation settings, starter prompts, web search.

Personal assistants belong to one person (on one platform, in every workspace); shared ones belong to
a workspace, where only admins create them unless an admin allows members to. A channel may have a
default (shared) assistant. A conversation keeps the assistant it started with: it is pinned, by id,
when the conversation is created, and later changes of anyone's default do not move it.
"""

from __future__ import annotations

import difflib
from dataclasses import fields

from core.errors import InvalidSetting, NotAllowed, NotFound
from core.keys import Actor, ConversationKey
from core.models.catalog import ModelCatalog
from core.models.omni import OMNI, is_omni
from core.records import Assistant, Conversation, Scope
from core.settings.options import ASSISTANT_OPTIONS, parse_option
from core.store.base import Store

SETTING = "assistant"  # the setting that points at an assistant's id
MEMBERS_SHARE = "members_share_assistants"  # workspace setting: "on" lets members create shared ones
MAX_NAME = 60
MAX_INSTRUCTIONS = 8000
MAX_STARTERS = 4
MAX_STARTER = 300
EDITABLE = ("name", "instructions", "model", "options", "starters", "web_search", "shared")


class AssistantService:
    def __init__(self, store: Store, catalog: ModelCatalog):
        self.store = store
        self.catalog = catalog

    # validation
    def _validated(self, assistant: Assistant) -> Assistant:
        name = " ".join(assistant.name.split())
        if not name or len(name) > MAX_NAME:
            raise InvalidSetting(f"An assistant needs a name of 1 to {MAX_NAME} characters.")
        if name.isdigit():
            raise InvalidSetting("An assistant's name cannot be only digits.")
        assistant.name = name
        assistant.instructions = assistant.instructions.strip()
        if len(assistant.instructions) > MAX_INSTRUCTIONS:
            raise InvalidSetting(f"Instructions are limited to {MAX_INSTRUCTIONS:,} characters.")
        if assistant.model:
            assistant.model = OMNI if is_omni(assistant.model) else self.catalog.validate(assistant.model)
        options = {}
        for name, raw in assistant.options.items():
            if raw is None:
                continue
            if name not in ASSISTANT_OPTIONS:
                raise InvalidSetting(f"An assistant can carry {', '.join(ASSISTANT_OPTIONS)}; not `{name[:40]}`.")
            value = parse_option(name, str(raw), self.catalog)
            if value is not None:
                options[name] = value
        assistant.options = options
        starters = [" ".join(s.split()) for s in assistant.starters if s.strip()]
        if len(starters) > MAX_STARTERS or any(len(s) > MAX_STARTER for s in starters):
            raise InvalidSetting(f"Up to {MAX_STARTERS} starter prompts of {MAX_STARTER} characters each.")
        assistant.starters = starters
        return assistant

    async def _check_name_free(self, assistant: Assistant, visible: list[Assistant]) -> None:
        for other in visible:
            same_kind = other.shared == assistant.shared
            if other.id != assistant.id and same_kind and other.name.lower() == assistant.name.lower():
                where = "in this workspace" if assistant.shared else "among yours"
                raise InvalidSetting(f"There is already an assistant called “{assistant.name}” {where}.")

    async def _may_share(self, actor: Actor, key: ConversationKey) -> bool:
        if actor.is_admin:
            return True
        allowed = await self.store.get_setting(
            key.platform, key.workspace, Scope.WORKSPACE, key.workspace, MEMBERS_SHARE
        )
        return allowed == "on"

    @staticmethod
    def may_edit(assistant: Assistant, actor: Actor) -> bool:
        if assistant.owner_id == actor.user_id and assistant.platform == actor.platform:
            return True
        return assistant.shared and actor.is_admin and actor.workspace == assistant.workspace

    # use cases
    async def create(self, actor: Actor, key: ConversationKey, name: str, **values) -> Assistant:
        assistant = self._validated(
            Assistant(platform=key.platform, workspace=key.workspace, owner_id=actor.user_id, name=name, **values)
        )
        if assistant.shared and not key.workspace:
            raise NotAllowed("Shared assistants live in a workspace; create a personal one here.")
        if assistant.shared and not await self._may_share(actor, key):
            raise NotAllowed("Only an admin can create shared assistants in this workspace.")
        await self._check_name_free(assistant, await self.list(actor, key))
        return await self.store.create_assistant(assistant)

    async def list(self, actor: Actor, key: ConversationKey) -> list[Assistant]:
        return await self.store.list_assistants(key.platform, key.workspace, actor.user_id)

    async def find(self, actor: Actor, key: ConversationKey, name: str) -> Assistant:
        """A visible assistant by name (yours first) or number in the list."""
        visible = await self.list(actor, key)
        wanted = " ".join(name.split()).lower()
        matches = [a for a in visible if a.name.lower() == wanted]
        if not matches and wanted.isdigit() and 0 < int(wanted) <= len(visible):
            matches = [visible[int(wanted) - 1]]
        if not matches:
            close = difflib.get_close_matches(wanted, [a.name.lower() for a in visible], n=3, cutoff=0.5)
            names = [a.name for a in visible if a.name.lower() in close]
            hint = f" Did you mean {', '.join(f'“{n}”' for n in names)}?" if names else ""
            raise NotFound(f"No assistant called “{name[:MAX_NAME]}”.{hint}")
        matches.sort(key=lambda a: a.shared)  # a personal one wins over a shared one of the same name
        return matches[0]

    async def edit(self, actor: Actor, key: ConversationKey, name: str, /, **changes) -> Assistant:
        """Change the fields given (`name=` renames it); `name` finds the assistant to change."""
        assistant = await self.find(actor, key, name)
        if not self.may_edit(assistant, actor):
            raise NotAllowed("Only its creator or a workspace admin can change this assistant.")
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise InvalidSetting(f"An assistant has no field {', '.join(sorted(unknown))}.")
        if "options" in changes:  # merged: editing one setting keeps the others; None removes one
            merged = dict(assistant.options)
            for option, value in changes.pop("options").items():
                if value is None:
                    merged.pop(option, None)
                else:
                    merged[option] = value
            assistant.options = merged
        if changes.get("shared") and not assistant.shared and not await self._may_share(actor, key):
            raise NotAllowed("Only an admin can share assistants in this workspace.")
        for field in fields(Assistant):
            if field.name in changes:
                setattr(assistant, field.name, changes[field.name])
        self._validated(assistant)
        await self._check_name_free(assistant, await self.list(actor, key))
        await self.store.update_assistant(assistant)
        return assistant

    async def delete(self, actor: Actor, key: ConversationKey, name: str) -> Assistant:
        assistant = await self.find(actor, key, name)
        if not self.may_edit(assistant, actor):
            raise NotAllowed("Only its creator or a workspace admin can delete this assistant.")
        await self.store.delete_assistant(assistant.id)
        return assistant

    async def use(self, actor: Actor, key: ConversationKey, name: str | None) -> Assistant | None:
        """Make an assistant your default for new conversations; None goes back to none."""
        assistant = await self.find(actor, key, name) if name else None
        await self.store.set_setting(
            key.platform, "", Scope.USER, actor.user_id, SETTING, str(assistant.id) if assistant else None
        )
        return assistant

    async def set_channel_default(self, actor: Actor, key: ConversationKey, name: str | None) -> Assistant | None:
        if not actor.is_admin:
            raise NotAllowed("Only an admin can set the channel's default assistant.")
        assistant = await self.find(actor, key, name) if name else None
        if assistant is not None and not assistant.shared:
            raise NotAllowed("A channel's default assistant must be a shared one, so everyone here may use it.")
        await self.store.set_setting(
            key.platform, key.workspace, Scope.CHANNEL, key.channel, SETTING, str(assistant.id) if assistant else None
        )
        return assistant

    async def allow_members_to_share(self, actor: Actor, key: ConversationKey, allowed: bool) -> None:
        if not actor.is_admin:
            raise NotAllowed("Only an admin can decide who creates shared assistants.")
        await self.store.set_setting(
            key.platform, key.workspace, Scope.WORKSPACE, key.workspace, MEMBERS_SHARE, "on" if allowed else None
        )

    async def _visible(self, assistant_id: str | None, user_id: str, key: ConversationKey) -> Assistant | None:
        if not assistant_id or not assistant_id.isdigit():
            return None
        assistant = await self.store.get_assistant(int(assistant_id))
        if assistant is None or assistant.platform != key.platform:
            return None
        if assistant.shared:
            return assistant if assistant.workspace == key.workspace else None
        return assistant if assistant.owner_id == user_id else None

    async def default_for(self, key: ConversationKey, user_id: str) -> Assistant | None:
        """The assistant a new conversation here would start with: the user's, else the channel's."""
        places = [("", Scope.USER, user_id), (key.workspace, Scope.CHANNEL, key.channel)]
        for workspace, scope, scope_id in places:
            value = await self.store.get_setting(key.platform, workspace, scope, scope_id, SETTING)
            assistant = await self._visible(value, user_id, key)
            if assistant is not None:
                return assistant
        return None

    async def visible(self, actor: Actor, key: ConversationKey, assistant_id: int) -> Assistant | None:
        """An assistant by id, if the actor may use it here (theirs, or shared in this workspace)."""
        return await self._visible(str(assistant_id), actor.user_id, key)

    async def set_for_conversation(self, conversation: Conversation, assistant: Assistant | None) -> None:
        """Change the assistant a conversation keeps (None: none); permission checks are the caller's."""
        key = conversation.key
        await self.store.set_setting(
            key.platform,
            key.workspace,
            Scope.CONVERSATION,
            str(conversation.id),
            SETTING,
            str(assistant.id) if assistant else None,
        )

    async def pin(self, conversation: Conversation, user_id: str) -> Assistant | None:
        """At a conversation's start: fix the assistant it keeps from now on."""
        assistant = await self.default_for(conversation.key, user_id)
        if assistant is not None:
            key = conversation.key
            await self.store.set_setting(
                key.platform, key.workspace, Scope.CONVERSATION, str(conversation.id), SETTING, str(assistant.id)
            )
        return assistant

    async def for_conversation(self, conversation: Conversation | None) -> Assistant | None:
        """The assistant a conversation started with (None if none, or it was deleted since)."""
        if conversation is None:
            return None
        key = conversation.key
        value = await self.store.get_setting(
            key.platform, key.workspace, Scope.CONVERSATION, str(conversation.id), SETTING
        )
        if not value or not value.isdigit():
            return None
        assistant = await self.store.get_assistant(int(value))
        return assistant if assistant is not None and assistant.platform == key.platform else None


_TRUE = {"yes", "true", "on", "1"}
_FALSE = {"no", "false", "off", "0"}
_ALIASES = {"web": "web_search", "search": "web_search", "starter": "starters", "prompt": "instructions"}


def parse_fields(words: list[str]) -> dict:
    """`key=value` words (from shlex) into `create`/`edit` keyword arguments, for text commands.

    instructions=..., model=..., web=yes, shared=yes, starter=... (repeatable, or starters=a|b),
    and any generation setting (temperature=0.7, reasoning_effort=high, ...).
    """
    values: dict = {}
    options: dict[str, str | None] = {}
    for word in words:
        name, sep, value = word.partition("=")
        name = _ALIASES.get(name.strip().lower(), name.strip().lower())
        if not sep:
            raise InvalidSetting(f"Write fields as name=value; `{word[:40]}` has no value.")
        if name in ("web_search", "shared"):
            if value.lower() not in _TRUE | _FALSE:
                raise InvalidSetting(f"`{name}` is yes or no.")
            values[name] = value.lower() in _TRUE
        elif name == "starters":
            values.setdefault("starters", []).extend(s for s in value.split("|") if s.strip())
        elif name in ("instructions", "model", "name"):
            values[name] = value
        elif name in ASSISTANT_OPTIONS:
            options[name] = value or None
        else:
            raise InvalidSetting(
                f"Unknown field `{name[:40]}`. Fields: name, instructions, model, web, shared, starter, "
                + ", ".join(ASSISTANT_OPTIONS)
                + "."
            )
    if options:
        values["options"] = options
    return values


def describe(assistant: Assistant) -> str:
    """A few Markdown lines about an assistant, for any front end."""
    kind = "shared" if assistant.shared else "personal"
    settings = ", ".join(f"{k}={v}" for k, v in assistant.options.items())
    lines = [f"**{assistant.name}** ({kind}) · model: `{assistant.model or 'default'}`"]
    if settings:
        lines.append(f"settings: {settings}")
    if assistant.web_search:
        lines.append("may search the web")
    if assistant.instructions:
        lines.append("> " + assistant.instructions[:300].replace("\n", "\n> "))
    for starter in assistant.starters:
        lines.append(f"• {starter}")
    return "\n".join(lines)
