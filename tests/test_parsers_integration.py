"""Every parser family, end to end: a model writing that family's markup gets its tools called by a
Conversation (ScriptedEngine streams the raw text through the parser in small chunks)."""

# ruff: noqa: RUF001  (DeepSeek markers use fullwidth bars)
from __future__ import annotations

import pytest

from hermitcrab import Conversation, Message, ScriptedEngine, Tool, tool
from hermitcrab.prompting import get_parser

CALLS = {
    "hermes": '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>',
    "qwen3_coder": "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n"
    "</tool_call>",
    "llama3_json": '{"name": "get_weather", "parameters": {"city": "Paris"}}',
    "pythonic": '[get_weather(city="Paris")]',
    "mistral": '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "a1b2c3d4e"}]',
    "mistral_v11": '[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]{"city": "Paris"}',
    "deepseek_v3": "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
    '{"city": "Paris"}\n```<｜tool▁call▁end｜>',
    "deepseek_v31": '<｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"}<｜tool▁call▁end｜>',
    "harmony": "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>"
    '{"city": "Paris"}<|call|>',
    "phi4_mini": 'functools[{"name": "get_weather", "arguments": {"city": "Paris"}}]',
    "granite": '<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}]',
    "kimi_k2": '<|tool_call_begin|>functions.get_weather:0<|tool_call_argument_begin|>{"city": "Paris"}'
    "<|tool_call_end|>",
    "glm4": "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n</tool_call>",
    "gemma4": '<|tool_call>call:get_weather{city:<|"|>Paris<|"|>}<tool_call|>',
}


def make_tool(seen: list[str]) -> Tool[..., str]:
    @tool
    def get_weather(city: str) -> str:
        """Current weather in a city."""
        seen.append(city)
        return f"18 C in {city}"

    return get_weather


@pytest.mark.anyio
@pytest.mark.parametrize("family", sorted(CALLS))
async def test_a_model_writing_this_format_gets_its_tool_called(family: str) -> None:
    seen: list[str] = []
    engine = ScriptedEngine([CALLS[family], "It is 18 C in Paris."], parser=get_parser(family), chunk_size=3)
    async with Conversation(engine, tools=[make_tool(seen)]) as conversation:
        reply = await conversation.send("Weather in Paris?")
    assert seen == ["Paris"]
    assert reply.text == "It is 18 C in Paris."
    tool_messages = [m for m in engine.requests[1].messages if m.role == "tool"]
    assert [m.content for m in tool_messages] == ["18 C in Paris"]


@pytest.mark.anyio
async def test_a_malformed_call_reaches_the_model_as_an_error_it_can_fix() -> None:
    seen: list[str] = []
    engine = ScriptedEngine(
        [
            '<tool_call>{"name": "get_weather", "arguments": {"city": Paris}}</tool_call>',
            '<tool_call>{"name": "get_weather", "arguments": {"city": "Paris"}}</tool_call>',
            "Done.",
        ],
        parser=get_parser("qwen3"),
        chunk_size=2,
    )
    async with Conversation(engine, tools=[make_tool(seen)]) as conversation:
        reply = await conversation.send("Weather in Paris?")
    assert seen == ["Paris"]
    assert reply.text == "Done."
    errors: list[Message] = [m for m in engine.requests[1].messages if m.role == "tool"]
    assert len(errors) == 1 and errors[0].is_error
    assert "invalid JSON" in str(errors[0].content)
