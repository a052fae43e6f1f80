"""Stream events, token usage and generation options: the values engines and conversations stream.

Engines yield :data:`EngineEvent` values: text and reasoning deltas as they are generated, each tool
call once it is complete, and one final :class:`Completion` holding the whole assistant message and
its usage. A conversation's ``stream()`` yields :data:`Event` values: the engine's deltas and tool
calls, a :class:`ToolResultEvent` per executed call, and a :class:`MessageEvent` for each message
that joins the history; the last event of a round is the final assistant :class:`MessageEvent`.
Every event has a ``kind`` string, so ``match event.kind`` works as well as ``isinstance``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from hermitcrab.messages import Message, ToolCall

__all__ = (
    "Completion",
    "EngineEvent",
    "Event",
    "GenerationOptions",
    "MessageEvent",
    "ReasoningDelta",
    "TextDelta",
    "ToolCallEvent",
    "ToolResultEvent",
    "Usage",
)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one generation, a round, or a whole conversation (``+`` adds them up)."""

    prompt_tokens: int = 0
    """Tokens in the prompt(s) sent to the model."""
    completion_tokens: int = 0
    """Tokens the model generated."""
    cached_tokens: int = 0
    """Prompt tokens served from a reused KV cache (a subset of ``prompt_tokens``)."""
    requests: int = 0
    """Number of generations counted."""

    @property
    def total_tokens(self) -> int:
        """``prompt_tokens + completion_tokens``."""
        return self.prompt_tokens + self.completion_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            self.prompt_tokens + other.prompt_tokens,
            self.completion_tokens + other.completion_tokens,
            self.cached_tokens + other.cached_tokens,
            self.requests + other.requests,
        )

    def to_dict(self) -> dict[str, int]:
        """A JSON-ready dict of the counts."""
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "cached_tokens": self.cached_tokens,
            "requests": self.requests,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Usage:
        """The inverse of :meth:`to_dict` (missing counts are 0).

        Raises:
            ValueError: a count is not a whole number of 0 or more (``True``, ``-5`` and ``"3"`` are
                refused), or ``data`` is not a mapping.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"usage must be an object of counts, not {type(data).__name__}")
        counts = []
        for name in ("prompt_tokens", "completion_tokens", "cached_tokens", "requests"):
            value = data.get(name, 0)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"usage count {name!r} must be a whole number >= 0, not {value!r}")
            counts.append(value)
        return cls(*counts)


@dataclass(frozen=True, slots=True)
class GenerationOptions:
    """How to generate one reply. ``None`` means "the engine's default"."""

    max_new_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    """Extra stop strings; generation ends when one appears (it is not included in the reply)."""
    seed: int | None = None
    tool_choice: str | None = None
    """``"auto"``, ``"none"``, ``"required"`` or a tool name, for engines that support it."""
    session: Any = None
    """An opaque key that identifies the conversation, so engines can reuse per-conversation state
    (such as a KV cache). Engines must work without it."""
    extra: Mapping[str, Any] = field(default_factory=dict)
    """Engine-specific options, passed through untouched."""
    output_schema: Mapping[str, Any] | None = None
    """The JSON schema that the reply's final answer must match (a round with ``output_type``).
    Engines that can enforce it do (a grammar, a ``response_format``); tool calls stay allowed."""


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the reply's visible text, as soon as it is known not to be tool-call markup."""

    text: str
    kind: Literal["text_delta"] = "text_delta"


@dataclass(frozen=True, slots=True)
class ReasoningDelta:
    """A piece of the model's reasoning text."""

    text: str
    kind: Literal["reasoning_delta"] = "reasoning_delta"


@dataclass(frozen=True, slots=True)
class ToolCallEvent:
    """A tool call, complete and parsed (it may be malformed: see ``ToolCall.error``)."""

    call: ToolCall
    kind: Literal["tool_call"] = "tool_call"


@dataclass(frozen=True, slots=True)
class Completion:
    """The end of one generation: the whole assistant message and what it cost."""

    message: Message
    usage: Usage = field(default_factory=Usage)
    finish_reason: str = "stop"
    """``"stop"`` (end of turn or a stop string), ``"length"`` (``max_new_tokens``) or ``"tool_calls"``."""
    kind: Literal["completion"] = "completion"


@dataclass(frozen=True, slots=True)
class ToolResultEvent:
    """A tool call has been answered: ``message`` is the tool-result message sent back to the model."""

    call: ToolCall
    message: Message
    kind: Literal["tool_result"] = "tool_result"


@dataclass(frozen=True, slots=True)
class MessageEvent:
    """A message joined the round (user, assistant or tool). The round's last event is the final
    assistant message's ``MessageEvent``."""

    message: Message
    kind: Literal["message"] = "message"
    finish_reason: str | None = None
    """On assistant messages: why the generation ended, as the engine reported it: ``"stop"``,
    ``"length"`` (cut at ``max_new_tokens``: the reply may be incomplete) or ``"tool_calls"``.
    ``None`` on user and tool messages."""


EngineEvent = Union[TextDelta, ReasoningDelta, ToolCallEvent, Completion]
"""What ``Engine.stream`` yields; it always ends with exactly one :class:`Completion`."""

Event = Union[TextDelta, ReasoningDelta, ToolCallEvent, ToolResultEvent, MessageEvent]
"""What ``Conversation.stream`` yields."""
