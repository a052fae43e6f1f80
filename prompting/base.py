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

__all__ = ("ParserEvent", "ToolCallParser", "assemble_message")

ParserEvent = Union[TextDelta, ReasoningDelta, ToolCallEvent]


class ToolCallParser(ABC):
    """Base class of tool-call parsers. Instances are stateful stream parsers; ``clone()`` gives a
    fresh one with the same configuration (engines take one per generation)."""

    name: ClassVar[str] = ""
    """The format name this parser is registered under (``get_parser(name)``)."""

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
            parts[-1] = cls(text=parts[-1].text + event.text)  # type: ignore[union-attr]
        else:
            parts.append(cls(text=event.text))
    if all(isinstance(p, TextPart) for p in parts):
        return Message(role="assistant", content="".join(p.text for p in parts))  # type: ignore[union-attr]
    return Message(role="assistant", content=tuple(parts))
