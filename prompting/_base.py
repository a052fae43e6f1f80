"""The :class:`ToolCallParser` contract: model text in, messages and stream events out.

A parser knows one model family's tool-call markup. It works on whole replies (``parse``) and on
streams (``feed`` each chunk, then ``finish``), and both must give the same result for any chunking.
Parsers never raise on model output: a call they cannot understand becomes a :class:`ToolCall` with
``error`` set (and ``raw`` holding the text), which the conversation answers with an error message the
model can act on.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Union

from hermitcrab.events import ReasoningDelta, TextDelta, ToolCallEvent
from hermitcrab.messages import Message, ReasoningPart, TextPart, ToolCall

__all__ = ("ParserEvent", "TemplateMarkers", "ToolCallParser", "assemble_message")

ParserEvent = Union[TextDelta, ReasoningDelta, ToolCallEvent]

TemplateMarkers = tuple[Union[str, tuple[str, ...]], ...]
"""A family's ``template_markers``: alternatives, each a string or a tuple of strings that must all
appear in a chat template."""


class ToolCallParser(ABC):
    """Base class of tool-call parsers. Instances are stateful stream parsers; ``clone()`` gives a
    fresh one with the same configuration (engines take one per generation).

    A subclass is a model *family*: everything hermitcrab needs to know about the family is declared
    on the class, and :func:`~hermitcrab.prompting.register_parser` (a class decorator) makes it known
    to :func:`~hermitcrab.prompting.get_parser`, to format detection and to constrained decoding::

        @register_parser
        class AcmeParser(MarkupParser):
            name = "acme"
            aliases = ("acme2",)
            template_markers = ("<acme_call>",)
            grammar = "hermes"
            stop_markers = ("<|acme_end|>",)
            blocks = (Block("<acme_call>", "calls", end=("</acme_call>",), decode=json_calls),)

    ``aliases``, ``template_markers`` and ``detect_priority`` say which names and templates point at
    *this* class, so they are not inherited: a subclass registered as a family of its own declares
    its own. Everything else (``stop_markers``, ``grammar``, ``blocks``...) is inherited as usual.
    """

    name: ClassVar[str] = ""
    """The format name this parser is registered under (``get_parser(name)``)."""

    aliases: ClassVar[tuple[str, ...]] = ()
    """Other names :func:`~hermitcrab.prompting.get_parser` accepts for this family (not inherited)."""

    template_markers: ClassVar[TemplateMarkers] = ()
    """How format detection recognises a chat template of this family: alternatives, each a string
    or a tuple of strings that must all appear in the template (not inherited). Use the markup the
    template writes for past tool calls or asks the model to write."""

    detect_priority: ClassVar[int] = 0
    """Detection tries families with a higher priority first (not inherited). Raise it above a family
    whose markers your family's templates also contain (Qwen3-Coder templates mention Hermes'
    ``<tool_call>`` too). Among equal priorities the family registered last is tried first, so your
    own family wins over a built-in one."""

    grammar: ClassVar[str | None] = None
    """The grammar that constrains this family's tool calls (``HuggingEngine(constrained=True)``):
    ``"hermes"`` for hermitcrab's own grammar of Hermes ``<tool_call>`` JSON calls, the name of one of
    xgrammar's built-in structural tags (``"llama"``, ``"harmony"``, ``"qwen_3_coder"``,
    ``"deepseek_r1"``, ``"deepseek_v3_1"``, ``"deepseek_v3_2"``, ``"kimi"``...), or ``None``: this
    family cannot be constrained."""

    stop_markers: ClassVar[tuple[str, ...]] = ()
    """Strings that end the assistant's turn in this format (e.g. ``<|im_end|>``), for engines that
    need to stop generation on text; they never appear in parsed output."""

    @abstractmethod
    def feed(self, chunk: str) -> list[ParserEvent]:
        """Consume the next chunk of model output; return the events it completes, in order."""

    @abstractmethod
    def finish(self) -> list[ParserEvent]:
        """Signal the end of output; return the remaining events (unclosed markup becomes a
        malformed call or text, never an exception)."""

    def clone(self) -> ToolCallParser:
        """A fresh parser with the same configuration and empty state."""
        return type(self)()

    def for_prompt(self, prompt: str) -> ToolCallParser:
        """A fresh parser for the reply that continues ``prompt`` (the rendered prompt text).

        Engines should call this once per generation instead of ``clone()``: when the generation
        prompt leaves the model inside a block (a chat template that ends with ``<think>\n``), the
        parser then starts in that block, so the reasoning is not mistaken for text. The default
        ignores the prompt.
        """
        return self.clone()

    def parse(self, text: str) -> Message:
        """Parse a whole reply into an assistant :class:`Message` (does not touch this instance's
        streaming state)."""
        fresh = self.clone()
        return assemble_message([*fresh.feed(text), *fresh.finish()])


def assemble_message(events: list[ParserEvent]) -> Message:
    """Build the assistant message that a sequence of parser events describes.

    Consecutive deltas of one kind are merged; parts keep their order (reasoning, text and calls as
    they appeared).
    """
    parts: list[TextPart | ReasoningPart | ToolCall] = []
    for event in events:
        if isinstance(event, ToolCallEvent):
            parts.append(event.call)
            continue
        cls = TextPart if isinstance(event, TextDelta) else ReasoningPart
        if not event.text:
            continue
        if parts and type(parts[-1]) is cls:
            parts[-1] = cls(text=parts[-1].text + event.text)
        else:
            parts.append(cls(text=event.text))
    if all(isinstance(p, TextPart) for p in parts):
        return Message(role="assistant", content="".join(p.text for p in parts))  # type: ignore[union-attr]
    return Message(role="assistant", content=tuple(parts))
