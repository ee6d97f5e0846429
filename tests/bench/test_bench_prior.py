"""bench/prior.py: the simulation of a fresh budget's PRIOR runs the bot's engine and throttle on simulated time, so it
gives the same figures every run, and with the length guessed right (PRIOR = L, as once learned) it paces as evenly as
the ideal schedulers of the bound do (the measured bench: 1.01-1.02x at N = 10, L = 6.4 s)."""

from __future__ import annotations

import pytest

from bench import prior
from bench.metrics import summarize


def test_the_simulation_is_deterministic():
    first = prior.simulate(10, 6.4, 10.0)
    again = prior.simulate(10, 6.4, 10.0)
    assert [s["timeline"] for s in first] == [s["timeline"] for s in again]
    assert [s["tokens"] for s in first] == [s["tokens"] for s in again]
    assert prior.bound(10, 6.4) == prior.bound(10, 6.4)


def test_time_is_simulated_and_every_token_is_shown():
    streams = prior.simulate(10, 6.4, 10.0)
    assert len(streams) == 10
    for stream in streams:
        assert stream["tokens"][-1][0] == pytest.approx(6.4)  # tokens evenly over L, on the simulated clock
        assert stream["timeline"][-1][1] == stream["tokens"][-1][1]  # the final text shows the whole answer
    # the budget held: 92 at once plus 1.6 a second over the run
    assert sum(s["appends"] for s in streams) <= 92 + 1.6 * 6.4 + 1


@pytest.mark.parametrize("n", [10, 50])
def test_with_the_length_known_the_pace_is_near_the_bound(n):
    limit = prior.bound(n, 6.4)
    assert limit["p99"] == pytest.approx(limit["even_interval"], rel=0.05)  # the bound is the even pace
    found = summarize(prior.simulate(n, 6.4, 6.4))["staleness_p99"]
    assert found / limit["p99"] == pytest.approx(1.0, abs=0.1)


def test_a_guess_longer_than_the_answers_is_slower_than_the_length_known():
    # the measured bench's cold case (PRIOR 10 s, answers of 6.4 s) is 1.4x the learned one's staleness
    known = prior.p99(10, 6.4, 6.4)
    assert 1.2 < prior.p99(10, 6.4, 10.0) / known < 1.6
