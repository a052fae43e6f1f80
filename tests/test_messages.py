"""Messages: constructors, views, immutability and conversion to and from chat-template/OpenAI dicts."""

from __future__ import annotations

import pydantic
import pytest

from hermitcrab import Message, ReasoningPart, TextPart, ToolCall, Usage


def test_plain_assistant_message_stays_a_string() -> None:
    m = Message.assistant("hi")
    assert m.content == "hi"
    assert m.text == "hi" and m.reasoning is None and m.tool_calls == ()


def test_parts_views() -> None:
    call = ToolCall(id="c1", name="f", arguments={"x": 1})
    m = Message.assistant("answer", reasoning="why", tool_calls=[call])
    assert m.parts == (ReasoningPart(text="why"), TextPart(text="answer"), call)
    assert m.text == "answer" and m.reasoning == "why" and m.tool_calls == (call,)


def test_messages_are_immutable() -> None:
    m = Message.user("hi")
    with pytest.raises(pydantic.ValidationError):
        m.content = "changed"  # type: ignore[misc]


def test_hf_dict_round_trip() -> None:
    call = ToolCall(id="c1", name="get_weather", arguments={"city": "Zürich", "days": [1, 2]})
    messages = [
        Message.system("sys"),
        Message.user("hi"),
        Message.assistant("let me check", reasoning="need weather", tool_calls=[call]),
        Message.tool_result(call, "sunny"),
        Message.assistant("It is sunny."),
    ]
    dicts = [m.to_dict() for m in messages]
    assert dicts[2] == {
        "role": "assistant",
        "content": "let me check",
        "reasoning_content": "need weather",
        "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "get_weather", "arguments": call.arguments}}
        ],
    }
    assert dicts[3] == {"role": "tool", "content": "sunny", "tool_call_id": "c1", "name": "get_weather"}
    assert [Message.from_dict(d) for d in dicts] == messages


def test_openai_dict_encodes_arguments_as_json() -> None:
    call = ToolCall(id="c1", name="f", arguments={"a": "é"})
    d = Message.assistant(tool_calls=[call]).to_dict(style="openai")
    assert d["content"] is None
    assert d["tool_calls"][0]["function"]["arguments"] == '{"a": "é"}'
    assert Message.from_dict(d).tool_calls == (call,)


def test_from_dict_accepts_content_parts_and_bad_arguments() -> None:
    m = Message.from_dict(
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    )
    assert m.text == "ab"
    bad = Message.from_dict(
        {"role": "assistant", "tool_calls": [{"id": "1", "function": {"name": "f", "arguments": "{oops"}}]}
    )
    assert bad.tool_calls[0].is_malformed
    assert bad.tool_calls[0].raw == "{oops"
    with pytest.raises(ValueError, match="role"):
        Message.from_dict({"role": "wizard", "content": "x"})


def test_usage_adds_up() -> None:
    total = Usage(10, 2, 1, 1) + Usage(5, 3, 0, 1)
    assert total == Usage(prompt_tokens=15, completion_tokens=5, cached_tokens=1, requests=2)
    assert total.total_tokens == 20
    assert Usage.from_dict(total.to_dict()) == total
