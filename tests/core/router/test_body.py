"""The chat request body the router client builds itself (core.router.body): the JSON the SDK would have sent,
with each kept turn's JSON computed once."""

from __future__ import annotations

import json

from core.router.body import Turn, chat_body


def test_the_body_is_the_json_of_the_fields_and_the_messages():
    messages = [
        {"role": "system", "content": "be brief"},
        Turn(role="user", content='café 数据 "quoted" \\ back\nslash \u2028 and \x07'),
        {"role": "assistant", "content": None, "tool_calls": [{"id": "a", "type": "function"}]},
        Turn(role="user", content=[{"type": "text", "text": "an image"}]),
    ]
    fields = {"model": "m", "max_tokens": 5, "stream": True, "temperature": 0.5, "messages": ["ignored"]}
    body = chat_body(fields, messages)
    assert json.loads(body) == {**fields, "messages": messages}
    sdk = json.dumps({**fields, "messages": messages}, ensure_ascii=False, separators=(",", ":")).encode()
    assert len(body) == len(sdk)  # the same bytes, in another key order


def test_a_turn_is_serialised_once_however_often_it_is_sent():
    turn = Turn(role="user", content="x" * 1000)
    first = chat_body({"model": "m"}, [turn])
    assert turn.encoded() is turn.encoded()
    assert chat_body({"model": "m"}, [turn]) == first
