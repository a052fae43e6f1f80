"""hermitcrab.prompting: tool-call and reasoning parsers for real model families, and format detection.

Quick use::

    from hermitcrab.prompting import get_parser, detect_parser

    parser = get_parser("hermes")                 # or detect_parser(tokenizer.chat_template)
    message = parser.parse(reply_text)            # text, reasoning and tool calls of a whole reply
    for chunk in stream:                          # or stream it: events as soon as they are known
        for event in parser.feed(chunk): ...
    for event in parser.finish(): ...

Engines call :func:`resolve_parser` with whatever the user passed (a name, a parser class or instance,
or ``None`` to detect from the chat template), then ``parser.for_prompt(prompt_text)`` once per
generation: it returns a fresh parser that starts inside ``<think>`` when the generation prompt opened
it. Feed the model's text *with* special tokens (``skip_special_tokens=False``): most markers are
special tokens. ``parser.stop_markers`` are the format's end-of-turn strings (stop generation on them;
the parser ignores anything after one).

Every family is one :class:`MarkupParser` subclass configured with :class:`Block` s, that declares
its name, aliases, template markers, stop markers and grammar as class attributes. A family of your own
is one such class, decorated with :func:`register_parser`: it is then found by :func:`get_parser`,
detected from chat templates and constrained (``HuggingEngine(constrained=True)``) like the built-in
ones::

    from hermitcrab.prompting import Block, MarkupParser, json_calls, register_parser

    @register_parser
    class AcmeParser(MarkupParser):
        name = "acme"
        template_markers = ("<acme_call>",)          # detection: a template that writes this
        stop_markers = ("<|acme_end|>",)
        blocks = (Block("<acme_call>", "calls", end=("</acme_call>",), decode=json_calls),)

The built-in families are reached by name (``get_parser("hermes")``, :func:`parser_names`), not as
exported classes.
"""

from __future__ import annotations

from typing import Any

from hermitcrab.prompting import _families  # registers the built-in families
from hermitcrab.prompting._base import ParserEvent, TemplateMarkers, ToolCallParser, assemble_message
from hermitcrab.prompting._counting import PromptCounts
from hermitcrab.prompting._decode import json_calls, python_calls
from hermitcrab.prompting._detection import detect_format, detect_parser
from hermitcrab.prompting._markup import Block, CallDecoder, MalformedCall, MarkupParser
from hermitcrab.prompting._pipeline import PromptPipeline
from hermitcrab.prompting._presets import VICUNA_SYSTEM, chatml_pipeline, llama2_pipeline, vicuna_pipeline
from hermitcrab.prompting._registry import (
    get_parser,
    parser_names,
    register_parser,
    resolve_parser,
    unregister_parser,
)
from hermitcrab.prompting._tool_formats import hermes_tool_call, hermes_tools_block
from hermitcrab.prompting._turns import Piece, RenderContext, RenderedPrompt, Step, Turn
from hermitcrab.prompting.templates import CHATML_HERMES_TEMPLATE

__all__ = (
    "CHATML_HERMES_TEMPLATE",
    "VICUNA_SYSTEM",
    "Block",
    "CallDecoder",
    "MalformedCall",
    "MarkupParser",
    "ParserEvent",
    "Piece",
    "PromptCounts",
    "PromptPipeline",
    "RenderContext",
    "RenderedPrompt",
    "Step",
    "TemplateMarkers",
    "ToolCallParser",
    "Turn",
    "assemble_message",
    "chatml_pipeline",
    "detect_format",
    "detect_parser",
    "get_parser",
    "hermes_tool_call",
    "hermes_tools_block",
    "json_calls",
    "llama2_pipeline",
    "parser_names",
    "python_calls",
    "register_parser",
    "resolve_parser",
    "unregister_parser",
    "vicuna_pipeline",
)


def __getattr__(name: str) -> Any:
    """The built-in family classes, once exported here (``HermesParser``...): still importable, with a
    deprecation warning, until the next release."""
    parsers = _families
    if name.endswith("Parser") and name in parsers.__all__:
        import warnings

        family = getattr(parsers, name).name
        warnings.warn(
            f"importing {name} from hermitcrab.prompting is deprecated: use get_parser({family!r}) for a "
            "parser, or type(get_parser(...)) for its class",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(parsers, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
