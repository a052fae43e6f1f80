"""A small MCP server (the official ``mcp`` SDK, 2.x) with the weather bot's two tools.

``examples/mcp_bot.py`` starts it over stdio and lets the demo model call it; so can the CLI:

    hermitcrab chat --mcp "python examples/mcp_weather_server.py" \
        --system "You are a helpful assistant with weather and unit tools."

Run it on its own over streamable HTTP with ``python examples/mcp_weather_server.py --http 8000``
(then ``MCPTools.http("http://127.0.0.1:8000/mcp")``). It reuses ``weather_bot.py``'s made-up weather:
no network.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Literal

from mcp.server.mcpserver import MCPServer
from pydantic import Field

sys.path.insert(0, str(Path(__file__).resolve().parent))

import weather_bot

server = MCPServer("weather")


@server.tool()
def get_weather(
    city: Annotated[str, Field(description='The city\'s name, e.g. "Lisbon".')],
    unit: Annotated[Literal["C", "F"], Field(description="Temperature unit, Celsius or Fahrenheit.")] = "C",
) -> str:
    """Current weather for a city."""
    return weather_bot.get_weather(city, unit)


@server.tool()
def convert_length(
    value: Annotated[float, Field(description="The length to convert.")],
    from_unit: Annotated[Literal["km", "mi"], Field(description="The unit of ``value``.")],
    to_unit: Annotated[Literal["km", "mi"], Field(description="The unit to convert to.")],
) -> float:
    """Convert a length between kilometres and miles."""
    return weather_bot.convert_length(value, from_unit, to_unit)


# The tools take no other arguments; say so in their schemas, as hermitcrab's @tool schemas do. (The
# demo model was trained on those exact schemas and is lost without this line; MCPServer has no
# public option for it, hence the registered tools' schemas are edited here.)
for registered in server._tool_manager.list_tools():
    registered.parameters["additionalProperties"] = False


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--http":
        server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()  # stdio
