"""Scheduled prompts in the core: how they are written (words and cron, time zones), who may make and delete them,
and runs claimed so that each happens once however many runners share the database (both backends), runs missed
while nothing ran made up once, and schedules erased with their owner's data."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from core.errors import InvalidSetting, NotAllowed, NotFound
from core.keys import Actor, ConversationKey
from core.records import Schedule
from core.schedules.runner import ScheduleRunner
from core.schedules.service import PER_OWNER, ScheduleConfig, ScheduleService
from core.schedules.spec import parse_schedule, parse_when

KEY = ConversationKey("test", "W1", "C1", "")
ALICE = Actor("test", "alice", "Alice", "W1")
BOB = Actor("test", "bob", "Bob", "W1")
ADMIN = Actor("test", "root", "Root", "W1", is_admin=True)
OTHER_ADMIN = Actor("test", "root2", "Root", "W2", is_admin=True)
MONDAY_8 = datetime(2026, 12, 7, 8, 0, tzinfo=ZoneInfo("UTC")).timestamp()  # a Monday


@pytest.mark.parametrize(
    ("typed", "prompt", "cron", "zone"),
    [
        ('"Summarize the news" every monday 09:00', "Summarize the news", "0 9 * * 1", "UTC"),
        ("“Standup” every weekday at 9:30am Europe/Paris", "Standup", "30 9 * * 1-5", "Europe/Paris"),
        ('"Digest" every mon, wed and fri 18:15', "Digest", "15 18 * * 1,3,5", "UTC"),
        ("What changed? every 6 hours", "What changed?", "0 */6 * * *", "UTC"),
        ('"Quarterly" 0 9 1 */3 *', "Quarterly", "0 9 1 */3 *", "UTC"),
        ("'Weekend' every weekend 10am", "Weekend", "0 10 * * 0,6", "UTC"),
    ],
)
def test_schedules_are_written_in_words_or_cron(typed, prompt, cron, zone):
    found_prompt, when = parse_schedule(typed, "UTC", 60)
    assert (found_prompt, when.cron, when.zone) == (prompt, cron, zone)


def test_the_next_run_follows_the_time_zone():
    when = parse_when("every monday 09:00 Europe/Paris", "UTC")
    assert when.next_after(MONDAY_8 - 3600) == MONDAY_8  # 09:00 in Paris is 08:00 UTC in December
    assert when.next_after(MONDAY_8) == MONDAY_8 + 7 * 86400


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ('"x" every 5 minutes', "too often"),
        ('"x" every monday 25:00', "not a time of day"),
        ('"x" every blursday 09:00', "not a day"),
        ('"x" every monday 09:00 Mars/Olympus', "not a time zone"),
        ('"x" 99 9 * * *', "couldn't read when"),
        ("no schedule here", "couldn't tell the prompt"),
        ('"" every day', "prompt is empty"),
    ],
)
def test_what_cannot_be_scheduled_is_told(typed, why):
    with pytest.raises(InvalidSetting, match=why):
        parse_schedule(typed, "UTC", 60)


async def test_members_schedule_list_and_delete_with_owner_or_admin(store):
    service = ScheduleService(store, ScheduleConfig())
    reply = await service.command(ALICE, KEY, '"Morning digest" every day 08:00', now=MONDAY_8 - 60)
    assert "Scheduled “Morning digest” every day at 08:00 (UTC)" in reply and "2026-12-07 08:00 UTC" in reply
    await service.command(BOB, KEY, '"Bob\'s" every friday 17:00')
    listed = await service.command(BOB, KEY, "list")
    assert "1. “Morning digest”" in listed and "by Alice" in listed and "2. “Bob's”" in listed
    with pytest.raises(NotAllowed, match="owner or an admin"):
        await service.command(BOB, KEY, "delete 1")
    with pytest.raises(NotAllowed, match="owner or an admin"):
        await service.command(OTHER_ADMIN, KEY, "delete 1")  # an admin of another workspace is nobody here
    with pytest.raises(NotFound, match="no schedule number 9"):
        await service.command(ALICE, KEY, "delete 9")
    assert "Deleted schedule 1" in await service.command(ADMIN, KEY, "delete 1")
    assert [s.prompt for s in await service.listed(KEY)] == ["Bob's"]


async def test_admins_choose_who_may_schedule_in_a_channel(store):
    service = ScheduleService(store, ScheduleConfig())
    with pytest.raises(NotAllowed, match="Only an admin"):
        await service.command(ALICE, KEY, "allow admins")
    await service.command(ADMIN, KEY, "allow admins")
    with pytest.raises(NotAllowed, match="only for admins"):
        await service.command(ALICE, KEY, '"x" every day 08:00')
    await service.command(ADMIN, KEY, '"x" every day 08:00')
    await service.command(ADMIN, KEY, "allow off")
    with pytest.raises(NotAllowed, match="turned off"):
        await service.command(ADMIN, KEY, '"y" every day 08:00')
    await service.command(ADMIN, KEY, "allow members")
    await service.command(ALICE, KEY, '"z" every day 08:00')


async def test_caps_and_direct_messages(store):
    service = ScheduleService(store, ScheduleConfig())
    for i in range(PER_OWNER):
        await service.create(ALICE, ConversationKey("test", "W1", f"C{i}", ""), f'"p{i}" every day 08:00')
    with pytest.raises(NotAllowed, match="5 schedules in this workspace"):
        await service.create(ALICE, KEY, '"one more" every day 08:00')
    with pytest.raises(NotAllowed, match="not in direct messages"):
        await service.create(ALICE, ConversationKey("test", "", "D1", ""), '"x" every day 08:00')


class Recorder:
    def __init__(self, platform_ok=True):
        self.runs: list[Schedule] = []
        self.platform_ok = platform_ok

    def handles(self, schedule: Schedule) -> bool:
        return self.platform_ok

    async def run(self, schedule: Schedule) -> None:
        self.runs.append(schedule)


async def test_each_run_is_claimed_once_by_many_runners(store):
    service = ScheduleService(store, ScheduleConfig())
    schedule = await service.create(ALICE, KEY, '"Digest" every day 08:00', now=MONDAY_8 - 60)
    recorders = [Recorder() for _ in range(6)]
    runners = [ScheduleRunner(store) for _ in recorders]
    for runner, recorder in zip(runners, recorders, strict=True):
        runner.serve("test", recorder)
    for day in range(3):  # three runs, each raced by six runners
        now = MONDAY_8 + day * 86400 + 1
        await asyncio.gather(*(runner.tick(now) for runner in runners))
        for runner in runners:
            await runner.wait_idle()
    ran = [s.next_run for r in recorders for s in r.runs]
    assert sorted(ran) == [MONDAY_8 + day * 86400 for day in range(3)]
    stored = await store.get_schedule(schedule.id)
    assert stored.runs == 3 and stored.next_run == MONDAY_8 + 3 * 86400


async def test_runs_missed_while_nothing_ran_are_made_up_once(store):
    service = ScheduleService(store, ScheduleConfig())
    schedule = await service.create(ALICE, KEY, '"Digest" every day 08:00', now=MONDAY_8 - 60)
    runner, recorder = ScheduleRunner(store), Recorder()
    runner.serve("test", recorder)
    later = MONDAY_8 + 4 * 86400 + 3600  # four days down, back at 09:00
    await runner.tick(later)
    await runner.tick(later + 5)
    await runner.wait_idle()
    assert len(recorder.runs) == 1
    assert (await store.get_schedule(schedule.id)).next_run == MONDAY_8 + 5 * 86400


async def test_a_runner_leaves_schedules_it_cannot_serve(store):
    service = ScheduleService(store, ScheduleConfig())
    schedule = await service.create(ALICE, KEY, '"Digest" every day 08:00', now=MONDAY_8 - 60)
    elsewhere = ScheduleRunner(store)
    elsewhere.serve("test", Recorder(platform_ok=False))  # e.g. a Discord server on another process's shard
    assert await elsewhere.tick(MONDAY_8 + 1) == []
    assert (await store.get_schedule(schedule.id)).runs == 0


async def test_schedules_are_erased_with_their_owners_data(store):
    service = ScheduleService(store, ScheduleConfig())
    await service.create(ALICE, KEY, '"Alice\'s" every day 08:00')
    await service.create(BOB, KEY, '"Bob\'s" every day 08:00')
    await store.delete_user_data("test", "alice")
    assert [s.owner_id for s in await service.listed(KEY)] == ["bob"]


async def test_schedules_survive_a_restart(tmp_path):
    from core.store.sqlite import SQLiteStore

    first = SQLiteStore(tmp_path / "s.db")
    await first.open()
    created = await ScheduleService(first, ScheduleConfig()).create(ALICE, KEY, '"Digest" every day 08:00')
    await first.close()
    again = SQLiteStore(tmp_path / "s.db")
    await again.open()
    try:
        due = await again.due_schedules(created.next_run + 1, ["test"])
        assert [s.id for s in due] == [created.id] and due[0].prompt == "Digest"
    finally:
        await again.close()


def test_a_time_in_the_past_is_never_scheduled():
    when = parse_when("every day 08:00", "UTC")
    assert when.next_after(time.time()) > time.time()
