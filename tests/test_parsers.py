"""The parser registry, the streaming machinery and the Hermes/Qwen parser."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from hermitcrab.errors import ConfigurationError
from hermitcrab.events import ReasoningDelta, TextDelta, ToolCallEvent
from hermitcrab.messages import Message, ToolCall
from hermitcrab.prompting import (
    Block,
    MarkupParser,
    ToolCallParser,
    assemble_message,
    get_parser,
    parser_names,
    register_parser,
    resolve_parser,
)
from hermitcrab.prompting._families import HermesParser


def shape(message: Message) -> list[tuple[Any, ...]]:
    """A message's parts without call ids (random per call)."""
    out: list[tuple[Any, ...]] = []
    for part in message.parts:
        if isinstance(part, ToolCall):
            out.append(("call", part.name, part.arguments, part.error is not None))
        else:
            out.append((part.type, part.text))
    return out


def stream(parser: ToolCallParser, chunks: list[str]) -> Message:
    events = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.finish())
    return assemble_message(events)


def chars(text: str) -> list[str]:
    return list(text)


# -- registry -------------------------------------------------------------------------------------
def test_get_parser_returns_a_new_instance_each_call() -> None:
    first, second = get_parser("hermes"), get_parser("hermes")
    assert isinstance(first, HermesParser)
    assert first is not second


@pytest.mark.parametrize("alias", ["qwen2.5", "qwen3", "Qwen2_5", "QWEN3", "qwq"])
def test_hermes_aliases_resolve_to_the_hermes_parser(alias: str) -> None:
    parser = get_parser(alias)
    assert isinstance(parser, HermesParser)
    assert parser.name == "hermes"


def test_unknown_parser_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"known names:.*hermes"):
        get_parser("no-such-format")


def test_register_parser_refuses_a_taken_name_unless_replace() -> None:
    class Mine(HermesParser):
        name: ClassVar[str] = "hermes"

    with pytest.raises(ConfigurationError, match="already registered"):
        register_parser(Mine)


def test_register_parser_adds_a_user_format() -> None:
    class Bracket(MarkupParser):
        """``<<name {json}>>`` calls, for the test."""

        name: ClassVar[str] = "test-bracket-format"
        blocks: ClassVar[tuple[Block, ...]] = (
            Block(
                "<<",
                "calls",
                end=(">>",),
                decode=lambda body: [ToolCall(name=body.split()[0], arguments={"raw": body})],
            ),
        )

    register_parser(Bracket, names=("test-bracket-alias",), replace=True)
    assert "test_bracket_format" in parser_names()
    message = get_parser("test-bracket-alias").parse("hi <<ping 1>>")
    assert shape(message) == [("text", "hi "), ("call", "ping", {"raw": "ping 1"}, False)]


def test_register_parser_rejects_non_parsers_and_nameless_classes() -> None:
    class Nameless(MarkupParser):
        pass

    with pytest.raises(ConfigurationError, match="ToolCallParser subclass"):
        register_parser(dict)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="has no `name`"):
        register_parser(Nameless)


def test_resolve_parser_accepts_names_classes_instances_and_none() -> None:
    assert isinstance(resolve_parser("qwen3"), HermesParser)
    assert isinstance(resolve_parser(HermesParser), HermesParser)
    mine = HermesParser()
    resolved = resolve_parser(mine)
    assert isinstance(resolved, HermesParser)
    assert resolved is not mine
    assert isinstance(resolve_parser(None, None), HermesParser)
    unknown_tool_template = "{% for t in tools %}{{ t | tojson }}{% endfor %}{{ messages }}"
    assert isinstance(resolve_parser(None, unknown_tool_template), HermesParser)
    no_tools_template = "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}"
    assert resolve_parser(None, no_tools_template).name == "plain"


def test_resolve_parser_rejects_other_values() -> None:
    with pytest.raises(ConfigurationError, match="a parser must be"):
        resolve_parser(42)  # type: ignore[arg-type]


# -- Hermes / Qwen: whole replies -----------------------------------------------------------------
def test_hermes_parses_text_reasoning_and_several_calls() -> None:
    reply = (
        "<think>\nThe user wants weather for two cities.\n</think>\n\n"
        "Let me check both.\n"
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Tokyo", "unit": "c"}}\n</tool_call>'
    )
    message = get_parser("qwen3").parse(reply)
    assert message.reasoning == "The user wants weather for two cities.\n"
    assert message.text == "Let me check both.\n"
    calls = message.tool_calls
    assert [c.name for c in calls] == ["get_weather", "get_weather"]
    assert calls[0].arguments == {"city": "Paris"}
    assert calls[1].arguments == {"city": "Tokyo", "unit": "c"}
    assert all(c.error is None for c in calls)
    assert calls[0].id != calls[1].id
    assert all(c.id.startswith("call_") for c in calls)


def test_hermes_keeps_nested_json_and_unicode_arguments() -> None:
    reply = (
        '<tool_call>{"name": "book", "arguments": {"guest": {"name": "Zoë 山田", "tags": ["vip", "</x>"]},'
        ' "nights": 3, "note": "a \\"quoted\\" }"}}</tool_call>'
    )
    (call,) = get_parser("hermes").parse(reply).tool_calls
    assert call.name == "book"
    assert call.arguments == {
        "guest": {"name": "Zoë 山田", "tags": ["vip", "</x>"]},
        "nights": 3,
        "note": 'a "quoted" }',
    }


def test_hermes_text_only_reply_is_a_plain_string_message() -> None:
    message = get_parser("hermes").parse("Hello! How can I help?")
    assert message.content == "Hello! How can I help?"
    assert message.tool_calls == ()


def test_hermes_accepts_parameters_key_string_arguments_and_a_list_body() -> None:
    reply = (
        '<tool_call>{"name": "a", "parameters": {"x": 1}}</tool_call>'
        '<tool_call>{"name": "b", "arguments": "{\\"y\\": 2}"}</tool_call>'
        '<tool_call>[{"name": "c", "arguments": {}}, {"name": "d"}]</tool_call>'
    )
    calls = get_parser("hermes").parse(reply).tool_calls
    assert [(c.name, c.arguments) for c in calls] == [("a", {"x": 1}), ("b", {"y": 2}), ("c", {}), ("d", {})]


def test_hermes_bad_json_becomes_a_malformed_call_with_a_useful_error() -> None:
    reply = 'Calling.<tool_call>{"name": "get_weather", "arguments": {"city": Paris}}</tool_call>'
    message = get_parser("hermes").parse(reply)
    (call,) = message.tool_calls
    assert call.name == "get_weather"
    assert call.arguments == {}
    assert call.error is not None and "invalid JSON" in call.error
    assert call.raw == '<tool_call>{"name": "get_weather", "arguments": {"city": Paris}}</tool_call>'
    assert message.text == "Calling."


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('{"arguments": {}}', 'no "name"'),
        ('{"name": "f", "arguments": [1, 2]}', "must be a JSON object"),
        ('{"name": "f", "arguments": "not json"}', "not a JSON object"),
        ("   ", "empty"),
        ('"just a string"', "must be a JSON object"),
    ],
)
def test_hermes_wrong_call_structures_are_reported(body: str, fragment: str) -> None:
    (call,) = get_parser("hermes").parse(f"<tool_call>{body}</tool_call>").tool_calls
    assert call.error is not None
    assert fragment in call.error


def test_hermes_complete_call_whose_closing_tag_never_came_is_a_call() -> None:
    message = get_parser("hermes").parse('Sure <tool_call>{"name": "get_time", "arguments": {"tz": "UTC"}}')
    (call,) = message.tool_calls
    assert (call.name, call.arguments, call.error) == ("get_time", {"tz": "UTC"}, None)
    assert message.text == "Sure "


def test_hermes_call_cut_off_mid_json_is_malformed() -> None:
    reply = 'Sure <tool_call>{"name": "get_time", "arguments": {"tz": "UT'
    message = get_parser("hermes").parse(reply)
    (call,) = message.tool_calls
    assert call.name == "get_time"
    assert call.error is not None and "cut off" in call.error and "</tool_call>" in call.error
    assert call.raw == '<tool_call>{"name": "get_time", "arguments": {"tz": "UT'


def test_hermes_stop_marker_ends_the_reply() -> None:
    message = get_parser("hermes").parse("Hi there<|im_end|>\n<|im_start|>user\nignored")
    assert message.content == "Hi there"


def test_hermes_stop_marker_inside_a_call_leaves_it_unclosed() -> None:
    (call,) = get_parser("hermes").parse('<tool_call>{"name": "f"<|im_end|>').tool_calls
    assert call.error is not None and "cut off" in call.error


def test_for_prompt_starts_in_reasoning_when_the_prompt_opened_think() -> None:
    prompt = "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n<think>\n"
    parser = get_parser("qwq").for_prompt(prompt)
    message = parser.parse('I should greet.\n</think>\n\nHello!<tool_call>{"name": "wave"}</tool_call>')
    assert message.reasoning == "I should greet.\n"
    assert message.text == "Hello!"
    assert [c.name for c in message.tool_calls] == ["wave"]
    closed = "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    assert get_parser("qwen3").for_prompt(closed).parse("Hello!").content == "Hello!"


def test_stray_think_end_is_removed_from_text() -> None:
    assert get_parser("hermes").parse("reasoning\n</think>\n\nanswer").content == "reasoning\n\n\nanswer"


def test_parse_does_not_disturb_a_stream_in_progress() -> None:
    parser = get_parser("hermes")
    events = parser.feed("Hello <tool_")
    assert parser.parse("other text").content == "other text"
    events += parser.feed('call>{"name": "f"}</tool_call>')
    events += parser.finish()
    message = assemble_message(events)
    assert shape(message) == [("text", "Hello "), ("call", "f", {}, False)]


# -- Hermes / Qwen: streaming -----------------------------------------------------------------------
HERMES_REPLY = (
    "<think>\nPlan: call twice.\n</think>\n\nChecking…\n"
    '<tool_call>\n{"name": "get_weather", "arguments": {"city": "São Paulo"}}\n</tool_call>\n'
    '<tool_call>\n{"name": "convert", "arguments": {"value": 3, "to": "<tool_call>"}}\n</tool_call>\n'
    'Done.<tool_call>{"name": oops}</tool_call>tail'
)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 11, 64, 10_000])
def test_hermes_any_chunk_size_gives_the_whole_reply_result(size: int) -> None:
    whole = get_parser("hermes").parse(HERMES_REPLY)
    chunks = [HERMES_REPLY[i : i + size] for i in range(0, len(HERMES_REPLY), size)]
    assert shape(stream(get_parser("hermes"), chunks)) == shape(whole)
    assert len(whole.tool_calls) == 3


def test_hermes_text_is_emitted_as_soon_as_it_cannot_be_a_marker() -> None:
    parser = get_parser("hermes")
    assert parser.feed("Hello <to") == [TextDelta("Hello ")]
    assert parser.feed("p") == [TextDelta("<top")]
    assert parser.feed(" <tool_ca") == [TextDelta(" ")]
    assert parser.feed('ll>{"name": "f"') == []
    (event,) = parser.feed("}</tool_call>")
    assert isinstance(event, ToolCallEvent) and event.call.name == "f"
    assert parser.feed("<thi") == []
    assert parser.feed("nk>why") == [ReasoningDelta("why")]
    assert parser.feed("</thi") == []
    assert parser.feed("nk>ok") == [TextDelta("ok")]
    assert parser.finish() == []


def test_hermes_call_is_emitted_as_soon_as_it_closes() -> None:
    parser = get_parser("hermes")
    events = parser.feed('<tool_call>{"name": "a"}</tool_call><tool_call>{"name": "b"')
    assert [e.call.name for e in events if isinstance(e, ToolCallEvent)] == ["a"]
    events = parser.feed("}</tool_call>")
    assert [e.call.name for e in events if isinstance(e, ToolCallEvent)] == ["b"]


def test_parser_is_reusable_after_finish() -> None:
    parser = get_parser("hermes")
    parser.feed("<tool_call>{")
    (event,) = parser.finish()
    assert isinstance(event, ToolCallEvent) and event.call.error
    assert parser.feed("plain") == [TextDelta("plain")]
    assert parser.finish() == []


def test_clone_keeps_configuration_but_not_state() -> None:
    parser = get_parser("qwq").for_prompt("<think>\n")
    parser.feed("half a thought")
    fresh = parser.clone()
    assert fresh.parse("x</think>y").reasoning == "x"
