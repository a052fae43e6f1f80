"""hermitcrab.tools: turn Python functions into tools a model can call.

``@tool`` reads a function's type hints and docstring and gives a :class:`Tool` with a clean JSON schema
(``tool.schema()`` is the chat-template / OpenAI shape), argument validation (``tool.validate``) and the
execution settings the runtime honours (``timeout``, ``retries``, ``retry_on``)::

    from hermitcrab.tools import tool

    @tool(timeout=10)
    async def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
        '''Current weather for a city.

        Args:
            city: The city's name, e.g. "Lisbon".
            unit: Temperature unit.
        '''

:class:`MCPTools` turns the tools of an MCP server into ``Tool`` objects (``hermitcrab[mcp]``).

Validation is pydantic's lax mode with unknown keys rejected; :func:`format_validation_error` turns a
failure into a message the model can act on, and :func:`result_to_text` turns return values into text.

Sync tools run in worker threads, and a thread cannot be killed: when a round is cancelled or a tool's
timeout expires, the round moves on at once but the function runs until it returns (possibly while
the next round runs). A long sync tool should check :func:`tool_cancelled` between steps and return
early. See ``docs/reliability.md``.
"""

from hermitcrab.tools._cancel import tool_cancelled
from hermitcrab.tools._mcp import MCPTool, MCPTools
from hermitcrab.tools._text import format_validation_error, result_to_text
from hermitcrab.tools._tool import Tool, as_tool, tool, tools_of

__all__ = (
    "MCPTool",
    "MCPTools",
    "Tool",
    "as_tool",
    "format_validation_error",
    "result_to_text",
    "tool",
    "tool_cancelled",
    "tools_of",
)
