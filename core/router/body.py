"""A chat request's JSON body, with the JSON of each long-lived turn kept on the turn.

An answer in a long conversation sends hundreds of turns, almost all of them sent the answer before too. The turns
the core builds from stored messages are `Turn`s (core.replies.context keeps one per message while the message is
in memory); each carries its own JSON once it has been sent, so a request joins bytes instead of serialising the
whole history again. Anything else (tool turns, images, a system prompt) is serialised as it comes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable


class Turn(dict):
    """A chat message dict whose JSON is computed once. Never change one after it was sent: build a new one."""

    __slots__ = ("_json",)

    def encoded(self) -> bytes:
        try:
            return self._json
        except AttributeError:
            self._json = _dumps(self)
            return self._json


def _dumps(value) -> bytes:
    # as the SDK serialises a body (openai._utils._json.openapi_dumps, httpx's defaults)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


def chat_body(fields: dict, messages: Iterable[dict]) -> bytes:
    """`fields` and `"messages"` as one JSON object."""
    parts = [m.encoded() if isinstance(m, Turn) else _dumps(m) for m in messages]
    head = _dumps({k: v for k, v in fields.items() if k != "messages"})
    return head[:-1] + (b',"messages":[' if len(head) > 2 else b'"messages":[') + b",".join(parts) + b"]}"
