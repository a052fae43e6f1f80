"""Shared test configuration.

- Every ``@pytest.mark.anyio`` test runs on asyncio and on trio.
- Every test has a time limit (``timeout`` in pyproject.toml, pytest-timeout): a hang is a failure.
- Nothing may block the event loop for long inside an async test: a watchdog thread pings the loop
  while the test body runs and fails the test if the loop took longer than ``LOOP_LAG_LIMIT`` seconds
  to answer (both backends). ``@pytest.mark.loop_lag_limit(seconds, reason=...)`` raises the limit for
  one test, with the reason written down.
- Under asyncio, blockbuster (what anyio's own tests use) also fails a test when hermitcrab's code makes
  a blocking call (sleep, file or socket I/O, a contended lock) on the event loop, however short. Its
  exemptions below each say why the call is allowed.
"""

from __future__ import annotations

import functools
import gc
import importlib
import inspect
import sys
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.lowlevel
import pytest

LOOP_LAG_LIMIT = 0.5
"""Seconds the event loop may go without answering during a test. The stalls this suite guards against
were 1.2-1.8 s (tokenizing a large tool result on the loop); measured over the whole suite on a busy
2-core machine, every test but three (marked, each with its reason) stayed under 0.07 s."""

_LIBRARY = (
    "hermitcrab",
    "hermitcrab.runtime",
    "hermitcrab.engines",
    "hermitcrab.tools",
    "hermitcrab.prompting",
    "hermitcrab.testing",
)

_ALLOWED_BLOCKING: tuple[tuple[str, str, str], ...] = (
    ("runtime/_conversation.py", "save", "Conversation.save is a sync method: a small atomic file write"),
    ("runtime/_conversation.py", "load", "Conversation.load is a sync classmethod: reads one small file"),
    ("engines/_hugging.py", "__init__", "loading a model is sync by design (build engines before the loop)"),
    ("engines/_openai.py", "__init__", "an OpenAIEngine may load a local tokenizer when it is built"),
    ("testing/_tiny.py", "build_tiny_model", "building a tiny model writes files: sync by design"),
)
"""(file, function, reason): hermitcrab functions that may make blocking calls on the event loop."""


@pytest.fixture(
    params=[
        pytest.param(("asyncio", {"debug": False}), id="asyncio"),
        pytest.param(("trio", {}), id="trio"),
    ]
)
def anyio_backend(request: pytest.FixtureRequest) -> tuple[str, dict[str, object]]:
    """Run anyio tests under both backends."""
    return request.param


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "loop_lag_limit(seconds, reason): allow this async test to block its event loop this long",
    )


class _Excused:
    """Pauses that are nobody's blocking call: calls that block the loop by design (building an engine
    loads a model synchronously, as the blockbuster allowlist above says) and the interpreter's garbage
    collector, which stops every thread (a full collection of a heap that holds hundreds of tiny models
    took 0.67 s once, late in a CI run). The watchdog does not count a wait that overlapped one."""

    running = 0
    finished = 0
    _lock = threading.RLock()  # a collection can start in a thread that holds it

    @classmethod
    def enter(cls) -> None:
        with cls._lock:
            cls.running += 1

    @classmethod
    def leave(cls) -> None:
        with cls._lock:
            cls.running -= 1
            cls.finished += 1

    @classmethod
    def wrap(cls, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def excused(*args: Any, **kwargs: Any) -> Any:
            cls.enter()
            try:
                return function(*args, **kwargs)
            finally:
                cls.leave()

        return excused

    @classmethod
    def garbage_collection(cls, phase: str, info: dict[str, int]) -> None:
        """A ``gc.callbacks`` entry: a collection is excused while it runs."""
        if phase == "start":
            cls.enter()
        else:
            cls.leave()

    @classmethod
    def mark(cls) -> tuple[int, int]:
        with cls._lock:
            return cls.running, cls.finished


@pytest.fixture(scope="session", autouse=True)
def _excuse_engine_construction() -> Iterator[None]:
    """Building a HuggingEngine or OpenAIEngine inside an async test is sync by design."""
    patched = []
    for module, name in (
        ("hermitcrab.engines._hugging", "HuggingEngine"),
        ("hermitcrab.engines._openai", "OpenAIEngine"),
    ):
        try:
            cls = getattr(importlib.import_module(module), name)
        except ImportError:
            continue
        patched.append((cls, cls.__init__))
        cls.__init__ = _Excused.wrap(cls.__init__)
    gc.callbacks.append(_Excused.garbage_collection)
    yield
    gc.callbacks.remove(_Excused.garbage_collection)
    for cls, init in patched:
        cls.__init__ = init


_IDLE_WAITS = (
    (("selectors.py", "select"),),  # asyncio's loop waits for I/O
    (("_io_epoll.py", "get_events"),),  # trio's, run natively
    (("threading.py", "wait"), ("queue.py", "get"), ("_trio.py", "_call_in_runner_task")),
)  # anyio's trio test runner: trio runs as a guest; its host waits on a queue for work to do
"""Innermost frames (file, function) of an event loop thread that is idle, waiting for something
to do."""


def _waiting_for_events(frame: Any) -> bool:
    """Whether an event loop thread stands in its own wait for work (so it is idle, not blocked)."""
    for wait in _IDLE_WAITS:
        current = frame
        for filename, function in wait:
            if current is None or current.f_code.co_name != function:
                break
            if not current.f_code.co_filename.endswith(filename):
                break
            current = current.f_back
        else:
            return True
    return False


class _LoopWatchdog:
    """A thread that asks the event loop to run a tiny callback every ``interval`` seconds and
    records the longest time the loop took to get to it.

    Built in the loop's thread. While a callback is late past ``limit``, the watchdog looks at what
    that thread is doing: the stack goes into the failure message, and a wait during which the thread
    only ever stood in its own I/O wait is not counted (the loop was idle and the process was not
    scheduled: a starved machine, not a blocked loop)."""

    def __init__(
        self, call_soon: Callable[[Callable[[], object]], None], limit: float, interval: float = 0.02
    ) -> None:
        self._call_soon = call_soon
        self._limit = limit
        self._interval = interval
        self._loop_thread = threading.get_ident()
        self._stop = threading.Event()
        self.worst = 0.0
        self.worst_stack = ""
        self._thread = threading.Thread(target=self._run, name="test-loop-watchdog", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            answered = threading.Event()
            sent = time.perf_counter()
            before = _Excused.mark()
            busy_stack: str | None = None  # what the loop ran while late; None: never seen busy
            try:
                self._call_soon(answered.set)
            except Exception:  # the loop is gone
                return
            while not answered.wait(0.05):
                if time.perf_counter() - sent > self._limit:
                    busy_stack = self._busy_stack() or busy_stack
                if self._stop.is_set():  # the test is over (its loop is joining this thread)
                    self._record(time.perf_counter() - sent, before, busy_stack)
                    return
            self._record(time.perf_counter() - sent, before, busy_stack)
            self._stop.wait(self._interval)

    def _busy_stack(self) -> str | None:
        frame = sys._current_frames().get(self._loop_thread)
        if frame is None or _waiting_for_events(frame):
            return None
        stack = "".join(traceback.format_stack(frame, limit=8))
        if self._stop.is_set():  # the loop left its wait to end the watch (__exit__ sets this first)
            return None
        return stack

    def _record(self, late: float, before: tuple[int, int], busy_stack: str | None) -> None:
        running, finished = _Excused.mark()
        if running or before[0] or finished != before[1]:  # an excused pause overlapped
            return
        if late > self._limit and busy_stack is None:  # idle all along: the process was starved
            return
        if late > self.worst:
            self.worst, self.worst_stack = late, busy_stack or ""

    def __enter__(self) -> _LoopWatchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def _call_soon_threadsafe() -> Callable[[Callable[[], object]], None]:
    native = anyio.lowlevel.current_token().native_token
    call = getattr(native, "call_soon_threadsafe", None) or getattr(native, "run_sync_soon", None)
    assert call is not None, f"unknown event loop {native!r}"
    return call  # type: ignore[no-any-return]


@functools.cache
def _blockbuster() -> Any:
    try:
        from blockbuster import BlockBuster
    except ImportError:  # the dev extra installs it; without it only the watchdog runs
        return None
    buster = BlockBuster(list(_LIBRARY))
    for function in buster.functions.values():
        for filename, name, _reason in _ALLOWED_BLOCKING:
            function.can_block_in(filename, name)
    return buster


@asynccontextmanager
async def _watched(limit: float, backend: str) -> AsyncIterator[None]:
    buster = _blockbuster() if backend == "asyncio" else None
    if buster is not None:
        buster.activate()
    try:
        with _LoopWatchdog(_call_soon_threadsafe(), limit) as watchdog:
            yield
    finally:
        if buster is not None:
            buster.deactivate()
    if watchdog.worst > limit:
        pytest.fail(
            f"the event loop was blocked for {watchdog.worst:.2f} s during this test (limit {limit} s): "
            "something ran on the loop that belongs in a worker thread. The loop was running:\n"
            + watchdog.worst_stack,
            pytrace=False,
        )


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> None:
    """Wrap each async anyio test in the watchdog (anyio's own hook then runs it)."""
    backend = pyfuncitem.funcargs.get("anyio_backend")
    test = pyfuncitem.obj
    if not backend or not inspect.iscoroutinefunction(test) or hasattr(test, "hypothesis"):
        return
    if getattr(test, "_loop_watched", False):
        return
    marker = pyfuncitem.get_closest_marker("loop_lag_limit")
    limit = float(marker.args[0]) if marker is not None else LOOP_LAG_LIMIT
    backend_name = backend[0] if isinstance(backend, tuple) else str(backend)

    @functools.wraps(test)
    async def watched(*args: Any, **kwargs: Any) -> None:
        async with _watched(limit, backend_name):
            await test(*args, **kwargs)

    watched._loop_watched = True  # type: ignore[attr-defined]
    pyfuncitem.obj = watched
