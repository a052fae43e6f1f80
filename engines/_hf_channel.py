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
from typing import Generic, TypeVar, cast

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
        return cast(Callable[[Callable[[], object]], None], call_soon)

    def blocking(fn: Callable[[], object]) -> None:  # any other backend: anyio's blocking call
        anyio.from_thread.run_sync(fn, token=token)

    return blocking


class ThreadToLoopChannel(Generic[T]):
    """Items from one producer thread to one consumer task, at most ``capacity`` unread.

    Create it in the event loop (it captures the loop). The producer calls :meth:`put` (blocking
    while full); the consumer awaits :meth:`get_batch`; either side may :meth:`close`.
    """

    def __init__(self, capacity: int, *, on_space: Callable[[], object] | None = None) -> None:
        self._capacity = max(1, capacity)
        self._items: deque[T] = deque()
        self._cond = threading.Condition()
        self._closed = False
        self._waiter: anyio.Event | None = None
        self._call_soon = _call_soon_threadsafe()
        self._on_space = on_space
        """Called (on the loop) when the consumer frees room or closes: a producer that does not block
        on :meth:`put` (the batching scheduler uses :meth:`offer`) learns when to try again."""

    def call_soon(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` on the event loop soon, without waiting (any thread); ignored if the loop ended."""
        try:
            self._call_soon(fn)
        except Exception:
            pass

    def has_room(self) -> bool:
        """An :meth:`offer` would not find the buffer full (or the channel is closed)."""
        with self._cond:
            return self._closed or len(self._items) < self._capacity

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
        return self._wake(waiter)

    def offer(self, item: T) -> bool | None:
        """Producer: queue ``item`` without waiting. ``True`` when queued, ``False`` when the buffer is
        full (nothing queued: offer it again after ``on_space``), ``None`` when the channel is closed."""
        with self._cond:
            if self._closed:
                return None
            if len(self._items) >= self._capacity:
                return False
            self._items.append(item)
            waiter, self._waiter = self._waiter, None
        return True if self._wake(waiter) else None

    def _wake(self, waiter: anyio.Event | None) -> bool:
        """Wake the waiting consumer; ``False`` (and the channel closed) if its event loop has ended."""
        if waiter is not None:
            try:
                self._call_soon(waiter.set)
            except Exception:  # the event loop has ended: nobody is listening any more
                self.close()
                return False
        return True

    def force(self, item: T) -> None:
        """Producer: queue a last item (an end or an error) even when the buffer is full, so that a
        round's end is never lost to backpressure; ignored when the channel is closed."""
        with self._cond:
            if self._closed:
                return
            self._items.append(item)
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            self.call_soon(waiter.set)

    async def get_batch(self) -> list[T]:
        """Consumer task: every unread item (at least one), oldest first; waits while empty."""
        while True:
            with self._cond:
                items = list(self._items)
                if items:
                    full = len(items) >= self._capacity
                    self._items.clear()
                    self._cond.notify_all()
                elif self._closed:
                    raise anyio.EndOfStream
                else:
                    waiter = self._waiter = anyio.Event()
            if items:
                if full and self._on_space is not None:
                    self._on_space()
                return items
            await waiter.wait()

    def close(self) -> None:
        """Close from either side; a blocked ``put`` returns ``False`` and ``get_batch`` ends once
        drained."""
        with self._cond:
            self._closed = True
            waiter, self._waiter = self._waiter, None
            self._cond.notify_all()
        if self._on_space is not None:
            self._on_space()
        if waiter is not None:
            try:
                self._call_soon(waiter.set)
            except Exception:
                pass
