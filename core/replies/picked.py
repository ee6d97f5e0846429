"""Messages a person picked for the model to read (a message's context menu, a forwarded message), written into
the prompt the same way on every front end. Only what was picked is read: never anything else from the channel.

A task says what to do with them: answer a question about a message, summarize a thread, explain the code in a
message, translate a message into the person's language.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Task(StrEnum):
    ASK = "ask"
    SUMMARIZE = "summarize"
    EXPLAIN = "explain"
    TRANSLATE = "translate"


@dataclass(frozen=True, slots=True)
class Picked:
    """One message as the model reads it; `files` names its attachments (their content comes as attachments)."""

    author: str
    text: str
    files: tuple[str, ...] = ()
    forwarded: tuple[Picked, ...] = ()  # messages it forwards (Discord's message snapshots)
    replies_to: Picked | None = None  # the message it answers, when it is a reply

    @property
    def empty(self) -> bool:
        return not (self.text.strip() or self.files or any(not f.empty for f in self.forwarded))


@dataclass(frozen=True, slots=True)
class Request:
    task: Task
    messages: list[Picked] = field(default_factory=list)  # oldest first
    question: str = ""  # ASK: what the person wants to know
    locale: str = ""  # TRANSLATE: the person's language, as the platform names it (Discord: "fr", "pt-BR")


ASK_DEFAULT = "What should I know about this message? Answer briefly."
INSTRUCTIONS = {
    Task.ASK: "{question}\n\nThe message I am asking about:",
    Task.SUMMARIZE: (
        "Summarize this thread in a few short bullet points: what it is about, what was decided, what is still "
        "open. Name people where it matters. The thread, oldest message first:"
    ),
    Task.EXPLAIN: (
        "Explain the code in this message: what it does and how, step by step where it helps, and point out "
        "anything wrong or risky. The message:"
    ),
    Task.TRANSLATE: (
        "Translate this message into {language}. Keep its formatting, names and code as they are. Reply with the "
        "translation only. The message:"
    ),
}

# Discord's locales (discord.Locale) and the language each names
LANGUAGES = {
    "id": "Indonesian", "da": "Danish", "de": "German", "en-GB": "English", "en-US": "English", "es-ES": "Spanish",
    "es-419": "Latin American Spanish", "fr": "French", "hr": "Croatian", "it": "Italian", "lt": "Lithuanian",
    "hu": "Hungarian", "nl": "Dutch", "no": "Norwegian", "pl": "Polish", "pt-BR": "Brazilian Portuguese",
    "ro": "Romanian", "fi": "Finnish", "sv-SE": "Swedish", "vi": "Vietnamese", "tr": "Turkish", "cs": "Czech",
    "el": "Greek", "bg": "Bulgarian", "ru": "Russian", "uk": "Ukrainian", "hi": "Hindi", "th": "Thai",
    "zh-CN": "Simplified Chinese", "ja": "Japanese", "zh-TW": "Traditional Chinese", "ko": "Korean",
}  # fmt: skip


def language_of(locale: str) -> str:
    """The language a platform locale names; English for one it does not know."""
    return LANGUAGES.get(locale) or LANGUAGES.get(locale.split("-")[0]) or "English"


def _block(message: Picked) -> list[str]:
    lines = [f"> {line}" if line else ">" for line in message.text.strip().split("\n")] if message.text.strip() else []
    return lines + [f"[attached: {name}]" for name in message.files]


def quoted(message: Picked) -> str:
    """A message as a quote: who wrote it, what it replies to, its text and files, and what it forwards (a forwarded
    message does not say who wrote it)."""
    lines = [f"{message.author or 'Someone'} wrote:"]
    if message.replies_to is not None:
        lines.append(f"(in reply to {message.replies_to.author or 'someone'}: {_one_line(message.replies_to.text)})")
    lines += _block(message)
    for inner in message.forwarded:
        lines += ["(forwarding this message:)", *_block(inner)]
    return "\n".join(lines)


def forwarded_text(comment: str, forwarded: list[Picked]) -> str:
    """What a person sent when they forwarded messages (with or without a word of their own), as a prompt."""
    parts = [comment.strip()] if comment.strip() else []
    parts += ["\n".join(["Forwarded message:", *_block(m)]) for m in forwarded]
    return "\n\n".join(parts)


def prompt_for(request: Request, limit: int) -> str:
    """The prompt for a task on the picked messages, within `limit` characters: when a long thread does not fit, its
    oldest messages are left out (and the prompt says so)."""
    head = INSTRUCTIONS[request.task].format(
        question=request.question.strip() or ASK_DEFAULT, language=language_of(request.locale)
    )
    quotes = [quoted(m) for m in request.messages]
    kept: list[str] = []
    room = limit - len(head) - 80
    for quote in reversed(quotes):
        if len(quote) + 2 > room and kept:
            break
        kept.insert(0, quote[: max(0, room)])
        room -= len(quote) + 2
    left_out = len(quotes) - len(kept)
    note = [f"({left_out} older message{'s' if left_out != 1 else ''} left out)"] if left_out else []
    return "\n\n".join([head, *note, *kept])


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"
