"""Formats whose values carry no types: a string parameter gets the text the model wrote back."""

from __future__ import annotations

import pytest

from hermitcrab import Conversation, tool
from hermitcrab.events import ToolCallEvent
from hermitcrab.prompting import get_parser
from hermitcrab.testing import ScriptedEngine

pytestmark = pytest.mark.anyio

QWEN3_CODER = (
    "<tool_call>\n<function=lookup>\n<parameter=code>\n007\n</parameter>\n"
    "<parameter=zip>\n12345\n</parameter>\n<parameter=version>\n3.10\n</parameter>\n"
    "<parameter=count>\n4\n</parameter>\n<parameter=note>\nnull\n</parameter>\n</function>\n</tool_call>"
)


@tool
def lookup(code: str, zip: str, version: str, count: int, note: str | None = "x") -> str:
    """Look something up."""
    return f"{code}|{zip!r}|{version!r}|{count!r}|{note!r}"


def test_parser_keeps_the_text_of_decoded_values() -> None:
    (call,) = get_parser("qwen3_coder").parse(QWEN3_CODER).tool_calls
    assert call.arguments == {"code": "007", "zip": 12345, "version": 3.1, "count": 4, "note": None}
    assert call.texts == {"zip": "12345", "version": "3.10", "count": "4", "note": "null"}
    assert "texts" not in call.model_dump()


@pytest.mark.parametrize(
    ("family", "text"),
    [
        ("qwen3_coder", QWEN3_CODER),
        (
            "minimax_m2",
            '<minimax:tool_call>\n<invoke name="lookup">\n<parameter name="code">007</parameter>\n'
            '<parameter name="zip">12345</parameter>\n<parameter name="version">3.10</parameter>\n'
            '<parameter name="count">4</parameter>\n<parameter name="note">null</parameter>\n'
            "</invoke>\n</minimax:tool_call>",
        ),
        (
            "glm4",
            "<tool_call>lookup\n<arg_key>code</arg_key>\n<arg_value>007</arg_value>\n"
            "<arg_key>zip</arg_key>\n<arg_value>12345</arg_value>\n<arg_key>version</arg_key>\n"
            "<arg_value>3.10</arg_value>\n<arg_key>count</arg_key>\n<arg_value>4</arg_value>\n"
            "<arg_key>note</arg_key>\n<arg_value>null</arg_value>\n</tool_call>",
        ),
    ],
)
async def test_string_parameters_get_the_text_typed_ones_the_value(family: str, text: str) -> None:
    engine = ScriptedEngine([text, "done"], parser=get_parser(family))
    conv = Conversation(engine, tools=[lookup])
    await conv.send("go")
    results = [m.text for m in conv.history if m.role == "tool"]
    # zip and version are strings as written (not 12345 refused, not "3.1"); count stays an int; an
    # optional string given null stays None (the schema takes null).
    assert results == ["007|'12345'|'3.10'|4|None"]


async def test_json_formats_are_untouched() -> None:
    engine = ScriptedEngine(
        [
            '<tool_call>{"name": "lookup", "arguments": '
            '{"code": "a", "zip": 12345, "version": "1", "count": 1}}</tool_call>',
            "done",
        ],
        parser=get_parser("hermes"),
    )
    conv = Conversation(engine, tools=[lookup])
    await conv.send("go")
    (result,) = [m.text for m in conv.history if m.role == "tool"]
    assert "Error" in result and "zip" in result


def test_streamed_calls_keep_the_text_too() -> None:
    parser = get_parser("qwen3_coder")
    events = [event for ch in QWEN3_CODER for event in parser.feed(ch)] + parser.finish()
    calls = [event.call for event in events if isinstance(event, ToolCallEvent)]
    (call,) = calls
    assert call.texts["version"] == "3.10"
