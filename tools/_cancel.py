"""What a running tool can ask about its own call: :func:`tool_cancelled`.

A sync tool runs in a worker thread, and a thread cannot be killed: when its round is cancelled (or
its timeout expires) the round moves on at once, but the function keeps running until it returns. A
long sync tool should therefore look at :func:`tool_cancelled` now and then and return early; its
result is thrown away anyway. Async tools are cancelled at their next ``await`` and rarely need it.

The runtime sets one :class:`CancelFlag` per call (``call_scope``); the flag lives in a context
variable, so code the tool calls (in its thread or task) sees the same flag.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ("CancelFlag", "call_scope", "tool_cancelled")


class CancelFlag:
    """Set once the runtime stops waiting for one tool call (thread-safe)."""

    __slots__ = ("_event",)

    def __init__(self) -> None:
        self._event = threading.Event()

    def set(self) -> None:
        """Mark the call as abandoned (its round was cancelled, failed, or its timeout expired)."""
        self._event.set()

    def is_set(self) -> bool:
        """Whether the call was abandoned."""
        return self._event.is_set()


_CURRENT: contextvars.ContextVar[CancelFlag | None] = contextvars.ContextVar(
    "hermitcrab_tool_cancel_flag", default=None
)


def tool_cancelled() -> bool:
    """Inside a tool: whether the conversation has stopped waiting for this call.

    True once the round was cancelled (the caller's task, ``break`` out of ``stream()``, another call
    of the same reply failing under ``tool_errors="raise"``) or the tool's ``timeout`` expired. The
    tool's result will not be used: a long sync tool should check this between steps and return::

        @tool
        def crawl(urls: list[str]) -> str:
            pages = []
            for url in urls:
                if tool_cancelled():
                    return "cancelled"
                pages.append(fetch(url))
            return "\\n".join(pages)

    Outside a tool call it is always False.
    """
    flag = _CURRENT.get()
    return flag is not None and flag.is_set()


@contextmanager
def call_scope(flag: CancelFlag) -> Iterator[None]:
    """Make ``flag`` the one :func:`tool_cancelled` reads in this context (used by the runtime)."""
    token = _CURRENT.set(flag)
    try:
        yield
    finally:
        _CURRENT.reset(token)
