import asyncio

import pytest

from core.streaming.throttle import Throttle


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
