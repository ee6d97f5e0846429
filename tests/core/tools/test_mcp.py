"""MCP servers as tool sources: a tiny stdio server written here, its tools offered to the model,
the model's call reaching it, and its result (or error) going back."""

import json
import sys
import textwrap

import pytest

from core.tools.mcp import McpManager, parse_servers, tool_name
from tests.fakes.fake_router import text_script, tool_calls_script
from tests.support.chat import ask

SERVER = textwrap.dedent(
    '''
    import sys

    from mcp.server.mcpserver import MCPServer

    server = MCPServer("calc")


    @server.tool()
    def add(a: int, b: int) -> str:
        """Add two whole numbers."""
        with open(sys.argv[1], "a") as log:
            log.write(f"add {a} {b}\\n")
        return str(a + b)


    @server.tool()
    def divide(a: float, b: float) -> str:
        """Divide a by b."""
        return str(a / b)


    server.run()
    '''
)


@pytest.fixture
def mcp_config(tmp_path):
    script = tmp_path / "calc_server.py"
    script.write_text(SERVER)
    calls = tmp_path / "calls.txt"
    servers = [{"name": "calc", "command": sys.executable, "args": [str(script), str(calls)]}]
    return json.dumps(servers), calls


async def test_model_calls_an_mcp_tool_and_gets_its_result(core_factory, fake_router, mcp_config):
    servers, calls = mcp_config
    core = await core_factory(fake_router.url, mcp_servers=servers)
    fake_router.queue(tool_calls_script(("calc__add", {"a": 2, "b": 40}), pieces=3))
    fake_router.queue(text_script("2 + 40 = 42."))
    _, outcome, out = await ask(core, "What is 2 + 40? Use the calculator.")

    offered = {t["function"]["name"]: t["function"] for t in fake_router.requests[0]["tools"]}
    assert set(offered) == {"calc__add", "calc__divide"}  # no web tools: web search is off
    assert offered["calc__add"]["parameters"]["required"] == ["a", "b"]
    assert "Add two whole numbers." in offered["calc__add"]["description"]
    assert calls.read_text() == "add 2 40\n"  # the call reached the server
    tool_turn = [m for m in fake_router.requests[1]["messages"] if m["role"] == "tool"]
    assert tool_turn[0]["content"] == "42"
    assert out.texts() == ["2 + 40 = 42."] and outcome.state.status == "complete"
    assert any("`add` (calc)" in c.text for c in out.calls if c.kind in ("post", "edit"))


async def test_an_mcp_tool_error_goes_back_to_the_model(core_factory, fake_router, mcp_config):
    servers, _ = mcp_config
    core = await core_factory(fake_router.url, mcp_servers=servers)
    fake_router.queue(tool_calls_script(("calc__divide", {"a": 1, "b": 0})))
    fake_router.queue(text_script("You cannot divide by zero."))
    _, _, out = await ask(core, "1/0?")
    result = next(m for m in fake_router.requests[1]["messages"] if m["role"] == "tool")["content"]
    assert result.startswith("Error:")
    assert out.texts() == ["You cannot divide by zero."]


async def test_a_server_that_does_not_start_leaves_answers_alone(core_factory, fake_router, tmp_path):
    servers = json.dumps([{"name": "broken", "command": sys.executable, "args": [str(tmp_path / "missing.py")]}])
    core = await core_factory(fake_router.url, mcp_servers=servers)
    fake_router.queue(text_script("Plain answer."))
    _, _, out = await ask(core, "hi")
    assert "tools" not in fake_router.requests[-1] and out.texts() == ["Plain answer."]
    assert not core.chat.tools.mcp.connections[0].connected


def test_server_list_parsing():
    servers = parse_servers('[{"name": "fs", "command": "npx", "args": ["-y", "x"]}, {"url": "http://h/mcp"}]')
    assert [(s.name, s.command, s.args, s.url) for s in servers] == [
        ("fs", "npx", ("-y", "x"), None),
        ("mcp2", None, (), "http://h/mcp"),
    ]
    assert parse_servers("") == []
    for bad in (
        "{",
        '[{"name": "a"}]',
        '[{"url": "ftp://x"}]',
        '[{"command": "a"}, {"name": "mcp1", "url": "http://x"}]',
    ):
        with pytest.raises(ValueError):
            parse_servers(bad)
    assert tool_name("my server", "do.thing") == "my_server__do_thing"
    assert not McpManager([])
