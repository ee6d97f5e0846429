"""The Discord bot against the loopback fake Discord, with rate limits scaled down 5x to keep tests fast
(5 requests per 1 s per channel instead of per 5 s, lanes at 0.2 s instead of 1 s): the mechanism is Discord's."""

from __future__ import annotations

from bots.discord.app import build_bot
from core.keys import ConversationKey
from core.streaming import PlatformLimits
from tests.fakes.discord import FakeDiscord

SCALED_LIMITS = PlatformLimits(max_chars=2000, edit_interval=0.2, bucket_rate=200.0, bucket_burst=50)


def make_bot(core, **options):
    return build_bot(core, limits=SCALED_LIMITS, print_invite=False, guild_ready_timeout=0.05, **options)


async def open_threads(fake: FakeDiscord, core, count: int) -> list[dict]:
    threads = []
    for i in range(count):
        thread = fake.add_thread(fake.default_channel, f"conversation {i}")
        key = ConversationKey("discord", fake.default_guild["id"], fake.default_channel["id"], thread["id"])
        conversation = await core.store.create_conversation(key, fake.default_user["id"], f"conversation {i}")
        threads.append({**thread, "conversation_id": conversation.id})
    return threads


def buttons(message) -> dict[str, str]:
    """custom_id action -> label of the buttons under a Discord message."""
    found = {}
    for row in message.data.get("components") or []:
        for item in row.get("components") or []:
            found[item["custom_id"].split(":")[1]] = item.get("label")
    return found
