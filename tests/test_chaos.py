"""Chaos: 200 conversations at once on ScriptedEngines, with faults injected at random (seeded).

Each round gets a plan drawn from a seeded generator: a plain answer, an answer cut at max_new_tokens,
tool calls (async, sync, failing, timing out, hanging until cancelled), an engine failure midway, a hang
the caller cancels, a caller that leaves the stream early, or the engine being closed mid-reply (on
conversations with an engine of their own). The reply function reads the plan from the user message.

After every round the test checks the round's outcome against its plan and that the history and usage
are exactly as before a failed round, or the old history plus the round's messages after a successful
one. At the end: usage adds up, every sync tool thread has returned (they watch ``tool_cancelled()``),
and no task is left behind.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from hermitcrab import (
    Conversation,
    ConversationClosedError,
    EngineError,
    Fail,
    Hang,
    Message,
    MessageEvent,
    ScriptedEngine,
    TextDelta,
    ToolExecutionError,
    Usage,
    tool,
    tool_cancelled,
)

SEED = 15
CONVERSATIONS = 200
ROUNDS = 6
SHARED_ENGINES = 8
MAX_NEW_TOKENS = 80

PLANS = (
    "ok",
    "length",
    "tools",
    "tool-error",
    "tool-timeout",
    "tool-hang",
    "engine-fail",
    "hang",
    "leave",
    "close",
)
WEIGHTS = (6, 1, 4, 2, 1, 1, 2, 1, 1, 1)


def _call(name: str, **arguments: object) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


class _Threads:
    """Counts sync tool calls still running in their threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0

    def __enter__(self) -> None:
        with self._lock:
            self.running += 1

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.running -= 1


THREADS = _Threads()


@tool
async def echo(text: str) -> str:
    """Echo the text."""
    await anyio.lowlevel.checkpoint()
    return text


@tool
def add(a: int, b: int) -> int:
    """Add in a worker thread."""
    with THREADS:
        time.sleep(0.001)
        return a + b


@tool
def boom() -> str:
    """Always fails."""
    raise ValueError("injected tool failure")


@tool(timeout=0.02)
async def slow() -> str:
    """Slower than its timeout."""
    await anyio.sleep(1)
    return "late"


@tool
def stuck() -> str:
    """A sync tool that runs until its round is cancelled."""
    with THREADS:
        deadline = time.monotonic() + 20
        while not tool_cancelled() and time.monotonic() < deadline:
            time.sleep(0.002)
        return "stopped"


TOOLS = [echo, add, boom, slow, stuck]
TOOL_CALLS = {
    "tools": _call("echo", text="hi") + _call("add", a=2, b=3),
    "tool-error": _call("boom") + _call("echo", text="x"),
    "tool-timeout": _call("slow"),
    "tool-hang": _call("stuck") + _call("echo", text="y"),
}


def reply(messages: Sequence[Message], tools: Sequence[Any]) -> Any:
    """The scripted model: the plan is the last word of the round's user message."""
    last = messages[-1]
    user = next(m for m in reversed(messages) if m.role == "user")
    plan = user.text.rsplit(" ", 1)[-1]
    if last.role == "tool":
        return f"done with {user.text}"
    if plan in TOOL_CALLS:
        return TOOL_CALLS[plan]
    if plan == "length":
        return " ".join(["word"] * (MAX_NEW_TOKENS + 10))
    if plan == "engine-fail":
        return Fail(RuntimeError("injected engine failure"), after="partial text ")
    if plan in ("hang", "leave", "close"):
        return Hang(after="partial text ")
    return f"answer to {user.text}"


@dataclass
class Tally:
    """What happened, for the final checks and for the failure message."""

    outcomes: dict[str, int] = field(default_factory=dict)
    usage: dict[int, Usage] = field(default_factory=dict)

    def count(self, what: str) -> None:
        self.outcomes[what] = self.outcomes.get(what, 0) + 1


async def _round(conv: Conversation, engine: ScriptedEngine, text: str, plan: str, closed: bool) -> str:
    """Run one round as its plan says; return the outcome and check the history against it."""
    before, usage_before = conv.history, conv.usage
    events: list[Any] = []
    outcome = "ok"
    with anyio.move_on_after(0.05 if plan in ("hang", "tool-hang") else None) as scope:
        try:
            async with conv.stream(text) as stream:
                async for event in stream:
                    events.append(event)
                    if isinstance(event, TextDelta) and plan == "leave":
                        break
                    if isinstance(event, TextDelta) and plan == "close":
                        await engine.close()
        except ConversationClosedError:
            outcome = "closed"
        except EngineError:
            outcome = "engine-error"
        except ToolExecutionError:
            outcome = "tool-error-raised"
    if scope.cancelled_caught:
        outcome = "cancelled"
    elif plan == "leave" and outcome == "ok":
        outcome = "left"
    finished = outcome == "ok"
    if finished:
        added = tuple(e.message for e in events if isinstance(e, MessageEvent))
        assert conv.history == before + added
        assert conv.usage == usage_before + conv.last_usage
        assert events[-1].finish_reason == conv.last_finish_reason
        assert conv.last_finish_reason == ("length" if plan == "length" else "stop")
        results = [m for m in added if m.role == "tool"]
        assert len(results) == TOOL_CALLS.get(plan, "").count("<tool_call>")
        assert any(m.is_error for m in results) == (plan in ("tool-error", "tool-timeout"))
    else:
        assert conv.history == before, f"{plan}: {outcome} changed the history"
        assert conv.usage == usage_before
    expected = {
        "engine-fail": "engine-error",
        "hang": "cancelled",
        "tool-hang": "cancelled",
        "leave": "left",
        "close": "closed",
    }
    if closed:
        assert outcome == "closed", f"a round on a closed engine ended as {outcome}"
    elif plan == "tool-error" and conv._policy.on_error == "raise":
        assert outcome == "tool-error-raised"
    else:
        assert outcome == expected.get(plan, "ok"), f"plan {plan} ended as {outcome}"
    return outcome


@pytest.mark.anyio
@pytest.mark.timeout(60)
async def test_two_hundred_conversations_under_injected_faults_keep_their_histories_whole() -> None:
    rng = random.Random(SEED)
    shared = [ScriptedEngine(reply, chunk_size=5) for _ in range(SHARED_ENGINES)]
    tally = Tally()
    tasks_before = len(anyio.get_running_tasks())
    started = time.perf_counter()

    async def chat(index: int, plans: list[str], engine: ScriptedEngine, on_error: str) -> None:
        conv = Conversation(
            engine,
            system=f"conversation {index}",
            tools=TOOLS,
            max_new_tokens=MAX_NEW_TOKENS,
            tool_errors=on_error,  # type: ignore[arg-type]
        )
        closed = False
        successful = Usage()
        for turn, plan in enumerate(plans):
            outcome = await _round(conv, engine, f"c{index} r{turn} {plan}", plan, closed)
            closed = closed or outcome == "closed"
            if outcome == "ok":
                successful += conv.last_usage
            tally.count(outcome)
        assert conv.usage == successful  # usage adds up over the successful rounds only
        tally.usage[index] = conv.usage

    async with anyio.create_task_group() as tg:
        for index in range(CONVERSATIONS):
            plans = rng.choices(PLANS, WEIGHTS, k=ROUNDS)
            own_engine = "close" in plans
            if not own_engine:  # closing a shared engine would end its neighbours' rounds too
                plans = [p for p in plans if p != "close"] or ["ok"]
            engine = ScriptedEngine(reply, chunk_size=5) if own_engine else shared[index % SHARED_ENGINES]
            on_error = "raise" if rng.random() < 0.25 else "feedback"
            tg.start_soon(chat, index, plans, engine, on_error)

    assert len(tally.usage) == CONVERSATIONS
    for kind in ("ok", "cancelled", "engine-error", "closed", "left", "tool-error-raised"):
        assert tally.outcomes.get(kind, 0) > 0, f"no round ended as {kind}: {tally.outcomes}"
    with anyio.fail_after(10):  # every abandoned sync tool saw tool_cancelled() and returned
        while THREADS.running:  # noqa: ASYNC110 (a counter kept by worker threads)
            await anyio.sleep(0.01)
    assert len(anyio.get_running_tasks()) == tasks_before
    assert time.perf_counter() - started < 30
