"""The words of the text commands every front end shares (`/model`, `/set`, `/assistant`, `/usage`, `/limits`,
`/compare`, `/export`), turned into what the core's use cases take.

Parsing only: each front end calls the use case itself and shows the result its own way. A mistake in
the words raises InvalidSetting with a message that shows the right form, under the front end's own
command name (`usage`).
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from core.errors import InvalidSetting
from core.records import Scope
from core.settings.assistants import parse_fields
from core.settings.options import CLEAR_WORDS, OPTIONS

SCOPE_WORDS = {
    "me": Scope.USER,
    "mine": Scope.USER,
    "user": Scope.USER,
    "here": Scope.CONVERSATION,
    "conversation": Scope.CONVERSATION,
    "thread": Scope.CONVERSATION,
    "channel": Scope.CHANNEL,
    "workspace": Scope.WORKSPACE,
    "server": Scope.WORKSPACE,
}
SETTING_NAMES = ("model", *OPTIONS)
ASSISTANT_ACTIONS = ("list", "show", "new", "edit", "use", "delete", "channel", "sharing")
_ACTION_ALIASES = {"create": "new", "add": "new", "remove": "delete", "rm": "delete", "ls": "list", "info": "show"}
_NONE_WORDS = frozenset({"none", "off", "no"})
_EVERYONE_WORDS = frozenset({"workspace", "server", "all", "everyone"})
EXPORT_FORMATS = {"md": "md", "markdown": "md", "json": "json"}
DEFAULT_USAGE_DAYS = 30


def scope_phrase(scope: Scope) -> str:
    """Where a setting now applies, for the confirmation: "your default", "this conversation", "the channel"."""
    return {Scope.USER: "your default", Scope.CONVERSATION: "this conversation"}.get(scope, f"the {scope.value}")


@dataclass(frozen=True, slots=True)
class SetCommand:
    scope: Scope
    name: str | None = None  # None: show every setting
    value: str | None = None  # None: clear it (the value was `default`, `reset`, ...)


def parse_set(arg: str, *, default_scope: Scope = Scope.USER, usage: str = "/set") -> SetCommand:
    """`[SCOPE] NAME VALUE`, or nothing to show the settings. SCOPE: me, here/thread, channel, workspace."""
    words = arg.strip().split(None, 1)
    if not words:
        return SetCommand(default_scope)
    scope = SCOPE_WORDS.get(words[0].lower())
    if scope is not None:
        words = words[1].split(None, 1) if len(words) > 1 else []
    if len(words) < 2:
        raise InvalidSetting(
            f"Write {usage} [me|here|channel|workspace] NAME VALUE, for example {usage} temperature 0.3 "
            f"(`default` as the value clears it). Settings: {', '.join(SETTING_NAMES)}."
        )
    name, value = words[0].lower(), words[1].strip()
    return SetCommand(scope or default_scope, name, None if value.lower() in CLEAR_WORDS else value)


@dataclass(frozen=True, slots=True)
class ModelCommand:
    """`/model`'s words: show the model in use (and the models whose name contains `search`), or choose one."""

    show: bool = False
    search: str = ""
    scope: Scope | None = None  # the place typed (channel, workspace), None: where the command is used
    name: str | None = None  # the model to choose; None clears the choice there


def parse_model(arg: str) -> ModelCommand:
    """`[list WORD] | [channel|workspace] NAME | [channel|workspace] reset`: a place alone, or with `reset` (or
    `default`, `clear`), clears its choice. Where the choice is stored: core.settings.scopes.model_scope."""
    words = arg.split()
    if not words or words[0].lower() == "list":
        return ModelCommand(show=True, search=" ".join(words[1:]).lower())
    scope = SCOPE_WORDS.get(words[0].lower())
    if scope in (Scope.CHANNEL, Scope.WORKSPACE):
        words = words[1:]
    else:
        scope = None
    name = words[0] if words else None
    return ModelCommand(scope=scope, name=None if name is None or name.lower() in CLEAR_WORDS else name)


def is_set_command(arg: str) -> bool:
    """True when `arg` (what follows `set`) names a known setting: tells a command from a prompt like
    "set up a project for me"."""
    words = arg.split()
    if words and words[0].lower() in SCOPE_WORDS:
        words = words[1:]
    return len(words) >= 2 and words[0].lower() in SETTING_NAMES


def is_assistant_command(arg: str) -> bool:
    """True when `arg` (what follows `assistant`) is empty or starts with an action."""
    words = arg.split()
    return not words or _ACTION_ALIASES.get(words[0].lower(), words[0].lower()) in ASSISTANT_ACTIONS


@dataclass(frozen=True, slots=True)
class AssistantCommand:
    action: str  # one of ASSISTANT_ACTIONS
    name: str | None = None  # None: not given (`new`/`edit` with a form), or `none` for use/channel
    fields: dict = field(default_factory=dict)  # for new/edit: create()/edit() keyword arguments


def parse_assistant(arg: str, *, usage: str = "/assistant", form: bool = False) -> AssistantCommand:
    """`list | show NAME | new NAME k=v... | edit NAME k=v... | use NAME|none | delete NAME |
    channel NAME|none | sharing on|off`. With `form`, `new` and `edit` may leave out what a form asks."""
    # typed quotes (“...”) are read as plain double quotes; apostrophes stay as they are
    try:
        words = shlex.split(arg.replace("“", '"').replace("”", '"'))
    except ValueError as exc:
        raise InvalidSetting(f"Could not read that: {exc}.") from None
    if not words:
        return AssistantCommand("list")
    action = _ACTION_ALIASES.get(words[0].lower(), words[0].lower())
    if action not in ASSISTANT_ACTIONS:
        raise InvalidSetting(
            f"Use {usage} list, show NAME, new NAME field=value..., edit NAME field=value..., use NAME|none, "
            "delete NAME, channel NAME|none (admins) or sharing on|off (admins)."
        )
    if action == "list":
        return AssistantCommand("list")
    if len(words) < 2:
        if form and action == "new":
            return AssistantCommand("new")
        raise InvalidSetting(f"Write {usage} {action} {'on|off' if action == 'sharing' else 'NAME'}.")
    name = words[1]
    if action == "sharing":
        if name.lower() not in ("on", "off"):
            raise InvalidSetting(f"Write {usage} sharing on (members may create shared assistants) or off.")
        return AssistantCommand("sharing", name.lower())
    if action in ("use", "channel") and name.lower() in _NONE_WORDS:
        return AssistantCommand(action, None)
    values = parse_fields(words[2:]) if action in ("new", "edit") else {}
    if action not in ("new", "edit") and len(words) > 2:
        raise InvalidSetting(f'Write {usage} {action} NAME (quote a name with spaces: "My helper").')
    return AssistantCommand(action, name, values)


@dataclass(frozen=True, slots=True)
class UsageCommand:
    everyone: bool = False  # the whole workspace's usage (admins), with each person's share
    days: int = DEFAULT_USAGE_DAYS


def parse_usage(arg: str) -> UsageCommand:
    """`[workspace] [DAYS]`."""
    words = arg.lower().split()
    days = next((int(w) for w in words if w.isdigit()), DEFAULT_USAGE_DAYS)
    return UsageCommand(any(w in _EVERYONE_WORDS for w in words), min(max(days, 1), 3650))


def parse_limits(arg: str) -> tuple[str | None, str]:
    """`[NAME VALUE]`: (None, "") shows the limits; an empty or `none` value removes one."""
    name, _, value = arg.strip().partition(" ")
    return (name or None), value.strip()


def parse_compare(arg: str, *, usage: str = "/compare") -> tuple[list[str], str]:
    """`MODEL1,MODEL2[,...] PROMPT` (spaces after the commas allowed): (models, prompt)."""
    rest = arg.strip()
    spec = ""
    while rest:
        word, _, rest = rest.partition(" ")
        spec += word
        rest = rest.lstrip()
        if not spec.endswith(","):
            break
    models = [m.strip() for m in spec.split(",") if m.strip()]
    if "," not in spec or not rest:
        raise InvalidSetting(f"Write {usage} MODEL1,MODEL2 PROMPT, for example {usage} org/a,org/b Explain DNS.")
    return models, rest


def parse_export(arg: str) -> tuple[str, str]:
    """`[WHICH] [md|json]`: (which conversation as the front end names it, "" for the current one; format)."""
    target, fmt = [], "md"
    for word in arg.split():
        if word.lower() in EXPORT_FORMATS:
            fmt = EXPORT_FORMATS[word.lower()]
        else:
            target.append(word)
    return " ".join(target), fmt
