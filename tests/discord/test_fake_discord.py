"""The bot over real protocols: discord.py against the loopback fake Discord (REST + gateway).

Rate limits are scaled down 5x (5 requests per 1 s per channel instead of per 5 s, lanes at 0.2 s
instead of 1 s) to keep the tests fast; the mechanism is Discord's.
"""

from __future__ import annotations

import asyncio
import itertools
import statistics

import discord
import pytest
from pydantic import SecretStr

from bots.discord.app import build_bot, run_discord
from bots.discord.client import INVITE_PERMISSIONS
from bots.startup import describe_frontend_failure
from tests.fakes.discord import FakeDiscord, patched_discord, running_client
from tests.fakes.fake_router import text_script
from tests.support.discord import SCALED_LIMITS, make_bot, open_threads

CREATE = "/channels/{channel_id}/messages"
EDIT = "/channels/{channel_id}/messages/{message_id}"
SCALED_RATE_LIMITS = {("POST", CREATE): (5, 1.0), ("PATCH", EDIT): (5, 1.0)}


def lane_requests(fake: FakeDiscord, channel_id: str) -> list:
    return [
        r
        for r in fake.requests
        if r.route in (CREATE, EDIT) and r.params.get("channel_id") == channel_id and r.method in ("POST", "PATCH")
    ]


async def test_commands_sync_once_and_not_again_on_restart(discord_core):
    async with FakeDiscord() as fake:
        async with running_client(fake, make_bot(discord_core)) as bot:
            assert bot.commands_synced
            assert "scope=bot+applications.commands" in bot.invite_url
            assert f"permissions={INVITE_PERMISSIONS.value}" in bot.invite_url
        assert fake.command_put_count == 1
        assert {c["name"] for c in fake.commands()} >= {"chat", "model", "delete", "conversations", "export", "new"}
        async with running_client(fake, make_bot(discord_core)) as bot:
            assert not bot.commands_synced  # same definitions: no second sync
        assert fake.command_put_count == 1
        fake.assert_clean()


async def test_chat_command_streams_in_a_new_thread_over_the_real_protocol(discord_core, fake_router):
    answer = "A long enough answer, streamed in pieces. " * 5
    fake_router.queue(text_script(answer, pieces=10, delay=0.05))
    async with FakeDiscord(rate_limits=SCALED_RATE_LIMITS) as fake:
        async with running_client(fake, make_bot(discord_core)):
            interaction = await fake.slash_command(
                fake.default_channel["id"], fake.default_user, "chat", {"prompt": "hi"}
            )
            await fake.wait_until(lambda: len(fake.threads()) == 1)
            [thread] = fake.threads()
            await fake.wait_until(
                lambda: any(m.content == answer for m in fake.channel_messages(thread["id"])),
                within=10,
            )
        assert interaction.response_type == 4 and interaction.callbacks[0].at - interaction.created_at < 3
        [reply] = fake.channel_messages(thread["id"])
        assert reply.edits >= 2  # posted early, then grown
        assert all(r.json["allowed_mentions"] == {"parse": []} for r in lane_requests(fake, thread["id"]))
        assert fake.rate_limit_hits == 0
        fake.assert_clean()  # every request body passed the OpenAPI check


async def test_concurrent_streams_keep_their_own_cadence_without_429(discord_core, fake_router):
    answers = [f"Answer number {i}: " + "word " * 60 for i in range(4)]
    for answer in answers:
        fake_router.queue(text_script(answer, pieces=30, delay=0.05))  # 1.5 s of tokens each
    async with FakeDiscord(rate_limits=SCALED_RATE_LIMITS) as fake:
        threads = await open_threads(fake, discord_core, 4)
        async with running_client(fake, make_bot(discord_core)):
            await asyncio.gather(*(fake.message_create(t["id"], fake.default_user, "go") for t in threads))

            def finals() -> list[str]:
                return sorted(
                    m.content for t in threads for m in fake.channel_messages(t["id"]) if m.author_id == bot_id
                )

            bot_id = fake.bot_user["id"]
            await fake.wait_until(lambda: finals() == sorted(answers), within=15)  # each final text, whole
            ids = [t["conversation_id"] for t in threads]
            await fake.wait_until(lambda: not any(map(discord_core.chat.replies.is_streaming, ids)))
        for thread in threads:
            requests = lane_requests(fake, thread["id"])
            assert len(requests) >= 4  # each lane streamed several edits, concurrently with the others
            # between edits: a post and an edit take different paths (and times) from the throttle to the wire
            times = [r.time for r in requests if r.method == "PATCH"]
            gaps = [b - a for a, b in itertools.pairwise(times)]
            assert min(gaps) >= SCALED_LIMITS.edit_interval * 0.9  # each channel keeps its own pace
            assert statistics.mean(gaps) < 0.6
        assert fake.rate_limit_hits == 0
        fake.assert_clean()


async def test_a_forced_429_slows_the_lane_and_the_final_text_arrives(discord_core, fake_router):
    answer = "Slow and steady. " * 20
    fake_router.queue(text_script(answer, pieces=20, delay=0.05))
    async with FakeDiscord(rate_limits=SCALED_RATE_LIMITS) as fake:
        [thread] = await open_threads(fake, discord_core, 1)
        async with running_client(fake, make_bot(discord_core)):
            fake.inject_429("PATCH", EDIT, retry_after=0.6)
            await fake.message_create(thread["id"], fake.default_user, "go")
            await fake.wait_until(
                lambda: any(
                    m.author_id == fake.bot_user["id"] and m.content == answer
                    for m in fake.channel_messages(thread["id"])
                ),
                within=15,
            )
        assert fake.rate_limit_hits == 1
        lane = lane_requests(fake, thread["id"])
        limited = next(i for i, r in enumerate(lane) if r.status == 429)
        # the sink raised instead of discord.py retrying at once; the engine waited retry_after
        assert lane[limited + 1].time - lane[limited].time >= 0.6
        fake.assert_clean()


async def test_stop_button_over_the_real_protocol(discord_core, fake_router):
    from tests.fakes.fake_router import Sleep, chunk

    fake_router.queue([chunk("Counting: one"), Sleep(0.3), chunk(", two"), Sleep(3), chunk(", never")])
    async with FakeDiscord(rate_limits=SCALED_RATE_LIMITS) as fake:
        [thread] = await open_threads(fake, discord_core, 1)
        async with running_client(fake, make_bot(discord_core)):
            await fake.message_create(thread["id"], fake.default_user, "count")

            def live():
                return [m for m in fake.channel_messages(thread["id"]) if m.author_id == fake.bot_user["id"]]

            await fake.wait_until(lambda: live() and "two" in live()[-1].content)
            message = live()[-1]
            stop = message.data["components"][0]["components"][0]["custom_id"]
            assert stop.startswith("hfchat:stop:")
            click = await fake.component_click(thread["id"], fake.default_user, message.id, stop)
            await fake.wait_until(lambda: "Stopped" in live()[-1].content)
        assert click.response_type == 6
        assert live()[-1].content.startswith("Counting: one, two")
        assert "never" not in live()[-1].content
        fake.assert_clean()


async def test_bad_token_and_missing_intent_end_with_one_line(discord_core, capsys):
    async with FakeDiscord() as fake:
        with patched_discord(fake):
            discord_core.settings.discord_token = SecretStr("wrong-token")
            with pytest.raises(discord.LoginFailure) as refused:  # for `hfchat run` to end with its line, and 1
                await asyncio.wait_for(run_discord(discord_core, print_invite=False), 10)
    line = describe_frontend_failure("discord", refused.value, discord_core.settings)
    assert line is not None and "Discord refused DISCORD_TOKEN" in line and "wrong-token" not in line
    assert not capsys.readouterr().err.strip()

    async with FakeDiscord(privileged_intents=0) as fake:
        with patched_discord(fake):
            discord_core.settings.discord_token = SecretStr(fake.token)
            # refused the intent, it explains once and carries on without it (mentions and replies only)
            task = asyncio.create_task(run_discord(discord_core, print_invite=False))
            await fake.wait_until(lambda: fake.identify_count >= 1, within=10)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Message Content" in err[0] and "mentions" in err[0]
    assert fake.identify_count == 1  # the refused IDENTIFY does not count


@pytest.mark.parametrize("shards", [2])
async def test_shard_settings_give_an_autosharded_client(discord_core, shards):
    bot = build_bot(discord_core, shard_count=shards)
    assert isinstance(bot, discord.AutoShardedClient) and bot.shard_count == shards
    assert not isinstance(build_bot(discord_core), discord.AutoShardedClient)
