# ruff: noqa: RUF001, RUF002  (DeepSeek markers really use fullwidth bars)
"""The built-in tool-call parsers, one class per model family, registered by format name.

Every parser here is a :class:`~hermitcrab.prompting._markup.MarkupParser`: a family is a handful of
:class:`~hermitcrab.prompting._markup.Block` s plus the end-of-turn ``stop_markers``. Parsers expect the
model's text *with* its special tokens (decode with ``skip_special_tokens=False``): markers such as
``<|python_tag|>`` or ``[TOOL_CALLS]`` are special tokens in most tokenizers.

Call ids come from the model when the format carries them (Mistral ``[CALL_ID]`` and ``"id"``, Kimi's
``functions.name:0``, Command R7B's ``tool_call_id``), otherwise from
:func:`~hermitcrab.messages.new_call_id` (random: compare parse results ignoring ids).
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

from hermitcrab.messages import ToolCall
from hermitcrab.prompting._base import TemplateMarkers
from hermitcrab.prompting._decode import (
    _args_object,
    call_from_object,
    deepseek_calls,
    gemma4_calls,
    glm_calls,
    invoke_xml_calls,
    json_calls,
    json_error,
    kimi_calls,
    loads,
    named_args_calls,
    named_json_calls,
    python_calls,
    qwen_xml_calls,
    untyped_arguments,
    xtml_calls,
)
from hermitcrab.prompting._markup import Block, CallDecoder, MalformedCall, MarkupParser
from hermitcrab.prompting._registry import register_parser

__all__ = (
    "ApertusParser",
    "CommandR7BParser",
    "CommandRParser",
    "DotsParser",
    "DeepSeekParser",
    "DeepSeekV31Parser",
    "DeepSeekV32Parser",
    "DeepSeekV4Parser",
    "FirefunctionParser",
    "FunctionGemmaParser",
    "FunctionaryV31Parser",
    "FunctionaryV32Parser",
    "Gemma4Parser",
    "GigaChat3Parser",
    "GigaChat35Parser",
    "GLM4Parser",
    "Granite20bFCParser",
    "GraniteParser",
    "GranitePythonicParser",
    "HarmonyParser",
    "HermesParser",
    "HunyuanParser",
    "HunyuanV3Parser",
    "HyperCLOVAXSeedThink14BParser",
    "HyperCLOVAXSeedThinkParser",
    "IQuestCoderV2Parser",
    "InternLM2Parser",
    "K2HorizonParser",
    "KimiK2Parser",
    "KimiK3Parser",
    "LFM2Parser",
    "Llama3JsonParser",
    "LongCatParser",
    "MiniMaxM1Parser",
    "MiniMaxM2Parser",
    "MistralParser",
    "MistralV11Parser",
    "NemotronParser",
    "Olmo3Parser",
    "Phi4MiniParser",
    "PlainParser",
    "Plamo3Parser",
    "PythonicParser",
    "Qwen3CoderParser",
    "SolarOpen2Parser",
    "ReasoningParser",
    "SeedOSSParser",
    "Step3Parser",
    "XLAMParser",
)

THINK = Block("<think>", "reasoning", end=("</think>",), strip=True)
"""``<think>...</think>`` reasoning, shared by many families."""
STRAY_THINK_END = Block("</think>", "drop")
"""A ``</think>`` with no opening tag (the prompt opened it) is removed from the text."""
_CHATML_STOPS = ("<|im_end|>", "<|endoftext|>")
_LLAMA_STOPS = ("<|eot_id|>", "<|eom_id|>", "<|end_of_text|>")


def _drop(*markers: str) -> tuple[Block, ...]:
    return tuple(Block(m, "drop") for m in markers)


# -- confirmations for implicit starts ---------------------------------------------------------------
_CONFIRM_LIMIT = 64
_CALL_KEYS = ("name", "type", "function")


def _confirm_json_call(text: str) -> bool | None:
    """``{`` opens a Llama-style call when its first key is "name", "type" or "function"."""
    probe = text[1 : 1 + _CONFIRM_LIMIT]
    rest = probe.lstrip()
    if not rest:
        return None if len(probe) < _CONFIRM_LIMIT else False
    if rest[0] != '"':
        return False
    key, closed, _ = rest[1:].partition('"')
    if closed:
        return key in _CALL_KEYS
    if any(k.startswith(key) for k in _CALL_KEYS) and len(probe) < _CONFIRM_LIMIT:
        return None
    return False


def _confirm_json_list(text: str) -> bool | None:
    """``[`` opens a bare JSON call list (xLAM) when it starts like ``[{"name"``."""
    probe = text[1 : 1 + _CONFIRM_LIMIT]
    rest = probe.lstrip()
    if not rest:
        return None if len(probe) < _CONFIRM_LIMIT else False
    if rest[0] != "{":
        return False
    return _confirm_json_call(rest)


_PY_CALL_START = re.compile(r"\[\s*[A-Za-z_][\w.]*\s*\(")
_PY_CALL_PREFIX = re.compile(r"\[\s*(?:[A-Za-z_][\w.]*\s*)?\Z")


def _confirm_python_list(text: str) -> bool | None:
    """``[`` opens a pythonic call list when it starts like ``[name(``."""
    probe = text[:_CONFIRM_LIMIT]
    if _PY_CALL_START.match(probe):
        return True
    if _PY_CALL_PREFIX.match(probe) and len(probe) < _CONFIRM_LIMIT:
        return None
    return False


# -- shared decoders that need the parser's choices --------------------------------------------------
def _implicit_json_call(body: str) -> list[ToolCall] | None:
    """A bare ``{...}`` that starts like a call: a call if it has arguments/parameters, else text."""
    try:
        value = loads(body)
    except ValueError as exc:
        raise MalformedCall(json_error(exc, body)) from None
    if not isinstance(value, dict) or not ({"parameters", "arguments"} & value.keys() or "function" in value):
        return None
    return [call_from_object(value, raw=body)]


def _implicit_json_list(body: str) -> list[ToolCall] | None:
    return json_calls(body)


def _python_tag_calls(body: str) -> list[ToolCall]:
    """After Llama's ``<|python_tag|>``: JSON calls (``;``-separated) or a built-in ``tool.call(...)``."""
    text = body.strip()
    if text.startswith(("{", "[")):
        return json_calls(text)
    calls = python_calls(text)
    return [
        c.model_copy(update={"name": c.name[: -len(".call")]}) if c.name.endswith(".call") else c
        for c in calls
    ]


_MISTRAL_BARE = re.compile(r"([A-Za-z_][\w.\-]*)\s*(\{.*)\Z", re.S)


def _mistral_calls(body: str) -> list[ToolCall]:
    """Mistral: ``[{...}, ...]`` (before v11), or ``name[ARGS]{...}`` / ``name[CALL_ID]id[ARGS]{...}``."""
    text = body.strip()
    if text.startswith(("[", "{")):
        return json_calls(text)
    head, sep, args = text.partition("[ARGS]")
    if not sep:
        # A detokenizer that skips special tokens drops [ARGS]: ``name{...}`` is the same call.
        match = _MISTRAL_BARE.match(text)
        if match is None:
            raise MalformedCall("expected [TOOL_CALLS]NAME[ARGS]{arguments}", name=head.strip()[:100])
        head, args = match.group(1), match.group(2)
    name, has_id, call_id = head.partition("[CALL_ID]")
    name = name.strip()
    (call,) = named_args_calls(name)(args)
    if has_id and call_id.strip():
        call = call.model_copy(update={"id": call_id.strip()})
    return [call]


def _tools_block_calls(body: str) -> list[ToolCall]:
    """Qwen2.5-Coder writes its calls inside ``<tools>...</tools>``; an empty block is no call."""
    return json_calls(body) if body.strip() else []


def _confirm_tools_block(text: str) -> bool | None:
    """``<tools>`` opens calls only when JSON (or the closing tag) follows: models also write the tag in
    prose, about the tool list their prompt gave them."""
    rest = text[:_CONFIRM_LIMIT].lstrip()
    if not rest:
        return None if len(text) < _CONFIRM_LIMIT else False
    if rest[0] in "{[":
        return True
    if "</tools>".startswith(rest[: len("</tools>")]):
        return True if rest.startswith("</tools>") else None
    return False


def _confirm_fenced_calls(text: str) -> bool | None:
    """xLAM sometimes fences its call list in a ```` ```json ```` block: a fence whose JSON starts like a
    call (``[{"name"`` or ``{"name"``) holds calls; any other fenced code is text."""
    rest = text.lstrip()
    if not rest:
        return None if len(text) < _CONFIRM_LIMIT else False
    return (
        _confirm_json_list(rest) if rest[0] == "[" else _confirm_json_call(rest) if rest[0] == "{" else False
    )


def _section_calls(decode: CallDecoder) -> CallDecoder:
    """A decoder for what sits between a tool-call section's opening token and its first call token:
    nothing (the usual case), or a call whose own opening token is missing."""

    def section(body: str) -> list[ToolCall] | None:
        return decode(body) if body.strip() else []

    return section


_BARE_CALL = re.compile(r"\n[ \t]*[A-Za-z_][\w.]*\((?:\s*\)|\s*[A-Za-z_]\w*\s*=)")
_BARE_CALL_PREFIX = re.compile(r"\n[ \t]*(?:[A-Za-z_][\w.]*(?:\(\s*(?:[A-Za-z_]\w*\s*)?)?)?\Z")


def _confirm_bare_call(text: str) -> bool | None:
    """A line starting ``name(`` with keyword arguments (or none) is a Granite bare call."""
    probe = text[:_CONFIRM_LIMIT]
    if _BARE_CALL.match(probe):
        return True
    if _BARE_CALL_PREFIX.match(probe) and len(probe) < _CONFIRM_LIMIT:
        return None
    return False


def _step3_calls(body: str) -> list[ToolCall]:
    """Step 3: ``function<｜tool_sep｜><steptml:invoke name=..>..</steptml:invoke>`` (the prefix optional)."""
    return invoke_xml_calls(body, "steptml:")


def _hy_v3_calls(body: str) -> list[ToolCall]:
    """Hunyuan 3: ``NAME<tool_sep><arg_key>k</arg_key><arg_value>v</arg_value>``."""
    return glm_calls(body, sep="<tool_sep>")


_SOLAR_ARG_START = "<|tool_arg:start|>"
_SOLAR_ARG_VALUE = "<|tool_arg:value|>"
_SOLAR_ARG_END = "<|tool_arg:end|>"


def _solar_calls(body: str) -> list[ToolCall]:
    """Solar Open 2: ``NAME\\n<|tool_arg:start|>k<|tool_arg:value|>v<|tool_arg:end|>\\n...``. Every part
    must be there: a name line that never ends, an argument without its value or its end token, or an
    argument given twice makes the call malformed instead of losing or guessing an argument."""
    head, *parts = body.split(_SOLAR_ARG_START)
    name, newline, rest = head.partition("\n")
    name = name.strip()
    if not name:
        raise MalformedCall("the tool call must start with the function name on its own line", name="")
    if not newline or rest.strip():
        raise MalformedCall(
            f"the function name must be followed by a newline and then {_SOLAR_ARG_START} arguments",
            name=name,
        )
    pairs: list[tuple[str, str]] = []
    for part in parts:
        key, has_value, tail = part.partition(_SOLAR_ARG_VALUE)
        value, has_end, after = tail.partition(_SOLAR_ARG_END)
        key = key.strip()
        if not key or not has_value:
            raise MalformedCall(
                f"an argument of {name!r} has no name or no {_SOLAR_ARG_VALUE}: write "
                f"{_SOLAR_ARG_START}NAME{_SOLAR_ARG_VALUE}VALUE{_SOLAR_ARG_END}",
                name=name,
            )
        if not has_end or after.strip():
            raise MalformedCall(f"the value of {key!r} in {name!r} must end with {_SOLAR_ARG_END}", name=name)
        if any(key == k for k, _ in pairs):
            raise MalformedCall(f"the argument {key!r} of {name!r} is given twice", name=name)
        pairs.append((key, value))
    args, texts = untyped_arguments(pairs)
    return [ToolCall(name=name, arguments=args, texts=texts)]


def _dots_calls(body: str) -> list[ToolCall]:
    """dots: MiniMax-M2's ``<invoke name=".."><parameter name="..">v</parameter></invoke>`` elements, or
    one JSON call object."""
    return json_calls(body) if body.strip().startswith("{") else invoke_xml_calls(body)


_IQUEST_VALUE_START, _IQUEST_VALUE_END = "<arg_value>", "</arg_value>"


def _iquest_v2_calls(body: str) -> list[ToolCall]:
    """IQuest-Coder V2: GLM's ``NAME<arg_key>k</arg_key><arg_value>v</arg_value>``; a value without its
    ``</arg_value>`` makes the call malformed (the call's end token is no end of a value)."""
    if body.count(_IQUEST_VALUE_START) != body.count(_IQUEST_VALUE_END):
        name = body.partition("<arg_key>")[0].strip()
        raise MalformedCall(f"a value of {name!r} is not closed with {_IQUEST_VALUE_END}", name=name)
    return glm_calls(body)


_PLAMO_REQUEST = "<|plamo:begin_tool_request:plamo|>"
_PLAMO_REQUEST_END = "<|plamo:end_tool_request:plamo|>"
_PLAMO_NAME, _PLAMO_NAME_END = "<|plamo:begin_tool_name:plamo|>", "<|plamo:end_tool_name:plamo|>"
_PLAMO_ARGS, _PLAMO_ARGS_END = "<|plamo:begin_tool_arguments:plamo|>", "<|plamo:end_tool_arguments:plamo|>"
_PLAMO_CONSTRAIN, _PLAMO_MSG = "<|plamo:constrain|>", "<|plamo:msg|>"


def _plamo3_request(part: str) -> ToolCall:
    raw = _PLAMO_REQUEST + part
    head, has_name, rest = part.partition(_PLAMO_NAME)
    name, has_name_end, rest = rest.partition(_PLAMO_NAME_END)
    name = name.strip()
    if head.strip() or not has_name or not has_name_end or not name:
        error = f"a tool request must start with {_PLAMO_NAME}NAME{_PLAMO_NAME_END}"
        return ToolCall(name=name if has_name_end else "", error=error, raw=raw)
    head, has_args, rest = rest.partition(_PLAMO_ARGS)
    args, has_args_end, tail = rest.partition(_PLAMO_ARGS_END)
    if head.strip() or not has_args or not has_args_end:
        error = f"the arguments of {name!r} must be written {_PLAMO_ARGS}{{json}}{_PLAMO_ARGS_END}"
        return ToolCall(name=name, error=error, raw=raw)
    if tail.strip() not in ("", _PLAMO_REQUEST_END):
        return ToolCall(
            name=name, error=f"the tool request of {name!r} must end with {_PLAMO_REQUEST_END}", raw=raw
        )
    if args.startswith(_PLAMO_CONSTRAIN):
        args = args.partition(_PLAMO_MSG)[2]
    try:
        return ToolCall(name=name, arguments=_args_object(args, name))
    except MalformedCall as exc:
        return ToolCall(name=name, error=str(exc), raw=raw)


def _plamo3_calls(body: str) -> list[ToolCall]:
    """PLaMo 3: ``<|plamo:begin_tool_request:plamo|>`` requests, each a name and JSON arguments."""
    head, *parts = body.split(_PLAMO_REQUEST)
    if head.strip() or not parts:
        raise MalformedCall(
            f"expected {_PLAMO_REQUEST}{_PLAMO_NAME}NAME{_PLAMO_NAME_END}... inside the tool requests",
            name="",
        )
    return [_plamo3_request(part) for part in parts]


_K2_KEY = "<ifm|arg_key>"
_K2_PAIR = re.compile(
    r"<ifm\|arg_key>(.*?)</ifm\|arg_key>\s*(?:<ifm\|arg_type>(.*?)</ifm\|arg_type>\s*)?"
    r"<ifm\|arg_value>(.*?)</ifm\|arg_value>",
    re.S,
)


def _k2_horizon_calls(body: str) -> list[ToolCall]:
    """K2 Horizon: ``NAME<ifm|arg_key>k</ifm|arg_key>[<ifm|arg_type>t</ifm|arg_type>]<ifm|arg_value>v
    </ifm|arg_value>...`` or one JSON call object. A value typed ``string`` stays text; the others are
    decoded when they read as JSON."""
    text = body.strip()
    if text.startswith("{"):
        return json_calls(text)
    name, key, rest = text.partition(_K2_KEY)
    rest = key + rest
    name = name.strip()
    if not name or any(c.isspace() for c in name):
        raise MalformedCall(
            f"the tool call must start with the function name, followed by {_K2_KEY} pairs",
            name=name.split()[0] if name.split() else "",
        )
    args: dict[str, Any] = {}
    texts: dict[str, str] = {}
    pos = 0
    for match in _K2_PAIR.finditer(rest):
        key_name = match.group(1).strip()
        if rest[pos : match.start()].strip() or not key_name:
            break
        if key_name in args:
            raise MalformedCall(f"the argument {key_name!r} of {name!r} is given twice", name=name)
        arg_type = (match.group(2) or "").strip().lower()
        if arg_type.split("[", 1)[0] in ("string", "str"):
            args[key_name] = match.group(3)
        else:
            decoded, text_of = untyped_arguments([(key_name, match.group(3))])
            args.update(decoded)
            texts.update(text_of)
        pos = match.end()
    if rest[pos:].strip():
        raise MalformedCall(
            f"an argument of {name!r} is not written "
            f"{_K2_KEY}KEY</ifm|arg_key><ifm|arg_value>VALUE</ifm|arg_value>",
            name=name,
        )
    return [ToolCall(name=name, arguments=args, texts=texts)]


# -- the families --------------------------------------------------------------------------------------
@register_parser
class PlainParser(MarkupParser):
    """Text only: no tool calls, no reasoning (models whose template has no tool support)."""

    name: ClassVar[str] = "plain"
    aliases: ClassVar[tuple[str, ...]] = ("none", "text")
    blocks: ClassVar[tuple[Block, ...]] = ()
    stop_markers: ClassVar[tuple[str, ...]] = ("<end_of_turn>",)


@register_parser
class ReasoningParser(MarkupParser):
    """``<think>...</think>`` reasoning and text, no tool calls (reasoning models used without tools)."""

    name: ClassVar[str] = "reasoning"
    aliases: ClassVar[tuple[str, ...]] = ("think", "reasoning_only")
    blocks: ClassVar[tuple[Block, ...]] = (THINK, STRAY_THINK_END)
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = (*_CHATML_STOPS, "<｜end▁of▁sentence｜>")


@register_parser
class HermesParser(MarkupParser):
    """Hermes / Qwen2.5 / Qwen3 / QwQ / Granite 4 / ERNIE 4.5: ``<tool_call>{"name": .., "arguments":
    {..}}</tool_call>``; Qwen2.5-Coder's ``<tools>{..}</tools>`` too.

    Several calls per reply, text around them, ``<think>`` reasoning. A body may also hold a JSON list
    of calls or several objects. A ``<tool_call>`` left open at the end of output is a call when its
    JSON is complete (the closing tag never came), otherwise malformed.
    """

    name: ClassVar[str] = "hermes"
    aliases: ClassVar[tuple[str, ...]] = (
        "qwen2.5",
        "qwen3",
        "qwq",
        "qwen",
        "granite4",
        "nous",
        "qwen2.5_coder",
        "qwen25_coder",
        "ernie45",
    )
    template_markers: ClassVar[TemplateMarkers] = ("<tool_call>",)
    grammar: ClassVar[str | None] = "hermes"
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<tool_call>", "calls", end=("</tool_call>",), decode=json_calls, lenient=True),
        Block(
            "<tools>",
            "calls",
            end=("</tools>",),
            confirm=_confirm_tools_block,
            decode=_tools_block_calls,
            lenient=True,
        ),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = (*_CHATML_STOPS, "<|end_of_text|>")


@register_parser
class Qwen3CoderParser(MarkupParser):
    """Qwen3-Coder: ``<tool_call><function=NAME><parameter=KEY>VALUE</parameter></function></tool_call>``.

    A bare ``<function=...>`` without the ``<tool_call>`` wrapper is accepted too (Step 3.5 uses the same
    markup). Values are strings unless they read as JSON literals (numbers, booleans, null, objects,
    lists).
    """

    name: ClassVar[str] = "qwen3_coder"
    aliases: ClassVar[tuple[str, ...]] = (
        "qwen3_coder_xml",
        "qwen3coder",
        "qwen3_xml",
        "step3p5",
        "qwen35_coder",
        "mimo",
        "mimov2_flash",
        "iquest_coder",
    )
    template_markers: ClassVar[TemplateMarkers] = (("<function=", "<parameter="),)
    detect_priority: ClassVar[int] = (
        2  # its templates also write hermes' <tool_call> and functionary_v31's <function=...</function>
    )
    grammar: ClassVar[str | None] = "qwen_3_coder"
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<tool_call>", "calls", end=("</tool_call>",), decode=qwen_xml_calls, lenient=True),
        Block(
            "<function=",
            "calls",
            end=("</function>",),
            decode=lambda b: qwen_xml_calls(f"<function={b}</function>"),
        ),
        Block("</tool_call>", "drop"),  # after a bare <function=...> call
        # closing tags left over when a value held the format's own tags as text (the call is malformed)
        Block("</function>", "drop"),
        Block("</parameter>", "drop"),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = _CHATML_STOPS


SEED_THINK = Block("<seed:think>", "reasoning", end=("</seed:think>",), strip=True)


@register_parser
class SeedOSSParser(MarkupParser):
    """ByteDance Seed-OSS: Qwen3-Coder XML inside ``<seed:tool_call>``; ``<seed:think>`` reasoning."""

    name: ClassVar[str] = "seed_oss"
    template_markers: ClassVar[TemplateMarkers] = ("<seed:tool_call>",)
    detect_priority: ClassVar[int] = 3  # its templates also write qwen3_coder's <function=...<parameter=
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<seed:tool_call>", "calls", end=("</seed:tool_call>",), decode=qwen_xml_calls, lenient=True),
        SEED_THINK,
        Block("</seed:think>", "drop"),
    )
    reasoning_block: ClassVar[Block | None] = SEED_THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("<seed:eos>",)


@register_parser
class Llama3JsonParser(MarkupParser):
    """Llama 3.1/3.2/3.3: ``{"name": .., "parameters": {..}}`` anywhere in the text, one or several
    (``;``-separated), with or without ``<|python_tag|>``; built-in tools as ``<|python_tag|>tool.call(..)``.

    A ``{`` is held back only while its first key could still be ``"name"``; an object without
    ``parameters``/``arguments`` is ordinary text.
    """

    name: ClassVar[str] = "llama3_json"
    aliases: ClassVar[tuple[str, ...]] = ("llama3", "llama3.1", "llama3.2", "llama3.3", "llama")
    template_markers: ClassVar[TemplateMarkers] = (
        "<|python_tag|>",
        ('"parameters": ', "<|start_header_id|>"),
    )
    grammar: ClassVar[str | None] = "llama"
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            "{",
            "calls",
            balanced="json",
            implicit=True,
            confirm=_confirm_json_call,
            decode=_implicit_json_call,
        ),
        Block(
            "<|python_tag|>",
            "calls",
            end=("<|eom_id|>", "<|eot_id|>"),
            decode=_python_tag_calls,
            lenient=True,
        ),
    )
    after_call: ClassVar[str] = ";,"
    stop_markers: ClassVar[tuple[str, ...]] = _LLAMA_STOPS


@register_parser
class PythonicParser(MarkupParser):
    """Pythonic call lists (Llama 3.2/4, Gemma 3, ...): ``[f(a=1), g(b="x")]``, read with :mod:`ast`
    (never ``eval``); also inside Llama 4's ``<|python_start|>`` or Gemma's ```` ```tool_code ```` fences.
    A ``[`` is held back only while it could still start ``[name(``."""

    name: ClassVar[str] = "pythonic"
    aliases: ClassVar[tuple[str, ...]] = ("llama4", "llama4_pythonic", "gemma3")
    template_markers: ClassVar[TemplateMarkers] = ("[func_name1(", "<|python_start|>", "```tool_code")
    detect_priority: ClassVar[int] = 1  # Llama 3.2 pythonic templates also have llama3_json's markers
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            "[",
            "calls",
            balanced="python",
            implicit=True,
            confirm=_confirm_python_list,
            decode=python_calls,
        ),
        Block("```tool_code", "calls", end=("```",), decode=python_calls),
        *_drop("<|python_start|>", "<|python_end|>"),
    )
    stop_markers: ClassVar[tuple[str, ...]] = (*_LLAMA_STOPS, "<|eot|>", "<|eom|>", "<end_of_turn>")


@register_parser
class LFM2Parser(MarkupParser):
    """Liquid LFM2: ``<|tool_call_start|>[f(a=1)]<|tool_call_end|>`` (pythonic; JSON accepted too).
    openPangu writes the same tokens around a JSON list (``[{"name", "arguments"}]``).

    The pythonic calls real agents get from it are repaired where that is unambiguous (raw newlines in
    strings, unescaped quotes inside a shell command, ``month=07``); a call it writes a second time
    right after ``<|tool_call_end|>`` is dropped, and a stray ``<|tool_call_end|>`` is removed."""

    name: ClassVar[str] = "lfm2"
    aliases: ClassVar[tuple[str, ...]] = ("pangu", "openpangu_v2")
    template_markers: ClassVar[TemplateMarkers] = ("<|tool_call_start|>", "<|tool_list_start|>")
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            "<|tool_call_start|>",
            "calls",
            end=("<|tool_call_end|>",),
            decode=lambda b: json_calls(b) if b.strip().startswith(("[{", "{")) else python_calls(b),
            echo=True,
        ),
        Block("<|tool_call_end|>", "drop"),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = _CHATML_STOPS


MISTRAL_THINK = Block("[THINK]", "reasoning", end=("[/THINK]",), strip=True)


@register_parser
class MistralParser(MarkupParser):
    """Mistral, all versions: ``[TOOL_CALLS] [{"name", "arguments", "id"}, ...]`` (before v11) and
    ``[TOOL_CALLS]name[ARGS]{..}`` / ``[TOOL_CALLS]name[CALL_ID]id[ARGS]{..}`` (v11+), several in a
    row; ``[THINK]...[/THINK]`` reasoning (Magistral, Ministral 3). Call ids from the model are kept.
    ``name{..}`` without ``[ARGS]`` (text decoded with special tokens skipped) is read as well."""

    name: ClassVar[str] = "mistral"
    aliases: ClassVar[tuple[str, ...]] = ("mistral_pre_v11",)
    template_markers: ClassVar[TemplateMarkers] = ("[TOOL_CALLS]",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("[TOOL_CALLS]", "calls", balanced="json", seek="{", decode=_mistral_calls),
        MISTRAL_THINK,
    )
    reasoning_block: ClassVar[Block | None] = MISTRAL_THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("</s>",)


@register_parser
class MistralV11Parser(MistralParser):
    """Mistral v11+ (``[TOOL_CALLS]name[ARGS]{..}``); the same parser as ``mistral``, named apart for
    detection."""

    name: ClassVar[str] = "mistral_v11"
    template_markers: ClassVar[TemplateMarkers] = (("[TOOL_CALLS]", "[ARGS]"),)
    detect_priority: ClassVar[int] = 1  # its templates also write mistral's [TOOL_CALLS]


DEEPSEEK_CALL_END = "<｜tool▁call▁end｜>"
DEEPSEEK_CALL_BEGIN = "<｜tool▁call▁begin｜>"


@register_parser
class DeepSeekParser(MarkupParser):
    """DeepSeek V3 / R1
    (``<｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\\n```json\\n{..}\\n```<｜tool▁call▁end｜>``)
    and V3.1 (``<｜tool▁call▁begin｜>NAME<｜tool▁sep｜>{..}<｜tool▁call▁end｜>``); ``<think>`` reasoning.

    Each call is emitted when its own ``<｜tool▁call▁end｜>`` arrives (the closing
    ``<｜tool▁calls▁end｜>`` and end-of-sentence tokens are not waited for); a call whose end token never
    comes is still accepted at the end of output when its arguments are complete JSON, and a call whose
    ``<｜tool▁call▁begin｜>`` is missing from the section is read too.
    """

    name: ClassVar[str] = "deepseek_v3"
    aliases: ClassVar[tuple[str, ...]] = ("deepseek", "deepseek_r1")
    template_markers: ClassVar[TemplateMarkers] = (("tool▁calls▁begin", "```json"),)
    detect_priority: ClassVar[int] = 1  # its templates also write deepseek_v31's tool▁calls▁begin
    grammar: ClassVar[str | None] = "deepseek_r1"
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            DEEPSEEK_CALL_BEGIN,
            "calls",
            end=(DEEPSEEK_CALL_END, "<｜tool▁calls▁end｜>", DEEPSEEK_CALL_BEGIN),
            keep_end=frozenset({DEEPSEEK_CALL_BEGIN}),
            decode=deepseek_calls,
            lenient=True,
        ),
        Block(
            "<｜tool▁calls▁begin｜>",
            "calls",
            end=(DEEPSEEK_CALL_BEGIN, "<｜tool▁calls▁end｜>"),
            keep_end=frozenset({DEEPSEEK_CALL_BEGIN}),
            decode=_section_calls(deepseek_calls),
        ),
        Block("<｜tool▁calls▁end｜>", "drop"),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("<｜end▁of▁sentence｜>",)


@register_parser
class DeepSeekV31Parser(DeepSeekParser):
    """DeepSeek V3.1 (``NAME<｜tool▁sep｜>{..}``); the same parser as ``deepseek_v3``, named apart."""

    name: ClassVar[str] = "deepseek_v31"
    aliases: ClassVar[tuple[str, ...]] = ("deepseek_v3_1",)
    template_markers: ClassVar[TemplateMarkers] = ("tool▁calls▁begin",)
    grammar: ClassVar[str | None] = "deepseek_v3_1"


@register_parser
class DeepSeekV32Parser(MarkupParser):
    """DeepSeek V3.2 DSML: ``<｜DSML｜function_calls><｜DSML｜invoke name=".."><｜DSML｜parameter name=".."
    string="true|false">..</｜DSML｜parameter></｜DSML｜invoke></｜DSML｜function_calls>``; V4's
    ``<｜DSML｜tool_calls>`` block (the same inside) is read too."""

    name: ClassVar[str] = "deepseek_v32"
    aliases: ClassVar[tuple[str, ...]] = ("deepseek_v32_dsml", "deepseek_v3_2")
    template_markers: ClassVar[TemplateMarkers] = (("DSML", "invoke name="),)
    detect_priority: ClassVar[int] = 2  # tried before the older DeepSeek formats, as their successor
    grammar: ClassVar[str | None] = "deepseek_v3_2"
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            "<｜DSML｜function_calls>",
            "calls",
            end=("</｜DSML｜function_calls>",),
            decode=lambda b: invoke_xml_calls(b, "｜DSML｜"),
            lenient=True,
        ),
        Block(
            "<｜DSML｜tool_calls>",
            "calls",
            end=("</｜DSML｜tool_calls>",),
            decode=lambda b: invoke_xml_calls(b, "｜DSML｜"),
            lenient=True,
        ),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("<｜end▁of▁sentence｜>",)


@register_parser
class DeepSeekV4Parser(DeepSeekV32Parser):
    """DeepSeek V4: DSML calls in ``<｜DSML｜tool_calls>`` (V3.2's ``function_calls`` block is read too);
    the same parser as ``deepseek_v32``, named apart for detection."""

    name: ClassVar[str] = "deepseek_v4"
    template_markers: ClassVar[TemplateMarkers] = (("DSML", "tool_calls>"),)
    detect_priority: ClassVar[int] = 3  # its templates also write deepseek_v32's DSML invoke name=
    grammar: ClassVar[str | None] = None  # xgrammar's deepseek_v3_2 expects function_calls


@register_parser
class MiniMaxM2Parser(MarkupParser):
    """MiniMax-M2: ``<minimax:tool_call><invoke name=".."><parameter name="..">..</parameter></invoke>
    </minimax:tool_call>``; ``<think>`` reasoning."""

    name: ClassVar[str] = "minimax_m2"
    template_markers: ClassVar[TemplateMarkers] = ("<minimax:tool_call>",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            "<minimax:tool_call>",
            "calls",
            end=("</minimax:tool_call>",),
            decode=invoke_xml_calls,
            lenient=True,
        ),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("[e~[",)


@register_parser
class HunyuanParser(MarkupParser):
    """Hunyuan-A13B and AI21 Jamba: ``<tool_calls>[{"name", "arguments"}, ...]</tool_calls>``;
    ``<think>``, and ``<answer>`` tags around the answer (removed)."""

    name: ClassVar[str] = "hunyuan"
    aliases: ClassVar[tuple[str, ...]] = ("hunyuan_a13b", "jamba")
    template_markers: ClassVar[TemplateMarkers] = ("<tool_calls>",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<tool_calls>", "calls", end=("</tool_calls>",), decode=json_calls, lenient=True),
        THINK,
        STRAY_THINK_END,
        *_drop("<answer>", "</answer>"),
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("<|eos|>", "<|extra_0|>")


@register_parser
class MiniMaxM1Parser(HunyuanParser):
    """MiniMax-M1: ``<tool_calls>`` with one JSON call object per line; ``<think>`` reasoning."""

    name: ClassVar[str] = "minimax_m1"
    aliases: ClassVar[tuple[str, ...]] = ("minimax",)
    template_markers: ClassVar[TemplateMarkers] = (("<tool_calls>", "<end_of_sentence>"),)
    detect_priority: ClassVar[int] = 1  # its templates also write hunyuan's <tool_calls>
    stop_markers: ClassVar[tuple[str, ...]] = ("<end_of_sentence>",)


@register_parser
class NemotronParser(MarkupParser):
    """NVIDIA Nemotron Nano: ``<TOOLCALL>[{"name", "arguments"}, ...]</TOOLCALL>``; ``<think>``."""

    name: ClassVar[str] = "nemotron"
    aliases: ClassVar[tuple[str, ...]] = ("nemotron_toolcall", "nemotron_nano_v2", "nemotron_json")
    template_markers: ClassVar[TemplateMarkers] = ("<TOOLCALL>",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<TOOLCALL>", "calls", end=("</TOOLCALL>",), decode=json_calls, lenient=True),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("<SPECIAL_12>", "<extra_id_1>")


@register_parser
class KimiK2Parser(MarkupParser):
    """Kimi K2: ``<|tool_calls_section_begin|><|tool_call_begin|>functions.NAME:0<|tool_call_argument_begin|>
    {..}<|tool_call_end|>...<|tool_calls_section_end|>``; the call id is ``functions.NAME:0``."""

    name: ClassVar[str] = "kimi_k2"
    aliases: ClassVar[tuple[str, ...]] = ("kimi",)
    template_markers: ClassVar[TemplateMarkers] = ("<|tool_calls_section_begin|>", "<|tool_call_begin|>")
    grammar: ClassVar[str | None] = "kimi"
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<|tool_call_begin|>", "calls", end=("<|tool_call_end|>",), decode=kimi_calls, lenient=True),
        Block(
            "<|tool_calls_section_begin|>",
            "calls",
            end=("<|tool_call_begin|>", "<|tool_calls_section_end|>"),
            keep_end=frozenset({"<|tool_call_begin|>"}),
            decode=_section_calls(kimi_calls),
        ),
        Block("<|tool_calls_section_end|>", "drop"),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("<|im_end|>",)


@register_parser
class GLM4Parser(MarkupParser):
    """GLM-4.5/4.6/4.7: ``<tool_call>NAME\\n<arg_key>k</arg_key>\\n<arg_value>v</arg_value></tool_call>``;
    ``<think>`` reasoning."""

    name: ClassVar[str] = "glm4"
    aliases: ClassVar[tuple[str, ...]] = ("glm", "glm45", "glm47", "glm4_moe", "poolside_v1")
    template_markers: ClassVar[TemplateMarkers] = (("<arg_key>", "<arg_value>"),)
    detect_priority: ClassVar[int] = 1  # its templates also write hermes' <tool_call>
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<tool_call>", "calls", end=("</tool_call>",), decode=glm_calls),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("<|user|>", "<|observation|>", "<|endoftext|>")


@register_parser
class Phi4MiniParser(MarkupParser):
    """Phi-4-mini: ``functools[{"name", "arguments"}, ...]`` (no closing marker)."""

    name: ClassVar[str] = "phi4_mini"
    aliases: ClassVar[tuple[str, ...]] = ("phi4_mini_functools", "functools", "phi4", "phi4_mini_json")
    template_markers: ClassVar[TemplateMarkers] = ("functools[",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("functools[", "calls", balanced="json", opener="[", decode=json_calls),
    )
    stop_markers: ClassVar[tuple[str, ...]] = ("<|end|>", "<|endoftext|>")


@register_parser
class FirefunctionParser(Phi4MiniParser):
    """Fireworks Firefunction v2: `` functools[{"name", "arguments"}, ...]`` with Llama 3 turn tokens."""

    name: ClassVar[str] = "firefunction"
    template_markers: ClassVar[TemplateMarkers] = (("functools[", "<|start_header_id|>"),)
    detect_priority: ClassVar[int] = 1  # its templates also write phi4_mini's functools[
    stop_markers: ClassVar[tuple[str, ...]] = _LLAMA_STOPS


@register_parser
class GraniteParser(MarkupParser):
    """IBM Granite 3.x: ``<|tool_call|>[{"name", "arguments"}, ...]`` (3.0), or the same list after a plain
    ``<tool_call>`` (3.1); ``<think>``/``<response>``."""

    name: ClassVar[str] = "granite"
    aliases: ClassVar[tuple[str, ...]] = ("granite3",)
    template_markers: ClassVar[TemplateMarkers] = ("<|tool_call|>",)
    detect_priority: ClassVar[int] = 1  # Granite 3.1 templates may write hermes' <tool_call> too
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<|tool_call|>", "calls", balanced="json", decode=json_calls),
        Block("<tool_call>", "calls", balanced="json", decode=json_calls),
        Block("</tool_call>", "drop"),
        THINK,
        STRAY_THINK_END,
        *_drop("<response>", "</response>"),
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("<|end_of_text|>",)


@register_parser
class Granite20bFCParser(MarkupParser):
    """Granite 20B function calling: ``<function_call> {"name", "arguments"}`` per call."""

    name: ClassVar[str] = "granite_20b_fc"
    template_markers: ClassVar[TemplateMarkers] = ("<function_call>",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<function_call>", "calls", balanced="json", decode=json_calls),
    )
    stop_markers: ClassVar[tuple[str, ...]] = ("<|endoftext|>",)


@register_parser
class InternLM2Parser(MarkupParser):
    """InternLM2 and Intern-S1: ``<|action_start|><|plugin|>\\n{"name", "arguments"}<|action_end|>``
    (Intern-S1 may write a space or a newline between the two opening tokens)."""

    name: ClassVar[str] = "internlm2"
    aliases: ClassVar[tuple[str, ...]] = ("internlm", "intern_s1", "intern-s1")
    template_markers: ClassVar[TemplateMarkers] = (("<|action_start|>", "<|plugin|>"),)
    blocks: ClassVar[tuple[Block, ...]] = (
        *(
            Block(
                f"<|action_start|>{gap}<|plugin|>",
                "calls",
                end=("<|action_end|>",),
                decode=json_calls,
                lenient=True,
            )
            for gap in ("", " ", "\n")
        ),
        *_drop("<|action_start|>", "<|action_end|>"),
    )
    stop_markers: ClassVar[tuple[str, ...]] = _CHATML_STOPS


@register_parser
class XLAMParser(MarkupParser):
    """Salesforce xLAM: a bare JSON list ``[{"name", "arguments"}, ...]`` (possibly inside text), also
    after ``[TOOL_CALLS]``, inside ``<tool_call>`` or in a ```` ```json ```` fence."""

    name: ClassVar[str] = "xlam"
    template_markers: ClassVar[TemplateMarkers] = ('[{"name": "tool_call_name"',)
    detect_priority: ClassVar[int] = 1  # xLAM templates may write hermes' <tool_call> too
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            "[",
            "calls",
            balanced="json",
            implicit=True,
            confirm=_confirm_json_list,
            decode=_implicit_json_list,
        ),
        Block("<tool_call>", "calls", end=("</tool_call>",), decode=json_calls, lenient=True),
        Block(
            "```json", "calls", end=("```",), confirm=_confirm_fenced_calls, decode=json_calls, lenient=True
        ),
        Block("[TOOL_CALLS]", "drop"),
        THINK,
        STRAY_THINK_END,
    )
    stop_markers: ClassVar[tuple[str, ...]] = _CHATML_STOPS


@register_parser
class ApertusParser(MarkupParser):
    """Swiss AI Apertus: ``<|tools_prefix|>[{"NAME": {args}}, ...]<|tools_suffix|>`` (the list ends the
    call, so a missing ``<|tools_suffix|>`` loses nothing); reasoning in
    ``<|inner_prefix|>...<|inner_suffix|>``."""

    _INNER = Block("<|inner_prefix|>", "reasoning", end=("<|inner_suffix|>",), strip=True)
    name: ClassVar[str] = "apertus"
    template_markers: ClassVar[TemplateMarkers] = ("<|tools_prefix|>",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<|tools_prefix|>", "calls", balanced="json", decode=named_json_calls),
        Block("<|tools_suffix|>", "drop"),
        _INNER,
    )
    reasoning_block: ClassVar[Block | None] = _INNER
    stop_markers: ClassVar[tuple[str, ...]] = ("<|assistant_end|>",)


@register_parser
class CommandR7BParser(MarkupParser):
    """Cohere Command R7B / Command A: ``<|START_ACTION|>[{"tool_call_id", "tool_name", "parameters"}]
    <|END_ACTION|>``; the plan in ``<|START_THINKING|>...<|END_THINKING|>`` is reasoning; response
    markers are removed, and citations (``<co>cited words</co: 0:[1,2]>``) leave the words they cite,
    in the text and in the reasoning."""

    _THINKING = Block("<|START_THINKING|>", "reasoning", end=("<|END_THINKING|>",), strip=True)
    name: ClassVar[str] = "command_r7b"
    aliases: ClassVar[tuple[str, ...]] = ("cohere_command", "command_a")
    template_markers: ClassVar[TemplateMarkers] = ("<|START_ACTION|>",)
    detect_priority: ClassVar[int] = 1  # its templates also write command_r's Action: ```json
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<|START_ACTION|>", "calls", end=("<|END_ACTION|>",), decode=json_calls, lenient=True),
        _THINKING,
        *_drop("<|START_RESPONSE|>", "<|END_RESPONSE|>", "<|START_TEXT|>", "<|END_TEXT|>"),
    )
    inline_blocks: ClassVar[tuple[Block, ...]] = (
        Block("<co>", "drop"),
        Block("</co:", "drop", end=(">",)),
    )
    reasoning_block: ClassVar[Block | None] = _THINKING
    stop_markers: ClassVar[tuple[str, ...]] = ("<|END_OF_TURN_TOKEN|>",)


@register_parser
class CommandRParser(MarkupParser):
    """Cohere Command R(+): ``Action: ```json [{"tool_name", "parameters"}, ...] ````."""

    name: ClassVar[str] = "command_r"
    aliases: ClassVar[tuple[str, ...]] = ("command_r_plus",)
    template_markers: ClassVar[TemplateMarkers] = (("Action:", "```json", "tool_name"),)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("Action: ```json", "calls", end=("```",), decode=json_calls),
        Block("Action:```json", "calls", end=("```",), decode=json_calls),
    )
    stop_markers: ClassVar[tuple[str, ...]] = ("<|END_OF_TURN_TOKEN|>",)


def _functionary_v31_calls(body: str) -> list[ToolCall]:
    name, sep, args = body.partition(">")
    name = name.strip()
    if not sep or not name:
        raise MalformedCall("expected <function=NAME>{arguments}</function>", name=name)
    return named_args_calls(name)(args)


@register_parser
class FunctionaryV31Parser(MarkupParser):
    """MeetKai Functionary v3.1 (Llama 3.1): ``<function=NAME>{..}</function>``; code as
    ``<|python_tag|>..`` becomes a call of ``python`` with ``{"code": ..}``."""

    name: ClassVar[str] = "functionary_v31"
    aliases: ClassVar[tuple[str, ...]] = ("functionary_v3.1",)
    template_markers: ClassVar[TemplateMarkers] = (("<function=", "</function>"),)
    detect_priority: ClassVar[int] = 1  # its templates also have llama3_json's markers
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<function=", "calls", end=("</function>",), decode=_functionary_v31_calls),
        Block(
            "<|python_tag|>",
            "calls",
            end=("<|eom_id|>", "<|eot_id|>"),
            decode=lambda b: [ToolCall(name="python", arguments={"code": b})],
            lenient=True,
        ),
    )
    stop_markers: ClassVar[tuple[str, ...]] = _LLAMA_STOPS


def _functionary_v32_header(header: str) -> Block | None:
    recipient = header.strip()
    if recipient == "all":
        return Block("", "text", end=(">>>",), keep_end=frozenset({">>>"}))
    if not recipient or len(recipient) > 200:
        return None
    return Block(
        "",
        "calls",
        end=(">>>",),
        keep_end=frozenset({">>>"}),
        decode=named_args_calls(recipient),
        lenient=True,
        name_hint=recipient,
    )


_FUNCTIONARY_HEADER = Block(">>>", "dispatch", end=("\n",), dispatch=_functionary_v32_header)


@register_parser
class FunctionaryV32Parser(MarkupParser):
    """MeetKai Functionary v3.2: ``>>>all\\ntext`` and ``>>>NAME\\n{..}`` sections. The generation
    prompt ends with ``>>>``, so every reply starts inside a section header."""

    name: ClassVar[str] = "functionary_v32"
    aliases: ClassVar[tuple[str, ...]] = ("functionary_v3.2", "functionary")
    template_markers: ClassVar[TemplateMarkers] = (">>>all",)
    blocks: ClassVar[tuple[Block, ...]] = (_FUNCTIONARY_HEADER,)
    initial_block: ClassVar[Block | None] = _FUNCTIONARY_HEADER
    stop_markers: ClassVar[tuple[str, ...]] = _LLAMA_STOPS


_GEMMA_THOUGHT = Block("<|channel>thought", "reasoning", end=("<channel|>",), strip=True)


@register_parser
class Gemma4Parser(MarkupParser):
    """Gemma 4: ``<|tool_call>call:NAME{key:<|"|>text<|"|>,n:3}<tool_call|>``; thoughts in
    ``<|channel>thought...<channel|>``."""

    name: ClassVar[str] = "gemma4"
    template_markers: ClassVar[TemplateMarkers] = (("<|tool_call>", "<tool_call|>"),)
    blocks: ClassVar[tuple[Block, ...]] = (
        # the model sometimes ends a call with the end of its turn instead of <tool_call|>
        Block(
            "<|tool_call>",
            "calls",
            end=("<tool_call|>", "<turn|>"),
            keep_end=frozenset({"<turn|>"}),
            decode=gemma4_calls,
        ),
        _GEMMA_THOUGHT,
        Block("<channel|>", "drop"),  # the end of a thought the prompt opened
    )
    reasoning_block: ClassVar[Block | None] = _GEMMA_THOUGHT
    stop_markers: ClassVar[tuple[str, ...]] = ("<turn|>", "<end_of_turn>")


@register_parser
class Olmo3Parser(MarkupParser):
    """AllenAI OLMo 3: ``<function_calls>f(a=1)\\ng(b="x")</function_calls>``, one pythonic call per line
    (JSON-style ``true``/``false``/``null`` allowed); ``<think>`` reasoning."""

    name: ClassVar[str] = "olmo3"
    template_markers: ClassVar[TemplateMarkers] = ("<function_calls>",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<function_calls>", "calls", end=("</function_calls>",), decode=python_calls, lenient=True),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = _CHATML_STOPS


@register_parser
class GranitePythonicParser(MarkupParser):
    """IBM Granite 3.3 / 4.0 writing calls as bare Python on their own lines:
    ``get_weather(location="Paris")``. A line that starts ``name(`` with keyword arguments (or none)
    is a call; any other line is text."""

    name: ClassVar[str] = "granite_pythonic"
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            "\n",
            "calls",
            balanced="python",
            seek="(",
            implicit=True,
            confirm=_confirm_bare_call,
            decode=python_calls,
        ),
        THINK,
        STRAY_THINK_END,
        *_drop("<response>", "</response>"),
    )
    reasoning_block: ClassVar[Block | None] = THINK
    prelude: ClassVar[str] = "\n"
    stop_markers: ClassVar[tuple[str, ...]] = ("<|end_of_text|>",)


@register_parser
class FunctionGemmaParser(MarkupParser):
    """Google FunctionGemma: ``<start_function_call>call:NAME{key:<escape>value<escape>,...}
    <end_function_call>``; a quoted value that reads as a JSON literal (``42``, ``true``) is one, as its
    chat template quotes every value."""

    name: ClassVar[str] = "functiongemma"
    template_markers: ClassVar[TemplateMarkers] = ("<start_function_call>",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            "<start_function_call>",
            "calls",
            end=("<end_function_call>",),
            decode=lambda b: gemma4_calls(b, quote="<escape>", typed_strings=True),
        ),
    )
    stop_markers: ClassVar[tuple[str, ...]] = ("<end_of_turn>", "<start_function_response>")


STEP3_CALL_BEGIN = "<｜tool_call_begin｜>"


@register_parser
class Step3Parser(MarkupParser):
    """StepFun Step 3: ``<｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke
    name="NAME"><steptml:parameter name="k">v</steptml:parameter></steptml:invoke><｜tool_call_end｜>
    <｜tool_calls_end｜>``; ``<think>`` reasoning."""

    name: ClassVar[str] = "step3"
    template_markers: ClassVar[TemplateMarkers] = ("steptml:invoke",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(STEP3_CALL_BEGIN, "calls", end=("<｜tool_call_end｜>",), decode=_step3_calls, lenient=True),
        Block(
            "<｜tool_calls_begin｜>",
            "calls",
            end=(STEP3_CALL_BEGIN, "<｜tool_calls_end｜>"),
            keep_end=frozenset({STEP3_CALL_BEGIN}),
            decode=_section_calls(_step3_calls),
        ),
        *_drop("<｜tool_calls_end｜>", "<｜tool_sep｜>"),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK


@register_parser
class LongCatParser(MarkupParser):
    """Meituan LongCat-Flash: Hermes JSON calls in ``<longcat_tool_call>...</longcat_tool_call>``."""

    name: ClassVar[str] = "longcat"
    template_markers: ClassVar[TemplateMarkers] = ("<longcat_tool_call>",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<longcat_tool_call>", "calls", end=("</longcat_tool_call>",), decode=json_calls, lenient=True),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK


@register_parser
class GigaChat3Parser(MarkupParser):
    """Sber GigaChat 3: ``<|message_sep|>\\n\\nfunction call<|role_sep|>\\n{"name", "arguments"}``, and
    GigaChat 3.1's ``<|function_call|>{..}``."""

    name: ClassVar[str] = "gigachat3"
    template_markers: ClassVar[TemplateMarkers] = (("<|role_sep|>", "function call"), "<|function_call|>")
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<|message_sep|>\n\nfunction call<|role_sep|>", "calls", balanced="json", decode=json_calls),
        Block("function call<|role_sep|>", "calls", balanced="json", decode=json_calls),
        Block("<|function_call|>", "calls", balanced="json", decode=json_calls),
        Block("<|message_sep|>", "drop"),
    )
    stop_markers: ClassVar[tuple[str, ...]] = ("</s>",)


@register_parser
class GigaChat35Parser(MarkupParser):
    """Sber GigaChat 3.5: ``<｜GCML｜tool_calls><｜GCML｜invoke name=".."><｜GCML｜parameter name=".."
    string="true|false">..</｜GCML｜parameter></｜GCML｜invoke></｜GCML｜tool_calls>``, DeepSeek's DSML
    markup under another prefix. The end of turn is taken to be GigaChat 3's ``</s>``."""

    name: ClassVar[str] = "gigachat35"
    template_markers: ClassVar[TemplateMarkers] = (("｜GCML｜", "invoke name="),)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            "<｜GCML｜tool_calls>",
            "calls",
            end=("</｜GCML｜tool_calls>",),
            decode=lambda b: invoke_xml_calls(b, "｜GCML｜"),
            lenient=True,
        ),
    )
    stop_markers: ClassVar[tuple[str, ...]] = ("</s>",)


@register_parser
class HunyuanV3Parser(MarkupParser):
    """Tencent Hunyuan 3: ``<tool_calls><tool_call>NAME<tool_sep><arg_key>k</arg_key><arg_value>v
    </arg_value></tool_call></tool_calls>``; ``<think>`` reasoning."""

    name: ClassVar[str] = "hy_v3"
    template_markers: ClassVar[TemplateMarkers] = (("<tool_sep>", "<arg_key>"),)
    detect_priority: ClassVar[int] = 2  # its templates also write glm4's <arg_key> and <arg_value>
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<tool_call>", "calls", end=("</tool_call>",), decode=_hy_v3_calls),
        Block(
            "<tool_calls>",
            "calls",
            end=("<tool_call>", "</tool_calls>"),
            keep_end=frozenset({"<tool_call>"}),
            decode=_section_calls(_hy_v3_calls),
        ),
        Block("</tool_calls>", "drop"),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK


@register_parser
class KimiK3Parser(MarkupParser):
    """Moonshot Kimi K3 (XTML): thinking in ``<|open|>think<|sep|>...<|close|>think<|sep|>``, the answer
    in ``<|open|>response<|sep|>...<|close|>response<|sep|>``, calls in ``<|open|>tools<|sep|>
    <|open|>call tool="NAME" index="1"<|sep|><|open|>argument key="k" type="string"<|sep|>v
    <|close|>argument<|sep|><|close|>call<|sep|><|close|>tools<|sep|>``; the message ends with
    ``<|close|>message<|sep|>``. The generation prompt opens the think (or response) channel."""

    _THINK = Block("<|open|>think<|sep|>", "reasoning", end=("<|close|>think<|sep|>",), strip=True)
    name: ClassVar[str] = "kimi_k3"
    template_markers: ClassVar[TemplateMarkers] = (("<|open|>", "<|sep|>", "argument"),)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<|open|>call", "calls", end=("<|close|>call<|sep|>",), decode=xtml_calls),
        _THINK,
        *_drop(
            "<|open|>response<|sep|>",
            "<|close|>response<|sep|>",
            "<|open|>tools<|sep|>",
            "<|close|>tools<|sep|>",
            "<|close|>think<|sep|>",
        ),
    )
    reasoning_block: ClassVar[Block | None] = _THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("<|close|>message<|sep|>", "<|end_of_msg|>")


# -- harmony (gpt-oss) ----------------------------------------------------------------------------------
_HARMONY_RECIPIENT = re.compile(r"\bto=([^\s<]+)")
_HARMONY_BODY_END = ("<|end|>", "<|call|>", "<|return|>", "<|start|>", "<|channel|>")
_HARMONY_KEEP = frozenset({"<|start|>", "<|channel|>", "<|call|>", "<|return|>"})
"""Ends left in the stream: the next header, and the end-of-turn tokens (which then stop parsing)."""


def _harmony_header(header: str) -> Block | None:
    """A harmony header (``assistant<|channel|>analysis``, ``commentary to=functions.f <|constrain|>json``)
    decides what the message body is: reasoning, text, or the arguments of a call."""
    role, has_channel, channel_part = header.partition("<|channel|>")
    channel_text = channel_part if has_channel else role
    words = channel_text.replace("<|constrain|>", " ").split()
    channel = words[0] if words else ""
    match = _HARMONY_RECIPIENT.search(header)
    if match is not None and match.group(1) not in ("assistant", "user", "system", "developer"):
        recipient = match.group(1)
        name = recipient[len("functions.") :] if recipient.startswith("functions.") else recipient
        return Block(
            "",
            "calls",
            end=_HARMONY_BODY_END,
            keep_end=_HARMONY_KEEP,
            decode=named_args_calls(name),
            lenient=True,
            name_hint=name,
        )
    kind = "reasoning" if channel == "analysis" else "text"
    return Block("", kind, end=_HARMONY_BODY_END, keep_end=_HARMONY_KEEP)  # type: ignore[arg-type]


_HARMONY_START = Block("<|start|>", "dispatch", end=("<|message|>",), dispatch=_harmony_header)


@register_parser
class HarmonyParser(MarkupParser):
    """OpenAI gpt-oss harmony: ``<|channel|>analysis<|message|>..<|end|>`` is reasoning,
    ``<|channel|>final<|message|>..`` is text, and a message addressed ``to=functions.NAME`` is a call
    whose body is the JSON arguments (ended by ``<|call|>``)."""

    name: ClassVar[str] = "harmony"
    aliases: ClassVar[tuple[str, ...]] = ("gpt_oss", "gpt-oss", "openai")
    template_markers: ClassVar[TemplateMarkers] = (("<|channel|>", "<|message|>"),)
    grammar: ClassVar[str | None] = "harmony"
    blocks: ClassVar[tuple[Block, ...]] = (
        _HARMONY_START,
        Block("<|channel|>", "dispatch", end=("<|message|>",), dispatch=_harmony_header),
        *_drop("<|end|>", "<|message|>"),
    )
    stop_markers: ClassVar[tuple[str, ...]] = ("<|return|>", "<|call|>", "<|endoftext|>")

    def for_prompt(self, prompt: str) -> MarkupParser:
        """The generation prompt ends with ``<|start|>assistant``: the reply continues that header
        (``<|channel|>analysis<|message|>...`` or
        `` to=functions.f<|channel|>commentary json<|message|>{...}``)."""
        if prompt.rstrip().endswith("<|start|>assistant"):
            return type(self)(start_in=_HARMONY_START)
        return type(self)()


_SOLAR_THINK = Block("<|think:start|>", "reasoning", end=("<|think:end|>",), strip=True)


@register_parser
class SolarOpen2Parser(MarkupParser):
    """Upstage Solar Open 2: ``<|tool_call:start|>NAME\\n<|tool_arg:start|>k<|tool_arg:value|>v
    <|tool_arg:end|>\\n<|tool_call:end|>``; ``<|think:start|>...<|think:end|>`` reasoning. Values carry
    no types: JSON literals are decoded, the rest stay strings. A call whose end token is missing ends
    where the next call starts."""

    name: ClassVar[str] = "solar_open2"
    template_markers: ClassVar[TemplateMarkers] = (("<|tool_call:start|>", "<|tool_arg:start|>"),)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            "<|tool_call:start|>",
            "calls",
            end=("<|tool_call:end|>", "<|tool_call:start|>"),
            keep_end=frozenset({"<|tool_call:start|>"}),
            decode=_solar_calls,
            lenient=True,
        ),
        _SOLAR_THINK,
        *_drop("<|think:end|>", "<|tool_call:end|>"),
    )
    reasoning_block: ClassVar[Block | None] = _SOLAR_THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("<|im:end|>", "<|endoftext|>")


@register_parser
class DotsParser(MarkupParser):
    """rednote dots: ``<dots_function_call><invoke name=".."><parameter name="..">v</parameter></invoke>
    </dots_function_call>`` (MiniMax-M2's elements; one JSON call object is read too). Values carry no
    types: JSON literals are decoded. ``<think>`` reasoning and the end of turn (the tokenizer's end
    token) are assumptions: no template was at hand."""

    name: ClassVar[str] = "dots"
    template_markers: ClassVar[TemplateMarkers] = ("<dots_function_call>",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            "<dots_function_call>", "calls", end=("</dots_function_call>",), decode=_dots_calls, lenient=True
        ),
        Block("</dots_function_call>", "drop"),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK


@register_parser
class IQuestCoderV2Parser(MarkupParser):
    """IQuest-Coder V2: ``<iquestcoder_tool_call>NAME<arg_key>k</arg_key><arg_value>v</arg_value>
    </iquestcoder_tool_call>`` (GLM's pairs). Values carry no types: JSON literals are decoded. Its
    tokenizer is taken to be Qwen's (ChatML end of turn, ``<think>``), as vLLM's tests assume."""

    name: ClassVar[str] = "iquest_coder_v2"
    template_markers: ClassVar[TemplateMarkers] = ("<iquestcoder_tool_call>",)
    detect_priority: ClassVar[int] = 2  # its templates also write glm4's <arg_key> and <arg_value>
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            "<iquestcoder_tool_call>",
            "calls",
            end=("</iquestcoder_tool_call>",),
            decode=_iquest_v2_calls,
        ),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = _CHATML_STOPS


_PLAMO_THINK = Block(
    "<|plamo:begin_think:plamo|>", "reasoning", end=("<|plamo:end_think:plamo|>",), strip=True
)


@register_parser
class Plamo3Parser(MarkupParser):
    """Preferred Networks PLaMo 3: ``<|plamo:begin_tool_requests:plamo|>`` holding requests
    ``<|plamo:begin_tool_request:plamo|><|plamo:begin_tool_name:plamo|>NAME<|plamo:end_tool_name:plamo|>
    <|plamo:begin_tool_arguments:plamo|><|plamo:constrain|>json<|plamo:msg|>{json}
    <|plamo:end_tool_arguments:plamo|><|plamo:end_tool_request:plamo|>``; reasoning in
    ``<|plamo:begin_think:plamo|>...<|plamo:end_think:plamo|>``; ``<|plamo:tag|>`` ends the turn. The tags
    are several tokens each, so they may arrive split."""

    name: ClassVar[str] = "plamo3"
    template_markers: ClassVar[TemplateMarkers] = ("<|plamo:begin_tool_requests:plamo|>",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block(
            "<|plamo:begin_tool_requests:plamo|>",
            "calls",
            end=("<|plamo:end_tool_requests:plamo|>",),
            decode=_plamo3_calls,
            lenient=True,
        ),
        _PLAMO_THINK,
        *_drop("<|plamo:end_think:plamo|>", "<|plamo:end_tool_requests:plamo|>"),
    )
    reasoning_block: ClassVar[Block | None] = _PLAMO_THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("<|plamo:tag|>",)


@register_parser
class K2HorizonParser(MarkupParser):
    """K2 Horizon (IFM): ``<ifm|tool_calls><ifm|tool_call>NAME<ifm|arg_key>k</ifm|arg_key><ifm|arg_value>v
    </ifm|arg_value></ifm|tool_call>\n...</ifm|tool_calls>``, with an optional
    ``<ifm|arg_type>t</ifm|arg_type>`` before each value, or a JSON call object in ``<ifm|tool_call>`` (its
    three formats, chosen by a chat-template argument, are all read). Reasoning and the end of turn are
    not known here: no template was at hand."""

    name: ClassVar[str] = "k2_horizon"
    template_markers: ClassVar[TemplateMarkers] = ("<ifm|tool_call>",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<ifm|tool_call>", "calls", end=("</ifm|tool_call>",), decode=_k2_horizon_calls),
        Block(
            "<ifm|tool_calls>",
            "calls",
            end=("<ifm|tool_call>", "</ifm|tool_calls>"),
            keep_end=frozenset({"<ifm|tool_call>"}),
            decode=_section_calls(_k2_horizon_calls),
        ),
        Block("</ifm|tool_calls>", "drop"),
    )


@register_parser
class HyperCLOVAXSeedThinkParser(GLM4Parser):
    """NAVER HyperCLOVA X SEED Think: GLM's ``<tool_call>NAME\n<arg_key>k</arg_key>\n<arg_value>v
    </arg_value>\n</tool_call>`` (values JSON-encoded, ``"Seoul"``) under a ChatML end of turn
    (``<|im_end|>``). Its template writes GLM's tags: name the parser, it is not detected."""

    name: ClassVar[str] = "hyperclovax_seed_think"
    template_markers: ClassVar[TemplateMarkers] = ()
    stop_markers: ClassVar[tuple[str, ...]] = _CHATML_STOPS


@register_parser
class HyperCLOVAXSeedThink14BParser(MarkupParser):
    """NAVER HyperCLOVA X SEED Think 14B: a tool-call turn is the role header ``-> tool/function_call``
    and a JSON list of ``{"name", "parameters"}`` (or ``"arguments"``), ended by ``<|im_end|>``;
    ``<think>`` reasoning is taken to be Qwen-style (an assumption: no template was at hand)."""

    name: ClassVar[str] = "hyperclovax_seed_think_14b"
    template_markers: ClassVar[TemplateMarkers] = ("-> tool/function_call",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("-> tool/function_call", "calls", balanced="json", decode=json_calls),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = _CHATML_STOPS
