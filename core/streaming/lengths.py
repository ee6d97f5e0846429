"""How long answers stream on a budget, learned from the answers that ended, and the fair share that follows.

A shared budget with a large burst (Slack's Tier 4 chat.appendStream: about a minute's worth) is spent best evenly
over the life of the answers streaming on it: an ideal scheduler that knew when they end would update each one every
`streams * life / (burst + rate * life)` seconds. Nobody knows when an answer ends, but answers on one budget tend to
last alike (the same models, the same kind of question): the typical length of the answers that ended recently is a
good guess for the ones streaming now. Spreading what the budget has on hand over the time they have left, by that
guess, keeps the pace even for as long as the guess holds (guessing the remaining time as the time streamed so far
instead spends the burst in a decaying curve: the last seconds of every answer get twice the interval).

Answers near or past the guess are assumed to stream at least half as long again as they have (the two meet at two
thirds of the guess): the budget is then spread over a horizon that grows with them, never spent in one go when they
outlive the guess, and the guess learns from them when they end. Without a guess that fits, no online pace is even
(simulated over answers of 3 to 60 s, the p99 interval is up to about 2.7 times an ideal that knows when they end,
as against 3.1 for spreading over the time streamed so far); with one, it is within about 1.2.
"""

from __future__ import annotations

from collections import deque

PRIOR = 10.0  # seconds: the guess before any answer on the budget has ended
KEEP = 32  # the typical length is the mean of this many answers, the most recent
MIN_REMAINING = 1.0  # seconds: never spread what is on hand over less (an answer about to end still takes updates)
HORIZON_MAX = 30.0  # seconds: never over more (core.streaming.throttle.HORIZON: a budget's burst spreads over this)


class AnswerLengths:
    """The lengths of the answers that ended on one budget (seconds from the start of their stream to its end)."""

    def __init__(self, prior: float = PRIOR, keep: int = KEEP):
        self.prior = prior
        self._recent: deque[float] = deque(maxlen=keep)

    def lasted(self, seconds: float) -> None:
        self._recent.append(max(0.0, seconds))

    @property
    def typical(self) -> float:
        return sum(self._recent) / len(self._recent) if self._recent else self.prior

    def remaining(self, age: float) -> float:
        """How much longer answers that have streamed for `age` seconds are expected to stream."""
        return min(HORIZON_MAX, max(MIN_REMAINING, self.typical - age, age / 2))


def even_interval(streams: int, on_hand: float, rate: float, remaining: float) -> float:
    """Seconds between one answer's updates when `streams` answers share `on_hand` requests plus what the budget
    refills at `rate` over the `remaining` seconds they stream, evenly."""
    return streams * remaining / (max(0.0, on_hand) + rate * remaining)
