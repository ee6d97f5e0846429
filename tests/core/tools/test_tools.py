"""The tool loop against the scripted router: streamed tool calls, results sent back, errors fed back,
the round limit, the per-call time limit, progress while a tool runs, and when tools are offered."""

import asyncio
import json

from core.records import Scope
from core.router.client import ChatRequest, RouterClient, TextDelta, ToolCallsRequested
from core.streaming import PlatformLimits, ReplyStream
from core.streaming.throttle import Throttle
from core.tools.base import Tool, ToolError, ToolRegistry, ToolResult
from core.tools.loop import run_with_tools
from tests.fakes.fake_router import chunk, text_script, tool_call_chunk, tool_calls_script
from tests.support.chat import ALICE, KEY, ask
from tests.support.sinks import RecordingSink


def sink():
    return RecordingSink(PlatformLimits(max_chars=2000, edit_interval=0.01))


def echo_tool(calls: list, name: str = "lookup") -> Tool:
    async def handler(arguments):
        calls.append(arguments)
        return ToolResult(f"result for {arguments.get('q')}")

    return Tool(
        name,
        "Look something up.",
        {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]},
        handler,
        progress=lambda a: f"🔎 *Looking up “{a.get('q')}”…*",
    )


async def run(fake_router, registry, *, out=None, **limits):
    router = RouterClient(fake_router.url, "t", request_timeout=5, idle_timeout=5)
    out = out or sink()
    stream = ReplyStream(out, Throttle(0.01), model="m")
    request = ChatRequest(model="m", messages=[{"role": "user", "content": "question"}], max_tokens=100)
    try:
        state = await stream.run(run_with_tools(router, request, ["m"], registry, **limits))
    finally:
        await router.close()
    return state, out


def tool_messages(request: dict) -> list[dict]:
    return [m for m in request["messages"] if m["role"] == "tool"]


async def test_router_assembles_tool_calls_streamed_in_pieces(fake_router):
    fake_router.queue(
        [
            chunk("Let me check. "),
            tool_call_chunk(0, call_id="call_a", name="lookup", arguments=""),
            tool_call_chunk(1, call_id="call_b", name="lookup", arguments='{"q"'),
            tool_call_chunk(0, arguments='{"q": "pa'),
            tool_call_chunk(0, arguments='ris"}'),
            tool_call_chunk(1, arguments=': "rome"}'),
            chunk(finish="tool_calls"),
        ]
    )
    router = RouterClient(fake_router.url, "t")
    request = ChatRequest("m", [{"role": "user", "content": "x"}], 50, tools=[echo_tool([]).spec()])
    events = [e async for e in router.stream_chat(request)]
    await router.close()
    requested = next(e for e in events if isinstance(e, ToolCallsRequested))
    assert [(c.id, c.name, json.loads(c.arguments)) for c in requested.calls] == [
        ("call_a", "lookup", {"q": "paris"}),
        ("call_b", "lookup", {"q": "rome"}),
    ]
    assert requested.text == "Let me check. "
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Let me check. "
    assert fake_router.requests[-1]["tools"][0]["function"]["name"] == "lookup"


async def test_tool_results_go_back_and_the_final_answer_streams(fake_router):
    calls = []
    fake_router.queue(tool_calls_script(("lookup", {"q": "paris"}), pieces=4))
    fake_router.queue(text_script("Paris has 2.1 million people."))
    state, out = await run(fake_router, ToolRegistry([echo_tool(calls)]))
    assert calls == [{"q": "paris"}]
    assert out.texts() == ["Paris has 2.1 million people."]
    assert state.answer == "Paris has 2.1 million people." and state.status == "complete"
    second = fake_router.requests[1]["messages"]
    assistant = second[-2]
    assert assistant["role"] == "assistant" and assistant["tool_calls"][0]["function"]["name"] == "lookup"
    assert json.loads(assistant["tool_calls"][0]["function"]["arguments"]) == {"q": "paris"}
    assert second[-1] == {
        "role": "tool",
        "tool_call_id": assistant["tool_calls"][0]["id"],
        "content": "result for paris",
    }
    assert state.prompt_tokens == 5 + 11 and state.completion_tokens == 3 + 7  # both rounds counted


async def test_tool_errors_are_fed_back_to_the_model(fake_router):
    async def broken(arguments):
        raise RuntimeError("secret internals")

    async def refusing(arguments):
        raise ToolError("that city is not in the index")

    schema = {"type": "object", "properties": {}}
    registry = ToolRegistry([Tool("broken", "b", schema, broken), Tool("refusing", "r", schema, refusing)])
    fake_router.queue(tool_calls_script(("broken", {}), ("refusing", {}), ("missing", {}), ("refusing", "{not json")))
    fake_router.queue(text_script("Sorry, the tools failed."))
    state, out = await run(fake_router, registry)
    results = [m["content"] for m in tool_messages(fake_router.requests[1])]
    assert results[0] == "Error: `broken` failed (RuntimeError)."  # no exception text leaks
    assert results[1] == "Error: that city is not in the index"
    assert results[2].startswith("Error: there is no tool `missing`")
    assert results[3].startswith("Error: The arguments are not valid JSON")
    assert out.texts() == ["Sorry, the tools failed."] and state.status == "complete"


async def test_round_limit_forces_an_answer(fake_router):
    calls = []
    for i in range(5):
        fake_router.queue(tool_calls_script(("lookup", {"q": f"try {i}"})))
    fake_router.queue(text_script("Best answer I have."))
    state, _out = await run(fake_router, ToolRegistry([echo_tool(calls)]), max_rounds=2)
    assert len(calls) == 2
    assert len(fake_router.requests) == 3
    assert [r.get("tool_choice") for r in fake_router.requests] == [None, None, "none"]
    # the third script still asked for a tool: it is ignored, and the answer ends without it
    assert state.status == "complete"


async def test_per_call_time_limit(fake_router):
    async def slow(arguments):
        await asyncio.sleep(10)
        return "never"

    fake_router.queue(tool_calls_script(("slow", {})))
    fake_router.queue(text_script("The tool was too slow."))
    loop = asyncio.get_running_loop()
    started = loop.time()
    _state, out = await run(fake_router, ToolRegistry([Tool("slow", "s", {"type": "object"}, slow)]), call_timeout=0.3)
    assert loop.time() - started < 5
    assert tool_messages(fake_router.requests[1])[0]["content"] == "Error: `slow` did not finish within 0.3 seconds."
    assert out.texts() == ["The tool was too slow."]


async def test_progress_is_shown_while_a_tool_runs_and_removed_after(fake_router):
    release, shown_once = asyncio.Event(), asyncio.Event()
    out = sink()
    seen = []

    async def waiting(arguments):
        for _ in range(200):  # until the sink shows the progress line
            if any("Looking up “Paris”" in text for text in out.messages.values()):
                break
            await asyncio.sleep(0.01)
        seen.append(dict(out.messages))
        shown_once.set()
        await release.wait()
        return "done"

    tool = echo_tool([])
    tool.handler = waiting
    fake_router.queue(tool_calls_script(("lookup", {"q": "Paris"}), text="Checking."))
    fake_router.queue(text_script("Found it."))
    task = asyncio.create_task(run(fake_router, ToolRegistry([tool]), out=out))
    await asyncio.wait_for(shown_once.wait(), 5)
    release.set()
    state, _ = await task
    shown = "\n".join(seen[0].values())
    assert "Checking." in shown and "🔎 *Looking up “Paris”…*" in shown
    assert out.texts() == ["Checking.\n\nFound it."]
    assert "Looking up" not in state.answer


async def test_web_search_setting_and_model_support_decide_whether_tools_are_offered(core, fake_router):
    fake_router.queue(text_script("no tools"))
    await ask(core, "hello")
    assert "tools" not in fake_router.requests[-1]  # off by default

    await core.chat.preferences.set_option(ALICE, KEY, Scope.USER, "web_search", "on")
    fake_router.queue(text_script("with tools"))
    await ask(core, "hello again")
    names = [t["function"]["name"] for t in fake_router.requests[-1]["tools"]]
    assert names == ["web_search", "fetch_url"]

    await core.chat.preferences.set_model(ALICE, KEY, Scope.CONVERSATION, "google/gemma-3-27b-it")  # no tool support
    fake_router.queue(text_script("plain answer"))
    _, _, out = await ask(core, "and now?")
    assert "tools" not in fake_router.requests[-1] and out.texts() == ["plain answer"]


async def test_an_assistant_that_may_search_gets_tools_unless_switched_off(core, fake_router):
    await core.chat.assistants.create(ALICE, KEY, "Researcher", instructions="Look things up.", web_search=True)
    await core.chat.assistants.use(ALICE, KEY, "Researcher")
    fake_router.queue(text_script("ok"))
    await ask(core, "hi")
    assert [t["function"]["name"] for t in fake_router.requests[-1]["tools"]] == ["web_search", "fetch_url"]
    await core.chat.preferences.set_option(ALICE, KEY, Scope.CONVERSATION, "web_search", "off")
    fake_router.queue(text_script("ok"))
    await ask(core, "again")
    assert "tools" not in fake_router.requests[-1]
