"""Tests of the loopback fake Slack, driven by the real slack_sdk / slack_bolt clients."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp, AsyncAssistant
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from tests.fakes.slack import FakeSlack, RateLimit, post_signed, sign_request

TS_RE = re.compile(r"^\d{10}\.\d{6}$")
CHANNEL, DM = "C0CHAN0001", "D0DM000001"


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    # SocketModeClient reads proxy env vars on its own; keep every socket on loopback.
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def fake():
    async with FakeSlack() as f:
        yield f


def web_client(fake: FakeSlack, **kw) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, **kw)


async def wait_for(predicate, within: float = 3.0):
    deadline = time.monotonic() + within
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


# ------------------------------------------------------------------------------- Web API


@pytest.mark.asyncio
async def test_post_update_replies_and_history(fake):
    client = web_client(fake)
    parent = fake.add_user_message("question?", channel=CHANNEL)
    first = await client.chat_postMessage(channel=CHANNEL, thread_ts=parent.ts, text="thinking")
    assert TS_RE.match(first["ts"]) and first["ts"] > parent.ts
    assert first["message"]["bot_id"] == fake.bot_id and first["message"]["thread_ts"] == parent.ts
    await client.chat_update(channel=CHANNEL, ts=first["ts"], text="answer, part 1")
    done = await client.chat_update(channel=CHANNEL, ts=first["ts"], markdown_text="**answer**")
    assert done["message"]["edited"]["user"] == fake.bot_user_id

    msg = fake.message(CHANNEL, first["ts"])
    assert fake.final_text(CHANNEL, first["ts"]) == "**answer**"
    assert [h["method"] for h in msg.history] == ["chat.postMessage", "chat.update", "chat.update"]
    assert msg.history[0]["at"] <= msg.history[-1]["at"]
    assert [m.ts for m in fake.thread(CHANNEL, parent.ts)] == [parent.ts, first["ts"]]

    replies = await client.conversations_replies(channel=CHANNEL, ts=parent.ts)
    assert [m["text"] for m in replies["messages"]] == ["question?", "**answer**"]
    assert replies["messages"][0]["reply_count"] == 1
    history = await client.conversations_history(channel=CHANNEL)
    assert [m["ts"] for m in history["messages"]] == [parent.ts]  # replies stay in the thread

    link = await client.chat_getPermalink(channel=CHANNEL, message_ts=first["ts"])
    assert link["permalink"].endswith(f"?thread_ts={parent.ts}&cid={CHANNEL}")
    await client.chat_delete(channel=CHANNEL, ts=first["ts"])  # sent as query params
    assert fake.message(CHANNEL, first["ts"]).deleted
    assert [m.ts for m in fake.thread(CHANNEL, parent.ts)] == [parent.ts]


@pytest.mark.asyncio
async def test_form_bodies_auth_and_unknown_methods(fake):
    client = web_client(fake)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    resp = await client.api_call(
        "chat.postMessage", data={"channel": CHANNEL, "text": "hi", "blocks": json.dumps(blocks)}
    )
    assert fake.message(CHANNEL, resp["ts"]).blocks == blocks  # JSON string in a form field decoded
    assert fake.calls("chat.postMessage")[0].token == fake.bot_token

    with pytest.raises(SlackApiError) as err:
        await AsyncWebClient(token="xoxb-wrong", base_url=fake.api_url).auth_test()
    assert err.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as err:
        await client.api_call("admin.nothing")
    assert err.value.response["error"] == "unknown_method"
    assert fake.unknown_methods == ["admin.nothing"]
    with pytest.raises(SlackApiError) as err:
        await client.apps_connections_open(app_token=fake.bot_token)
    assert err.value.response["error"] == "not_allowed_token_type"

    auth = await client.auth_test()
    assert (auth["user_id"], auth["bot_id"], auth["team_id"]) == (fake.bot_user_id, fake.bot_id, fake.team_id)
    assert auth["enterprise_id"] is None


@pytest.mark.asyncio
async def test_native_streaming_methods_store_final_text(fake):
    client = web_client(fake)
    parent = fake.add_user_message("tell me", channel=DM)
    start = await client.chat_startStream(channel=DM, thread_ts=parent.ts, markdown_text="Hel")
    ts = start["ts"]
    await client.chat_appendStream(channel=DM, ts=ts, markdown_text="lo")
    await client.chat_appendStream(channel=DM, ts=ts, chunks=[{"type": "markdown_text", "text": " wor"}])
    await client.chat_stopStream(channel=DM, ts=ts, markdown_text="ld", blocks=[{"type": "divider"}])

    assert fake.final_text(DM, ts) == "Hello world"
    stream = fake.stream(DM, ts)
    assert stream.state == "stopped" and stream.appends == 2
    assert fake.message(DM, ts).blocks == [{"type": "divider"}]
    with pytest.raises(SlackApiError) as err:
        await client.chat_appendStream(channel=DM, ts=ts, markdown_text="late")
    assert err.value.response["error"] == "message_not_in_streaming_state"

    # Outside DMs Slack wants to know who watches the stream.
    with pytest.raises(SlackApiError) as err:
        await client.chat_startStream(channel=CHANNEL, thread_ts=parent.ts)
    assert err.value.response["error"] == "missing_recipient_team_id"


@pytest.mark.asyncio
async def test_chat_stream_helper_sends_chunks(fake):
    client = web_client(fake)
    parent = fake.add_user_message("q", channel=CHANNEL)
    streamer = await client.chat_stream(
        channel=CHANNEL,
        thread_ts=parent.ts,
        recipient_team_id=fake.team_id,
        recipient_user_id=fake.default_user_id,
        buffer_size=8,
    )
    for piece in ["The ", "answer ", "is ", "42."]:
        await streamer.append(markdown_text=piece)
    await streamer.stop()

    assert fake.final_text(CHANNEL, streamer.ts) == "The answer is 42."
    # The helper buffers, then sends `chunks` (not markdown_text) to start/append/stop.
    assert "chunks" in fake.calls("chat.startStream")[0].params
    assert fake.calls("chat.startStream")[0].params["chunks"] == [{"type": "markdown_text", "text": "The answer "}]
    assert fake.calls("chat.stopStream")[0].params["chunks"] == [{"type": "markdown_text", "text": "is 42."}]
    assert fake.stream(CHANNEL, streamer.ts).recipient_user_id == fake.default_user_id


@pytest.mark.asyncio
async def test_plan_chunks_and_the_task_display_mode_follow_the_documented_schema(fake):
    client = web_client(fake)
    parent = fake.add_user_message("q", channel=DM)
    plan = {"type": "plan_update", "title": "Working through 2 steps (0 done)"}
    task = {"type": "task_update", "id": "call_0", "title": "Searching", "status": "in_progress"}
    ts = (
        await client.chat_startStream(channel=DM, thread_ts=parent.ts, chunks=[plan, task], task_display_mode="plan")
    )["ts"]
    assert fake.stream(DM, ts).task_display_mode == "plan"
    # a plan's title is a string; the mode one of the reference's enum (timeline, plan)
    for bad in ({"type": "plan_update"}, {"type": "plan_update", "title": 2}, {"type": "task_update", "id": "x"}):
        with pytest.raises(SlackApiError) as err:
            await client.chat_appendStream(channel=DM, ts=ts, chunks=[bad])
        assert err.value.response["error"] == "invalid_chunks"
    with pytest.raises(SlackApiError) as err:
        await client.chat_startStream(channel=DM, thread_ts=parent.ts, markdown_text="a", task_display_mode="cards")
    assert err.value.response["error"] == "invalid_arguments"
    ts = (await client.chat_startStream(channel=DM, thread_ts=parent.ts, markdown_text="a"))["ts"]
    assert fake.stream(DM, ts).task_display_mode == "timeline"  # the reference's default


@pytest.mark.asyncio
async def test_stream_expiry_and_unsupported_channel_type():
    async with FakeSlack(stream_ttl=0.05, streaming_unsupported_types={"mpim"}) as fake:
        client = web_client(fake)
        parent = fake.add_user_message("q", channel=DM)
        ts = (await client.chat_startStream(channel=DM, thread_ts=parent.ts, markdown_text="partial"))["ts"]
        await asyncio.sleep(0.08)
        with pytest.raises(SlackApiError) as err:
            await client.chat_appendStream(channel=DM, ts=ts, markdown_text="more")
        assert err.value.response["error"] == "message_not_in_streaming_state"
        assert fake.stream(DM, ts).state == "expired"
        # The fallback a bot needs: chat.update still works on the frozen message.
        await client.chat_update(channel=DM, ts=ts, text="partial more")
        assert fake.final_text(DM, ts) == "partial more"

        fake.add_channel("G0GROUP001", "mpim")
        with pytest.raises(SlackApiError) as err:
            await client.chat_startStream(channel="G0GROUP001", thread_ts=parent.ts)
        assert err.value.response["error"] == "channel_type_not_supported"


# ------------------------------------------------------------------------------- limits & faults


@pytest.mark.asyncio
async def test_rate_limit_429_and_retry_handler_recovers():
    limits = {"chat.update": RateLimit(per_second=20, burst=2, retry_after=0)}
    async with FakeSlack(rate_limits=limits) as fake:
        client = web_client(fake)
        ts = (await client.chat_postMessage(channel=CHANNEL, text="x"))["ts"]
        await client.chat_update(channel=CHANNEL, ts=ts, text="1")
        await client.chat_update(channel=CHANNEL, ts=ts, text="2")
        with pytest.raises(SlackApiError) as err:
            await client.chat_update(channel=CHANNEL, ts=ts, text="3")
        assert err.value.response.status_code == 429
        assert err.value.response["error"] == "ratelimited"
        assert err.value.response.headers["Retry-After"] == "0"
        assert fake.rate_limited["chat.update"] == 1

        patient = web_client(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=10)])
        for i in range(4):
            await patient.chat_update(channel=CHANNEL, ts=ts, text=f"retry {i}")
        assert fake.final_text(CHANNEL, ts) == "retry 3"
        assert fake.rate_limited["chat.update"] >= 2


@pytest.mark.asyncio
async def test_post_message_is_limited_per_channel(fake):
    client = web_client(fake)
    for i in range(3):  # default burst
        await client.chat_postMessage(channel=CHANNEL, text=str(i))
    with pytest.raises(SlackApiError) as err:
        await client.chat_postMessage(channel=CHANNEL, text="too fast")
    assert err.value.response.status_code == 429
    assert int(err.value.response.headers["Retry-After"]) >= 1
    await client.chat_postMessage(channel=DM, text="another channel has its own budget")
    assert fake.rate_limited["chat.postMessage"] == 1


@pytest.mark.asyncio
async def test_injected_errors_and_length_limits(fake):
    client = web_client(fake)
    ts = (await client.chat_postMessage(channel=CHANNEL, text="x"))["ts"]
    fake.inject("chat.update", error="msg_too_long")
    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=CHANNEL, ts=ts, text="short")
    assert err.value.response["error"] == "msg_too_long"
    await client.chat_update(channel=CHANNEL, ts=ts, text="ok now")  # only the next call failed

    with pytest.raises(SlackApiError) as err:
        await client.chat_update(channel=CHANNEL, ts=ts, text="x" * 4001)
    assert err.value.response["error"] == "msg_too_long"

    fake.inject("chat.appendStream", error="fatal_error", status=500, times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as err:
            await client.chat_appendStream(channel=CHANNEL, ts=ts, markdown_text="x")
        assert err.value.response.status_code == 500

    fake.inject("chat.update", error="ratelimited", retry_after=0)
    patient = web_client(fake, retry_handlers=[AsyncRateLimitErrorRetryHandler()])
    await patient.chat_update(channel=CHANNEL, ts=ts, text="after retry")
    assert [c.status for c in fake.calls("chat.update")][-2:] == [429, 200]
    assert fake.final_text(CHANNEL, ts) == "after retry"


# ------------------------------------------------------------------------------- Socket Mode


@pytest.mark.asyncio
async def test_socket_mode_client_acks_and_reconnects(fake):
    client = SocketModeClient(app_token=fake.app_token, web_client=web_client(fake), ping_interval=1)
    seen, requests = [], []

    async def on_message(sm, message, raw):
        seen.append(message.get("type"))

    async def on_request(sm, req):
        requests.append(req)
        await sm.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    client.message_listeners.append(on_message)
    client.socket_mode_request_listeners.append(on_request)
    try:
        await client.connect()
        await fake.wait_socket_connected()
        eid = await fake.socket_send_event(fake.build_app_mention("hello"))
        ack = await fake.wait_ack(eid, timeout=3)
        assert ack["payload"] is None
        assert requests[0].type == "events_api" and requests[0].retry_attempt == 0
        assert requests[0].payload["event"]["type"] == "app_mention"
        assert seen[0] == "hello"

        await fake.socket_drop()
        await fake.wait_socket_connected(min_total=2, timeout=5)
        assert len(fake.calls("apps.connections.open")) == 2  # a fresh ticket for the new socket
        eid = await fake.socket_send_event(fake.build_message("still there?"), retry_attempt=1)
        await fake.wait_ack(eid, timeout=3)
        assert (requests[-1].retry_attempt, requests[-1].retry_reason) == (1, "timeout")

        cmd = await fake.socket_send_command(fake.build_slash_command("/ask", "why?"))
        await fake.wait_ack(cmd, timeout=3)
        assert requests[-1].type == "slash_commands" and requests[-1].payload["text"] == "why?"

        await fake.socket_send_disconnect("refresh_requested")  # Slack rotating the connection
        await fake.wait_socket_connected(min_total=3, timeout=5)
        assert len(fake.calls("apps.connections.open")) == 3
    finally:
        await client.close()


@pytest.mark.asyncio
async def test_unacked_events_are_redelivered_with_retry_flags(fake):
    client = SocketModeClient(app_token=fake.app_token, web_client=web_client(fake), ping_interval=1)
    attempts = []

    async def ack_second_try_only(sm, req):
        attempts.append((req.retry_attempt, req.retry_reason, req.payload["event_id"]))
        if req.retry_attempt:
            await sm.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))

    client.socket_mode_request_listeners.append(ack_second_try_only)
    try:
        await client.connect()
        first = await fake.socket_send_event(fake.build_message("hi"), redeliver_after=0.2)
        with pytest.raises(TimeoutError):
            await fake.wait_ack(first, timeout=0.1)
        await wait_for(lambda: len(attempts) == 2)
        assert [a[:2] for a in attempts] == [(0, ""), (1, "timeout")]
        assert attempts[0][2] == attempts[1][2]  # same event_id: dedupe on it
    finally:
        await client.close()


@pytest.mark.asyncio
async def test_bolt_socket_mode_app_replies_and_drops_its_own_echo():
    async with FakeSlack(echo_events=True) as fake:
        client = web_client(fake)
        app = AsyncApp(client=client, signing_secret=fake.signing_secret)

        @app.event("app_mention")
        async def on_mention(event, say):
            await say(text="pong", thread_ts=event.get("thread_ts") or event["ts"])

        handler = AsyncSocketModeHandler(app, fake.app_token, web_client=client)
        try:
            await handler.connect_async()
            post = await fake.user_posts("ping", channel=CHANNEL, mention=True)
            await fake.wait_ack(post.envelope_ids[0], timeout=3)
            await wait_for(lambda: fake.bot_messages(CHANNEL, thread_ts=post.ts))
            assert fake.bot_messages(CHANNEL, thread_ts=post.ts)[0].text == "pong"
            # Bolt's IgnoringSelfEvents middleware acks the echo of the bot's own reply.
            await wait_for(lambda: len(fake.envelopes) == 2)
            echo_id = list(fake.envelopes)[-1]
            assert fake.envelopes[echo_id]["payload"]["event"]["bot_id"] == fake.bot_id
            await fake.wait_ack(echo_id, timeout=3)
        finally:
            await handler.close_async()


@pytest.mark.asyncio
async def test_bolt_assistant_flow_with_thread_context_and_say_stream():
    async with FakeSlack(echo_events=True) as fake:
        client = web_client(fake)
        app = AsyncApp(client=client, signing_secret=fake.signing_secret)
        assistant = AsyncAssistant()
        clicks = []

        @assistant.thread_started
        async def started(say, set_suggested_prompts):
            await say("How can I help?")
            await set_suggested_prompts(prompts=[{"title": "Explain", "message": "Explain this"}])

        @assistant.thread_context_changed
        async def context_changed(save_thread_context, payload):
            await save_thread_context(payload["assistant_thread"]["context"])

        @assistant.user_message
        async def user_message(set_status, get_thread_context, say_stream):
            await set_status("is thinking...")
            context = await get_thread_context()
            stream = await say_stream()
            await stream.append(markdown_text=f"Looking at <#{context.channel_id}>")
            await stream.stop()

        @app.action("regen")
        async def regen(ack, body):
            await ack()
            clicks.append(body["actions"][0]["value"])

        app.use(assistant)
        handler = AsyncSocketModeHandler(app, fake.app_token, web_client=client)
        try:
            await handler.connect_async()
            started_event = fake.build_assistant_thread_started(context_channel_id=CHANNEL)
            dm, thread_ts = (
                started_event["assistant_thread"]["channel_id"],
                started_event["assistant_thread"]["thread_ts"],
            )
            await fake.wait_ack(await fake.socket_send_event(started_event))
            await wait_for(lambda: fake.assistant_threads[(dm, thread_ts)]["prompts"])
            changed = fake.build_assistant_thread_context_changed(
                thread_ts=thread_ts, channel=dm, context_channel_id="C0OTHER001"
            )
            await fake.wait_ack(await fake.socket_send_event(changed))
            # Bolt's default context store keeps the context in the first reply's metadata.
            await wait_for(lambda: fake.bot_messages(dm, thread_ts)[0].metadata is not None)

            post = await fake.user_posts("what is this?", channel=dm, thread_ts=thread_ts)
            await fake.wait_ack(post.envelope_ids[0])
            await wait_for(lambda: len(fake.bot_messages(dm, thread_ts)) == 2)
            answer = fake.bot_messages(dm, thread_ts)[-1]
            await wait_for(lambda: answer.stream.state == "stopped")
            assert answer.final_text == "Looking at <#C0OTHER001>"
            statuses = [h["status"] for h in fake.assistant_threads[(dm, thread_ts)]["status_history"]]
            assert statuses == ["is thinking...", ""]

            click = fake.build_block_actions(action_id="regen", value="7", channel=dm, message_ts=answer.ts)
            await fake.wait_ack(await fake.socket_send_interactive(click))
            await wait_for(lambda: clicks == ["7"])
            await wait_for(lambda: len(fake.acks) == len(fake.envelopes))  # echoes acked too
        finally:
            await handler.close_async()


@pytest.mark.asyncio
async def test_bolt_acks_only_200_responses(fake):
    """Bolt's Socket Mode adapter acks only when dispatch ends with HTTP 200."""
    client = web_client(fake)
    app = AsyncApp(client=client, signing_secret=fake.signing_secret)

    @app.middleware
    async def filter_events(ack, body, next):
        text = body.get("event", {}).get("text")
        if text == "drop silently":
            return None  # neither next() nor a response: Bolt answers 404, no ack
        if text == "drop and ack":
            return await ack()  # returning the ack's response makes it a 200
        await next()

    @app.event("app_mention")
    async def on_mention():
        pass

    handler = AsyncSocketModeHandler(app, fake.app_token, web_client=client)
    try:
        await handler.connect_async()
        await fake.wait_ack(await fake.socket_send_event(fake.build_app_mention("handled")))
        await fake.wait_ack(await fake.socket_send_event(fake.build_message("drop and ack")))
        for unacked in (fake.build_message("drop silently"), fake.build_message("no listener for message")):
            eid = await fake.socket_send_event(unacked)
            with pytest.raises(TimeoutError):  # Slack would redeliver these (retry_attempt 1..3)
                await fake.wait_ack(eid, timeout=0.3)
    finally:
        await handler.close_async()


# ------------------------------------------------------------------------------- HTTP mode


def test_sign_request_verifies_with_slack_sdk():
    body = b'{"type":"event_callback"}'
    headers = sign_request(body, "s3cret")
    verifier = SignatureVerifier("s3cret")
    assert verifier.is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)
    old = sign_request(body, "s3cret", timestamp=int(time.time()) - 600)
    assert not verifier.is_valid_request(body, old)  # replay window is 5 minutes


@pytest.mark.asyncio
async def test_signed_http_events_reach_a_bolt_app(fake):
    app = AsyncApp(client=web_client(fake), signing_secret=fake.signing_secret)
    retries = []

    @app.event("message")
    async def on_message(event, context, request):
        retries.append(request.headers.get("x-slack-retry-num", [None])[0])

    @app.command("/ask")
    async def on_ask(ack, command):
        await ack(f"asked: {command['text']}")

    runner = web.AppRunner(app.web_app())
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/slack/events"
    try:
        resp = await fake.http_send(url, fake.build_message("hi"), retry_num=1, retry_reason="http_timeout")
        assert resp.status == 200
        await wait_for(lambda: retries == ["1"])

        resp = await fake.http_send(url, fake.build_slash_command("/ask", "why"), kind="command")
        assert resp.status == 200 and resp.text == "asked: why"

        bad = await post_signed(url, "wrong-secret", json_body=fake.build_event_callback(fake.build_message("x")))
        assert bad.status == 401
    finally:
        await runner.cleanup()


# ------------------------------------------------------------------------------- other methods


@pytest.mark.asyncio
async def test_files_views_users_reactions_and_assistant(fake):
    client = web_client(fake)
    parent = fake.add_user_message("export please", channel=DM)
    up = await client.files_upload_v2(channel=DM, thread_ts=parent.ts, content="a,b\n1,2\n", filename="t.csv")
    file = fake.files[up["file"]["id"]]
    assert file["content"] == b"a,b\n1,2\n" and file["thread_ts"] == parent.ts

    trigger = fake.build_slash_command()["trigger_id"]
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Settings"}, "blocks": []}
    opened = await client.views_open(trigger_id=trigger, view=view)
    with pytest.raises(SlackApiError) as err:
        await client.views_open(trigger_id=trigger, view=view)
    assert err.value.response["error"] == "trigger_exchanged"
    await client.views_update(view_id=opened["view"]["id"], view={**view, "blocks": [{"type": "divider"}]})
    await client.views_publish(user_id=fake.default_user_id, view={"type": "home", "blocks": []})
    assert fake.build_app_home_opened()["view"]["type"] == "home"

    fake.add_user("U0ADMIN001", "boss", is_admin=True, is_owner=True)
    user = (await client.users_info(user="U0ADMIN001"))["user"]
    assert user["is_admin"] and user["is_owner"]
    assert (await client.conversations_info(channel=DM))["channel"]["is_im"]
    assert not (await client.conversations_info(channel=CHANNEL))["channel"]["is_private"]
    opened_dm = await client.conversations_open(users="U0ADMIN001")
    assert fake.channels[opened_dm["channel"]["id"]].type == "im"

    await client.reactions_add(channel=DM, name="eyes", timestamp=parent.ts)
    with pytest.raises(SlackApiError) as err:
        await client.reactions_add(channel=DM, name="eyes", timestamp=parent.ts)
    assert err.value.response["error"] == "already_reacted"
    eph = await client.chat_postEphemeral(channel=CHANNEL, user=fake.default_user_id, text="only you")
    assert fake.ephemerals[0]["message_ts"] == eph["message_ts"]

    await client.assistant_threads_setStatus(channel_id=DM, thread_ts=parent.ts, status="is thinking...")
    await client.assistant_threads_setSuggestedPrompts(
        channel_id=DM, thread_ts=parent.ts, prompts=[{"title": "Hi", "message": "Hello"}]
    )
    await client.assistant_threads_setTitle(channel_id=DM, thread_ts=parent.ts, title="Export")
    await client.chat_postMessage(channel=DM, thread_ts=parent.ts, text="done")
    thread = fake.assistant_threads[(DM, parent.ts)]
    assert thread["title"] == "Export" and thread["status"] == ""  # a reply clears the status
    assert [h["status"] for h in thread["status_history"]] == ["is thinking...", ""]


def test_event_builders_look_like_slack(fake):
    mention = fake.build_app_mention("hi", channel=CHANNEL)
    assert mention["text"].startswith(f"<@{fake.bot_user_id}>") and "client_msg_id" in mention
    wrapped = fake.build_event_callback(mention)
    assert wrapped["type"] == "event_callback" and wrapped["authorizations"][0]["user_id"] == fake.bot_user_id
    assert {"team_id", "api_app_id", "event_id", "event_time"} <= wrapped.keys()

    dm = fake.build_message("hello", thread_ts=mention["ts"], channel=DM)
    assert dm["channel_type"] == "im" and "bot_id" not in dm
    echo = fake.build_message("bot says", bot_id=fake.bot_id, channel=DM)
    assert echo["bot_id"] == fake.bot_id and echo["user"] == fake.bot_user_id
    changed = fake.build_message_changed(DM, dm["ts"], "hello again")
    assert changed["subtype"] == "message_changed" and changed["message"]["text"] == "hello again"
    assert changed["previous_message"]["text"] == "hello"
    deleted = fake.build_message_deleted(DM, dm["ts"])
    assert deleted["deleted_ts"] == dm["ts"]

    started = fake.build_assistant_thread_started(context_channel_id=CHANNEL)
    assert started["assistant_thread"]["context"]["channel_id"] == CHANNEL
    changed_ctx = fake.build_assistant_thread_context_changed(thread_ts=started["assistant_thread"]["thread_ts"])
    assert changed_ctx["type"] == "assistant_thread_context_changed"

    action = fake.build_block_actions(action_id="regen", value="1", channel=CHANNEL, message_ts=mention["ts"])
    assert action["container"]["message_ts"] == mention["ts"] and action["actions"][0]["value"] == "1"
    shortcut = fake.build_message_action(channel=CHANNEL, message_ts=mention["ts"])
    assert shortcut["type"] == "message_action" and shortcut["message"]["ts"] == mention["ts"]
    command = fake.build_slash_command("/ask", "why")
    assert command["response_url"].startswith(fake.base_url) and command["is_enterprise_install"] == "false"


@pytest.mark.asyncio
async def test_append_stream_has_a_workspace_tier_limit():
    # Tier 4 by default (100 per minute per workspace); 2 at once here, so the third append is refused
    async with FakeSlack(rate_limits={"chat.appendStream": RateLimit(per_second=0.5, burst=2)}) as fake:
        client = web_client(fake)
        started = await client.chat_startStream(
            channel=CHANNEL, thread_ts="1.000001", recipient_team_id=fake.team_id, recipient_user_id="U0USER0001"
        )
        for word in ("a", "b"):
            await client.chat_appendStream(channel=CHANNEL, ts=started["ts"], markdown_text=word)
        with pytest.raises(SlackApiError) as err:
            await client.chat_appendStream(channel=CHANNEL, ts=started["ts"], markdown_text="c")
        assert err.value.response.status_code == 429 and err.value.response["error"] == "ratelimited"
        assert int(err.value.response.headers["Retry-After"]) >= 1
        await client.chat_stopStream(channel=CHANNEL, ts=started["ts"])
        assert fake.final_text(CHANNEL, started["ts"]) == "ab"
    assert FakeSlack().rate_limits["chat.appendStream"] == RateLimit.per_minute(100)


@pytest.mark.asyncio
async def test_start_and_stop_stream_are_tier_2_and_overlapping_stops_are_recorded():
    async with FakeSlack(stop_latency=0.2) as fake:
        assert fake.rate_limits["chat.startStream"] == fake.rate_limits["chat.stopStream"] == RateLimit.per_minute(20)
        client = web_client(fake)
        started = await client.chat_startStream(
            channel=CHANNEL, thread_ts="1.000001", recipient_team_id=fake.team_id, recipient_user_id="U0USER0001"
        )
        stop = {"channel": CHANNEL, "ts": started["ts"], "markdown_text": "done"}
        answers = await asyncio.gather(
            client.chat_stopStream(**stop), client.chat_stopStream(**stop), return_exceptions=True
        )
        # the one Slack took first stopped the stream; the other, sent while it was unanswered, found it stopped
        [refused] = [a for a in answers if isinstance(a, SlackApiError)]
        assert refused.response["error"] == "message_not_in_streaming_state"
        assert fake.overlapping_stops == {(CHANNEL, started["ts"]): 1}
        assert fake.final_text(CHANNEL, started["ts"]) == "done"
        # one stop after the other is no overlap
        again = await client.chat_startStream(channel=DM, thread_ts="1.000002")
        await client.chat_stopStream(channel=DM, ts=again["ts"])
        with pytest.raises(SlackApiError):
            await client.chat_stopStream(channel=DM, ts=again["ts"])
        assert (DM, again["ts"]) not in fake.overlapping_stops
        # 20 stream starts a minute in a workspace, then 429 with Retry-After
        for i in range(18):
            await client.chat_startStream(channel=DM, thread_ts=f"2.{i:06d}")
        with pytest.raises(SlackApiError) as limited:
            await client.chat_startStream(channel=DM, thread_ts="3.000001")
        retry_after = limited.value.response.headers["Retry-After"]
        assert limited.value.response.status_code == 429 and int(retry_after) >= 1
        assert fake.calls("chat.startStream")[-1].headers["Retry-After"] == retry_after
