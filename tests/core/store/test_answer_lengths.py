"""Answer lengths in the store (core.streaming.stored_lengths): per budget and workspace, the most recent kept, read
back oldest first by any process on the database; the install's most recent across workspaces for one never seen."""

from __future__ import annotations

from tests.support.stores import fetch_rows, same_place

APPENDS = "slack-chat.appendStream"


async def test_each_workspace_keeps_its_most_recent_lengths_and_the_install_its_latest(store):
    assert await store.answer_lengths(APPENDS, "T1", 32) == []
    assert await store.answer_lengths(APPENDS, None, 32) == []
    await store.record_answer_lengths([(APPENDS, "T1", 1.0), (APPENDS, "T1", 2.0), (APPENDS, "T2", 9.0)], keep=3)
    await store.record_answer_lengths([(APPENDS, "T1", 3.0), (APPENDS, "T1", 4.0), ("other", "T1", 7.0)], keep=3)
    assert await store.answer_lengths(APPENDS, "T1", 32) == [2.0, 3.0, 4.0]  # the oldest went: 3 are kept
    assert await store.answer_lengths(APPENDS, "T1", 2) == [3.0, 4.0]
    assert await store.answer_lengths(APPENDS, "T2", 32) == [9.0]
    assert await store.answer_lengths("other", "T1", 32) == [7.0]
    assert await store.answer_lengths(APPENDS, None, 3) == [9.0, 3.0, 4.0]  # any workspace of that budget, latest
    assert await store.answer_lengths(APPENDS, "T3", 32) == []
    assert len(await fetch_rows(store, "SELECT * FROM answer_lengths")) == 5  # trimmed as it goes

    other = same_place(store)  # another process on the same database
    await other.open()
    try:
        assert await other.answer_lengths(APPENDS, "T1", 32) == [2.0, 3.0, 4.0]
    finally:
        await other.close()


async def test_answer_lengths_are_not_a_persons_data(store):
    # durations of a workspace's budget: erasing a person's data leaves them (they say nothing about anyone)
    await store.record_answer_lengths([(APPENDS, "T1", 5.0)], keep=32)
    await store.delete_user_data("slack", "U1")
    assert await store.answer_lengths(APPENDS, "T1", 32) == [5.0]
