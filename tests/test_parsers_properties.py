"""Property tests: any chunking gives the whole-reply result; garbage never raises."""
# ruff: noqa: RUF001  (DeepSeek markers use fullwidth bars)

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hermitcrab.messages import Message, ToolCall
from hermitcrab.prompting import MarkupParser, assemble_message, get_parser, parser_names

ALL_FORMATS = sorted({get_parser(name).name for name in parser_names() if not name.startswith("test_")})


def _markers_of(name: str) -> list[str]:
    """Every marker a format knows: block starts and ends, and stop markers."""
    parser = get_parser(name)
    out = set(parser.stop_markers)
    if isinstance(parser, MarkupParser):
        for block in parser.blocks:
            out.add(block.start)
            out.update(block.end)
    return sorted(m for m in out if m)


# Body fragments every family's calls are made of.
BODIES = [
    '{"name": "f", "arguments": {"a": 1}}',
    '[{"name": "f", "arguments": {"a": [1, "]"]}}]',
    '{"name": "g", "parameters": {"b": "x y"}}',
    '[f(a=1, b="x")]',
    'f[ARGS]{"a": 1}',
    "function<｜tool▁sep｜>f\n```json\n{}\n```",
    "<function=f>\n<parameter=a>\n1\n</parameter>\n</function>",
    '<invoke name="f"><parameter name="a">1</parameter></invoke>',
    "functions.f:0<|tool_call_argument_begin|>{}",
    "commentary to=functions.f <|constrain|>json<|message|>",
    "analysis<|message|>",
    'call:f{a:<|"|>x<|"|>}',
    "f\n<arg_key>a</arg_key><arg_value>1</arg_value>",
    "all\n",
    ">>>",
]

# Fragments of every family's markup, so random text hits markers, partial markers and bodies.
FRAGMENTS = [
    "<tool_call>",
    "</tool_call>",
    "<think>",
    "</think>",
    '{"name": "f", "arguments": {"a": 1}}',
    '{"name": "g", "parameters": {"b": "x y"}}',
    '{"name": "h"',
    "}",
    "{",
    "[",
    "]",
    '"',
    "\\",
    "\n",
    " ",
    "text ",
    "ünï ",
    "<|im_end|>",
]

settings.register_profile("parsers", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("parsers")


def shape(message: Message) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for part in message.parts:
        if isinstance(part, ToolCall):
            out.append(("call", part.name, part.arguments, part.error, part.raw))
        else:
            out.append((part.type, part.text))
    return out


def chunked(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(c, len(text)) for c in cuts})
    pieces, last = [], 0
    for p in points:
        pieces.append(text[last:p])
        last = p
    pieces.append(text[last:])
    return pieces


def streamed(name: str, chunks: list[str]) -> Message:
    parser = get_parser(name)
    events = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    events.extend(parser.finish())
    return assemble_message(events)


replies = st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=6)), max_size=25).map("".join)


@given(text=replies, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=30))
def test_hermes_any_chunking_equals_the_whole(text: str, cuts: list[int]) -> None:
    whole = get_parser("hermes").parse(text)
    assert shape(streamed("hermes", chunked(text, cuts))) == shape(whole)


@given(text=replies)
def test_hermes_one_character_at_a_time_equals_the_whole(text: str) -> None:
    assert shape(streamed("hermes", list(text))) == shape(get_parser("hermes").parse(text))


@given(text=st.text(max_size=200))
def test_hermes_random_text_never_raises(text: str) -> None:
    message = get_parser("hermes").parse(text)
    assert message.role == "assistant"


@st.composite
def format_replies(draw: st.DrawFn) -> tuple[str, str]:
    """A format name and a reply made of that format's markers, call bodies and random text."""
    name = draw(st.sampled_from(ALL_FORMATS))
    pieces = st.one_of(
        st.sampled_from(_markers_of(name) or ["x"]),
        st.sampled_from(BODIES),
        st.sampled_from(FRAGMENTS),
        st.text(max_size=5),
    )
    return name, "".join(draw(st.lists(pieces, max_size=20)))


@settings(max_examples=400)
@given(case=format_replies(), cuts=st.lists(st.integers(min_value=0, max_value=300), max_size=25))
def test_every_format_any_chunking_equals_the_whole(case: tuple[str, str], cuts: list[int]) -> None:
    name, text = case
    whole = get_parser(name).parse(text)
    assert shape(streamed(name, chunked(text, cuts))) == shape(whole)
    assert shape(streamed(name, list(text))) == shape(whole)


@settings(max_examples=300)
@given(name=st.sampled_from(ALL_FORMATS), text=st.text(max_size=150))
def test_every_format_random_garbage_never_raises(name: str, text: str) -> None:
    parser = get_parser(name)
    events = [*parser.feed(text[: len(text) // 2]), *parser.feed(text[len(text) // 2 :]), *parser.finish()]
    message = assemble_message(events)
    assert message.role == "assistant"
    for call in message.tool_calls:
        assert isinstance(call.arguments, dict)
        assert (call.error is None) or call.raw is not None
