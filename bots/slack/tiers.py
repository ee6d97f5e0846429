"""Slack's rate tiers as the sink budgets them: one PlatformLimits per way of showing an answer (native streaming,
post + update) and one budget per Tier 2 / Tier 3 method the answers need (chat.startStream, chat.stopStream,
agents.sessions.setStatus). The core paces by them (core.streaming.throttle); the fake Slack enforces the tiers of the
Web API reference (tests/fakes/slack/ratelimits.py)."""

from __future__ import annotations

from core.streaming import PlatformLimits

# One limits value per mode: the core keeps one Throttle per distinct PlatformLimits.
# post_lane = (team, channel): chat.postMessage allows about 1/s per channel with short bursts (2 here);
# lane = the thread: each answer its own cadence. bucket = team: the per-workspace tier, shared by every answer.
# Slack's tiers are "N per minute" with bursts allowed: a token bucket of about a minute's worth refilled at N
# per minute, kept here a little under both (if Slack counted per fixed minute instead, a 429 would hold the
# whole workspace back for its Retry-After, and delivery would go on).
NATIVE_LIMITS = PlatformLimits(
    max_chars=11_000,  # markdown_text takes 12,000; leave room for escapes
    # the least time between two appends to one answer: its pace is its share of the workspace's Tier 4 budget
    # (learned, below), so an answer alone in the workspace is appended to about as often as the eye can follow
    edit_interval=0.15,
    # chat.appendStream is Tier 4 (100+ per minute per workspace, "generous burst behavior"): a little under both
    bucket_rate=1.6,
    bucket_burst=92,
    native_append=True,
    # starting a stream is a new message in its channel: it must not queue behind every other answer's appends, or
    # under load nobody sees a first word for tens of seconds. Its limit is chat.startStream's Tier 2, per workspace
    # (START_STREAM_LIMITS); none per channel is published, so answers starting together in one channel all start
    posts_use_bucket=False,
    post_burst=18,
    stops_use_bucket=False,  # chat.stopStream has its own budget (one call per answer, like startStream)
    budget="slack-chat.appendStream",
    # the budget on hand is spread over the time the answers streaming have left, by how long the answers that ended
    # lasted (core.streaming.lengths): an even pace for a burst of answers, however long they typically are
    learn_answer_lengths=True,
    # a native stream expires after about 5 minutes (observed, not documented): end it at a paragraph break from
    # 4 minutes on, wherever the text is at 4.5, and go on in a new message
    stream_rotate_after=240.0,
    stream_max_age=270.0,
)
# chat.update is Tier 3 (50+ per minute per workspace)
EDIT_LIMITS = PlatformLimits(
    max_chars=3_900,
    edit_interval=1.0,
    bucket_rate=0.75,
    bucket_burst=40,
    posts_use_bucket=False,
    post_burst=2,
    budget="slack-chat.update",
    # (no fair_horizon_min: the final edits draw on this Tier 3 budget too, and spending it early starves them)
)

# chat.startStream and chat.stopStream are Tier 2 (20+ per minute per workspace), each a budget of its own: a
# native answer starts only while the start budget has room (else it is posted and edited, with no 429 first),
# and its stop waits for the stop budget (every stream started must be stopped)
START_STREAM_LIMITS = PlatformLimits(
    edit_interval=0.0, bucket_rate=19 / 60, bucket_burst=18, budget="slack-chat.startStream"
)
STOP_STREAM_LIMITS = PlatformLimits(
    edit_interval=0.0, bucket_rate=19 / 60, bucket_burst=18, budget="slack-chat.stopStream"
)

# agents.sessions.setStatus is Tier 3 (50+ per minute per workspace): a status drawn from its own budget, so a burst
# of answers never draws a 429 for it ("processing" is skipped when the budget is spent, "active" waits for it)
SESSION_STATUS_LIMITS = PlatformLimits(
    edit_interval=0.0, bucket_rate=48 / 60, bucket_burst=45, budget="slack-agents.sessions.setStatus"
)

# When the start budget is spent, a new answer waits for a start only if it comes no later than the edit path could
# post its first text (the channel's chat.postMessage cadence) and this much more: a tie goes to the native stream,
# whose updates then draw on chat.appendStream's Tier 4 rather than chat.update's Tier 3
START_PATIENCE = 0.25
