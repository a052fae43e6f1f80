"""How prompt pipelines write tools and tool calls: Hermes / Qwen2.5 markup, bare JSON, a plain list."""

from __future__ import annotations

import json
from collections.abc import Sequence

from hermitcrab.messages import ToolCall
from hermitcrab.prompting._turns import ToolSchema

__all__ = ("hermes_tool_call", "hermes_tools_block", "json_tool_call", "plain_tools_block")


def hermes_tool_call(call: ToolCall) -> str:
    """``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>`` (Hermes / Qwen2.5 markup)."""
    args = json.dumps(call.arguments, ensure_ascii=False)
    return f'<tool_call>\n{{"name": "{call.name}", "arguments": {args}}}\n</tool_call>'


def json_tool_call(call: ToolCall) -> str:
    return json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)


def hermes_tools_block(tools: Sequence[ToolSchema]) -> str:
    """The tool description of the Hermes / Qwen2.5 chat template: schemas as JSON in ``<tools>``."""
    schemas = "".join("\n" + json.dumps(dict(t), ensure_ascii=False) for t in tools)
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
        + schemas
        + "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
        'within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
        "<args-json-object>}\n</tool_call>"
    )


def plain_tools_block(tools: Sequence[ToolSchema]) -> str:
    schemas = "\n".join(json.dumps(dict(t), ensure_ascii=False) for t in tools)
    return (
        "You can call these tools. To call one, answer with <tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>\n'
        f"Tools:\n{schemas}"
    )
