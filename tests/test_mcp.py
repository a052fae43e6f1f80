"""MCPTools: an MCP server's tools as ordinary tools in a conversation, under asyncio and trio.

Most tests talk to ``tests/mcp_server.py`` in-process (``mcp.Client(server)``: fast, no subprocess);
the transport tests start it themselves as a stdio subprocess and as a streamable-HTTP server on
127.0.0.1, and kill it in the middle of a call.
"""

from __future__ import annotations

import importlib.metadata
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("mcp")

import mcp
import mcp_server
from mcp.types import ListToolsResult
from mcp.types import Tool as ServerTool

from hermitcrab import Conversation, MCPTools, ScriptedEngine, ToolResultEvent, tool
from hermitcrab.errors import ConfigurationError, MCPServerError, ToolDefinitionError, ToolExecutionError
from hermitcrab.tools import MCPTool

pytestmark = pytest.mark.anyio

SERVER = Path(mcp_server.__file__)


def call(name: str, **arguments: Any) -> str:
    """A Hermes tool call, as the scripted model writes it."""
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


@pytest.fixture
async def client() -> AsyncIterator[mcp.Client]:
    async with mcp.Client(mcp_server.server) as connected:
        yield connected


@pytest.fixture(autouse=True)
def _reset_calls() -> Iterator[None]:
    mcp_server.CALLS.clear()
    mcp_server.SLOW_RUNNING.update(now=0, most=0)
    yield
    mcp_server.CALLS.clear()


async def _results(conv: Conversation, text: str) -> list[ToolResultEvent]:
    return [e async for e in conv.stream(text) if isinstance(e, ToolResultEvent)]


def test_the_installed_sdk_is_in_the_pinned_2_x_range() -> None:
    """The adapter is written for mcp 2.x (MCPServer, streamable_http_client, snake_case results)."""
    major, minor = (int(part) for part in importlib.metadata.version("mcp").split(".")[:2])
    assert major == 2 and minor >= 3


# -- tools from the server -------------------------------------------------------------------------
async def test_server_tools_are_tools_with_the_servers_input_schema(client: mcp.Client) -> None:
    async with MCPTools(client) as tools:
        assert [t.name for t in tools] == ["add", "boom", "slow", "flaky", "crash", "media", "fs_read"]
        add = tools[0]
        assert isinstance(add, MCPTool) and add.is_async and add.server_name == "add"
        assert add.schema() == {
            "type": "function",
            "function": {
                "name": "add",
                "description": "Add two integers.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "a": {"type": "integer", "description": "The first number."},
                        "b": {"type": "integer", "description": "The second number."},
                    },
                    "required": ["a", "b"],
                },
            },
        }
        assert len(tools) == 7 and list(tools[:2]) == [tools[0], tools[1]]
        assert "add(a, b)" in repr(add) and "hermitcrab-test" in repr(tools)


async def test_a_conversation_calls_server_tools_next_to_local_tools(client: mcp.Client) -> None:
    @tool
    def double(x: int) -> int:
        """Double a number."""
        return 2 * x

    engine = ScriptedEngine([call("add", a=2, b=40) + call("double", x=21), "Both are 42."])
    async with MCPTools(client) as tools:
        conv = Conversation(engine, tools=[*tools, double])
        results = await _results(conv, "Add 2 and 40, and double 21.")
        assert [r.message.text for r in results] == ["42", "42"]
        assert not any(r.message.is_error for r in results)
        assert conv.history[-1].text == "Both are 42."
    assert mcp_server.CALLS == [("add", {"a": 2, "b": 40})]


async def test_arguments_are_validated_against_the_schema_before_the_call(client: mcp.Client) -> None:
    engine = ScriptedEngine([call("add", a="two", c=1), "Sorry."])
    async with MCPTools(client) as tools:
        (result,) = await _results(Conversation(engine, tools=tools), "Add.")
    assert result.message.is_error
    assert "Invalid arguments for tool 'add'" in result.message.text
    assert "'b' is a required property" in result.message.text
    assert '"loc": "a"' in result.message.text and "is not of type 'integer'" in result.message.text
    assert mcp_server.CALLS == []  # the server never saw the bad call


async def test_prefix_renames_and_include_exclude_pick_tools(client: mcp.Client) -> None:
    async with MCPTools(client, prefix="calc_", include=["add", "fs.read"]) as tools:
        assert [(t.name, t.server_name) for t in tools] == [("calc_add", "add"), ("calc_fs_read", "fs.read")]
        engine = ScriptedEngine([call("calc_fs_read", path="/etc/motd"), "Done."])
        (result,) = await _results(Conversation(engine, tools=tools), "Read it.")
        assert result.message.text == "contents of /etc/motd"
    async with MCPTools(client, exclude=["crash", "media", "fs.read", "boom"]) as tools:
        assert [t.name for t in tools] == ["add", "slow", "flaky"]


async def test_include_naming_a_missing_tool_is_a_configuration_error(client: mcp.Client) -> None:
    with pytest.raises(ConfigurationError, match="does not have: nope"):
        async with MCPTools(client, include=["add", "nope"]):
            pass


def test_bad_arguments_to_mcptools_are_configuration_errors() -> None:
    with pytest.raises(ConfigurationError, match=r"mcp\.Client or mcp\.ClientSession"):
        MCPTools("python server.py")
    with pytest.raises(ConfigurationError, match="prefix"):
        MCPTools.stdio("python", prefix="bad prefix")
    with pytest.raises(ConfigurationError, match="list of arguments"):
        MCPTools.stdio("python", "server.py")
    with pytest.raises(ConfigurationError, match="http"):
        MCPTools.http("127.0.0.1:8000/mcp")
    with pytest.raises(ConfigurationError, match="not open"):
        len(MCPTools.stdio("python", ["server.py"]))


# -- failures never hang or end the round ------------------------------------------------------------
async def test_a_server_error_result_reaches_the_model_and_the_round_goes_on(client: mcp.Client) -> None:
    engine = ScriptedEngine([call("boom"), "The disk is full, sorry."])
    async with MCPTools(client) as tools:
        conv = Conversation(engine, tools=tools)
        (result,) = await _results(conv, "Do it.")
        assert result.message.is_error
        assert "kaboom: the disk is full" in result.message.text
        assert conv.history[-1].text == "The disk is full, sorry."


async def test_a_call_past_its_timeout_is_an_error_result_and_the_round_goes_on(client: mcp.Client) -> None:
    engine = ScriptedEngine([call("slow", seconds=30), "Too slow."])
    async with MCPTools(client, timeout=0.2) as tools:
        started = time.perf_counter()
        (result,) = await _results(Conversation(engine, tools=tools), "Wait.")
        assert time.perf_counter() - started < 5
    assert result.message.is_error and "timed out after 0.2 s" in result.message.text


async def test_calls_of_one_reply_run_concurrently(client: mcp.Client) -> None:
    engine = ScriptedEngine([call("slow", seconds=0.4) + call("slow", seconds=0.4), "Done."])
    async with MCPTools(client) as tools:
        results = await _results(Conversation(engine, tools=tools), "Wait twice.")
    assert [r.message.text for r in results] == ["waited 0.4 s", "waited 0.4 s"]
    assert mcp_server.SLOW_RUNNING["most"] == 2  # both ran at once (timing it failed on a busy machine)


async def test_retry_on_retries_a_failed_call(client: mcp.Client) -> None:
    mcp_server._flaky_failures[0] = 1
    engine = ScriptedEngine([call("flaky"), "It worked."])
    async with MCPTools(client, include=["flaky"], retries=1, retry_on=MCPServerError) as tools:
        (result,) = await _results(Conversation(engine, tools=tools), "Try.")
    assert result.message.text == "worked" and not result.message.is_error
    assert mcp_server.CALLS == [("flaky", {}), ("flaky", {})]


async def test_tool_errors_raise_turns_a_server_error_into_tool_execution_error(client: mcp.Client) -> None:
    engine = ScriptedEngine([call("boom")])
    async with MCPTools(client) as tools:
        conv = Conversation(engine, tools=tools, tool_errors="raise")
        with pytest.raises(ToolExecutionError) as caught:
            await conv.send("Do it.")
        assert isinstance(caught.value.__cause__, MCPServerError)
        assert conv.history == ()


async def test_non_text_contents_are_described_not_dropped(client: mcp.Client) -> None:
    engine = ScriptedEngine([call("media"), "Done."])
    async with MCPTools(client) as tools:
        (result,) = await _results(Conversation(engine, tools=tools), "Show me.")
    assert result.message.text.splitlines() == [
        "Here is the chart.",
        "[image content: image/png, 108 bytes; not shown, this model reads text]",
        "[resource file:///notes.txt (text/plain)]",
        "buy milk",
        "[binary resource file:///data.bin (application/zip), 3 bytes; not shown]",
        "[resource link report <file:///report.pdf> (application/pdf)]",
    ]


async def test_awaiting_a_tool_directly_returns_the_servers_result(client: mcp.Client) -> None:
    async with MCPTools(client) as tools:
        result = await tools[0](a=1, b=2)
        assert result.structured_content == {"result": 3}
        with pytest.raises(MCPServerError, match="kaboom"):
            await tools[1]()


async def test_an_invalid_input_schema_is_a_tool_definition_error_naming_the_tool() -> None:
    class Session:
        async def list_tools(self) -> ListToolsResult:
            bad = ServerTool(name="bad", input_schema={"type": "object", "properties": {"x": {"type": 5}}})
            return ListToolsResult(tools=[bad])

        async def call_tool(self, name: str, arguments: dict[str, Any]) -> None:
            raise AssertionError("not called")

    with pytest.raises(ToolDefinitionError, match=r"tool 'bad'.*exclude=\['bad'\]"):
        async with MCPTools(Session()):
            pass


async def test_an_exception_inside_the_block_comes_out_as_it_was_raised() -> None:
    with pytest.raises(KeyError, match="mine"):
        async with MCPTools.stdio(sys.executable, [str(SERVER)], stderr=subprocess.DEVNULL):
            raise KeyError("mine")


# -- real transports, started by the tests ---------------------------------------------------------
async def test_stdio_server_subprocess_killed_mid_call_gives_error_results() -> None:
    engine = ScriptedEngine([call("add", a=1, b=2), call("crash"), call("add", a=3, b=4), "Gone."])
    async with MCPTools.stdio(sys.executable, [str(SERVER)], stderr=subprocess.DEVNULL) as tools:
        conv = Conversation(engine, tools=tools)
        with anyio.fail_after(30):
            results = await _results(conv, "Go.")
        assert results[0].message.text == "3"
        assert results[1].message.is_error and "onnection closed" in results[1].message.text
        assert results[2].message.is_error and "mcp_server.py" in results[2].message.text  # names the server
        assert conv.history[-1].text == "Gone."


async def test_stdio_server_that_cannot_start_is_an_mcp_server_error(tmp_path: Path) -> None:
    script = tmp_path / "broken.py"
    script.write_text("raise SystemExit(3)\n")
    with pytest.raises(MCPServerError, match="could not connect"), anyio.fail_after(30):
        async with MCPTools.stdio(sys.executable, [str(script)], stderr=subprocess.DEVNULL):
            pass


@pytest.fixture
def http_server() -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "http", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the MCP HTTP test server did not start") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        process.kill()
        process.wait()


async def test_streamable_http_server_calls_and_survives_the_server_dying_mid_call(http_server: str) -> None:
    engine = ScriptedEngine([call("add", a=20, b=22), call("crash"), "The server died."])
    async with MCPTools.http(http_server, headers={"X-Test": "1"}) as tools:
        conv = Conversation(engine, tools=tools)
        with anyio.fail_after(30):
            results = await _results(conv, "Go.")
        assert results[0].message.text == "42" and not results[0].message.is_error
        assert results[1].message.is_error
        assert conv.history[-1].text == "The server died."
