"""The suite's own guards work: a test that blocks its event loop fails, blocking calls in hermitcrab's
code under asyncio fail, and every test has a time limit (see conftest.py)."""

from __future__ import annotations

import time

import pytest
from conftest import _watched

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
