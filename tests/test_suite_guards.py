"""The suite's own guards work: a test that blocks its event loop fails (and a garbage-collection pause
or a starved machine does not count as blocking), blocking calls in hermitcrab's code under asyncio
fail, and every test has a time limit (see conftest.py)."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable

import anyio
import anyio.lowlevel
import pytest
from conftest import _call_soon_threadsafe, _LoopWatchdog, _watched

from hermitcrab import Conversation, EngineError, ScriptedEngine


@pytest.mark.anyio
async def test_a_test_that_blocks_its_event_loop_fails(anyio_backend_name: str) -> None:
    with pytest.raises(pytest.fail.Exception, match="the event loop was blocked for"):
        async with _watched(0.05, anyio_backend_name):
            time.sleep(0.25)  # noqa: ASYNC251 - the point of the test


@pytest.mark.anyio
async def test_a_blocking_call_in_hermitcrab_code_fails_under_asyncio(anyio_backend_name: str) -> None:
    pytest.importorskip("blockbuster")
    if anyio_backend_name != "asyncio":
        pytest.skip("blockbuster detects blocking calls on asyncio loops only")

    def blocking_reply(messages: object, tools: object) -> str:
        time.sleep(0.001)  # called by ScriptedEngine.stream, on the loop
        return "never"

    with pytest.raises(EngineError) as info:
        await Conversation(ScriptedEngine(blocking_reply)).send("hi")
    assert type(info.value.__cause__).__name__ == "BlockingError"


def test_every_test_has_a_time_limit(pytestconfig: pytest.Config) -> None:
    assert float(pytestconfig.getini("timeout")) > 0


@pytest.mark.anyio
async def test_a_garbage_collection_pause_is_not_counted_as_blocking(anyio_backend_name: str) -> None:
    def slow_collection(phase: str, info: object) -> None:
        if phase == "start":
            time.sleep(0.25)  # a full collection of a big heap stops every thread this long

    gc.callbacks.insert(0, slow_collection)
    try:
        async with _watched(0.05, anyio_backend_name):
            gc.collect()
            await anyio.sleep(0.05)
    finally:
        gc.callbacks.remove(slow_collection)


@pytest.mark.anyio
async def test_an_idle_loop_that_answers_late_is_a_starved_machine_not_a_blocked_loop(
    anyio_backend_name: str,
) -> None:
    late_calls: list[threading.Timer] = []

    def late(call_soon: Callable[[Callable[[], object]], None]) -> Callable[[Callable[[], object]], None]:
        def deliver_late(callback: Callable[[], object]) -> None:  # as if the process got no CPU
            timer = threading.Timer(0.25, call_soon, (callback,))
            late_calls.append(timer)
            timer.start()

        return deliver_late

    try:
        with _LoopWatchdog(late(_call_soon_threadsafe()), limit=0.05) as idle:
            await anyio.sleep(0.6)  # the loop stands in its wait for work all along
        with _LoopWatchdog(late(_call_soon_threadsafe()), limit=0.05) as blocked:
            time.sleep(0.3)  # noqa: ASYNC251 - the point of the test: the loop runs this while late
            await anyio.sleep(0.3)
    finally:
        for timer in late_calls:
            timer.join()  # every late answer reaches the loop while it runs
        await anyio.lowlevel.checkpoint()
    assert late_calls  # the answers were late
    assert idle.worst == 0.0
    assert blocked.worst > 0.25
    assert "time.sleep(0.3)" in blocked.worst_stack
