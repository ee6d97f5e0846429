"""Errors a user can see. Each carries a message written for the chat, never for the log."""

from __future__ import annotations

# characters that reorder or hide text: echoed from what someone typed, they would show the rest of the bot's line
# reversed, or make two different names look the same
_HIDDEN = frozenset("\u200b\u200c\u200d\u200e\u200f\u061c\u2060\ufeff") | frozenset(map(chr, range(0x202A, 0x202F)))
_HIDDEN |= frozenset(map(chr, range(0x2066, 0x206A)))


def visible_controls(text: str) -> str:
    """`text` with bidirectional controls and zero-width characters written out as [U+XXXX]."""
    if not any(ch in _HIDDEN for ch in text):
        return text
    return "".join(f"[U+{ord(ch):04X}]" if ch in _HIDDEN else ch for ch in text)


class UserFacingError(Exception):
    """Something the person in the chat should read; `str(error)` is that text.

    Refusals often echo what was typed (a model's name, an argument): hidden and direction controls in it are
    written out, here, for every front end.
    """

    def __init__(self, message: str = "", *args: object):
        super().__init__(visible_controls(str(message)), *args)


class EmptyPrompt(UserFacingError):
    def __init__(self) -> None:
        super().__init__("Your message is empty. Write something for the model to answer.")


class PromptTooLong(UserFacingError):
    pass


class UnknownModel(UserFacingError):
    def __init__(self, name: str, suggestions: list[str]):
        self.name = name
        self.suggestions = suggestions
        hint = f" Did you mean {', '.join(f'`{s}`' for s in suggestions)}?" if suggestions else ""
        super().__init__(f"`{name}` is not a model the router serves.{hint}")


class NotAllowed(UserFacingError):
    pass


class ShuttingDown(UserFacingError):
    def __init__(self) -> None:
        super().__init__("I'm restarting and can't take new messages right now. Please send it again in a minute.")


class NotFound(UserFacingError):
    pass


class InvalidSetting(UserFacingError):
    """A setting's value is out of range or not one of its choices."""


class RouterError(UserFacingError):
    """The router or a provider failed. `kind` is for code and metrics, the text for people.

    `before_first_token` is True when nothing was streamed yet, so retrying or failing over is safe.
    """

    def __init__(self, kind: str, message: str, *, retry_after: float | None = None, status: int | None = None):
        super().__init__(message)
        self.kind = kind
        self.retry_after = retry_after
        self.status = status
        self.before_first_token = True
        self.in_stream = False  # reported by the provider inside a 200 stream (the client did not retry it)


class StoreUnavailable(Exception):
    """The database stayed unreachable or locked through every retry; nothing of the call was stored.

    Not a refusal: front ends answer it by asking for the message again (or letting the platform redeliver it)."""

    def __init__(self, what: str, cause: BaseException):
        super().__init__(f"database unavailable during {what}: {type(cause).__name__}")
        self.what = what
