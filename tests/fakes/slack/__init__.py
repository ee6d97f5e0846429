"""Loopback fake of Slack for tests: Web API, Socket Mode and signed HTTP events.

Everything listens on 127.0.0.1 with a random port; nothing reaches the internet.

    async with FakeSlack(echo_events=True) as fake:
        client = AsyncWebClient(token=fake.bot_token, base_url=fake.api_url)
        handler = AsyncSocketModeHandler(app, fake.app_token, web_client=client)
        await handler.connect_async()           # apps.connections.open -> our ws:// URL
        post = await fake.user_posts("hello", channel="C0CHAN0001")   # app_mention
        await fake.wait_ack(post.envelope_ids[0])
        assert fake.bot_messages("C0CHAN0001", thread_ts=post.ts)[0].final_text == "..."

Public API (all on FakeSlack unless noted):
- setup: add_user, add_channel, add_user_message, add_user_file (url_private needs the bot token),
  new_trigger_id, inject(method, error, times, status, retry_after)
- OAuth installs: new_oauth_code(team_id) for oauth.v2.access (client_id/client_secret), installed_tokens
- queries: calls(method), message(ch, ts), thread(ch, thread_ts), final_text(ch, ts), stream(ch, ts),
  bot_messages(ch, thread_ts), plus the dicts rate_limited, overlapping_stops, unknown_methods, channels, users, files,
  views, home_views, ephemerals, assistant_threads, response_url_posts, envelopes, acks, file_downloads
- Socket Mode: socket_send_event / socket_send_command / socket_send_interactive / socket_send_envelope,
  socket_send_disconnect, socket_drop, wait_ack, wait_socket_connected, user_posts
- builders: build_event_callback, build_message, build_app_mention, build_message_changed,
  build_message_deleted, build_assistant_thread_started, build_assistant_thread_context_changed,
  build_app_home_opened, build_slash_command, build_message_action, build_block_actions
- HTTP mode: sign_request(), post_signed() (module level) and fake.http_send(url, payload, kind=...)

The fake mimics what a bot adapter must cope with: form or JSON bodies, bearer tokens, realistic
payloads, HTTP 429 + Retry-After rate limits (each method's tier read from the Web API reference in
shared/specs/slack-api-ref), injected failures, length limits, native streaming (chat.*Stream) with expiry
and overlapping stops recorded, and Socket Mode envelopes with acks, redeliveries and dropped sockets.

Where each part lives: server.py (FakeSlack: lifecycle, the Web API entry point, queries), chat_api.py and
workspace_api.py (the Web API methods), socket_mode.py, signed.py (signed HTTP delivery), events.py (payload
builders), ratelimits.py (tiers, token buckets, injected errors), state.py (setup helpers and lookups),
records.py and protocol.py.
"""

from tests.fakes.slack.ratelimits import (
    DEFAULT_RATE_LIMITS,
    TIER_PER_MINUTE,
    RateLimit,
    default_spec_dir,
    tier_limit,
    tier_of,
)
from tests.fakes.slack.records import Call, Channel, StoredMessage, StreamState, UserPost
from tests.fakes.slack.server import FakeSlack
from tests.fakes.slack.signed import SignedResponse, post_signed, sign_request

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
