"""Settings read in one query (Store.get_settings, SettingsSnapshot), on SQLite and PostgreSQL, and an answer
that resolves its model, options and limits with two settings queries instead of one per setting and scope."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator

import pytest

from core.errors import UserFacingError
from core.keys import ConversationKey
from core.records import Scope
from core.settings.places import answer_places
from core.settings.snapshot import SettingsSnapshot
from core.store import open_store
from core.store.base import Store
from tests.support.chat import ADMIN, ALICE, BOB, KEY, ask
from tests.support.stores import PG_URL, fresh_schema


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request, tmp_path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        opened = await open_store(f"sqlite:///{tmp_path}/snapshot.db")
        yield opened
        await opened.close()
        return
    async with fresh_schema() as schema:
        opened = await open_store(PG_URL, schema=schema)
        try:
            yield opened
        finally:
            await opened.close()


async def test_get_settings_reads_exactly_the_places_asked_for(store):
    await store.set_setting("slack", "W1", Scope.CHANNEL, "C1", "model", "m-channel")
    await store.set_setting("slack", "W1", Scope.CHANNEL, "C1", "temperature", "0.5")
    await store.set_setting("slack", "", Scope.USER, "U1", "model", "m-user")
    await store.set_setting("slack", "W1", Scope.WORKSPACE, "W1", "limit_tokens_per_day", "100")
    # same ids elsewhere: another channel, another workspace, another platform, the user's id as a channel
    await store.set_setting("slack", "W1", Scope.CHANNEL, "C2", "model", "other-channel")
    await store.set_setting("slack", "W2", Scope.CHANNEL, "C1", "model", "other-workspace")
    await store.set_setting("discord", "W1", Scope.CHANNEL, "C1", "model", "other-platform")
    await store.set_setting("slack", "W1", Scope.CHANNEL, "U1", "model", "wrong-scope")

    places = [("W1", Scope.CHANNEL, "C1"), ("", Scope.USER, "U1"), ("W1", Scope.WORKSPACE, "W1")]
    assert await store.get_settings("slack", places) == {
        ("W1", "channel", "C1", "model"): "m-channel",
        ("W1", "channel", "C1", "temperature"): "0.5",
        ("", "user", "U1", "model"): "m-user",
        ("W1", "workspace", "W1", "limit_tokens_per_day"): "100",
    }
    assert await store.get_settings("slack", [("W1", Scope.CONVERSATION, "7")]) == {}
    assert await store.get_settings("slack", []) == {}


async def test_snapshot_answers_its_places_from_memory_and_the_rest_from_the_store(store):
    await store.set_setting("slack", "W1", Scope.CHANNEL, "C1", "model", "before")
    places = answer_places(ConversationKey("slack", "W1", "C1", "T1"), "U1", 42)
    snapshot = await SettingsSnapshot.read(store, "slack", places)
    assert await snapshot.get_setting("slack", "W1", Scope.CHANNEL, "C1", "model") == "before"

    # changed behind its back: a held place keeps the value read, another place is asked for now
    await store.set_setting("slack", "W1", Scope.CHANNEL, "C1", "model", "after")
    await store.set_setting("slack", "W1", Scope.CHANNEL, "C9", "model", "elsewhere")
    assert await snapshot.get_setting("slack", "W1", Scope.CHANNEL, "C1", "model") == "before"
    assert await snapshot.get_setting("slack", "W1", Scope.CHANNEL, "C9", "model") == "elsewhere"
    assert await snapshot.get_setting("discord", "W1", Scope.CHANNEL, "C1", "model") is None

    # written through it: stored, and seen by the snapshot at once
    await snapshot.set_setting("slack", "", Scope.USER, "U1", "temperature", "0.2")
    assert await store.get_setting("slack", "", Scope.USER, "U1", "temperature") == "0.2"
    assert await snapshot.get_setting("slack", "", Scope.USER, "U1", "temperature") == "0.2"
    await snapshot.set_setting("slack", "", Scope.USER, "U1", "temperature", None)
    assert await snapshot.get_setting("slack", "", Scope.USER, "U1", "temperature") is None
    assert await store.get_setting("slack", "", Scope.USER, "U1", "temperature") is None
    # everything else is the store's
    assert await snapshot.count_messages(42) == 0


def _count_settings_queries(store) -> Counter:
    calls: Counter = Counter()
    for name in ("get_setting", "get_settings"):
        method = getattr(store, name)

        async def counted(*args, _method=method, _name=name, **kwargs):
            calls[_name] += 1
            return await _method(*args, **kwargs)

        setattr(store, name, counted)
    return calls


async def test_an_answer_reads_its_settings_in_two_queries_and_resolves_them_as_before(core, fake_router):
    chat = core.chat
    await ask(core, "start")  # the conversation exists from here on
    await chat.preferences.set_option(ADMIN, KEY, Scope.WORKSPACE, "system_prompt", "Be brief.")
    await chat.preferences.set_option(ADMIN, KEY, Scope.WORKSPACE, "temperature", "0.9")
    await chat.preferences.set_option(ADMIN, KEY, Scope.CHANNEL, "temperature", "0.7")
    await chat.preferences.set_model(ADMIN, KEY, Scope.CHANNEL, "Qwen/Qwen3-32B")
    await chat.preferences.set_option(ALICE, KEY, Scope.USER, "top_p", "0.8")
    await chat.preferences.set_option(ALICE, KEY, Scope.CONVERSATION, "max_tokens", "321")
    await chat.limits.set(ADMIN, KEY, "max_message_chars", "50")

    calls = _count_settings_queries(core.store)
    await ask(core, "hello again")
    # one snapshot when the message is taken, one when the answer starts; no setting asked for alone
    assert calls == Counter({"get_settings": 2})
    request = fake_router.requests[-1]
    assert request["model"].startswith("Qwen/Qwen3-32B")
    assert (request["temperature"], request["top_p"], request["max_tokens"]) == (0.7, 0.8, 321)
    assert request["messages"][0] == {"role": "system", "content": "Be brief."}

    await ask(core, "Bob asks", BOB)  # Bob has no top_p of his own
    assert "top_p" not in fake_router.requests[-1]
    with pytest.raises(UserFacingError, match="50"):  # the workspace's limit, read from the snapshot
        await ask(core, "x" * 51)
