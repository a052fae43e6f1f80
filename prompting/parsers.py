# ruff: noqa: RUF001  (DeepSeek markers really use fullwidth bars)
"""The built-in tool-call parsers, one class per model family, registered by format name.

Every parser here is a :class:`~hermitcrab.prompting.markup.MarkupParser`: a family is a handful of
:class:`~hermitcrab.prompting.markup.Block` s plus the end-of-turn ``stop_markers``. Parsers expect the
model's text *with* its special tokens (decode with ``skip_special_tokens=False``): markers such as
``<|python_tag|>`` or ``[TOOL_CALLS]`` are special tokens in most tokenizers.

Call ids come from the model when the format carries them (Mistral ``[CALL_ID]`` and ``"id"``, Kimi's
``functions.name:0``, Command R7B's ``tool_call_id``), otherwise from
:func:`~hermitcrab.messages.new_call_id` (random: compare parse results ignoring ids).
"""

from __future__ import annotations

from typing import ClassVar

from hermitcrab.prompting._decode import json_calls
from hermitcrab.prompting.markup import Block, MarkupParser
from hermitcrab.prompting.registry import register_parser

__all__ = (
    "HermesParser",
    "PlainParser",
    "ReasoningParser",
)

THINK = Block("<think>", "reasoning", end=("</think>",), strip=True)
"""``<think>...</think>`` reasoning, shared by many families."""
STRAY_THINK_END = Block("</think>", "drop")
"""A ``</think>`` with no opening tag (the prompt opened it) is removed from the text."""


class PlainParser(MarkupParser):
    """Text only: no tool calls, no reasoning (models whose template has no tool support)."""

    name: ClassVar[str] = "plain"
    blocks: ClassVar[tuple[Block, ...]] = ()


class ReasoningParser(MarkupParser):
    """``<think>...</think>`` reasoning and text, no tool calls (reasoning models used without tools)."""

    name: ClassVar[str] = "reasoning"
    blocks: ClassVar[tuple[Block, ...]] = (THINK, STRAY_THINK_END)
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("<|im_end|>", "<|endoftext|>", "<｜end▁of▁sentence｜>")


class HermesParser(MarkupParser):
    """Hermes / Qwen2.5 / Qwen3 / QwQ / Granite 4: ``<tool_call>{"name": .., "arguments": {..}}</tool_call>``.

    Several calls per reply, text around them, ``<think>`` reasoning. A body may also hold a JSON list
    of calls or several objects. An unclosed ``<tool_call>`` at the end of output is malformed.
    """

    name: ClassVar[str] = "hermes"
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<tool_call>", "calls", end=("</tool_call>",), decode=json_calls),
        THINK,
        STRAY_THINK_END,
    )
    reasoning_block: ClassVar[Block | None] = THINK
    stop_markers: ClassVar[tuple[str, ...]] = ("<|im_end|>", "<|endoftext|>", "<|end_of_text|>")


register_parser(PlainParser, names=("none", "text"))
register_parser(ReasoningParser, names=("think", "reasoning_only"))
register_parser(HermesParser, names=("qwen2.5", "qwen3", "qwq", "qwen", "granite4", "nous"))
