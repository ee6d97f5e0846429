"""Tool calls and their results are part of the stored conversation: the next turn's context and exports."""

import json

import pytest

from core.records import Scope, StoredMessage
from core.replies.context import fit_messages
from core.router.client import ChatRequest, TextDelta
from core.tools.base import Tool, ToolRegistry, ToolResult
from core.tools.loop import HISTORY_MIN_CHARS, HISTORY_RESULT_CHARS, HISTORY_TOTAL_CHARS, run_with_tools
from tests.fakes.fake_router import text_script, tool_calls_script
from tests.support.chat import ALICE, KEY, ask

GEMMA = "google/gemma-3-27b-it"  # no tools in the fake catalog


async def first_turn(core, fake_router):
    fake_router.queue(tool_calls_script(("web_search", {"query": "population of Paris"})))
    fake_router.queue(text_script("About 2.1 million people [1]."))
    submitted, outcome, _ = await ask(core, "How many people live in Paris?")
    return submitted, outcome


async def test_the_next_turn_carries_the_tool_call_and_its_result(searching_core, fake_router, fake_web):
    _, outcome = await first_turn(searching_core, fake_router)
    stored = await searching_core.store.get_message(outcome.reply_id)
    [call] = stored.extra["tools"]
    assert call["name"] == "web_search" and json.loads(call["arguments"]) == {"query": "population of Paris"}
    assert "capital of France" in call["result"]  # the page the search read
    assert len(call["result"]) <= HISTORY_RESULT_CHARS  # kept bounded (the model saw up to 12,000 characters)

    fake_router.queue(text_script("Paris is also the capital."))
    await ask(searching_core, "And what else?")
    messages = fake_router.requests[-1]["messages"]
    roles = [m["role"] for m in messages]
    assert roles == ["user", "assistant", "tool", "assistant", "user"]
    assert messages[0]["content"] == "How many people live in Paris?"
    [tool_call] = messages[1]["tool_calls"]
    assert tool_call["function"]["name"] == "web_search"
    assert json.loads(tool_call["function"]["arguments"]) == {"query": "population of Paris"}
    assert messages[2]["tool_call_id"] == tool_call["id"] and "capital of France" in messages[2]["content"]
    assert messages[3]["content"].startswith("About 2.1 million people [1].")
    assert messages[4]["content"] == "And what else?"


async def test_a_model_without_tools_gets_a_compact_summary(searching_core, fake_router, fake_web):
    await first_turn(searching_core, fake_router)
    await searching_core.chat.preferences.set_model(ALICE, KEY, Scope.CONVERSATION, GEMMA)
    fake_router.queue(text_script("Noted."), model=GEMMA)
    await ask(searching_core, "Thanks")
    messages = fake_router.requests[-1]["messages"]
    assert fake_router.requests[-1]["model"] == GEMMA
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    answer = messages[1]["content"]
    assert answer.startswith("[Tools used for this answer]\n- web_search(")
    assert "population of Paris" in answer and "capital of France" in answer
    assert "\n\nAbout 2.1 million people [1].\n\n**Sources:**" in answer  # the summary, then the answer as shown
    assert all("tool_calls" not in m for m in messages)


async def test_exports_show_the_tool_calls(searching_core, fake_router, fake_web):
    submitted, _ = await first_turn(searching_core, fake_router)
    markdown = await searching_core.chat.conversations.export_markdown(submitted.conversation.id, ALICE)
    assert '🛠️ `web_search` `{"query": "population of Paris"}`' in markdown
    assert "> " in markdown.split("🛠️", 1)[1] and "capital of France" in markdown
    assert markdown.index("🛠️") < markdown.index("About 2.1 million people")
    document = json.loads(await searching_core.chat.conversations.export_json(submitted.conversation.id, ALICE))
    [user, answer] = document["messages"]
    assert "tool_calls" not in user
    [call] = answer["tool_calls"]
    assert call["name"] == "web_search" and "capital of France" in call["result"]


def answer_with_tools(message_id: int, rounds: int, result: str) -> StoredMessage:
    calls = [
        {"round": r, "name": "fetch_url", "arguments": json.dumps({"url": f"https://e.com/{r}"}), "result": result}
        for r in range(rounds)
    ]
    return StoredMessage(role="assistant", content=f"answer {message_id}", id=message_id, extra={"tools": calls})


def test_an_answer_and_its_tool_calls_are_kept_or_dropped_together():
    history = [
        StoredMessage(role="user", content="first", id=1),
        answer_with_tools(2, 2, "x" * 1500),
        StoredMessage(role="user", content="second", id=3),
        answer_with_tools(4, 1, "short"),
        StoredMessage(role="user", content="third", id=5),
    ]
    roomy = fit_messages(history, system_prompt="", context_window=100_000, max_tokens=100, tools=True)
    roles = [m["role"] for m in roomy.messages]
    first = ["user", "assistant", "tool", "assistant", "tool", "assistant"]  # two rounds of tools, then the answer
    assert roles == [*first, "user", "assistant", "tool", "assistant", "user"]
    ids = [call["id"] for m in roomy.messages if "tool_calls" in m for call in m["tool_calls"]]
    assert len(ids) == len(set(ids)) == 3  # unique ids, even when providers reuse theirs across turns
    # 2 x 1500 characters of results do not fit in 1,000 tokens: that answer goes whole, with its question
    tight = fit_messages(history, system_prompt="", context_window=2000, max_tokens=1000, tools=True)
    assert [m["role"] for m in tight.messages] == ["user", "assistant", "tool", "assistant", "user"]
    assert tight.messages[0]["content"] == "second" and tight.dropped == 2


@pytest.mark.parametrize("stored", ['{"url": "https://e.com/a', "not json"])
def test_clipped_arguments_are_still_sent_as_a_json_object(stored):
    message = StoredMessage(
        role="assistant",
        content="done",
        id=7,
        extra={"tools": [{"round": 0, "name": "fetch_url", "arguments": stored, "result": "r"}]},
    )
    fitted = fit_messages(
        [StoredMessage(role="user", content="q", id=6), message, StoredMessage(role="user", content="q2", id=8)],
        system_prompt="",
        context_window=10_000,
        max_tokens=100,
        tools=True,
    )
    sent = fitted.messages[1]["tool_calls"][0]["function"]["arguments"]
    assert isinstance(json.loads(sent), dict) and stored in json.loads(sent).values()


async def test_what_is_kept_of_many_large_results_is_bounded(core, fake_router):
    async def report(arguments: dict) -> ToolResult:
        return ToolResult(f"report {arguments['n']}: " + "data " * 2000)  # 10,000 characters each

    registry = ToolRegistry([Tool("report", "A long report.", {"type": "object"}, report)])
    fake_router.queue(tool_calls_script(*[("report", {"n": n}) for n in range(8)]))
    fake_router.queue(text_script("Summed up."))
    record: list[dict] = []
    request = ChatRequest("meta-llama/Llama-3.3-70B-Instruct", [{"role": "user", "content": "go"}], 100)
    events = [e async for e in run_with_tools(core.router, request, [request.model], registry, record=record)]
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Summed up."
    assert [json.loads(r["arguments"])["n"] for r in record] == list(range(8))
    assert all(r["result"].startswith(f"report {n}: data") for n, r in enumerate(record))
    assert all(len(r["result"]) <= HISTORY_RESULT_CHARS for r in record)
    assert sum(len(r["result"]) for r in record) <= HISTORY_TOTAL_CHARS + 4 * HISTORY_MIN_CHARS
    sent = [m for m in fake_router.requests[-1]["messages"] if m["role"] == "tool"]
    assert all(len(m["content"]) == 10_010 for m in sent)  # the model itself got every result whole
