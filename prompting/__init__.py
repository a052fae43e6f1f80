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

Every family is a :class:`MarkupParser` configured with :class:`Block` s; subclass it (and
:func:`register_parser` the class) to support a new format with the same streaming guarantees.
"""

from __future__ import annotations

from hermitcrab.prompting.base import ParserEvent, ToolCallParser, assemble_message
from hermitcrab.prompting.detection import detect_format, detect_parser
from hermitcrab.prompting.markup import Block, MalformedCall, MarkupParser
from hermitcrab.prompting.parsers import (
    ApertusParser,
    CommandR7BParser,
    CommandRParser,
    DeepSeekParser,
    DeepSeekV4Parser,
    DeepSeekV31Parser,
    DeepSeekV32Parser,
    FirefunctionParser,
    FunctionaryV31Parser,
    FunctionaryV32Parser,
    FunctionGemmaParser,
    Gemma4Parser,
    GigaChat3Parser,
    GLM4Parser,
    Granite20bFCParser,
    GraniteParser,
    GranitePythonicParser,
    HarmonyParser,
    HermesParser,
    HunyuanParser,
    HunyuanV3Parser,
    InternLM2Parser,
    KimiK2Parser,
    KimiK3Parser,
    LFM2Parser,
    Llama3JsonParser,
    LongCatParser,
    MiniMaxM1Parser,
    MiniMaxM2Parser,
    MistralParser,
    MistralV11Parser,
    NemotronParser,
    Olmo3Parser,
    Phi4MiniParser,
    PlainParser,
    PythonicParser,
    Qwen3CoderParser,
    ReasoningParser,
    SeedOSSParser,
    Step3Parser,
    XLAMParser,
)
from hermitcrab.prompting.pipeline import (
    VICUNA_SYSTEM,
    Piece,
    PromptCounts,
    PromptPipeline,
    RenderContext,
    RenderedPrompt,
    Step,
    Turn,
    chatml_pipeline,
    hermes_tool_call,
    hermes_tools_block,
    llama2_pipeline,
    vicuna_pipeline,
)
from hermitcrab.prompting.registry import get_parser, parser_names, register_parser, resolve_parser
from hermitcrab.prompting.templates import CHATML_HERMES_TEMPLATE

__all__ = (
    "CHATML_HERMES_TEMPLATE",
    "VICUNA_SYSTEM",
    "Piece",
    "PromptCounts",
    "PromptPipeline",
    "RenderContext",
    "RenderedPrompt",
    "Step",
    "Turn",
    "chatml_pipeline",
    "hermes_tool_call",
    "hermes_tools_block",
    "llama2_pipeline",
    "vicuna_pipeline",
    "ApertusParser",
    "Block",
    "CommandR7BParser",
    "CommandRParser",
    "DeepSeekParser",
    "DeepSeekV31Parser",
    "DeepSeekV32Parser",
    "FirefunctionParser",
    "FunctionaryV31Parser",
    "FunctionaryV32Parser",
    "GLM4Parser",
    "Gemma4Parser",
    "Granite20bFCParser",
    "GraniteParser",
    "HarmonyParser",
    "HermesParser",
    "HunyuanParser",
    "InternLM2Parser",
    "KimiK2Parser",
    "LFM2Parser",
    "Llama3JsonParser",
    "MalformedCall",
    "MarkupParser",
    "MiniMaxM1Parser",
    "MiniMaxM2Parser",
    "MistralParser",
    "MistralV11Parser",
    "NemotronParser",
    "ParserEvent",
    "Phi4MiniParser",
    "PlainParser",
    "PythonicParser",
    "Qwen3CoderParser",
    "ReasoningParser",
    "SeedOSSParser",
    "ToolCallParser",
    "XLAMParser",
    "DeepSeekV4Parser",
    "FunctionGemmaParser",
    "GigaChat3Parser",
    "GranitePythonicParser",
    "HunyuanV3Parser",
    "KimiK3Parser",
    "LongCatParser",
    "Olmo3Parser",
    "Step3Parser",
    "assemble_message",
    "detect_format",
    "detect_parser",
    "get_parser",
    "parser_names",
    "register_parser",
    "resolve_parser",
)
