"""Property tests: any chunking gives the whole-reply result; garbage never raises."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hermitcrab.messages import Message, ToolCall
from hermitcrab.prompting import assemble_message, get_parser, parser_names

ALL_FORMATS = sorted({type(get_parser(name)).name for name in parser_names() if not name.startswith("test_")})

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
