"""A loopback fake of Slack: Web API, Socket Mode and signed HTTP events (see server.py)."""

from tests.fakes.slack.server import (
    DEFAULT_RATE_LIMITS,
    TIER_PER_MINUTE,
    Call,
    Channel,
    FakeSlack,
    RateLimit,
    SignedResponse,
    StoredMessage,
    StreamState,
    UserPost,
    default_spec_dir,
    post_signed,
    sign_request,
    tier_limit,
    tier_of,
)

__all__ = [
    "DEFAULT_RATE_LIMITS",
    "TIER_PER_MINUTE",
    "Call",
    "Channel",
    "FakeSlack",
    "RateLimit",
    "SignedResponse",
    "StoredMessage",
    "StreamState",
    "UserPost",
    "default_spec_dir",
    "post_signed",
    "sign_request",
    "tier_limit",
    "tier_of",
]
