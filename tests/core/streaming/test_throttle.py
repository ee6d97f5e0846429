import asyncio

import pytest

from core.streaming.throttle import START_RESERVED, LocalPacer, LocalStreams, Priority, Throttle


class FakeClock:
    def __init__(self):
        self.t = 1000.0

    def now(self):
        return self.t

    async def sleep(self, seconds):
        self.t += max(seconds, 0)
        await asyncio.sleep(0)


async def test_lane_waits_its_interval():
    clock = FakeClock()
    throttle = Throttle(1.0, clock=clock)
    times = []
    for _ in range(4):
        await throttle.acquire("a")
        times.append(clock.now())
    assert [round(t - times[0], 6) for t in times] == [0, 1, 2, 3]


async def test_lanes_are_independent():
    clock = FakeClock()
    throttle = Throttle(1.0, clock=clock)
    await throttle.acquire("a")
    start = clock.now()
    await throttle.acquire("b")
    assert clock.now() == start  # another lane's edit does not delay this one


async def test_rate_limit_pushes_back_and_slows_then_recovers():
    clock = FakeClock()
    throttle = Throttle(1.0, clock=clock)
    await throttle.acquire("a")
    throttle.rate_limited_for("a", 5.0)
    start = clock.now()
    await throttle.acquire("a")
    assert clock.now() - start >= 5.0
    slowed = throttle._lanes["a"].interval
    assert slowed > 1.0
    for _ in range(30):
        throttle.succeeded("a")
    assert throttle._lanes["a"].interval == 1.0
    assert throttle.rate_limited == 1


async def test_shared_bucket_caps_total_rate():
    clock = FakeClock()
    throttle = Throttle(0.0, bucket_rate=2.0, bucket_burst=2, clock=clock)
    start = clock.now()
    for lane in range(10):
        await throttle.acquire(f"lane{lane}", "workspace")
    # 2 at once from the burst, then 2 per second
    assert clock.now() - start >= 4.0 - 1e-9


async def test_global_rate_limit_blocks_whole_bucket():
    clock = FakeClock()
    throttle = Throttle(0.0, bucket_rate=100.0, bucket_burst=5, clock=clock)
    await throttle.acquire("a", "ws")
    throttle.rate_limited_for("a", 3.0, "ws", scope_global=True)
    start = clock.now()
    await throttle.acquire("b", "ws")
    assert clock.now() - start >= 3.0


async def test_a_lane_burst_goes_at_once_then_keeps_the_cadence():
    clock = FakeClock()
    throttle = Throttle(1.0, clock=clock)
    times = []
    for _ in range(5):
        await throttle.acquire("channel", burst=3)
        times.append(clock.now())
    assert [round(t - times[0], 6) for t in times] == [0, 0, 0, 1, 2]
    throttle.rate_limited_for("channel", 5.0)  # a 429 holds the lane however much burst is left
    start = clock.now()
    await throttle.acquire("channel", burst=3)
    assert clock.now() - start >= 5.0


async def test_urgent_requests_go_ahead_of_the_shared_queue():
    throttle = Throttle(0.0, bucket_rate=20.0, bucket_burst=1)  # a token every 50 ms
    await throttle.acquire("warm", "ws")  # the bucket is empty now
    order = []

    async def ask(lane, urgent):
        await throttle.acquire(lane, "ws", urgent=urgent)
        order.append(lane)

    waiting = [asyncio.create_task(ask(f"update-{i}", False)) for i in range(4)]
    await asyncio.sleep(0.01)
    waiting.append(asyncio.create_task(ask("first-message", True)))
    await asyncio.gather(*waiting)
    assert order.index("first-message") <= 1, order  # at most the queue's head, already due, goes before it
    assert [lane for lane in order if lane != "first-message"] == [f"update-{i}" for i in range(4)]  # FIFO


async def test_fair_share_spaces_each_answer_by_the_answers_on_the_budget():
    clock = FakeClock()
    throttle = Throttle(0.0, bucket_rate=1.0, bucket_burst=10, clock=clock)
    for _ in range(8):
        throttle.join("ws")
    await throttle.acquire("thread", "ws")
    # 8 answers share 10 + 1/s: over 30 s, 40 requests, 5 each: one every 6 s
    assert throttle.fair_delay("thread") == pytest.approx(8 * 30 / 40)
    for _ in range(8):
        throttle.leave("ws")
    await throttle.acquire("thread", "ws")
    assert throttle.fair_delay("thread") == 0.0


async def test_a_budget_paces_evenly_without_a_burst():
    clock = FakeClock()
    throttle = Throttle(0.0, bucket_rate=5.0, bucket_burst=1, clock=clock)
    times = []
    for lane in range(6):
        await throttle.acquire(f"lane{lane}", "bot")
        times.append(clock.now())
    assert [round(t - times[0], 6) for t in times] == [0, 0.2, 0.4, 0.6, 0.8, 1.0]


async def test_classes_go_in_order_when_all_wait_and_in_arrival_order_within_one():
    throttle = Throttle(0.0, bucket_rate=20.0, bucket_burst=1)  # a request every 50 ms
    await throttle.take("bot")  # the budget is spent for the next 50 ms
    order = []

    async def ask(name, priority):
        await throttle.take("bot", priority)
        order.append(name)

    asks = [
        ("rename", Priority.BACKGROUND),
        ("thread 1", Priority.START),
        ("update 1", Priority.UPDATE),
        ("thread 2", Priority.START),
        ("update 2", Priority.UPDATE),
        ("final text", Priority.URGENT),
    ]
    tasks = []
    for name, priority in asks:
        tasks.append(asyncio.create_task(ask(name, priority)))
        await asyncio.sleep(0)  # they arrive in this order
    await asyncio.gather(*tasks)
    # a new answer's place opens before the answers streaming get their next update (issue 19: first visible text
    # first); it used to wait behind them
    assert order == ["final text", "thread 1", "thread 2", "update 1", "update 2", "rename"]


async def test_a_new_answer_starts_ahead_of_the_updates_however_many_answers_stream():
    # 20 requests a second, already shared by 20 answers updated every second: one more opens at once all the same
    throttle = Throttle(1.0, bucket_rate=20.0, bucket_burst=1)
    for _ in range(20):
        throttle.join("bot")
    await throttle.take("bot")  # the budget is spent for the next 50 ms
    order = []

    async def ask(name, priority):
        await throttle.take("bot", priority)
        order.append(name)

    tasks = []
    for name, priority in (("update 1", Priority.UPDATE), ("thread", Priority.START), ("update 2", Priority.UPDATE)):
        tasks.append(asyncio.create_task(ask(name, priority)))
        await asyncio.sleep(0)
    await asyncio.wait_for(asyncio.gather(*tasks), 10)  # before: the thread waited for an answer to end
    assert order == ["thread", "update 1", "update 2"]
    # the new answer shares the budget from the moment its place opens, so the answers streaming slow down at once
    assert throttle.streams("bot") == 21
    throttle.join("bot")  # the started answer streams: it takes the place its start held
    assert throttle.streams("bot") == 21


async def test_a_started_answer_that_never_streams_gives_its_place_back():
    clock = FakeClock()
    throttle = Throttle(1.0, bucket_rate=4.0, bucket_burst=1, clock=clock)
    await throttle.take("bot", Priority.START)
    assert throttle.streams("bot") == 1
    clock.t += START_RESERVED + 0.1  # its thread opened, but the answer never came (refused, the model failed)
    throttle.join("bot")  # another answer streams: the forgotten place is not counted with it
    assert throttle.streams("bot") == 1


async def test_a_waiting_request_given_up_leaves_the_queue_to_the_next():
    throttle = Throttle(0.0, bucket_rate=10.0, bucket_burst=1)
    await throttle.take("bot")
    first = asyncio.create_task(throttle.take("bot", Priority.UPDATE))
    second = asyncio.create_task(throttle.take("bot", Priority.UPDATE))
    await asyncio.sleep(0)
    first.cancel()
    await asyncio.wait_for(second, 1)
    assert first.cancelled()


async def test_a_429_for_the_whole_budget_holds_every_class():
    clock = FakeClock()
    throttle = Throttle(0.0, bucket_rate=100.0, bucket_burst=1, clock=clock)
    throttle.budget_limited("bot", 2.0)
    start = clock.now()
    await throttle.take("bot", Priority.URGENT)
    assert clock.now() - start >= 2.0


class CountingSharing:
    """A BudgetSharing that records what the throttle asks of it (the shape RedisBudgets has)."""

    def __init__(self):
        self.asked = []

    def pacer(self, name, key, rate, burst, clock):
        self.asked.append(("pacer", name, key, rate, burst))
        return LocalPacer(rate, burst, clock)

    def streams(self, name, key):
        self.asked.append(("streams", name, key))
        return LocalStreams()


async def test_budgets_are_made_by_the_sharing_named_for_their_limit():
    sharing = CountingSharing()
    throttle = Throttle(1.0, bucket_rate=47.0, bucket_burst=1, name="discord-global", sharing=sharing)
    throttle.join(("discord", "bot"))
    await throttle.take(("discord", "bot"))
    assert sharing.asked == [
        ("pacer", "discord-global", ("discord", "bot"), 47.0, 1),
        ("streams", "discord-global", ("discord", "bot")),
    ]


async def test_many_starts_at_once_all_go_before_any_waiting_update():
    throttle = Throttle(1.0, bucket_rate=100.0, bucket_burst=1)  # a request every 10 ms
    for _ in range(10):
        throttle.join("bot")  # ten answers stream
    await throttle.take("bot")  # the budget is spent for the next 10 ms
    went = []

    async def ask(name, priority):
        await throttle.take("bot", priority)
        went.append(name)

    updates = [asyncio.create_task(ask("update", Priority.UPDATE)) for _ in range(10)]
    await asyncio.sleep(0)
    starts = [asyncio.create_task(ask("start", Priority.START)) for _ in range(10)]
    await asyncio.wait_for(asyncio.gather(*updates, *starts), 10)
    # the updates asked first, but every new answer's place opens before any of them (before: after them all)
    assert went == ["start"] * 10 + ["update"] * 10
    assert throttle.streams("bot") == 20  # and each new answer shares the budget at once


async def test_a_burst_after_a_quiet_spell_shares_what_is_on_hand_over_its_age():
    clock = FakeClock()
    aged = Throttle(0.5, bucket_rate=1.5, bucket_burst=80, clock=clock, horizon_min=5.0)
    fixed = Throttle(0.5, bucket_rate=1.5, bucket_burst=80, clock=clock)
    for throttle in (aged, fixed):
        for _ in range(10):
            throttle.join("T")
    # ten answers just began: the budget on hand is shared over 5 s (they may end soon), not over 30
    assert aged._bucket("T").fair_interval() == pytest.approx(10 * 5 / (80 - 10 + 1.5 * 5))  # 10 kept for finals
    assert fixed._bucket("T").fair_interval() == pytest.approx(10 * 30 / (80 + 1.5 * 30))
    # 60 updates spent and 20 s on: 50 on hand, shared over the 20 s they have streamed (slower)
    for _ in range(60):
        await aged.take("T")
    clock.t += 20
    assert aged._bucket("T").fair_interval() == pytest.approx(10 * 20 / (50 - 10 + 1.5 * 20))
    clock.t += 60  # streaming for longer than HORIZON: the share is the usual one over HORIZON, from what is on hand
    assert aged._bucket("T").fair_interval() == pytest.approx(10 * 30 / (80 - 10 + 1.5 * 30))
    for _ in range(80):  # spent to the bone: only the refill is shared, what finals need is not
        await aged.take("T")
    assert aged._bucket("T").fair_interval() == pytest.approx(10 * 30 / (1.5 * 30))
