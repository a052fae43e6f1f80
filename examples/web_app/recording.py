"""An engine wrapper that remembers why each conversation's latest generation ended.

``Conversation.stream`` yields the round's deltas, tool calls, results and messages, but not the
engine's :class:`~hermitcrab.Completion`, so a client cannot tell an answer that ended on its own
(``"stop"``) from one cut off at ``max_new_tokens`` (``"length"``). Until the library reports it,
this wrapper sits between the conversations and the real engine and records each
``Completion.finish_reason`` under the conversation it was generated for (the ``session`` in the
generation options). Everything else is passed through unchanged, so batching, KV reuse and
cancellation behave exactly as with the engine itself.
"""

from __future__ import annotations

import weakref
from collections.abc import AsyncIterator, Sequence
from typing import Any

from hermitcrab import Completion, Engine, EngineEvent, GenerationOptions, Message
from hermitcrab.engines import ToolSchema

__all__ = ("FinishReasonRecorder",)


class FinishReasonRecorder(Engine):
    """Delegates to ``engine``; :meth:`finish_reason` tells how a conversation's last generation ended."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.max_context_size = engine.max_context_size
        self._reasons: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()

    def finish_reason(self, session: Any) -> str | None:
        """``"stop"``, ``"length"`` or ``"tool_calls"`` for the latest generation of ``session``."""
        return self._reasons.get(session)

    def message_len(self, message: Message) -> int:
        """The wrapped engine's count."""
        return self.engine.message_len(message)

    def prompt_len(self, messages: Sequence[Message], tools: Sequence[ToolSchema] = ()) -> int:
        """The wrapped engine's count."""
        return self.engine.prompt_len(messages, tools)

    def count_tokens(self, text: str) -> int:
        """The wrapped engine's count."""
        return self.engine.count_tokens(text)

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] = (),
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[EngineEvent]:
        """The wrapped engine's stream, noting the finish reason of its ``Completion``."""
        events = self.engine.stream(messages, tools=tools, options=options)
        try:
            async for event in events:
                if isinstance(event, Completion) and options.session is not None:
                    self._reasons[options.session] = event.finish_reason
                yield event
        finally:
            aclose = getattr(events, "aclose", None)
            if aclose is not None:
                await aclose()

    def release_session(self, session: Any) -> None:
        """Forget ``session`` here and in the wrapped engine."""
        self._reasons.pop(session, None)
        self.engine.release_session(session)

    async def close(self) -> None:
        """Close the wrapped engine."""
        await self.engine.close()
