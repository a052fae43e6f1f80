"""A bounded handoff from the generation thread to the event loop that never waits for the loop.

``anyio.from_thread.run_sync(send.send_nowait, ...)`` per token makes the worker wait a whole
event-loop iteration for every delta: the worker releases the GIL to wake the loop, the loop runs
the consumer, and only then does the worker get the GIL back and start the next forward pass (measured
on 2 busy cores: ~1.6 ms per token, about 10% of a 16 ms token). Here the worker appends to a deque
under a lock and schedules a wake-up with the loop's own thread-safe, non-blocking call
(``loop.call_soon_threadsafe`` on asyncio, ``TrioToken.run_sync_soon`` on trio, found through
``anyio.lowlevel.current_token()``), so the next forward pass overlaps with the consumer. Backpressure
stays: ``put`` blocks the worker while ``capacity`` items are unread. A closed channel (consumer gone)
makes ``put`` return ``False`` at once, so the worker stops.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from typing import Generic, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel

__all__ = ("ThreadToLoopChannel",)

T = TypeVar("T")


def _call_soon_threadsafe() -> Callable[[Callable[[], object]], None]:
    """A non-blocking "run this on the current event loop soon" for other threads."""
    token = anyio.lowlevel.current_token()
    native = token.native_token
    call_soon = getattr(native, "call_soon_threadsafe", None)  # asyncio event loop
    if call_soon is None:
        call_soon = getattr(native, "run_sync_soon", None)  # trio.lowlevel.TrioToken
    if call_soon is not None:
        return call_soon

    def blocking(fn: Callable[[], object]) -> None:  # any other backend: anyio's blocking call
        anyio.from_thread.run_sync(fn, token=token)

    return blocking


class ThreadToLoopChannel(Generic[T]):
    """Items from one producer thread to one consumer task, at most ``capacity`` unread.

    Create it in the event loop (it captures the loop). The producer calls :meth:`put` (blocking
    while full); the consumer awaits :meth:`get_batch`; either side may :meth:`close`.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = max(1, capacity)
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._waiter: anyio.Event | None = None
        self._call_soon = _call_soon_threadsafe()

    def call_soon(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the event loop soon, without waiting (any thread); ignored if the loop ended."""
        try:
            self._call_soon(fn)
        except Exception:
            pass

    @property
    def closed(self) -> bool:
        """The consumer went away (or the channel was closed by either side)."""
        return self._closed

    def put(self, item: T) -> bool:
        """Producer thread: queue ``item``; ``False`` if the channel is closed (stop producing)."""
        with self._cond:
            while len(self._items) >= self._capacity and not self._closed:
                self._cond.wait()
            if self._closed:
                return False
            self._items.append(item)
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            try:
                self._call_soon(waiter.set)
            except Exception:  # the event loop has ended: nobody is listening any more
                self.close()
                return False
        return True

    async def get_batch(self) -> list[T]:
        """Consumer task: every unread item (at least one), oldest first; waits while empty."""
        while True:
            with self._cond:
                if self._items:
                    items = list(self._items)
                    self._items.clear()
                    self._cond.notify_all()
                    return items
                if self._closed:
                    raise anyio.EndOfStream
                waiter = self._waiter = anyio.Event()
            await waiter.wait()

    def close(self) -> None:
        """Close from either side; a blocked ``put`` returns ``False`` and ``get_batch`` ends once
        drained."""
        with self._cond:
            self._closed = True
            waiter, self._waiter = self._waiter, None
            self._cond.notify_all()
        if waiter is not None:
            try:
                self._call_soon(waiter.set)
            except Exception:
                pass
