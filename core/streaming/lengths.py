"""How long answers stream on a budget, learned from the answers that ended, and the fair share that follows.

A shared budget with a large burst (Slack's Tier 4 chat.appendStream: about a minute's worth) is spent best evenly
over the life of the answers streaming on it: an ideal scheduler that knew when they end would update each one every
`streams * life / (burst + rate * life)` seconds. Nobody knows when an answer ends, but answers on one budget tend to
last alike (the same models, the same kind of question): the typical length of the answers that ended recently is a
good guess for the ones streaming now. Spreading what the budget has on hand over the time they have left, by that
guess, keeps the pace even for as long as the guess holds (guessing the remaining time as the time streamed so far
instead spends the burst in a decaying curve: the last seconds of every answer get twice the interval).

Answers that outlive the guess are assumed to stream on for half as long again as they have, less a quarter of the
guess (the two meet at five sixths of it): the budget is then spread over a horizon that grows with them, never spent
in one go, and the guess learns from them when they end. Measured with bench.slack_tiers (10 answers of 6.4 s, the
real tiers): with the guess learned, p99 staleness 0.61 s, 1.01 times the bound of an ideal scheduler that knows
when they end; with the 10 s guess of a bot that has learned nothing yet, 0.85 s (1.42 times); with the remaining
time taken as the time streamed so far, 1.19 s (1.97 times). A tail that begins earlier (half the age, from two
thirds of the guess) cost the learned case 0.94 s (1.6 times). Simulated over answers of 3 to 60 s with a 10 s guess
that does not fit, this pace is at worst 3.2 times the ideal (3.1 for the time streamed so far): no online pace is
even for every length.

What a process learned outlives it, and is shared by the bot's other processes, through the store
(core.streaming.stored_lengths, table answer_lengths: durations only, per budget and workspace, nothing about a
person): the first time a process uses a workspace's budget it loads that workspace's most recent lengths, or, for a
workspace it never streamed in, the install's most recent across workspaces; only a brand-new install starts from
PRIOR. Each answer that ends is written there in the background (batched; a failed write loses that length, never the
answer). A replica reads once, at that first use: after that it keeps its own recent mean, its own answers added to
what it loaded (pushing the oldest out), and does not follow what other replicas learn meanwhile. Measured with
bench.slack_tiers --restarted (a second bot built afresh on the database a first one learned in, after a minute of
quiet; bench/results/slack-tiers-restarted.md): 10 answers at 1.02 times the bound, against 1.45 for a cold bot in
the same sitting, 0 429s, every final byte-exact.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from typing import Protocol

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

    def recalled(self, earlier: Sequence[float]) -> None:
        """Lengths learned before this process (oldest first): they count as older than any it has seen since."""
        mine = list(self._recent)
        self._recent.clear()
        self._recent.extend(max(0.0, s) for s in earlier)
        self._recent.extend(mine)

    @property
    def typical(self) -> float:
        return sum(self._recent) / len(self._recent) if self._recent else self.prior

    def remaining(self, age: float) -> float:
        """How much longer answers that have streamed for `age` seconds are expected to stream."""
        typical = self.typical
        return min(HORIZON_MAX, max(MIN_REMAINING, typical - age, age / 2 - typical / 4))


class LengthsMemory(Protocol):
    """Where a budget's answer lengths outlive the process (core.streaming.stored_lengths: the store). `budget` names
    the limit, `bucket` whose budget it is (a workspace)."""

    async def recall(self, budget: str, bucket: str) -> list[float]:
        """The lengths to start from, oldest first ([] if none, or if they could not be read: never raises)."""
        ...

    def remember(self, budget: str, bucket: str, seconds: float) -> None:
        """An answer on the budget ended after `seconds`: kept later, off the answer's path (never raises)."""
        ...


def even_interval(streams: int, on_hand: float, rate: float, remaining: float) -> float:
    """Seconds between one answer's updates when `streams` answers share `on_hand` requests plus what the budget
    refills at `rate` over the `remaining` seconds they stream, evenly."""
    return streams * remaining / (max(0.0, on_hand) + rate * remaining)
