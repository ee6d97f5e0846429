import asyncio

from core.throttle import Throttle


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
