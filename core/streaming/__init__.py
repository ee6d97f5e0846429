"""The streaming engine and what it needs from a platform, in one place: `engine` turns a token stream into
platform messages (its reader and lifecycle; `render` brings the platform up to the newest snapshot, `delivery` sends
each message and handles what failures mean, `state` is the answer as it streams), `sink` is what an adapter gives
it (limits, calls, the errors it raises), `throttle` paces each lane within a shared budget, `splitting` cuts long
answers at paragraph boundaries with code fences intact.
"""

from core.streaming.engine import ReplyStream
from core.streaming.render import fence_safe_preview
from core.streaming.sink import (
    MessageGone,
    PlatformLimits,
    RateLimited,
    ReplySink,
    ReplyView,
    StoppedByUser,
    StreamUnavailable,
    Undeliverable,
)
from core.streaming.state import (
    NOTICE_EMPTY,
    NOTICE_EXPIRED,
    NOTICE_IN_FILE,
    NOTICE_STOPPED,
    NOTICE_TRUNCATED,
    THINKING,
    RenderStats,
    ReplyState,
)

__all__ = [
    "NOTICE_EMPTY",
    "NOTICE_EXPIRED",
    "NOTICE_IN_FILE",
    "NOTICE_STOPPED",
    "NOTICE_TRUNCATED",
    "THINKING",
    "MessageGone",
    "PlatformLimits",
    "RateLimited",
    "RenderStats",
    "ReplySink",
    "ReplyState",
    "ReplyStream",
    "ReplyView",
    "StoppedByUser",
    "StreamUnavailable",
    "Undeliverable",
    "fence_safe_preview",
]
