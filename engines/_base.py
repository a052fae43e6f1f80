"""The :class:`Engine` interface: what a conversation needs from a model.

An engine counts tokens exactly for its own prompt format and streams one reply at a time. To write
your own, subclass :class:`Engine` and implement three methods:

``message_len(message)``
    Tokens that one message adds to a prompt. Conversations cache it per message (messages are
    immutable), so it may be slow-ish, but it should agree with ``prompt_len``.
``prompt_len(messages, tools)``
    Exact tokens of the whole prompt that ``stream`` would send for these messages and tool schemas,
    including the generation prompt. Conversations trim with the sum of ``message_len`` values plus a
    fixed overhead, then check the chosen prompt once with ``prompt_len``; if a template is not
    additive they fall back to a binary search with ``prompt_len`` (O(log n) calls, never O(n)).
``stream(messages, *, tools, options)``
    An async iterator of :data:`~hermitcrab.events.EngineEvent`: text/reasoning deltas and complete
    tool calls as they appear, then exactly one :class:`~hermitcrab.events.Completion`. Closing the
    iterator early (``aclose()``) or cancelling the task must stop generation. Errors should be
    raised as :class:`~hermitcrab.errors.EngineError` (``raise EngineError(...) from exc``).

Optional overrides: ``count_tokens`` (used to truncate large tool results), ``release_session``
(drop per-conversation state such as KV caches), ``close``, ``closed`` and ``default_max_new_tokens``.

Closing: ``close()`` may be called while replies are streaming. A stream that close() interrupts must
raise :class:`~hermitcrab.errors.ConversationClosedError` rather than end with a ``Completion`` (a
cut-off reply is not a reply), and every later ``stream`` must raise it at once. Conversations also
check ``closed`` after each reply, so an engine that ends the stream normally still has its round
rolled back.

:class:`hermitcrab.testing.EngineConformance` checks these promises against an engine: subclass it
with a ``make_engine()`` for yours (``tests/test_conformance.py`` runs it on every engine here).

Tool schemas reach engines as plain dicts in the OpenAI / chat-template shape
``{"type": "function", "function": {"name", "description", "parameters"}}``, so engines never
depend on ``hermitcrab.tools``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping, Sequence
from types import TracebackType
from typing import Any

from hermitcrab.errors import EngineError
from hermitcrab.events import (
    Completion,
    EngineEvent,
    GenerationOptions,
    ReasoningDelta,
    TextDelta,
    ToolCallEvent,
    Usage,
)
from hermitcrab.messages import Message
from hermitcrab.prompting._base import assemble_message

__all__ = ("Engine", "ToolSchema", "completion_from_events")

ToolSchema = Mapping[str, Any]
"""A tool as engines see it: ``{"type": "function", "function": {"name", "description", "parameters"}}``."""


class Engine(ABC):
    """Abstract base of every engine. One engine may serve many conversations at once."""

    max_context_size: int
    """The model's context window in tokens; conversations trim prompts to fit it."""

    @abstractmethod
    def message_len(self, message: Message) -> int:
        """Tokens that ``message`` adds to a prompt in this engine's format."""

    @abstractmethod
    def prompt_len(self, messages: Sequence[Message], tools: Sequence[ToolSchema] = ()) -> int:
        """Exact tokens of the prompt for ``messages`` and ``tools``, generation prompt included."""

    @abstractmethod
    def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] = (),
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[EngineEvent]:
        """Generate one assistant reply, streaming events that end with one ``Completion``."""

    async def generate(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] = (),
        options: GenerationOptions = GenerationOptions(),
    ) -> Completion:
        """Generate one reply and return its :class:`Completion` (``stream`` collected)."""
        completion: Completion | None = None
        stream = self.stream(messages, tools=tools, options=options)
        try:
            async for event in stream:
                if isinstance(event, Completion):
                    completion = event
        finally:
            aclose = getattr(stream, "aclose", None)
            if aclose is not None:
                await aclose()
        if completion is None:
            raise EngineError(f"{type(self).__name__}.stream ended without a Completion event")
        return completion

    def count_tokens(self, text: str) -> int:
        """Tokens in a piece of plain text (used to truncate large tool results).

        The default measures how much ``text`` adds to a tool message; engines with a tokenizer
        should override it with the tokenizer's count.
        """
        return max(
            0,
            self.message_len(Message(role="tool", content=text))
            - self.message_len(Message(role="tool", content="")),
        )

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` has been called. Conversations refuse to commit a reply generated
        while the engine closed, and refuse new rounds after it.

        The default reads the ``_closed`` attribute that the shipped engines set in ``close()``;
        override it if your engine keeps that state elsewhere.
        """
        return bool(getattr(self, "_closed", False))

    @property
    def default_max_new_tokens(self) -> int | None:
        """The engine's own limit on new tokens per reply, or ``None`` when it has none.

        A conversation created without ``max_new_tokens`` reserves this many tokens for each reply and
        leaves ``GenerationOptions.max_new_tokens`` unset, so the engine's setting applies. The default
        reads ``max_new_tokens`` from a ``generation_kwargs`` mapping (as ``HuggingEngine`` has).
        """
        kwargs = getattr(self, "generation_kwargs", None)
        value = kwargs.get("max_new_tokens") if isinstance(kwargs, Mapping) else None
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            return None
        return value

    def release_session(self, session: Any) -> None:
        """Forget per-conversation state kept under ``session`` (see ``GenerationOptions.session``)."""

    async def close(self) -> None:
        """Free the engine's resources. The default does nothing."""

    async def __aenter__(self) -> Engine:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()


def completion_from_events(
    events: Sequence[EngineEvent], usage: Usage, finish_reason: str = "stop"
) -> Completion:
    """The :class:`Completion` that a generation's delta and tool-call events describe.

    A reply that asks for tools finishes as ``"tool_calls"`` unless it was cut off (``"length"``).
    """
    parts = [e for e in events if isinstance(e, (TextDelta, ReasoningDelta, ToolCallEvent))]
    message = assemble_message(parts)
    if message.tool_calls and finish_reason == "stop":
        finish_reason = "tool_calls"
    return Completion(message, usage, finish_reason)
