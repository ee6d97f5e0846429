"""The router client against a scripted SSE server: every quirk real providers have."""

import pytest

from core.errors import RouterError
from core.router.client import (
    ChatRequest,
    Finished,
    ReasoningDelta,
    RouterClient,
    StreamStarted,
    TextDelta,
    ThinkSplitter,
)
from tests.fakes.fake_router import Cut, Raw, Sleep, Status, chunk, text_script


@pytest.fixture
async def client(fake_router):
    client = RouterClient(fake_router.url, "hf_x", request_timeout=5, idle_timeout=1.0, max_retries=0)
    yield client
    await client.close()


async def collect(client, model="m"):
    events = []
    async for event in client.stream_chat(
        ChatRequest(model=model, messages=[{"role": "user", "content": "hi"}], max_tokens=64)
    ):
        events.append(event)
    return events


def text_of(events):
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def reasoning_of(events):
    return "".join(e.text for e in events if isinstance(e, ReasoningDelta))


async def test_plain_stream_with_usage_only_last_chunk_and_provider(client, fake_router):
    fake_router.queue(text_script("Hello there, friend.", pieces=4))
    events = await collect(client)
    assert isinstance(events[0], StreamStarted) and events[0].provider == "fake-provider"
    assert text_of(events) == "Hello there, friend."
    assert events[-1] == Finished("stop", 11, 7)
    request = fake_router.requests[-1]
    assert request["max_tokens"] == 64 and request["stream"] is True
    assert request["_headers"]["authorization"] == "Bearer hf_x"


async def test_requests_with_a_person_s_token_look_the_platform_up_once(fake_router, monkeypatch):
    # each such request runs on its own copy of the client; the SDK looks the platform up on a worker thread for each
    # new client, so without sharing what is known every answer made a trip to a thread
    import openai._base_client as sdk

    looked_up = []
    real = sdk.asyncify

    def counted(function):
        looked_up.append(function.__name__)
        return real(function)

    monkeypatch.setattr(sdk, "asyncify", counted)
    client = RouterClient(fake_router.url, "hf_x", request_timeout=5, idle_timeout=1.0, max_retries=0)
    try:
        for token in ("hf_a", "hf_b", "hf_c"):
            fake_router.queue(text_script("hi", pieces=1))
            request = ChatRequest(model="m", messages=[{"role": "user", "content": "hi"}], max_tokens=8, token=token)
            assert text_of([event async for event in client.stream_chat(request)]) == "hi"
    finally:
        await client.close()
    sent = [r["_headers"]["authorization"] for r in fake_router.requests]
    assert sent == ["Bearer hf_a", "Bearer hf_b", "Bearer hf_c"]
    assert looked_up.count("get_platform") == 1


async def test_empty_choices_and_missing_finish_reason(client, fake_router):
    fake_router.queue([chunk(empty_choices=True), chunk("a"), chunk(empty_choices=True), chunk("b")])
    events = await collect(client)
    assert text_of(events) == "ab"
    assert events[-1] == Finished(None, None, None)


@pytest.mark.parametrize("field", ["reasoning_content", "reasoning"])
async def test_reasoning_fields_kept_apart(client, fake_router, field):
    fake_router.queue(
        [
            chunk(reasoning="Let me think", reasoning_field=field),
            chunk(reasoning=" more.", reasoning_field=field),
            chunk("Answer."),
            chunk(finish="stop"),
        ]
    )
    events = await collect(client)
    assert reasoning_of(events) == "Let me think more."
    assert text_of(events) == "Answer."


async def test_inline_think_tags_split_across_chunks(client, fake_router):
    pieces = ["<thi", "nk>secret ", "plan</th", "ink>\n\nThe ", "answer <b>bold</b>."]
    fake_router.queue([chunk(p) for p in pieces] + [chunk(finish="stop")])
    events = await collect(client)
    assert reasoning_of(events) == "secret plan"
    assert text_of(events) == "The answer <b>bold</b>."


def test_think_splitter_holds_partial_tags():
    splitter = ThinkSplitter()
    assert splitter.feed("a <") == ("a ", "")
    assert splitter.feed("b") == ("<b", "")
    assert splitter.flush() == ("", "")


async def test_length_finish_reason(client, fake_router):
    fake_router.queue(text_script("cut here", finish="length"))
    assert (await collect(client))[-1].reason == "length"


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (401, "auth", "HF_TOKEN"),
        (402, "credits", "credits"),
        (404, "unknown_model", "not available"),
        (429, "rate_limited", "Try again in 7 s"),
        (503, "provider_down", "503"),
    ],
)
async def test_http_errors_become_clear_messages(client, fake_router, status, kind, words):
    fake_router.queue([Status(status, headers={"retry-after": "7"} if status == 429 else {})])
    with pytest.raises(RouterError) as error:
        await collect(client, model="org/model")
    assert error.value.kind == kind
    assert words in str(error.value)
    assert error.value.before_first_token
    if status == 429:
        assert error.value.retry_after == 7


async def test_stream_cut_midway_keeps_partial(client, fake_router):
    fake_router.queue([chunk("partial "), chunk("answer"), Cut()])
    events = []
    with pytest.raises(RouterError) as error:
        async for event in client.stream_chat(ChatRequest("m", [{"role": "user", "content": "x"}], 10)):
            events.append(event)
    assert text_of(events) == "partial answer"
    assert not error.value.before_first_token
    assert error.value.kind in ("stream_cut", "garbled")


async def test_idle_timeout_between_tokens_not_total(client, fake_router):
    # 6 tokens 0.4 s apart = 2.4 s total, longer than the 1 s idle timeout: must finish
    fake_router.queue(text_script("abcdef", pieces=6, delay=0.4))
    assert text_of(await collect(client)) == "abcdef"
    fake_router.queue([chunk("a"), Sleep(2.0), chunk("b")])
    with pytest.raises(RouterError) as error:
        await collect(client)
    assert error.value.kind == "timeout"


async def test_garbage_chunk(client, fake_router):
    fake_router.queue([chunk("ok "), Raw(b"data: {not json\n\n"), chunk("more")])
    with pytest.raises(RouterError) as error:
        await collect(client)
    assert "could not read" in str(error.value) or error.value.kind in ("garbled", "stream_cut")


async def test_unreachable_router():
    client = RouterClient("http://127.0.0.1:9/v1", None, request_timeout=1, max_retries=0)
    with pytest.raises(RouterError) as error:
        await collect(client)
    assert error.value.kind == "unreachable"
    await client.close()


async def test_model_list_keeps_router_facts(client, fake_router):
    models = await client.list_models()
    llama = next(m for m in models if m["id"].startswith("meta-llama"))
    assert llama["providers"][0]["context_length"] == 131072


async def test_sse_comments_multiline_data_and_error_events(client, fake_router):
    # keep-alive comments between events, an event whose JSON spans two data lines, CRLF line ends
    multiline = b'data: {"choices": [{"index": 0,\ndata: "delta": {"content": "b"}, "finish_reason": null}]}\n\n'
    fake_router.queue([Raw(b": keep-alive\n\n"), chunk("a"), Raw(b":ping\r\n\r\n"), Raw(multiline), chunk("c")])
    assert text_of(await collect(client)) == "abc"
    # a provider error sent inside the stream ends it with the router's message, keeping what came before
    fake_router.queue([chunk("partial"), Raw(b'data: {"error": {"message": "overloaded", "code": 503}}\n\n')])
    events = []
    with pytest.raises(RouterError) as error:
        async for event in client.stream_chat(ChatRequest("m", [{"role": "user", "content": "x"}], 10)):
            events.append(event)
    assert text_of(events) == "partial" and not error.value.before_first_token
    assert error.value.kind == "provider_down" and "«overloaded»" in str(error.value)  # not a cut connection


async def test_idle_timeout_counts_only_waiting_for_the_router(client, fake_router):
    # the consumer holding the stream longer than the 1 s idle timeout is not the router being idle
    import asyncio

    fake_router.queue(text_script("abc", pieces=3))
    events = []
    async for event in client.stream_chat(ChatRequest("m", [{"role": "user", "content": "x"}], 10)):
        events.append(event)
        if isinstance(event, TextDelta):
            await asyncio.sleep(1.3)
    assert text_of(events) == "abc" and isinstance(events[-1], Finished)


class _Body:
    """A response whose body arrives in the given pieces (through `aiter_bytes`: httpx's decoding path)."""

    def __init__(self, pieces: list[bytes]):
        self.pieces, self.headers, self.request = pieces, {}, None

    async def aiter_bytes(self):
        for piece in self.pieces:
            yield piece


async def _chunks_of(pieces: list[bytes]) -> list[dict]:
    from core.router.client import sse_batches

    return [chunk async for batch in sse_batches(_Body(pieces)) for chunk in batch]


@pytest.mark.parametrize("cut", range(1, 40))
async def test_sse_lines_split_anywhere_across_reads(cut):
    # LF, CRLF and CR line ends, a CRLF and a multi-byte character split between two reads, a last line without
    # its end: the same chunks wherever the body is cut
    body = (
        b'data: {"n": 1, "t": "\xc3\xa9"}\r\n\r\n: ping\r'
        b'\rdata:{"n": 2}\n\ndata: {"n":\ndata: 3}\r\rdata: [DONE]\n\ndata: {"n": 4}'
    )
    expected = [{"n": 1, "t": "é"}, {"n": 2}, {"n": 3}]
    assert await _chunks_of([body[:cut], body[cut:]]) == expected
    assert await _chunks_of([body[i : i + 1] for i in range(len(body))]) == expected


async def test_a_body_ending_without_a_blank_line_keeps_its_last_chunk():
    assert await _chunks_of([b'data: {"n": 1}\n\ndata: {"n": 2}\n']) == [{"n": 1}]  # an event ends at a blank line
    assert await _chunks_of([b'data: {"n": 1}\n\ndata: {"n": 2}\n', b"\n"]) == [{"n": 1}, {"n": 2}]


async def test_the_sdk_s_aiohttp_response_is_read_directly(client, fake_router, monkeypatch):
    # the fast path (aiohttp's bytes, no httpx decoding layers) is the one a real stream takes
    import httpx2

    def refused(self, *args, **kwargs):
        raise AssertionError("read through httpx's decoders")

    monkeypatch.setattr(httpx2.Response, "aiter_bytes", refused)
    fake_router.queue(text_script("fast path", pieces=3))
    assert text_of(await collect(client)) == "fast path"


def _sse(*chunks: dict) -> bytes:
    import json

    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks)


async def test_chunks_read_together_go_on_as_one_delta_of_each_kind_in_order(client, fake_router):
    # five chunks in one write (a process behind on its reading finds them in one read): reasoning, then the
    # answer, each joined, in the order they came; the text is exact and nothing is lost or reordered
    together = _sse(chunk(reasoning="think "), chunk(reasoning="more"), chunk("Hel"), chunk("lo"), chunk(" you"))
    fake_router.queue([Raw(together), Sleep(0.2), chunk("!"), chunk(finish="stop")])
    events = [e for e in await collect(client) if isinstance(e, (TextDelta, ReasoningDelta))]
    assert events == [ReasoningDelta("think more"), TextDelta("Hello you"), TextDelta("!")]


async def test_chunks_the_fast_parser_refuses_are_read_as_the_standard_library_reads_them():
    # an emoji's surrogate halves split between two chunks (each a lone escape, which orjson refuses) and a NaN:
    # read as before; a chunk neither parser takes is still an error
    body = (
        b'data: {"choices": [{"delta": {"content": "\\ud83d"}}]}\n\n'
        b'data: {"choices": [{"delta": {"content": "\\ude00"}}], "x": NaN}\n\n'
        b'data: {"n": 1}\n\n'
    )
    chunks = await _chunks_of([body])
    assert [c.get("choices", [{}])[0].get("delta", {}).get("content") for c in chunks] == ["\ud83d", "\ude00", None]
    assert chunks[1]["x"] != chunks[1]["x"]  # NaN
    with pytest.raises(ValueError):
        await _chunks_of([b"data: {not json}\n\n"])


async def test_an_emoji_split_into_two_chunks_comes_out_whole(client, fake_router):
    # each half a lone surrogate escape in its own chunk (a provider's tokenizer cut it there): joined into 😀, in the
    # answer and in reasoning; a half with no partner becomes U+FFFD, so nothing downstream meets a lone surrogate
    def half(field: str, escape: str) -> Raw:
        delta = f'{{"choices": [{{"index": 0, "delta": {{"{field}": "{escape}"}}}}]}}'
        return Raw(b"data: " + delta.encode() + b"\n\n")

    fake_router.queue(
        [
            half("reasoning_content", "\\ud83e"),
            half("reasoning_content", "\\udd14 hm"),
            chunk("Smile: "),
            half("content", "\\ud83d"),
            half("content", "\\ude00"),
            chunk(" and a stray "),
            half("content", "\\ude00"),
            chunk("."),
            half("content", "\\ud83d"),
        ]
    )
    events = await collect(client)
    assert reasoning_of(events) == "🤔 hm"
    assert text_of(events) == "Smile: 😀 and a stray \ufffd.\ufffd"
    assert not any("\ud800" <= ch <= "\udfff" for e in events if isinstance(e, TextDelta) for ch in e.text)


async def test_an_error_read_with_text_before_it_keeps_that_text():
    from core.router.client import sse_batches
    from core.router.provider_errors import ProviderStreamError

    body = _sse(chunk("kept")) + b'data: {"error": "overloaded"}\n\n'
    batches = []
    with pytest.raises(ProviderStreamError):
        async for batch in sse_batches(_Body([body])):
            batches.append(batch)
    assert [[c["choices"][0]["delta"]["content"] for c in b] for b in batches] == [["kept"]]
