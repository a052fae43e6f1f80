"""hermitcrab.prompting: tool-call and reasoning parsers for real model families, and format detection.

Quick use::

    from hermitcrab.prompting import get_parser, detect_parser

    parser = get_parser("hermes")                 # or detect_parser(tokenizer.chat_template)
    message = parser.parse(reply_text)            # text, reasoning and tool calls of a whole reply
    for chunk in stream:                          # or stream it: events as soon as they are known
        for event in parser.feed(chunk): ...
    for event in parser.finish(): ...

Engines call :func:`resolve_parser` with whatever the user passed (a name, a parser class or instance,
or ``None`` to detect from the chat template).
"""

from __future__ import annotations

from hermitcrab.prompting.base import ParserEvent, ToolCallParser, assemble_message
from hermitcrab.prompting.detection import detect_format, detect_parser
from hermitcrab.prompting.markup import Block, MalformedCall, MarkupParser
from hermitcrab.prompting.parsers import HermesParser, PlainParser, ReasoningParser
from hermitcrab.prompting.registry import get_parser, parser_names, register_parser, resolve_parser

__all__ = (
    "Block",
    "HermesParser",
    "MalformedCall",
    "MarkupParser",
    "ParserEvent",
    "PlainParser",
    "ReasoningParser",
    "ToolCallParser",
    "assemble_message",
    "detect_format",
    "detect_parser",
    "get_parser",
    "parser_names",
    "register_parser",
    "resolve_parser",
)
