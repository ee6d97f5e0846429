"""Slack's /schedule (and `/hfchat schedule`): members schedule prompts in a channel, admins may narrow it, owner or
admin delete; a due run posts whose prompt it is in the channel and answers in its thread, where people go on."""

from __future__ import annotations

from tests.fakes.fake_router import text_script
from tests.support.slack import ADMIN, ALICE, BOB, CHANNEL, visible


async def test_schedule_list_delete_and_a_run_in_a_thread(bot):
    await bot.command("/schedule", "“Summarize the week in AI” every monday 09:00 Europe/Paris", user=ALICE)
    assert "Scheduled “Summarize the week in AI” every Monday at 09:00 (Europe/Paris)" in bot.responses()[-1]
    await bot.command("/hfchat", 'schedule "Bob\'s reminder" every friday 17:00', user=BOB)
    await bot.command("/schedule", "list", user=BOB)
    assert "1. “Summarize the week in AI”" in bot.responses()[-1] and "2. “Bob's reminder”" in bot.responses()[-1]
    await bot.command("/schedule", "delete 1", user=BOB)
    assert "Only the schedule's owner or an admin" in bot.responses()[-1]
    await bot.command("/schedule", "delete 2", user=ADMIN)
    assert "Deleted schedule 2" in bot.responses()[-1]

    [schedule] = await bot.core.store.list_schedules("slack", bot.fake.team_id)
    bot.router.queue(text_script("Three new open models this week."))
    await bot.core.chat.scheduled_runs.tick(schedule.next_run + 1)
    await bot.core.chat.scheduled_runs.wait_idle()
    await bot.settle()
    [root] = [m for m in bot.fake.bot_messages(CHANNEL) if not m.is_reply]
    assert visible(root).startswith("⏰ **Scheduled prompt** by alice (every Monday at 09:00 (Europe/Paris))")
    assert bot.answer_text(CHANNEL, root.ts).endswith("Three new open models this week.")
    assert bot.router.requests[-1]["messages"][-1]["content"] == "Summarize the week in AI"

    bot.router.queue(text_script("Llama, Qwen and Gemma."))
    await bot.fake.user_posts("which ones?", channel=CHANNEL, user=BOB, thread_ts=root.ts)
    await bot.settle()
    assert "Llama, Qwen and Gemma." in bot.answer_text(CHANNEL, root.ts)
    assert (await bot.core.store.get_schedule(schedule.id)).runs == 1


async def test_admins_narrow_who_schedules_and_dms_have_none(bot):
    await bot.command("/schedule", "allow admins", user=ALICE)
    assert "Only an admin" in bot.responses()[-1]
    await bot.command("/schedule", "allow admins", user=ADMIN)
    await bot.command("/schedule", '"x" every day 08:00', user=ALICE)
    assert "only for admins" in bot.responses()[-1]
    await bot.command("/schedule", '"x" every day 08:00', user=ALICE, channel="D0DM000001")
    assert "not in direct messages" in bot.responses()[-1]
    assert await bot.core.store.list_schedules("slack", bot.fake.team_id) == []


async def test_a_channel_without_the_bot_is_told_to_invite_it(bot):
    bot.fake.add_channel("C0NOBOT001", "channel", name="nobot", members=[ALICE])
    await bot.command("/schedule", '"x" every day 08:00', user=ALICE, channel="C0NOBOT001")
    assert "Invite me to this channel first" in bot.responses()[-1]
