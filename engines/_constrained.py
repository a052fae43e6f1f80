"""Constrained tool calls: a local model that can only emit tool calls that parse and validate.

Small local models fail at tool calling mostly by writing malformed calls: a wrong tool name, a missing
required key, a string where an integer belongs, broken JSON. Grammar-constrained decoding removes that
failure mode. On every step a grammar matcher (xgrammar) masks the logits of tokens that cannot
continue a valid reply, so:

* free text and reasoning stay free;
* once the model opens a tool call in its family's markup (Hermes: ``<tool_call>``), the rest of the
  call is constrained to one of the declared tools, with arguments valid against that tool's JSON
  schema (names, required keys, types, enums, nested objects, arrays);
* ``tool_choice`` is honoured per round: ``"auto"`` (text or calls), ``"none"`` (the call marker
  cannot be written), ``"required"`` (the reply is one or more calls) or a tool's name (exactly one
  call of that tool).

The pieces:

:class:`ToolCallConstraint`
    Made once per tokenizer (an engine). ``logits_processor(tools, tool_choice)`` returns a fresh
    ``transformers.LogitsProcessor`` for one ``generate`` call (matchers are stateful), or ``None``
    when there is nothing to constrain. Compiled grammars are cached per (tool set, tool choice,
    reasoning state) in a bounded LRU cache on the constraint, i.e. per tokenizer. Compilation happens
    lazily on the processor's first call, which is in the engine's worker thread, not on the event loop.
:class:`~hermitcrab.engines._hugging.HuggingEngine` with ``constrained=True``
    adds the processor to each round's ``logits_processor`` (after any of yours). Streaming, cancellation and
    KV reuse are the HuggingEngine's own, untouched. ``GenerationOptions(extra={"constrained": False})``
    turns the constraint off for one round (or for a conversation, through its default options).

Families covered: each family declares its grammar on its parser class (``grammar = "hermes"``, or the
name of an xgrammar built-in structural tag); the engine's parser chooses it, and
:func:`constrained_formats` lists the format names that have one.

* **Hermes / Qwen2.5 / Qwen3 / QwQ / Hermes-3 / Granite 4** (parser ``hermes`` and its aliases,
  ``grammar = "hermes"``): hermitcrab's own structural tag,
  ``<tool_call>\\n{"name": "<tool>", "arguments": <JSON>}\\n</tool_call>`` after a ``<tool_call>``
  trigger. Tested end to end with a tiny model. A family of your own whose calls are written this way
  declares ``grammar = "hermes"`` too.
* Through xgrammar's per-family ``get_model_structural_tag`` (checked against the fixture chat
  templates in ``tests/fixtures/chat_templates``: each grammar accepts the call that the family's own
  template renders, under ``"auto"``, ``"required"`` and a forced tool, and rejects it under
  ``"none"``): ``llama3_json`` (``"llama"``: Llama 3.1/3.2 JSON calls), ``harmony`` (gpt-oss),
  ``deepseek_v3`` (``"deepseek_r1"``: DeepSeek-R1 and its distills; a required call follows
  ``</think>`` without a newline), ``deepseek_v31`` (``"deepseek_v3_1"``), ``deepseek_v32``
  (``"deepseek_v3_2"``), ``kimi_k2`` (``"kimi"``), ``qwen3_coder`` (``"qwen_3_coder"``: Qwen3-Coder XML
  parameters).
* Not covered (xgrammar 0.2.8 has no matching grammar, or it rejects what the template renders):
  GLM-4.6 (xgrammar's ``glm_4_7`` differs), MiniMax-M2, Mistral, pythonic, Command R, Granite 3,
  Phi-4, functionary, DeepSeek V4 and the rest. ``ToolCallConstraint`` raises
  :class:`~hermitcrab.errors.ConfigurationError` for them.

Constraining fixes structure, not meaning: a model that does not attend to the city in the question
will still write some other (valid) city.

Known limits: JSON string length limits (``minLength``/``maxLength``) are compiled through an
equivalent ``pattern`` (xgrammar 0.2.8 lets raw control characters into length-limited strings,
which is invalid JSON), so such strings cannot contain escapes or ``<``. Other Hermes strings cannot
contain the call markers or end-of-turn markers (the parser would end the call there); xgrammar's
built-in families do not exclude their markers from strings. ``max_whitespace`` caps runs of
whitespace inside arguments (a random or confused model otherwise pads JSON forever).

**Structured answers.** With ``output_schema`` (a round with ``output_type``) the reply's final
answer is also constrained: it is JSON valid against the schema. For the Hermes family the reply is
then either tool calls or the JSON answer (``"auto"``), the answer alone (``"none"`` or no tools), or
calls alone (``"required"``, a forced tool: the answer comes in a later generation). Other families
get the answer grammar only where no call can be made (xgrammar's family grammars cannot be combined
with it; gpt-oss harmony never, its answers are in channel markup). ``free_calls=True`` builds a
constraint for the answer alone, with tool calls left free (an engine without ``constrained``): any
parser format is accepted then, and Hermes calls are free text between their markers.

User documentation: ``docs/constrained.md``, ``docs/structured.md``; measurements:
``benchmarks/constrained.py``, ``benchmarks/structured.py``.
"""

from __future__ import annotations

import functools
import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from hermitcrab._tool_choice import check_tool_choice
from hermitcrab.engines._base import ToolSchema
from hermitcrab.errors import ConfigurationError, EngineError, MissingDependencyError
from hermitcrab.prompting._base import ToolCallParser
from hermitcrab.prompting._registry import lookup, normalise, parser_names

__all__ = ("ToolCallConstraint", "constrained_formats")

_EXTRA = "pip install 'hermitcrab[constrained]'"

_HERMES_TRIGGER = "<tool_call>"
_HERMES_CLOSE = "</tool_call>"
_HERMES_END = "}\n" + _HERMES_CLOSE
_THINK_BEGIN, _THINK_END = "<think>", "</think>"
_REASONING_TAIL_TOKENS = 16
"""Prompt tokens decoded to see whether the generation prompt left the model inside a think block."""

_LENGTH_SAFE_CHAR = r'[^\x00-\x1f"\\<]'
"""One character of a length-limited JSON string: no escape needed, and no ``<`` (markup; see the module
doc)."""


def constrained_formats() -> list[str]:
    """Every registered parser format name (aliases included) whose family declares a ``grammar``,
    sorted: the formats :class:`ToolCallConstraint` can constrain."""
    return sorted(name for name in parser_names() if getattr(lookup(name), "grammar", None) is not None)


def _import_xgrammar() -> Any:
    try:
        import xgrammar
    except ImportError as exc:
        raise MissingDependencyError(
            f"constrained tool calls need the 'xgrammar' package, which is not installed: {_EXTRA}"
        ) from exc
    return xgrammar


class ToolCallConstraint:
    """Grammars that keep one tokenizer's tool calls valid, and the logits processors that apply them.

    Args:
        tokenizer: The model's Hugging Face tokenizer.
        format: The tool-call format: a registered parser name, e.g. ``"hermes"`` (see
            :func:`constrained_formats`), or the engine's parser itself (a class or instance, registered
            or not). The family's ``grammar`` class attribute chooses the grammar.
        vocab_size: The model's vocabulary size (its logits' width, often larger than the tokenizer's
            because of padding). Default: the tokenizer's.
        stop_token_ids: Tokens that end the reply (the engine's end-of-turn ids); the grammar allows
            them wherever the reply may end. Default: the tokenizer's ``eos_token_id``.
        max_whitespace: Longest run of whitespace allowed inside tool arguments (``None``: no limit).
        parallel_tool_calls: Allow several calls in one reply (as OpenAI's option of that name).
        max_cached_grammars: How many compiled grammars to keep (LRU).
        max_string_length: Longest string argument allowed where the tool's schema sets no
            ``maxLength`` (``None``: no limit). A small model stuck repeating itself inside a string
            otherwise runs into ``max_new_tokens`` with the call still open; with a limit the grammar
            closes the string and the call, so the call stays valid.
        free_calls: Constrain only structured answers (``output_schema``), never the tool calls; any
            ``format`` is accepted.

    Raises:
        MissingDependencyError: xgrammar is not installed.
        ConfigurationError: ``format`` has no grammar here, or an argument is out of range.
    """

    def __init__(
        self,
        tokenizer: Any,
        format: str | ToolCallParser | type[ToolCallParser] = "hermes",
        *,
        vocab_size: int | None = None,
        stop_token_ids: Sequence[int] | None = None,
        max_whitespace: int | None = 16,
        parallel_tool_calls: bool = True,
        max_cached_grammars: int = 32,
        max_string_length: int | None = None,
        free_calls: bool = False,
    ) -> None:
        if isinstance(format, str):
            name, family = normalise(format), lookup(format)
        else:
            family = format if isinstance(format, type) else type(format)
            name = normalise(family.name)
        grammar = family.grammar if family is not None else None
        if not free_calls and grammar is None:
            raise ConfigurationError(
                f"no tool-call grammar for the format {format!r}; constrained decoding supports "
                f"{', '.join(constrained_formats())} (choose the engine's parser=..., or turn "
                "constrained off)"
            )
        if max_whitespace is not None and max_whitespace < 1:
            raise ConfigurationError(f"max_whitespace must be >= 1 or None, not {max_whitespace}")
        if max_string_length is not None and max_string_length < 1:
            raise ConfigurationError(f"max_string_length must be >= 1 or None, not {max_string_length}")
        if max_cached_grammars < 1:
            raise ConfigurationError(f"max_cached_grammars must be >= 1, not {max_cached_grammars}")
        _import_xgrammar()  # fail now, with the pip command, when xgrammar is missing
        self.format = name
        self.max_whitespace = max_whitespace
        self.parallel_tool_calls = parallel_tool_calls
        self.max_cached_grammars = max_cached_grammars
        self.max_string_length = max_string_length
        self.tokenizer = tokenizer
        self.free_calls = free_calls
        self._grammar = grammar
        self._builtin = grammar if grammar != "hermes" else None
        """xgrammar's built-in structural tag for this family (``None``: hermitcrab's Hermes grammar)."""
        self._stop_strings: tuple[str, ...] = tuple(family.stop_markers) if family is not None else ()
        self._vocab_size = vocab_size
        self._stops = sorted({int(t) for t in stop_token_ids}) if stop_token_ids else None
        # Made on first use (in the generating thread: a large vocabulary takes a while, and an engine
        # makes its constraint for structured answers while a round starts, on the event loop).
        self._info: Any = None
        self._compiler: Any = None
        self._has_think_token = _THINK_BEGIN in tokenizer.get_vocab()
        self._cache: OrderedDict[tuple[str, ...], Any] = OrderedDict()
        self._lock = threading.RLock()
        self._hits = 0
        self._misses = 0

    @property
    def vocab_size(self) -> int:
        """The width of the token masks (the model's vocabulary size)."""
        return int(self._tokenizer_info().vocab_size)

    def _tokenizer_info(self) -> Any:
        """xgrammar's view of the tokenizer and the grammar compiler, made once."""
        with self._lock:
            if self._info is None:
                xgr = _import_xgrammar()
                self._info = xgr.TokenizerInfo.from_huggingface(
                    self.tokenizer, vocab_size=self._vocab_size, stop_token_ids=self._stops
                )
                # Our own LRU cache is bounded; xgrammar's compiler cache would be a second, unbounded one.
                self._compiler = xgr.GrammarCompiler(self._info, max_threads=1, cache_enabled=False)
            return self._info

    def cache_info(self) -> dict[str, int]:
        """Grammar-cache counters: ``hits``, ``misses`` (compilations) and ``size``."""
        with self._lock:
            return {"hits": self._hits, "misses": self._misses, "size": len(self._cache)}

    # -- public API -------------------------------------------------------------------------------
    def logits_processor(
        self,
        tools: Sequence[ToolSchema],
        tool_choice: str | None = None,
        *,
        output_schema: Mapping[str, Any] | None = None,
    ) -> Any:
        """A fresh logits processor that constrains one generation, or ``None`` if nothing needs it.

        ``None`` comes back for ``"auto"`` without tools and without ``output_schema`` (and, with
        ``free_calls``, whenever the answer cannot be constrained). ``tool_choice`` is checked now (an
        unknown tool name raises :class:`~hermitcrab.errors.ConfigurationError`); the grammar is
        compiled (or taken from the cache) on the processor's first call, in the generating thread.
        """
        choice, _ = _normalise_choice(tools, tool_choice)
        if output_schema is not None and not self._answer_grammar(tools, choice):
            output_schema = None
        if output_schema is None and (self.free_calls or (choice == "auto" and not tools)):
            return None
        return _processor_class()(self, tuple(tools), tool_choice, output_schema)

    def grammar(
        self,
        tools: Sequence[ToolSchema],
        tool_choice: str | None = None,
        *,
        reasoning: str = "auto",
        output_schema: Mapping[str, Any] | None = None,
    ) -> Any:
        """The compiled grammar (``xgrammar.CompiledGrammar``) for these tools and choice, cached.

        ``reasoning`` is ``"auto"`` (a reasoning block may come first) or ``"enabled"`` (the prompt
        already opened one: the reply starts inside it). ``output_schema`` constrains the final answer
        too (see the module documentation).
        """
        key = (
            reasoning,
            str(tool_choice),
            json.dumps([dict(t) for t in tools], default=str),
            json.dumps(output_schema, default=str) if output_schema is not None else "",
        )
        with self._lock:
            compiled = self._cache.get(key)
            if compiled is not None:
                self._cache.move_to_end(key)
                self._hits += 1
                return compiled
            tag = self.structural_tag(tools, tool_choice, reasoning=reasoning, output_schema=output_schema)
            self._tokenizer_info()
            compiled = self._compiler.compile_structural_tag(tag)
            self._misses += 1
            self._cache[key] = compiled
            while len(self._cache) > self.max_cached_grammars:
                self._cache.popitem(last=False)
            return compiled

    def structural_tag(
        self,
        tools: Sequence[ToolSchema],
        tool_choice: str | None = None,
        *,
        reasoning: str = "auto",
        output_schema: Mapping[str, Any] | None = None,
    ) -> Any:
        """The xgrammar ``StructuralTag`` describing a valid reply (not compiled, not cached)."""
        choice, forced = _normalise_choice(tools, tool_choice)
        functions = [_function(t, self.max_string_length) for t in tools]
        if forced is not None:
            functions = [f for f in functions if f["name"] == forced]
        if output_schema is not None and self._answer_grammar(tools, choice):
            return self._answer_tag(functions, choice, reasoning, output_schema)
        if self.free_calls:
            raise ConfigurationError(
                "this constraint only constrains structured answers (free_calls=True), and this reply "
                "cannot have one"
            )
        if self._builtin is None:
            return self._hermes_tag(functions, choice, reasoning)
        return self._builtin_tag(functions, choice, forced, reasoning)

    # -- grammars -------------------------------------------------------------------------------
    def _hermes_tag(self, functions: list[dict[str, Any]], choice: str, reasoning: str) -> Any:
        from xgrammar.structural_tag import (
            AnyTextFormat,
            StructuralTag,
            TagsWithSeparatorFormat,
            TriggeredTagsFormat,
        )

        calls = self._hermes_calls(functions)
        if choice == "none":
            return StructuralTag(format=AnyTextFormat(excludes=[_HERMES_TRIGGER]))
        if choice == "auto":  # free text and reasoning; a call after each trigger
            return StructuralTag(
                format=TriggeredTagsFormat(
                    triggers=[_HERMES_TRIGGER], tags=calls, stop_after_first=not self.parallel_tool_calls
                )
            )
        # "required" or forced: the reply is calls, after an optional reasoning block.
        body = TagsWithSeparatorFormat(
            tags=calls,
            separator="\n",
            at_least_one=True,
            stop_after_first=choice == "forced" or not self.parallel_tool_calls,
        )
        return self._after_reasoning(body, reasoning)

    def _hermes_calls(self, functions: list[dict[str, Any]]) -> list[Any]:
        """One Hermes call tag per function (its arguments under its schema)."""
        from xgrammar.structural_tag import JSONSchemaFormat, TagFormat

        # Markup inside a JSON string would end the call for the parser (or the turn for the streamer).
        excludes = [_HERMES_TRIGGER, _HERMES_CLOSE, *self._stop_markers()]
        return [
            TagFormat(
                begin=f'{_HERMES_TRIGGER}\n{{"name": {json.dumps(f["name"])}, "arguments": ',
                content=JSONSchemaFormat(
                    json_schema=f["parameters"], max_whitespace_cnt=self.max_whitespace, excludes=excludes
                ),
                end=_HERMES_END,
            )
            for f in functions
        ]

    def _after_reasoning(self, body: Any, reasoning: str) -> Any:
        """``body`` as the whole reply, after a reasoning block where the model may (or must) think."""
        from xgrammar.structural_tag import (
            AnyTextFormat,
            OptionalFormat,
            SequenceFormat,
            StructuralTag,
            TagFormat,
        )

        think_end = [f"{_THINK_END}\n\n", f"{_THINK_END}\n", _THINK_END]
        thought = AnyTextFormat(excludes=[_THINK_END])
        if reasoning == "enabled":
            prefix: Any = TagFormat(begin="", content=thought, end=think_end)
        elif self._has_think_token:
            prefix = OptionalFormat(content=TagFormat(begin=_THINK_BEGIN, content=thought, end=think_end))
        else:
            return StructuralTag(format=body)
        return StructuralTag(format=SequenceFormat(elements=[prefix, body]))

    def _stop_markers(self) -> tuple[str, ...]:
        return self._stop_strings

    # -- structured answers -------------------------------------------------------------------------
    def _answer_grammar(self, tools: Sequence[ToolSchema], choice: str) -> bool:
        """Whether the final answer of this reply can be put under a JSON-schema grammar."""
        if self._builtin == "harmony" or choice in ("required", "forced"):
            return False
        return choice == "none" or not tools or self._grammar == "hermes"

    def _answer_tag(
        self, functions: list[dict[str, Any]], choice: str, reasoning: str, schema: Mapping[str, Any]
    ) -> Any:
        """The reply as a JSON answer valid against ``schema``, or (Hermes, ``"auto"``) tool calls."""
        from xgrammar.structural_tag import (
            AnyTextFormat,
            JSONSchemaFormat,
            OrFormat,
            TagFormat,
            TagsWithSeparatorFormat,
        )

        answer = JSONSchemaFormat(
            json_schema=_length_safe(dict(schema)),
            max_whitespace_cnt=self.max_whitespace,
            excludes=list(self._stop_markers()),
        )
        if choice == "none" or not functions:
            return self._after_reasoning(answer, reasoning)
        if self.free_calls:  # a call is free text between the markers
            calls: list[Any] = [
                TagFormat(
                    begin=_HERMES_TRIGGER, content=AnyTextFormat(excludes=[_HERMES_CLOSE]), end=_HERMES_CLOSE
                )
            ]
        else:
            calls = self._hermes_calls(functions)
        tool_calls = TagsWithSeparatorFormat(
            tags=calls, separator="\n", at_least_one=True, stop_after_first=not self.parallel_tool_calls
        )
        return self._after_reasoning(OrFormat(elements=[tool_calls, answer]), reasoning)

    def _builtin_tag(
        self, functions: list[dict[str, Any]], choice: str, forced: str | None, reasoning: str
    ) -> Any:
        xgr = _import_xgrammar()
        tools = [{"type": "function", "function": f} for f in functions]
        if choice == "none" and not tools:
            # A placeholder tool, only to learn the family's call triggers (then excluded below).
            tools = [{"type": "function", "function": {"name": "tool", "parameters": {"type": "object"}}}]
        xgr_choice: Any = {"type": "function", "function": {"name": forced}} if forced else choice
        tag = xgr.get_model_structural_tag(
            self._builtin,
            tools=tools,
            tool_choice="auto" if choice == "none" else xgr_choice,
            reasoning=reasoning,
            max_whitespace_cnt=self.max_whitespace,
            parallel_tool_calls=self.parallel_tool_calls,
        )
        if choice != "none":
            return tag
        found, without = _without_calls(tag.format)
        if found:
            return tag.model_copy(update={"format": without})
        # A closed format (harmony): without tools it has no call tags at all.
        return xgr.get_model_structural_tag(
            self._builtin, tools=[], tool_choice="auto", reasoning=reasoning, max_whitespace_cnt=None
        )

    def _reasoning_state(self, prompt_ids: Sequence[int]) -> str:
        """``"enabled"`` when the prompt ends inside an open ``<think>`` block, else ``"auto"``."""
        tail = self.tokenizer.decode(list(prompt_ids[-_REASONING_TAIL_TOKENS:]), skip_special_tokens=False)
        return "enabled" if tail.rfind(_THINK_BEGIN) > tail.rfind(_THINK_END) else "auto"


# -- helpers ---------------------------------------------------------------------------------------
def _normalise_choice(tools: Sequence[ToolSchema], tool_choice: str | None) -> tuple[str, str | None]:
    """``("auto" | "none" | "required" | "forced", forced tool name or None)``; raises when invalid."""
    return check_tool_choice(tool_choice, (_function(t)["name"] for t in tools))


def _function(tool: ToolSchema, max_string_length: int | None = None) -> dict[str, Any]:
    """``{"name", "parameters"}`` of an OpenAI-shaped tool, with a schema xgrammar compiles faithfully
    (strings without a ``maxLength`` get ``max_string_length`` when one is set)."""
    function = tool.get("function", tool)
    name = function.get("name")
    if not isinstance(name, str) or not name:
        raise ConfigurationError(f"a tool schema has no function name: {dict(tool)!r}")
    parameters = function.get("parameters") or {"type": "object"}
    if max_string_length is not None:
        parameters = _cap_strings(parameters, max_string_length)
    return {"name": name, "parameters": _length_safe(parameters)}


def _cap_strings(schema: Any, cap: int) -> Any:
    """A copy of ``schema`` where every free-form string without a ``maxLength`` gets ``maxLength=cap``."""
    if isinstance(schema, list):
        return [_cap_strings(s, cap) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {k: _cap_strings(v, cap) for k, v in schema.items()}
    free = not any(k in out for k in ("pattern", "format", "enum", "const", "maxLength"))
    if free and out.get("type") == "string":
        out["maxLength"] = cap
    return out


def _length_safe(schema: Any) -> Any:
    """A copy of ``schema`` where length-limited plain strings are limited by an equivalent ``pattern``.

    xgrammar 0.2.8 compiles ``maxLength``/``minLength`` strings to "any character but quote,
    backslash and newline", so raw control characters (invalid JSON) get through; a pattern of
    characters that need no escaping keeps the output valid JSON with the same length limits. The
    pattern also leaves out ``<``: markup such as ``</tool_call>`` inside an argument would end the
    call for the parser, and xgrammar's substring ``excludes`` do not apply to patterned strings.
    """
    if isinstance(schema, list):
        return [_length_safe(s) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {k: _length_safe(v) for k, v in schema.items()}
    plain = not any(k in out for k in ("pattern", "format", "enum", "const"))
    limited = "minLength" in out or "maxLength" in out
    if plain and limited and out.get("type") == "string":
        low = int(out.get("minLength", 0))
        high = out.pop("maxLength", None)
        out.pop("minLength", None)  # carried by the pattern (xgrammar ignores them next to one)
        out["pattern"] = f"^{_LENGTH_SAFE_CHAR}{{{low},{'' if high is None else int(high)}}}$"
    return out


def _without_calls(node: Any) -> tuple[bool, Any]:
    """Replace each triggered-call region in a structural-tag format with text that cannot trigger it."""
    from pydantic import BaseModel
    from xgrammar.structural_tag import AnyTextFormat, TriggeredTagsFormat

    if isinstance(node, TriggeredTagsFormat):
        return True, AnyTextFormat(excludes=[*node.excludes, *node.triggers])
    if isinstance(node, list):
        results = [_without_calls(item) for item in node]
        return any(found for found, _ in results), [item for _, item in results]
    if isinstance(node, BaseModel):
        found_any = False
        updates: dict[str, Any] = {}
        for name in type(node).model_fields:
            found, value = _without_calls(getattr(node, name))
            if found:
                found_any = True
                updates[name] = value
        return found_any, node.model_copy(update=updates) if found_any else node
    return False, node


@functools.lru_cache(maxsize=1)
def _processor_class() -> type:
    """The grammar logits processor class (built on first use: it needs transformers and xgrammar)."""
    import torch
    from transformers import LogitsProcessor

    xgr = _import_xgrammar()

    class GrammarLogitsProcessor(LogitsProcessor):  # type: ignore[misc]  # transformers is untyped here
        """Masks the logits of tokens the grammar forbids, one matcher per sequence in the batch.

        Single use: each ``generate`` call needs a new one (the matchers follow that generation).
        The grammar is compiled, or taken from the constraint's cache, on the first call.
        """

        def __init__(
            self,
            constraint: ToolCallConstraint,
            tools: tuple[ToolSchema, ...],
            choice: Any,
            output_schema: Mapping[str, Any] | None = None,
        ) -> None:
            self.constraint = constraint
            self.tools = tools
            self.tool_choice = choice
            self.output_schema = output_schema
            self._matchers: list[Any] | None = None
            self._bitmask: Any = None

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            matchers = self._matchers
            if matchers is None:  # the prompt: compile (or fetch) the grammar, start the matchers
                reasoning = self.constraint._reasoning_state(input_ids[0].tolist())
                grammar = self.constraint.grammar(
                    self.tools, self.tool_choice, reasoning=reasoning, output_schema=self.output_schema
                )
                matchers = self._matchers = [xgr.GrammarMatcher(grammar) for _ in range(input_ids.shape[0])]
                self._bitmask = xgr.allocate_token_bitmask(len(matchers), self.constraint.vocab_size)
            else:  # the token sampled last step
                for matcher, token in zip(matchers, input_ids[:, -1].tolist(), strict=True):
                    if not matcher.is_terminated() and not matcher.accept_token(token):
                        raise EngineError(
                            f"token {token} was generated against the tool-call grammar: a logits "
                            "processor that runs after the constraint (or a forced token) overrode it"
                        )
            for row, matcher in enumerate(matchers):
                if not matcher.is_terminated():
                    matcher.fill_next_token_bitmask(self._bitmask, row)
            vocab = self.constraint.vocab_size
            if scores.device.type == "cpu" and scores.dtype == torch.float32:
                xgr.apply_token_bitmask_inplace(scores, self._bitmask, vocab_size=vocab, backend="cpu")
            else:
                xgr.apply_token_bitmask_inplace(scores, self._bitmask.to(scores.device), vocab_size=vocab)
            best = scores.max() if scores.shape[0] == 1 else scores.amax(dim=-1).min()
            if best.item() == float("-inf"):
                raise EngineError(
                    "every token was ruled out: a logits processor that runs before the constraint "
                    "(a forced token, a bias of -inf) disagrees with the tool-call grammar"
                )
            return scores

    return GrammarLogitsProcessor
