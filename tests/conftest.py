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
import importlib
import inspect
import threading
import time
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
    """Calls that block the loop by design (building an engine loads a model synchronously, as the
    blockbuster allowlist above says): the watchdog does not count a wait that overlapped one."""

    running = 0
    finished = 0
    _lock = threading.Lock()

    @classmethod
    def wrap(cls, function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def excused(*args: Any, **kwargs: Any) -> Any:
            with cls._lock:
                cls.running += 1
            try:
                return function(*args, **kwargs)
            finally:
                with cls._lock:
                    cls.running -= 1
                    cls.finished += 1

        return excused

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
    yield
    for cls, init in patched:
        cls.__init__ = init


class _LoopWatchdog:
    """A thread that asks the event loop to run a tiny callback every ``interval`` seconds and
    records the longest time the loop took to get to it."""

    def __init__(self, call_soon: Callable[[Callable[[], object]], None], interval: float = 0.02) -> None:
        self._call_soon = call_soon
        self._interval = interval
        self._stop = threading.Event()
        self.worst = 0.0
        self._thread = threading.Thread(target=self._run, name="test-loop-watchdog", daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            answered = threading.Event()
            sent = time.perf_counter()
            before = _Excused.mark()
            try:
                self._call_soon(answered.set)
            except Exception:  # the loop is gone
                return
            while not answered.wait(0.05):
                if self._stop.is_set():  # the test is over (its loop is joining this thread)
                    self._record(time.perf_counter() - sent, before)
                    return
            self._record(time.perf_counter() - sent, before)
            self._stop.wait(self._interval)

    def _record(self, late: float, before: tuple[int, int]) -> None:
        running, finished = _Excused.mark()
        if not running and not before[0] and finished == before[1]:  # no excused call overlapped
            self.worst = max(self.worst, late)

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
        with _LoopWatchdog(_call_soon_threadsafe()) as watchdog:
            yield
    finally:
        if buster is not None:
            buster.deactivate()
    if watchdog.worst > limit:
        pytest.fail(
            f"the event loop was blocked for {watchdog.worst:.2f} s during this test (limit {limit} s): "
            "something ran on the loop that belongs in a worker thread",
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
