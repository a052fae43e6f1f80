"""Continuous batching on the HuggingEngine: many rounds, one batch, each round as if it ran alone.

Every test runs real forward passes of a tiny random-weight Qwen2 (hermitcrab.testing) under asyncio
and trio. "Alone" means the same round on an engine with ``max_batch_size=1``, one round at a time:
greedy fp32 output must be token for token the same whatever the batch around it does.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest

pytest.importorskip("transformers")
pytest.importorskip("torch")

from hermitcrab.engines import HuggingEngine
from hermitcrab.errors import ConfigurationError, ConversationClosedError, EngineError
from hermitcrab.events import Completion, GenerationOptions, TextDelta
from hermitcrab.messages import Message
from hermitcrab.runtime import Conversation
from hermitcrab.testing import TOOL_TOKENS, build_tiny_chat_model

WORDS = "the weather in Paris is sunny and the crab carries its house over the lazy dog".split()  # noqa: SIM905


def _prompt(i: int) -> list[Message]:
    """Prompts of very different lengths (about 20 to 250 tokens)."""
    length = 3 + (i * 37) % 60
    text = " ".join(WORDS[(i + k) % len(WORDS)] for k in range(length))
    return [Message.system("You are brief."), Message.user(f"{i}: {text}?")]


def _signature(completion: Completion) -> tuple[Any, ...]:
    """What a round produced, without the random ids of tool calls."""
    message = completion.message
    calls = tuple((c.name, repr(c.arguments), c.error) for c in message.tool_calls)
    return (
        message.text,
        message.reasoning,
        calls,
        completion.finish_reason,
        completion.usage.completion_tokens,
    )


@pytest.fixture(scope="session")
def chat_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_chat_model(tmp_path_factory.mktemp("batch") / "chat")


@pytest.fixture(scope="session")
def solo_results(chat_model: Path) -> dict[tuple[int, int], tuple[Any, ...]]:
    """Signatures of rounds run alone, by (prompt index, max_new_tokens), filled on demand."""
    return {}


async def _alone(
    chat_model: Path, cache: dict[tuple[int, int], tuple[Any, ...]], indices: list[int], max_new: int
) -> list[tuple[Any, ...]]:
    missing = [i for i in indices if (i, max_new) not in cache]
    if missing:
        engine = HuggingEngine(chat_model, max_batch_size=1)
        async with engine:
            for i in missing:
                completion = await engine.generate(
                    _prompt(i), options=GenerationOptions(max_new_tokens=max_new)
                )
                cache[(i, max_new)] = _signature(completion)
    return [cache[(i, max_new)] for i in indices]


class Hold:
    """A pass-through logits processor that holds the scheduler thread at one step until released."""

    def __init__(self, at_step: int) -> None:
        self.at_step = at_step
        self.steps = 0
        self.reached = threading.Event()
        self.release = threading.Event()

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        self.steps += 1
        if self.steps == self.at_step:
            self.reached.set()
            self.release.wait(timeout=30)
        return scores


class Gate:
    """A pass-through logits processor that counts its round's steps and can hold them."""

    def __init__(self) -> None:
        self.steps = 0
        self.release = threading.Event()
        self.release.set()

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        self.steps += 1
        return scores


# -- identity ---------------------------------------------------------------------------------------
@pytest.mark.anyio
@pytest.mark.parametrize("max_batch_size", [3, 8])
async def test_batched_greedy_rounds_equal_rounds_run_alone(
    chat_model: Path, solo_results: dict[Any, Any], max_batch_size: int
) -> None:
    indices = list(range(12))
    expected = await _alone(chat_model, solo_results, indices, 24)
    engine = HuggingEngine(chat_model, max_batch_size=max_batch_size)
    got: dict[int, tuple[Any, ...]] = {}

    async def run(i: int) -> None:
        got[i] = _signature(await engine.generate(_prompt(i), options=GenerationOptions(max_new_tokens=24)))

    async with engine, anyio.create_task_group() as tg:
        for i in indices:
            tg.start_soon(run, i)
    assert [got[i] for i in indices] == expected
    assert engine.batch_stats["largest_batch"] == max_batch_size  # they really shared steps
    assert engine.active_rounds == 0


@pytest.mark.anyio
async def test_rounds_that_join_mid_batch_equal_rounds_run_alone(
    chat_model: Path, solo_results: dict[Any, Any]
) -> None:
    early, late = [20, 21, 22], [23, 24, 25, 26]
    expected = await _alone(chat_model, solo_results, early + late, 40)
    engine = HuggingEngine(chat_model, max_batch_size=8)
    hold = Hold(at_step=5)  # holds the scheduler at its 5th step until the late rounds are queued
    got: dict[int, tuple[Any, ...]] = {}

    async def run(i: int) -> None:
        extra = {"logits_processor": [hold]} if i == early[0] else {}  # a pass-through processor
        options = GenerationOptions(max_new_tokens=40, extra=extra)
        got[i] = _signature(await engine.generate(_prompt(i), options=options))

    async with engine, anyio.create_task_group() as tg:
        for i in early:
            tg.start_soon(run, i)
        await anyio.to_thread.run_sync(hold.reached.wait)
        for i in late:
            tg.start_soon(run, i)
        with anyio.fail_after(30):
            while engine.active_rounds < len(early) + len(late):  # noqa: ASYNC110 (a scheduler count)
                await anyio.sleep(0.005)
        hold.release.set()  # the early rounds go on; the late ones join them at the next steps
    assert [got[i] for i in early + late] == expected
    assert engine.batch_stats["largest_batch"] >= 5


@pytest.mark.anyio
async def test_rounds_beyond_the_batch_size_wait_and_take_freed_slots(
    chat_model: Path, solo_results: dict[Any, Any]
) -> None:
    indices = list(range(30, 37))
    expected = await _alone(chat_model, solo_results, indices, 16)
    engine = HuggingEngine(chat_model, max_batch_size=2)
    got: dict[int, tuple[Any, ...]] = {}

    async def run(i: int) -> None:
        got[i] = _signature(await engine.generate(_prompt(i), options=GenerationOptions(max_new_tokens=16)))

    async with engine, anyio.create_task_group() as tg:
        for i in indices:
            tg.start_soon(run, i)
    assert [got[i] for i in indices] == expected
    assert engine.batch_stats["largest_batch"] == 2


@pytest.mark.anyio
async def test_batch_size_one_runs_one_round_at_a_time(
    chat_model: Path, solo_results: dict[Any, Any]
) -> None:
    indices = [40, 41, 42]
    expected = await _alone(chat_model, solo_results, indices, 12)
    engine = HuggingEngine(chat_model, max_batch_size=1)
    got: dict[int, tuple[Any, ...]] = {}

    async def run(i: int) -> None:
        got[i] = _signature(await engine.generate(_prompt(i), options=GenerationOptions(max_new_tokens=12)))

    async with engine, anyio.create_task_group() as tg:
        for i in indices:
            tg.start_soon(run, i)
    assert [got[i] for i in indices] == expected
    assert engine.batch_stats["largest_batch"] == 1


def test_max_batch_size_must_be_a_positive_integer(chat_model: Path) -> None:
    for bad in (0, -2, 1.5, True):
        with pytest.raises(ConfigurationError, match="max_batch_size"):
            HuggingEngine(chat_model, max_batch_size=bad)  # type: ignore[arg-type]


# -- cancellation, slow readers, errors ------------------------------------------------------------
@pytest.mark.anyio
async def test_cancelling_one_round_removes_only_its_row(
    chat_model: Path, solo_results: dict[Any, Any]
) -> None:
    others = [50, 51, 52]
    expected = await _alone(chat_model, solo_results, others, 60)
    engine = HuggingEngine(chat_model, max_batch_size=8)
    gate = Gate()
    steps_at_cancel = -1
    got: dict[int, tuple[Any, ...]] = {}

    async def victim(scope: anyio.CancelScope) -> None:
        nonlocal steps_at_cancel
        with scope:
            endless = {"suppress_tokens": sorted(engine.end_token_ids), "logits_processor": [gate]}
            options = GenerationOptions(max_new_tokens=3000, extra=endless)
            async for _ in engine.stream(_prompt(53), options=options):
                if gate.steps >= 5 and steps_at_cancel < 0:
                    steps_at_cancel = gate.steps
                    scope.cancel()

    async def run(i: int) -> None:
        got[i] = _signature(await engine.generate(_prompt(i), options=GenerationOptions(max_new_tokens=60)))

    async with engine, anyio.create_task_group() as tg:
        scope = anyio.CancelScope()
        tg.start_soon(victim, scope)
        for i in others:
            tg.start_soon(run, i)
    assert scope.cancelled_caught
    assert gate.steps <= steps_at_cancel + 1  # its row left at the next decoding step
    assert [got[i] for i in others] == expected
    assert engine.active_rounds == 0


@pytest.mark.anyio
async def test_a_stalled_reader_pauses_only_its_own_round(
    chat_model: Path, solo_results: dict[Any, Any]
) -> None:
    others = [60, 61]
    expected_others = await _alone(chat_model, solo_results, others, 50)
    (expected_slow,) = await _alone(chat_model, solo_results, [62], 50)
    engine = HuggingEngine(chat_model, max_batch_size=8, stream_buffer=2)
    got: dict[int, tuple[Any, ...]] = {}
    others_done = anyio.Event()
    reading = anyio.Event()

    async def slow() -> None:
        events = []
        async for event in engine.stream(_prompt(62), options=GenerationOptions(max_new_tokens=50)):
            events.append(event)
            if len(events) == 1:
                reading.set()
                await others_done.wait()  # stop reading until the others are finished
        got[62] = _signature(events[-1])

    both_done = anyio.Event()

    async def run(i: int) -> None:
        await reading.wait()
        got[i] = _signature(await engine.generate(_prompt(i), options=GenerationOptions(max_new_tokens=50)))
        if all(j in got for j in others):
            both_done.set()

    async with engine:
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(slow)
                for i in others:
                    tg.start_soon(run, i)
                await both_done.wait()
                assert 62 not in got  # the others finished while the slow reader still held back
                others_done.set()
    assert [got[i] for i in others] == expected_others
    assert got[62] == expected_slow  # paused and resumed, its output is unchanged


@pytest.mark.anyio
async def test_a_failing_round_does_not_disturb_the_others(
    chat_model: Path, solo_results: dict[Any, Any]
) -> None:
    others = [70, 71]
    expected = await _alone(chat_model, solo_results, others, 30)
    engine = HuggingEngine(chat_model, max_batch_size=8)

    class Boom:
        def __init__(self) -> None:
            self.calls = 0

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            self.calls += 1
            if self.calls == 4:
                raise RuntimeError("processor exploded")
            return scores

    got: dict[int, tuple[Any, ...]] = {}
    errors: list[BaseException] = []

    async def bad() -> None:
        options = GenerationOptions(max_new_tokens=30, extra={"logits_processor": [Boom()]})
        try:
            await engine.generate(_prompt(72), options=options)
        except EngineError as exc:
            errors.append(exc)

    async def run(i: int) -> None:
        got[i] = _signature(await engine.generate(_prompt(i), options=GenerationOptions(max_new_tokens=30)))

    async with engine, anyio.create_task_group() as tg:
        tg.start_soon(bad)
        for i in others:
            tg.start_soon(run, i)
    assert len(errors) == 1 and "processor exploded" in str(errors[0])
    assert [got[i] for i in others] == expected


@pytest.mark.anyio
async def test_closing_the_engine_fails_every_round_in_the_batch(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model, max_batch_size=4)
    gate = Gate()
    outcomes: list[str] = []

    async def run(i: int) -> None:
        endless = {"suppress_tokens": sorted(engine.end_token_ids)}  # no round ends by itself
        extra = {"logits_processor": [gate], **endless} if i == 0 else endless
        options = GenerationOptions(max_new_tokens=3000, extra=extra)
        try:
            await engine.generate(_prompt(80 + i), options=options)
            outcomes.append("completed")
        except ConversationClosedError:
            outcomes.append("closed")

    async with anyio.create_task_group() as tg:
        tg.start_soon(run, 0)
        while gate.steps < 1:  # noqa: ASYNC110 (a counter of the scheduler thread)
            await anyio.sleep(0.005)
        for i in range(1, 6):  # three join it, two wait for a slot
            tg.start_soon(run, i)
        while engine.active_rounds < 6 or gate.steps < 10:  # noqa: ASYNC110
            await anyio.sleep(0.005)
        await engine.close()
    assert outcomes == ["closed"] * 6  # decoding or waiting for a slot: none completes
    assert engine.active_rounds == 0
    with pytest.raises(ConversationClosedError):
        await engine.generate(_prompt(0))


# -- per-round options in one batch -----------------------------------------------------------------
@pytest.mark.anyio
async def test_seeded_sampling_is_per_round_in_a_shared_batch(chat_model: Path) -> None:
    def options(seed: int) -> GenerationOptions:
        return GenerationOptions(max_new_tokens=20, temperature=1.0, top_p=0.9, seed=seed)

    alone = HuggingEngine(chat_model, max_batch_size=1)
    async with alone:
        expected = [_signature(await alone.generate(_prompt(90 + s), options=options(s))) for s in range(4)]
        greedy = _signature(await alone.generate(_prompt(95), options=GenerationOptions(max_new_tokens=20)))
    assert len(set(expected)) == 4
    engine = HuggingEngine(chat_model, max_batch_size=8)
    got: dict[int, tuple[Any, ...]] = {}

    async def run(s: int) -> None:
        got[s] = _signature(await engine.generate(_prompt(90 + s), options=options(s)))

    async def run_greedy() -> None:
        got[-1] = _signature(await engine.generate(_prompt(95), options=GenerationOptions(max_new_tokens=20)))

    async with engine, anyio.create_task_group() as tg:
        tg.start_soon(run_greedy)
        for s in range(4):
            tg.start_soon(run, s)
    assert [got[s] for s in range(4)] == expected
    assert got[-1] == greedy


@pytest.mark.anyio
async def test_stop_strings_and_lengths_are_per_round(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model, max_batch_size=8)
    async with engine:
        free = await engine.generate(_prompt(100), options=GenerationOptions(max_new_tokens=30))
        text = free.message.text
        stop = text[len(text) // 2 : len(text) // 2 + 3]
        assert stop.strip()
        results: dict[str, Completion] = {}

        async def run(name: str, options: GenerationOptions) -> None:
            results[name] = await engine.generate(_prompt(100), options=options)

        async with anyio.create_task_group() as tg:
            tg.start_soon(run, "stop", GenerationOptions(max_new_tokens=30, stop=(stop,)))
            tg.start_soon(run, "short", GenerationOptions(max_new_tokens=5))
            tg.start_soon(run, "free", GenerationOptions(max_new_tokens=30))
    assert results["stop"].message.text == text[: text.index(stop)]
    assert results["stop"].finish_reason == "stop"
    assert results["short"].usage.completion_tokens == 5
    assert results["short"].finish_reason == "length"
    assert _signature(results["free"]) == _signature(free)


@pytest.mark.anyio
async def test_constrained_and_free_rounds_share_a_batch(
    chat_model: Path, solo_results: dict[Any, Any]
) -> None:
    pytest.importorskip("xgrammar")
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string", "maxLength": 12}},
                    "required": ["city"],
                },
            },
        }
    ]
    free_indices = [110, 111]
    expected_free = await _alone(chat_model, solo_results, free_indices, 30)
    engine = HuggingEngine(chat_model, max_batch_size=8, constrained=True, parallel_tool_calls=False)
    got: dict[int, Completion] = {}

    async def constrained(i: int) -> None:
        options = GenerationOptions(max_new_tokens=200, tool_choice="required")
        got[i] = await engine.generate(_prompt(i), tools=tools, options=options)

    async def free(i: int) -> None:  # no tools: nothing to constrain
        got[i] = await engine.generate(_prompt(i), options=GenerationOptions(max_new_tokens=30))

    async with engine, anyio.create_task_group() as tg:
        for i in (112, 113, 114):
            tg.start_soon(constrained, i)
        for i in free_indices:
            tg.start_soon(free, i)
    for i in (112, 113, 114):
        calls = got[i].message.tool_calls
        assert calls and all(c.name == "get_weather" and not c.is_malformed for c in calls)
        assert all(isinstance(c.arguments["city"], str) and len(c.arguments["city"]) <= 12 for c in calls)
    assert [_signature(got[i]) for i in free_indices] == expected_free
    assert engine.batch_stats["largest_batch"] >= 4


# -- KV reuse ---------------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_thirty_two_interleaved_conversations_all_reuse_their_caches(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model)  # the defaults: nothing tuned for 32 conversations
    fresh = HuggingEngine(chat_model, max_cached_sessions=0)
    options = GenerationOptions(
        extra={"suppress_tokens": [engine.tokenizer.convert_tokens_to_ids(t) for t in TOOL_TOKENS]}
    )
    chats = [Conversation(engine, system="Be brief.", max_new_tokens=6, options=options) for _ in range(32)]
    twins = [Conversation(fresh, system="Be brief.", max_new_tokens=6, options=options) for _ in range(32)]
    async with engine, fresh:
        for turn in range(2):

            async def run(i: int, turn: int = turn) -> None:
                await chats[i].send(f"turn {turn} of chat {i}: {' '.join(WORDS[: 5 + i])}")

            async with anyio.create_task_group() as tg:
                for i in range(32):
                    tg.start_soon(run, i)
        assert all(chat.last_usage.cached_tokens > 0 for chat in chats)  # second turns reused caches
        assert engine.cached_sessions == 32
        for i, twin in enumerate(twins):
            for turn in range(2):
                await twin.send(f"turn {turn} of chat {i}: {' '.join(WORDS[: 5 + i])}")
    # Reused caches give the same replies as fresh prefill.
    assert [c.history for c in chats] == [t.history for t in twins]
    assert engine.max_cached_tokens is not None and engine.max_cached_tokens > 32 * 300


# -- the fallback ---------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_a_sliding_window_model_runs_one_round_at_a_time_and_says_why(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = build_tiny_chat_model(
        tmp_path / "sliding",
        config_overrides={"use_sliding_window": True, "sliding_window": 32, "max_window_layers": 0},
    )
    with caplog.at_level(logging.WARNING, logger="hermitcrab.engines.hugging"):
        engine = HuggingEngine(path, max_batch_size=8)
    assert engine.batching_problem is not None and "Sliding" in engine.batching_problem
    lines = [r for r in caplog.records if "one at a time" in r.getMessage()]
    assert len(lines) == 1 and "Sliding" in lines[0].getMessage()
    alone = [
        (await engine.generate(_prompt(i), options=GenerationOptions(max_new_tokens=10))) for i in (1, 2, 3)
    ]
    got: dict[int, Completion] = {}

    async def run(i: int) -> None:
        got[i] = await engine.generate(_prompt(i), options=GenerationOptions(max_new_tokens=10))

    async with engine, anyio.create_task_group() as tg:
        for i in (1, 2, 3):
            tg.start_soon(run, i)
    assert [_signature(got[i]) for i in (1, 2, 3)] == [_signature(c) for c in alone]
    assert engine.batch_stats == {"steps": 0, "largest_batch": 0}  # all through generate


@pytest.mark.anyio
async def test_a_round_that_needs_generate_runs_alone_beside_the_batch(
    chat_model: Path, solo_results: dict[Any, Any]
) -> None:
    others = [120, 121]
    expected = await _alone(chat_model, solo_results, others, 20)
    engine = HuggingEngine(chat_model, max_batch_size=8)
    got: dict[int, tuple[Any, ...]] = {}
    async with engine:
        beams = GenerationOptions(
            max_new_tokens=8, extra={"prompt_lookup_num_tokens": 3}
        )  # assisted decoding
        alone_beams = _signature(await engine.generate(_prompt(122), options=beams))

        async def run(i: int) -> None:
            options = beams if i == 122 else GenerationOptions(max_new_tokens=20)
            got[i] = _signature(await engine.generate(_prompt(i), options=options))

        async with anyio.create_task_group() as tg:
            for i in (*others, 122):
                tg.start_soon(run, i)
    assert [got[i] for i in others] == expected
    assert got[122] == alone_beams


@pytest.mark.anyio
async def test_streamed_deltas_of_a_batched_round_add_up_to_its_reply(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model, max_batch_size=4)
    texts: dict[int, str] = {}
    finals: dict[int, Completion] = {}

    async def run(i: int) -> None:
        text = ""
        async for event in engine.stream(_prompt(i), options=GenerationOptions(max_new_tokens=30)):
            if isinstance(event, TextDelta):
                text += event.text
            elif isinstance(event, Completion):
                finals[i] = event
        texts[i] = text

    async with engine, anyio.create_task_group() as tg:
        for i in range(130, 134):
            tg.start_soon(run, i)
    for i in range(130, 134):
        assert texts[i] == finals[i].message.text


@pytest.mark.anyio
async def test_generation_kwargs_act_in_a_batch_as_in_generate(chat_model: Path) -> None:
    import torch

    engine = HuggingEngine(chat_model, max_batch_size=8)
    no_tools = [engine.tokenizer.convert_tokens_to_ids(t) for t in TOOL_TOKENS]
    kwargs = {
        "repetition_penalty": 1.3,
        "no_repeat_ngram_size": 2,
        "min_new_tokens": 12,
        "suppress_tokens": no_tools,
    }
    got: dict[int, Completion] = {}

    async def run(i: int) -> None:
        options = GenerationOptions(
            max_new_tokens=25, extra=kwargs if i % 2 else {"suppress_tokens": no_tools}
        )
        got[i] = await engine.generate(_prompt(i), options=options)

    async with engine:
        async with anyio.create_task_group() as tg:
            for i in range(140, 146):
                tg.start_soon(run, i)
        for i in range(141, 146, 2):  # the same rounds through plain transformers
            ids = torch.tensor([engine.prompt_ids(_prompt(i))])
            out = engine.model.generate(
                ids,
                attention_mask=torch.ones_like(ids),
                max_new_tokens=25,
                eos_token_id=sorted(engine.end_token_ids),
                **kwargs,
            )
            new = [t for t in out[0, ids.shape[1] :].tolist() if t not in engine.end_token_ids]
            assert got[i].message.text == engine.tokenizer.decode(new, skip_special_tokens=False)
            assert got[i].usage.completion_tokens == out.shape[1] - ids.shape[1] >= 12


@pytest.mark.anyio
async def test_a_paused_round_resumes_when_a_slot_frees_after_its_reader_caught_up(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model, max_batch_size=1, stream_buffer=2)
    endless = {"suppress_tokens": sorted(engine.end_token_ids)}
    a_paused = anyio.Event()
    b_started = anyio.Event()
    done: list[str] = []

    async def slow_then_fast() -> None:
        count = 0
        async for _ in engine.stream(
            _prompt(150), options=GenerationOptions(max_new_tokens=40, extra=endless)
        ):
            count += 1
            if count == 1:
                while engine.active_rounds < 2 or not b_started.is_set():  # noqa: ASYNC110
                    await anyio.sleep(0.01)  # hold back: A pauses, B takes the only slot
                a_paused.set()
        done.append("a")  # read up while B held the slot; A must resume once B is done

    async def other() -> None:
        async for _ in engine.stream(
            _prompt(151), options=GenerationOptions(max_new_tokens=60, extra=endless)
        ):
            b_started.set()
        done.append("b")

    async with engine:
        with anyio.fail_after(60):
            async with anyio.create_task_group() as tg:
                tg.start_soon(slow_then_fast)
                await anyio.sleep(0.2)
                tg.start_soon(other)
    assert sorted(done) == ["a", "b"]
    assert engine.active_rounds == 0


@pytest.mark.anyio
async def test_the_scheduler_thread_ends_when_idle_and_comes_back(
    chat_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hermitcrab.engines._hf_batch as batch

    monkeypatch.setattr(batch, "IDLE_EXIT", 0.05)
    engine = HuggingEngine(chat_model)

    def threads() -> int:
        return sum(t.name == "hermitcrab-batch" and t.is_alive() for t in threading.enumerate())

    before = threads()
    async with engine:
        first = await engine.generate(_prompt(160), options=GenerationOptions(max_new_tokens=5))
        with anyio.fail_after(10):
            while threads() > before:  # noqa: ASYNC110 (a thread ending is not an event)
                await anyio.sleep(0.02)
        again = await engine.generate(_prompt(160), options=GenerationOptions(max_new_tokens=5))
    assert _signature(again) == _signature(first)


@pytest.mark.anyio
async def test_a_round_joins_after_the_batch_outgrew_its_buffers(
    chat_model: Path, solo_results: dict[Any, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # With little room, the running round's steps move the batch to bigger buffers (during the
    # forward pass); a newcomer is then written into a free slot of those buffers. Found by
    # benchmarks/web_load.py: that write failed ("inplace update to inference tensor") and every
    # round of the batch got an EngineError.
    import hermitcrab.engines._hf_batch as batch

    monkeypatch.setattr(batch, "ROOM", 2)
    early, late = 8, 0  # a long prompt, then a short one (it fits the batch's length: no rebuild)
    expected = await _alone(chat_model, solo_results, [early, late], 40)
    engine = HuggingEngine(chat_model, max_batch_size=8)
    hold = Hold(at_step=12)
    got: dict[int, tuple[Any, ...]] = {}

    async def run(i: int) -> None:
        extra = {"logits_processor": [hold]} if i == early else {}
        options = GenerationOptions(max_new_tokens=40, extra=extra)
        got[i] = _signature(await engine.generate(_prompt(i), options=options))

    async with engine, anyio.create_task_group() as tg:
        tg.start_soon(run, early)
        await anyio.to_thread.run_sync(hold.reached.wait)
        tg.start_soon(run, late)
        with anyio.fail_after(30):
            while engine.active_rounds < 2:  # noqa: ASYNC110 (a scheduler count)
                await anyio.sleep(0.005)
        hold.release.set()
    assert [got[early], got[late]] == expected
    assert engine.batch_stats["largest_batch"] == 2
