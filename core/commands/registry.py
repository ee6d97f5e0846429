"""Every command, defined once: its name, what it does, how its arguments are written, who may use it and where
it exists. Each front end renders these (Discord's app commands and their option descriptions, Slack's slash
commands in the manifest, the terminal's /help); tests hold every front end to this list, so adding a command is
one entry here plus what each platform draws.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DISCORD, SLACK, CONSOLE = "discord", "slack", "console"
EVERYWHERE = frozenset({DISCORD, SLACK, CONSOLE})
SUMMARY_CHARS = 100  # Discord's limit for a command's and an option's description
TYPED, ON_A_MESSAGE = "typed", "message"  # a command typed with its arguments, or picked on a message (a menu)


@dataclass(frozen=True, slots=True)
class Argument:
    name: str
    help: str


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    summary: str  # one line, at most SUMMARY_CHARS
    usage: str = ""  # how the arguments are typed (Slack's usage hint, the terminal's help)
    arguments: tuple[Argument, ...] = ()  # named arguments, where the platform has them (Discord options)
    admin_only: bool = False  # only admins may use it at all (others may still read some)
    front_ends: frozenset[str] = EVERYWHERE
    names: dict[str, str] = field(default_factory=dict)  # the name on a front end where it differs
    kind: str = TYPED  # ON_A_MESSAGE: a message's context menu (Discord), named for people ("Ask HuggingChat")
    subcommands: tuple[Argument, ...] = ()  # where the platform has them (a Discord command group): name, summary

    def name_on(self, front_end: str) -> str:
        return self.names.get(front_end, self.name)

    def described(self) -> dict[str, str]:
        """{argument: help}, as discord.py's `app_commands.describe` takes it."""
        return {a.name: a.help for a in self.arguments}


def _a(name: str, help: str) -> Argument:
    return Argument(name, help)


COMMANDS: tuple[Command, ...] = (
    Command(
        "chat",
        "Ask a model; the conversation goes on in a new thread",
        arguments=(
            _a("prompt", "What to ask"),
            _a("model", "Model for this conversation (default: yours, the channel's or the server's)"),
            _a("private", "Open a private thread only you (and people you add) can see"),
        ),
        front_ends=frozenset({DISCORD}),
    ),
    Command(
        "model",
        "Show or choose the model (in a thread: that conversation's; channel or server default: admins)",
        usage="[NAME | channel NAME | reset]",
        arguments=(
            _a("name", "Model name; leave empty to see the current one"),
            _a("scope", "Admins: set the default for this channel or the whole server"),
        ),
    ),
    Command(
        "models",
        "The router's models: context, providers and prices, vision, tools",
        usage="[WORD]",
        arguments=(_a("search", "Only models whose name contains this"),),
        front_ends=frozenset({DISCORD, CONSOLE}),
    ),
    Command(
        "delete",
        "Erase a conversation (here, one of yours, or by its link), or everything stored about you",
        usage="[thread link | N | all]",
        arguments=(
            _a("conversation", "One of your conversations (default: the one in this thread)"),
            _a("all", "Erase every conversation and setting you stored (asks first)"),
        ),
    ),
    Command(
        "conversations",
        "Your conversations, with links",
        front_ends=EVERYWHERE,
        names={CONSOLE: "list"},
    ),
    Command(
        "export",
        "Download a conversation as a Markdown or JSON file",
        usage="[md | json] [N | thread link] [PATH]",
        arguments=(
            _a("conversation", "One of your conversations (default: the one in this thread)"),
            _a("format", "markdown or json"),
        ),
    ),
    Command(
        "new",
        "Start a new conversation (in a DM, for /ask, or in the terminal)",
        front_ends=frozenset({DISCORD, CONSOLE}),
    ),
    Command(
        "mentions",
        "Admins: how I answer @mentions in this channel",
        arguments=(_a("mode", "thread: open a thread · inline: reply in the channel · off: ignore mentions"),),
        admin_only=True,
        front_ends=frozenset({DISCORD}),
    ),
    Command(
        "settings",
        "Show or change temperature, system prompt, provider and more, and where each comes from",
        usage="[me | here | channel | workspace] [NAME VALUE | NAME default]",
        arguments=(
            _a("name", "The setting; leave empty to see them all"),
            _a("value", "Its new value (`default` clears it)"),
            _a("scope", "Where it applies (channel and server: admins)"),
        ),
        names={CONSOLE: "set"},
    ),
    Command(
        "assistant",
        "Create, list, use, edit or delete assistants; channel default and sharing for admins",
        usage="[list | new NAME field=value... | show NAME | edit NAME | use NAME | delete NAME | channel NAME]",
        arguments=(
            _a("action", "What to do"),
            _a("name", "The assistant's name (`none` with use/channel: no assistant)"),
            _a(
                "fields", 'For create/edit: instructions="..." model=... temperature=0.7 web=yes shared=yes starter=...'
            ),
        ),
    ),
    Command(
        "usage",
        "Tokens and cost per model and per day (the whole workspace's for admins)",
        usage="[workspace] [DAYS]",
        arguments=(_a("scope", "Yours, or the whole server's (admins)"), _a("days", "How many days back (default 30)")),
    ),
    Command(
        "compare",
        "Ask two to four models the same thing, side by side",
        usage="MODEL1,MODEL2 PROMPT",
        arguments=(
            _a("prompt", "What to ask"),
            _a("model_a", "First model"),
            _a("model_b", "Second model"),
            _a("model_c", "Third model"),
        ),
    ),
    Command(
        "limits",
        "Per-person limits and allowed models in this workspace (admins change them)",
        usage="[messages_per_minute | tokens_per_day | max_message_chars | allowed_models VALUE]",
        arguments=(_a("limit", "Which limit (empty: show them)"), _a("value", "New value; 0 or none removes it")),
    ),
    Command(
        "account",
        "Connect your Hugging Face account (your credits, your limits), see who is connected, or disconnect",
        usage="[connect | status | disconnect | bill ORG|off | shared on|off]",
        arguments=(
            _a("action", "connect (a private form) · status · disconnect · admins: bill, shared"),
            _a("value", "bill: the organization billed here (off: none) · shared: on or off"),
        ),
    ),
    Command("about", "What this bot is: its version, the model in use here, how your data is kept and erased"),
    Command(
        "hfchat",
        "Help, and every command as /hfchat COMMAND; admins: whether I answer follow-ups without a mention",
        usage="[help | about | settings ... | assistant ... | usage | compare ... | limits ... | replies on|off]",
        front_ends=frozenset({SLACK}),
    ),
    Command(
        "ask",
        "Ask one question, wherever you are; only you see the answer, unless you share it",
        arguments=(
            _a("prompt", "What to ask"),
            _a("private", "Only you see the answer (default); false: everyone here does"),
        ),
        front_ends=frozenset({DISCORD}),
    ),
    # on a message (Discord's message context menu): each reads only the message picked (and what it replies to or
    # forwards, its files, or for a summary the thread it is in)
    Command(
        "ask_message",
        "Ask about this message (its files and the message it replies to included)",
        front_ends=frozenset({DISCORD}),
        names={DISCORD: "Ask HuggingChat"},
        kind=ON_A_MESSAGE,
    ),
    Command(
        "summarize_thread",
        "Summarize the thread this message is in",
        front_ends=frozenset({DISCORD}),
        names={DISCORD: "Summarize thread"},
        kind=ON_A_MESSAGE,
    ),
    Command(
        "explain_code",
        "Explain the code in this message",
        front_ends=frozenset({DISCORD}),
        names={DISCORD: "Explain code"},
        kind=ON_A_MESSAGE,
    ),
    Command(
        "translate",
        "Translate this message into your language",
        front_ends=frozenset({DISCORD}),
        names={DISCORD: "Translate"},
        kind=ON_A_MESSAGE,
    ),
    Command(
        "delete_from_here",
        "Delete this message of a conversation and everything after it",
        front_ends=frozenset({DISCORD}),
        names={DISCORD: "Delete from here"},
        kind=ON_A_MESSAGE,
    ),
    Command(
        "catchup",
        "Catch me up: what you can read in a channel since a time, summarized with links, only for you",
        usage="[#channel] [2h | 3d | yesterday | monday | 2026-12-01]",
        arguments=(
            _a("channel", "Which channel (default: this one)"),
            _a("since", "Since when: 2h, 3d, yesterday, monday or a date (default: the last 24 hours)"),
        ),
        front_ends=frozenset({DISCORD, SLACK}),
    ),
    Command(
        "schedule",
        "Schedule a prompt in this channel: each run opens a new thread with the answer",
        usage='"PROMPT" every monday 09:00 | "PROMPT" 0 9 * * 1 | list | delete N | allow members|admins|off',
        arguments=(_a("what", '"prompt" every monday 09:00 · "prompt" 0 9 * * 1 · list · delete N · allow admins'),),
        front_ends=frozenset({DISCORD, SLACK}),  # the terminal has no channel to post runs in (README)
    ),
    Command(
        "memory",
        "What I remember about you here (off until you turn it on): list and delete, on, off, clear",
        usage="[on | off | forget N | clear]",
        subcommands=(
            _a("list", "What I keep for you here, with a button to delete each"),
            _a("on", "Let me keep what you ask me to remember (and suggest things, kept only if you say yes)"),
            _a("off", "Stop using and keeping memories here (what is kept stays until clear)"),
            _a("clear", "Erase everything I keep for you here"),
        ),
    ),
    # the terminal's own
    Command("open", "Go back to conversation N (its last turns are shown)", "N", front_ends=frozenset({CONSOLE})),
    Command(
        "forget",
        "Delete your last N messages (default 1) and everything after them",
        "[N]",
        front_ends=frozenset({CONSOLE}),
    ),
    Command("stop", "Stop the answer (also Esc, or Ctrl-C, while it writes)", front_ends=frozenset({CONSOLE})),
    Command("continue", "Go on with an answer cut by the length limit", front_ends=frozenset({CONSOLE})),
    Command("retry", "Answer the last question again", front_ends=frozenset({CONSOLE})),
    Command("system", "This conversation's system prompt", "[TEXT | clear]", front_ends=frozenset({CONSOLE})),
    Command("search", "Let models with tools search the web and read links", "on|off", front_ends=frozenset({CONSOLE})),
    Command("reasoning", "The last answer's reasoning", front_ends=frozenset({CONSOLE})),
    Command("help", "This text", front_ends=frozenset({CONSOLE, SLACK}), names={SLACK: "hfchat help"}),
    Command("quit", "Leave (or Ctrl-D, or Ctrl-C at the prompt)", front_ends=frozenset({CONSOLE})),
)

_BY_NAME = {command.name: command for command in COMMANDS}


def command(name: str) -> Command:
    return _BY_NAME[name]


def commands_on(front_end: str, kind: str = TYPED) -> list[Command]:
    return [c for c in COMMANDS if front_end in c.front_ends and c.kind == kind]
