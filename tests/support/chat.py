"""The core's chat without a platform: a conversation, its people, and asking through a recording sink."""

from __future__ import annotations

from core.keys import Actor, ConversationKey
from core.streaming import PlatformLimits
from tests.support.sinks import RecordingSink

KEY = ConversationKey("test", "W1", "C1", "T1")
ALICE = Actor("test", "alice", "Alice", "W1")
BOB = Actor("test", "bob", "Bob", "W1")
ADMIN = Actor("test", "root", "Root", "W1", is_admin=True)


def sink():
    return RecordingSink(PlatformLimits(max_chars=2000, edit_interval=0.01))


async def ask(core, text, actor=ALICE, key=KEY, out=None):
    out = out or sink()
    submitted = await core.chat.submit(key, actor, text, out)
    outcome = await submitted.reply if submitted.reply else None
    return submitted, outcome, out
