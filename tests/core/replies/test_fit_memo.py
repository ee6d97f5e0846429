"""Fitting keeps what each message became while the message object lives (core.replies.context): the same
result as fitting afresh, and nothing of a message stays once the message is gone (erased text)."""

from __future__ import annotations

import gc

from core.records import StoredMessage
from core.replies import context
from core.replies.context import fit_messages


def _history(n: int) -> list[StoredMessage]:
    return [
        StoredMessage(role="user" if i % 2 == 0 else "assistant", content=f"message {i} " * 20, author_id="u1", id=i)
        for i in range(n)
    ]


def _fit(history: list[StoredMessage]):
    return fit_messages(history, system_prompt="sys", context_window=4000, max_tokens=500)


def test_fitting_again_gives_what_a_fresh_fit_gives_and_reuses_the_turns():
    history = _history(60)
    first = _fit(history)
    again = _fit(history)
    fresh = _fit([StoredMessage(**{f: getattr(m, f) for f in m.__dataclass_fields__}) for m in history])
    assert again.messages == first.messages == fresh.messages
    assert [(f.dropped, f.prompt_tokens) for f in (first, again)] == [(fresh.dropped, fresh.prompt_tokens)] * 2
    assert first.dropped > 0  # the window is small: older messages were left out
    assert all(a is b for a, b in zip(first.messages[1:], again.messages[1:], strict=True))  # the same turns


def test_a_new_author_renders_the_turns_again_with_names():
    history = _history(4)
    _fit(history)
    history.append(StoredMessage(role="user", content="hello", author_id="u2", author_name="Bo", id=99))
    history[0].author_name = "Ann"
    fitted = _fit(history)
    assert fitted.messages[-1]["content"].endswith("Bo: hello")


def test_nothing_of_a_message_stays_once_the_message_is_gone():
    secret = StoredMessage(role="user", content="my secret text", author_id="u1", id=1)
    _fit([secret])
    assert any(entry[0]() is secret for entry in context._RENDERED.values())
    del secret
    gc.collect()
    assert not any("my secret text" in str(entry[2]) for entry in context._RENDERED.values())
