"""Slack's /catchup and "Summarize thread", for an app distributed outside the Marketplace: Slack gives it
conversations.history and .replies once a minute, 15 messages a read (the fake enforces both). Only what the person
may read (their membership, not the bot's), the limits kept and said, a 429 explained, the summary in a thread of the
person's DM with the bot, each point linking back to the messages."""

from __future__ import annotations

import re

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.fake_router import text_script
from tests.fakes.slack import FakeSlack
from tests.support.slack import ADMIN, ALICE, BOB, CHANNEL, running_bot, visible

SECRET = "G0SECRET01"


@pytest.fixture
async def limited(core_factory, fake_router):
    async with FakeSlack(echo_events=True, commercial_distribution=True) as fake:
        fake.add_user(BOB, "bob")
        fake.add_user(ADMIN, "boss", is_admin=True)
        fake.add_channel(SECRET, "private", name="secret", members=[BOB, fake.bot_user_id])
        async with running_bot(core_factory, fake_router, fake) as harness:
            yield harness


def dm_threads(bot, user):
    dm = next(c for c in bot.fake.channels.values() if c.type == "im" and c.user == user)
    roots = [m for m in bot.fake.bot_messages(dm.id) if not m.is_reply]
    return dm.id, roots


async def test_catchup_reads_once_within_slacks_limits_and_says_so(limited):
    bot = limited
    posted = [bot.fake.add_user_message(f"update number {n}", channel=CHANNEL, user=BOB) for n in range(1, 21)]
    bot.router.queue(text_script("- The latest updates [1, 15]"))
    await bot.command("/catchup", "", user=ALICE, channel=CHANNEL)
    history = bot.fake.calls("conversations.history")
    assert len(history) == 1 and int(history[0].params["limit"]) == 15
    assert "in your direct messages" in bot.responses()[-1]
    dm, [root] = dm_threads(bot, ALICE)
    assert "Catching you up on #general" in visible(root) and "15 messages read" in visible(root)
    assert "Slack lets this app read channel history one request a minute, 15 messages at a time" in visible(root)
    answer = bot.answer_text(dm, root.ts)
    link = f"https://{bot.fake.team_domain}.slack.com/archives/{CHANNEL}/p{posted[5].ts.replace('.', '')}"
    assert f"[(1)]({link})" in answer  # [1] is the oldest of the 15 read: update number 6
    prompt = bot.router.requests[-1]["messages"][-1]["content"]
    assert "update number 6" in prompt and "update number 20" in prompt and "update number 5" not in prompt

    # within the minute: refused, with when to ask again, and Slack is not asked
    await bot.command("/catchup", "", user=ALICE, channel=CHANNEL)
    assert re.search(r"ask again in \d+ seconds", bot.responses()[-1])
    assert len(bot.fake.calls("conversations.history")) == 1


async def test_only_what_the_person_may_read(limited):
    bot = limited
    bot.fake.add_user_message("the secret plan", channel=SECRET, user=BOB)
    await bot.command("/catchup", f"<#{SECRET}|secret> 1d", user=ALICE, channel=CHANNEL)
    assert "not in #secret" in bot.responses()[-1]
    assert bot.fake.calls("conversations.history") == []  # the bot is in #secret; alice is not, so it never read
    bot.router.queue(text_script("- A secret plan [1]"))
    await bot.command("/catchup", f"<#{SECRET}|secret> 1d", user=BOB, channel=CHANNEL)
    dm, [root] = dm_threads(bot, BOB)
    assert "#secret" in visible(root) and "A secret plan" in bot.answer_text(dm, root.ts)


async def test_a_429_from_slack_is_explained(limited):
    bot = limited
    bot.fake.add_user_message("hello", channel=CHANNEL, user=BOB)
    other = AsyncWebClient(token=bot.fake.bot_token, base_url=bot.fake.api_url)
    await other.conversations_history(channel=CHANNEL, limit=1)  # another process of the app read it just now
    await bot.command("/catchup", "", user=ALICE, channel=CHANNEL)
    assert re.search(r"one request a minute, 15 messages at a time\. Ask again in \d+ seconds", bot.responses()[-1])
    assert bot.fake.rate_limited["conversations.history"] == 1


async def test_summarize_thread_and_go_on_in_the_dm(limited):
    bot = limited
    parent = bot.fake.add_user_message("Shall we ship on Monday?", channel=CHANNEL, user=BOB)
    bot.fake.add_user_message("After the freeze, yes.", channel=CHANNEL, user=ALICE, thread_ts=parent.ts)
    bot.router.queue(text_script("- Ship Monday, after the freeze [1, 2]"))
    await bot.interact(
        bot.fake.build_message_action(channel=CHANNEL, message_ts=parent.ts, callback_id="summarize_thread", user=ALICE)
    )
    replies = bot.fake.calls("conversations.replies")
    assert len(replies) == 1 and int(replies[0].params["limit"]) == 15
    dm, [root] = dm_threads(bot, ALICE)
    assert "a thread in #general" in visible(root)
    assert f"?thread_ts={parent.ts}&cid={CHANNEL}" in bot.answer_text(dm, root.ts)
    bot.router.queue(text_script("Monday after the freeze."))
    await bot.fake.user_posts("When exactly?", channel=dm, user=ALICE, thread_ts=root.ts)
    await bot.settle()
    assert "Monday after the freeze." in bot.answer_text(dm, root.ts)
    assert "Shall we ship on Monday?" in bot.router.requests[-1]["messages"][-3]["content"]
