"""Adopting a thread: the first time the bot is mentioned in a thread it holds no conversation for, what the
thread said before comes in once, as context (core.replies.intake asks for it, and never for what the thread held
before its conversation was erased). The platform lists the thread's messages; which are taken, and as what, is
decided here."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass

from core.errors import UserFacingError
from core.prompts import clean_prompt
from core.records import StoredMessage


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """A message of the thread as the platform lists it."""

    text: str  # as written, the bot's mention taken out
    sent_at: float  # epoch seconds
    author_id: str = ""
    author_name: str = ""  # when the listing says it (a bot's name); else `name_of` is asked
    ours: bool = False  # one of the bot's own messages: an earlier answer


async def adopted_messages(
    messages: Iterable[ThreadMessage],
    *,
    before: float,
    after: float = 0.0,
    name_of: Callable[[str], Awaitable[str]],
) -> list[StoredMessage]:
    """The thread's messages after `after` and before `before` (the message that mentions the bot), in the order
    listed: the bot's own as its answers, everyone else's as what they said, by name (`name_of(author_id)` for
    those the listing does not name). A message with nothing to read is left out."""
    adopted = []
    for message in messages:
        if message.sent_at >= before or message.sent_at <= after:
            continue
        try:
            text = clean_prompt(message.text)
        except UserFacingError:
            continue
        if message.ours:
            adopted.append(StoredMessage(role="assistant", content=text, created_at=message.sent_at))
            continue
        name = message.author_name or await name_of(message.author_id)
        adopted.append(
            StoredMessage(
                role="user", content=text, author_id=message.author_id, author_name=name, created_at=message.sent_at
            )
        )
    return adopted
