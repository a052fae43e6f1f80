"""A small MCP server for the tests (mcp 2.x ``MCPServer``): used in-process by most tests, and run as
a subprocess over stdio (``python tests/mcp_server.py``) or streamable HTTP
(``python tests/mcp_server.py http PORT``) by the transport tests."""

from __future__ import annotations

import os
import signal
import sys
from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import BlobResourceContents, EmbeddedResource, ResourceLink, TextResourceContents
from pydantic import Field

server = MCPServer("hermitcrab-test")

CALLS: list[tuple[str, dict[str, Any]]] = []
"""Every call this (in-process) server ran, in order: (tool, arguments)."""

SLOW_RUNNING = {"now": 0, "most": 0}
"""How many ``slow`` calls this (in-process) server runs now, and the most that ever ran at once."""


@server.tool()
def add(
    a: Annotated[int, Field(description="The first number.")],
    b: Annotated[int, Field(description="The second number.")],
) -> int:
    """Add two integers."""
    CALLS.append(("add", {"a": a, "b": b}))
    return a + b


@server.tool()
def boom() -> str:
    """Always fails."""
    CALLS.append(("boom", {}))
    raise ToolError("kaboom: the disk is full")


@server.tool()
async def slow(seconds: float) -> str:
    """Wait, then answer."""
    CALLS.append(("slow", {"seconds": seconds}))
    SLOW_RUNNING["now"] += 1
    SLOW_RUNNING["most"] = max(SLOW_RUNNING["most"], SLOW_RUNNING["now"])
    try:
        await anyio.sleep(seconds)
    finally:
        SLOW_RUNNING["now"] -= 1
    return f"waited {seconds} s"


_flaky_failures = [1]


@server.tool()
def flaky() -> str:
    """Fails the first time it is called, then works."""
    CALLS.append(("flaky", {}))
    if _flaky_failures[0] > 0:
        _flaky_failures[0] -= 1
        raise ToolError("temporarily unavailable")
    return "worked"


@server.tool()
def crash() -> str:
    """Kills the server process in the middle of the call (SIGKILL, no reply)."""
    os.kill(os.getpid(), signal.SIGKILL)
    return "never"


@server.tool(structured_output=False)
def media() -> list[Any]:
    """Answers with text, an image, a text resource, a binary resource and a resource link."""
    return [
        "Here is the chart.",
        Image(data=b"\x89PNG\r\n\x1a\n" + bytes(100), format="png"),
        EmbeddedResource(
            type="resource",
            resource=TextResourceContents(uri="file:///notes.txt", mime_type="text/plain", text="buy milk"),
        ),
        EmbeddedResource(
            type="resource",
            resource=BlobResourceContents(uri="file:///data.bin", mime_type="application/zip", blob="AAAA"),
        ),
        ResourceLink(
            type="resource_link", name="report", uri="file:///report.pdf", mime_type="application/pdf"
        ),
    ]


@server.tool(name="fs.read")
def fs_read(path: str) -> str:
    """A tool whose name has a dot (MCP allows it; hermitcrab tool names do not)."""
    return f"contents of {path}"


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
