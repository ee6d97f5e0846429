"""/metrics counts what the Discord adapter does: events and duplicates, answers, posts and edits, 429s, tokens
and checkpoints."""

from __future__ import annotations

import asyncio

from core.app import serve_metrics
from tests.fakes.fake_router import text_script
from tests.support.metrics import http_get, metric_samples, sample_value


async def test_discord_counts_events_answers_edits_and_429s(core_factory, fake_router):
    from bots.discord.app import build_bot
    from core.keys import ConversationKey
    from core.streaming import PlatformLimits
    from tests.fakes.discord import FakeDiscord, running_client

    core = await core_factory(fake_router.url)
    limits = PlatformLimits(max_chars=2000, edit_interval=0.1)
    async with FakeDiscord() as fake:
        thread = fake.add_thread(fake.default_channel, "a conversation")
        key = ConversationKey("discord", fake.default_guild["id"], fake.default_channel["id"], thread["id"])
        await core.store.create_conversation(key, fake.default_user["id"], "a conversation")
        runner = await serve_metrics(core, "127.0.0.1", 0)
        base = f"http://127.0.0.1:{runner.addresses[0][1]}"
        try:
            bot = build_bot(core, limits=limits, print_invite=False, guild_ready_timeout=0.05)
            async with running_client(fake, bot):
                before = metric_samples((await http_get(base + "/metrics"))[1])
                answer = "Edited into place, a few words at a time."
                fake_router.queue(text_script(answer, pieces=8, delay=0.08))
                fake.inject_429("PATCH", "/channels/{channel_id}/messages/{message_id}", retry_after=0.2)
                sent = await fake.message_create(thread["id"], fake.default_user, "count me on discord")
                await fake.dispatch("MESSAGE_CREATE", sent)  # the same message again (a gateway replay)
                await fake.wait_until(
                    lambda: any(m.content == answer for m in fake.channel_messages(thread["id"])), within=10
                )
                await asyncio.wait_for(core.chat.replies.wait_idle(), 5)  # the answer is counted when it ends
                text = (await http_get(base + "/metrics"))[1]
                after = metric_samples(text)
        finally:
            await runner.cleanup()

    def grew(name: str, **labels) -> float:
        return sample_value(after, name, **labels) - sample_value(before, name, **labels)

    assert grew("hfchat_events_total", platform="discord", kind="message") == 2  # the message, and its replay
    assert grew("hfchat_duplicate_events_total", platform="discord") == 1
    assert grew("hfchat_answers_total", platform="discord", status="complete") == 1
    assert grew("hfchat_platform_calls_total", platform="discord", call="post") == 1
    assert grew("hfchat_platform_calls_total", platform="discord", call="edit") >= 2
    assert grew("hfchat_platform_rate_limited_total", platform="discord") == 1
    assert grew("hfchat_tokens_total", platform="discord", kind="completion") == 7
    assert grew("hfchat_answer_checkpoints_total", platform="discord") >= 1  # the save at the first post
    assert "count me" not in text
