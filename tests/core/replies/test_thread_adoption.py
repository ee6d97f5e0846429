"""Adopting a thread (core/replies/adoption.py): which of its earlier messages come in as context, and as what."""

from __future__ import annotations

from core.replies.adoption import ThreadMessage, adopted_messages


async def test_what_an_adopted_thread_brings_in():
    asked: list[str] = []

    async def name_of(user: str) -> str:
        asked.append(user)
        return {"U1": "Ann"}.get(user, "")

    listed = [
        ThreadMessage("before the erasure", 5.0, "U1"),
        ThreadMessage("  What about   caching? ", 11.0, "U1"),
        ThreadMessage("", 12.0, "U2"),  # nothing to read (an image alone, a mention alone)
        ThreadMessage("Cache the catalog.", 13.0, "B1", ours=True),
        ThreadMessage("deploy finished", 14.0, "B9", author_name="CI bot"),
        ThreadMessage("the message that mentions the bot", 20.0, "U1"),
        ThreadMessage("later", 21.0, "U1"),
    ]
    adopted = await adopted_messages(listed, before=20.0, after=10.0, name_of=name_of)
    assert [(m.role, m.content, m.author_name, m.created_at) for m in adopted] == [
        ("user", "What about   caching?", "Ann", 11.0),
        ("assistant", "Cache the catalog.", "", 13.0),
        ("user", "deploy finished", "CI bot", 14.0),
    ]
    assert asked == ["U1"]  # names are asked only for what is taken, and not when the listing says them
