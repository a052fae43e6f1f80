"""HuggingEngine behind the Conversation actor, on a tiny real model: tool-call round trips through the
real generate path (replies scripted with a logits processor), cancellation, many conversations on one
engine, and KV caches released with their conversation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("transformers")
pytest.importorskip("torch")

from transformers import LogitsProcessorList

from hermitcrab.engines import HuggingEngine
from hermitcrab.events import GenerationOptions, MessageEvent, TextDelta, ToolCallEvent, ToolResultEvent
from hermitcrab.runtime import Conversation
from hermitcrab.testing import TOOL_TOKENS, ForcedTokensLogitsProcessor, build_tiny_chat_model


@pytest.fixture(scope="session")
def chat_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_chat_model(tmp_path_factory.mktemp("hfconv") / "chat")


def _no_tool_markup(engine: HuggingEngine) -> dict[str, Any]:
    return {"suppress_tokens": [engine.tokenizer.convert_tokens_to_ids(t) for t in TOOL_TOKENS]}


def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


@pytest.mark.anyio
async def test_tool_call_round_trip_through_real_generate(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model)
    call = '<tool_call>\n{"name": "add", "arguments": {"a": 2, "b": 3}}\n</tool_call>'
    script = ForcedTokensLogitsProcessor.from_texts(engine.tokenizer, [call, "The sum is 5."])
    options = GenerationOptions(extra={"logits_processor": LogitsProcessorList([script])})
    async with Conversation(engine, system="You add numbers.", tools=[add], options=options) as chat:
        events = [e async for e in chat.stream("What is 2 + 3?")]
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    results = [e.message for e in events if isinstance(e, ToolResultEvent)]
    assert [(c.name, c.arguments) for c in calls] == [("add", {"a": 2, "b": 3})]
    assert [r.text for r in results] == ["5"]
    final = events[-1]
    assert isinstance(final, MessageEvent)
    assert final.message.text == "The sum is 5."
    assert [m.role for m in chat.history] == ["user", "assistant", "tool", "assistant"]
    assert script.generations == 2
    # The second generation's prompt was the first's plus the reply and tool result: reused from cache.
    assert chat.last_usage.requests == 2
    assert chat.last_usage.cached_tokens > 0
    assert "<tool_response>\n5\n</tool_response>" in engine.build_prompt(chat.prompt())


@pytest.mark.anyio
async def test_cancelled_round_leaves_history_unchanged_and_stops_generate(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model)
    options = GenerationOptions(extra=_no_tool_markup(engine))
    async with Conversation(engine, max_new_tokens=2000, options=options) as chat:
        await chat.send("first question")
        before = chat.history
        deltas = 0
        with anyio.CancelScope() as scope:
            async for event in chat.stream("second question"):
                if isinstance(event, TextDelta):
                    deltas += 1
                    if deltas == 3:
                        scope.cancel()
        assert scope.cancelled_caught
        assert chat.history == before
        assert engine.active_rounds == 0  # the engine let go of the round
        # The conversation (and the engine) carry on normally afterwards.
        reply = await chat.send("third question")
        assert chat.history[-1] == reply
        assert len(chat.history) == len(before) + 2


@pytest.mark.anyio
async def test_breaking_out_of_a_round_stream_rolls_back(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model)
    options = GenerationOptions(extra=_no_tool_markup(engine))
    async with Conversation(engine, max_new_tokens=2000, options=options) as chat:
        async with chat.stream("hello") as round_events:
            async for event in round_events:
                if isinstance(event, TextDelta):
                    break
        assert chat.history == ()
        assert engine.active_rounds == 0  # the engine let go of the round


@pytest.mark.anyio
async def test_concurrent_conversations_on_one_engine_match_solo_runs(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model)
    options = GenerationOptions(max_new_tokens=12, extra=_no_tool_markup(engine))
    questions = [[f"conversation {i} question {j}" for j in range(3)] for i in range(3)]

    async def run(qs: list[str]) -> list[str]:
        async with Conversation(engine, system="Be brief.", options=options) as chat:
            return [(await chat.send(q)).text for q in qs]

    solo = [await run(qs) for qs in questions]
    together: dict[int, list[str]] = {}

    async def run_into(i: int) -> None:
        together[i] = await run(questions[i])

    async with anyio.create_task_group() as tg:
        for i in range(3):
            tg.start_soon(run_into, i)
    assert [together[i] for i in range(3)] == solo


@pytest.mark.anyio
async def test_closing_a_conversation_releases_its_kv_cache(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model)
    options = GenerationOptions(max_new_tokens=4, extra=_no_tool_markup(engine))
    chat = Conversation(engine, options=options)
    other = Conversation(engine, options=options)
    await chat.send("hello")
    await other.send("hello")
    assert engine.cached_sessions == 2
    second = await chat.send("again")
    assert second is chat.history[-1]
    assert chat.last_usage.cached_tokens > 0
    await chat.aclose()
    assert engine.cached_sessions == 1
    await other.aclose()
    assert engine.cached_sessions == 0
