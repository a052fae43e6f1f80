"""HuggingEngine on tiny real models built offline (hermitcrab.testing): loading, exact token counts,
streaming, stop conditions, cancellation, KV reuse, concurrency, errors, under asyncio and trio."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import anyio
import pytest

pytest.importorskip("transformers")
pytest.importorskip("torch")

import torch
from transformers import AutoModelForCausalLM, AutoTokenizer, LogitsProcessorList

from hermitcrab.engines import HuggingEngine
from hermitcrab.errors import (
    ConfigurationError,
    ConversationClosedError,
    EngineError,
    ModelLoadError,
    PromptTooLongError,
)
from hermitcrab.events import Completion, GenerationOptions, TextDelta, ToolCallEvent
from hermitcrab.messages import Message, ToolCall
from hermitcrab.prompting import CHATML_HERMES_TEMPLATE
from hermitcrab.testing import (
    BASE_TEXT,
    END_OF_TURN,
    TOOL_TOKENS,
    ForcedTokensLogitsProcessor,
    build_tiny_base_model,
    build_tiny_chat_model,
    check_round_trip,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "chat_templates"  # see tests/fixtures/README.md

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}

HISTORY = [
    Message.system("You are a helpful assistant."),
    Message.user("What is the weather in Paris?"),
    Message.assistant(tool_calls=[ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"})]),
    Message.tool_result("call_1", '{"temperature": 21}', name="get_weather"),
    Message.assistant("It is 21 degrees in Paris. 🌊"),
    Message.user("Merci! Et à Zürich? 日本語"),
]


@pytest.fixture(scope="session")
def chat_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_chat_model(tmp_path_factory.mktemp("hf") / "chat")


@pytest.fixture(scope="session")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_base_model(tmp_path_factory.mktemp("hf") / "base")


@pytest.fixture
def engine(chat_model: Path) -> HuggingEngine:
    return HuggingEngine(chat_model)


def _no_tools(engine: HuggingEngine) -> dict[str, Any]:
    """Generation options that keep random output free of tool markup (so text is compared as text)."""
    ids = [engine.tokenizer.convert_tokens_to_ids(t) for t in TOOL_TOKENS]
    return {"suppress_tokens": ids}


async def _collect(
    engine: HuggingEngine, messages: list[Message], **options: Any
) -> tuple[list[Any], Completion]:
    events = [e async for e in engine.stream(messages, options=GenerationOptions(**options))]
    assert isinstance(events[-1], Completion)
    assert not any(isinstance(e, Completion) for e in events[:-1])
    return events[:-1], events[-1]


def _long_options(engine: HuggingEngine, counter: StepCounter) -> GenerationOptions:
    """A round that would run for 3000 tokens, counted (and slowed) by ``counter``."""
    return GenerationOptions(max_new_tokens=3000, extra={"logits_processor": [counter], **_no_tools(engine)})


class StepCounter:
    """A pass-through logits processor that counts decoding steps (optionally slowing each one)."""

    def __init__(self, delay: float = 0.0) -> None:
        self.steps = 0
        self.delay = delay

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        self.steps += 1
        if self.delay:
            threading.Event().wait(self.delay)
        return scores


# -- tiny models ----------------------------------------------------------------------------------
@pytest.mark.parametrize("architecture", ["qwen2", "llama"])
def test_tiny_model_tokenizer_round_trips_after_autotokenizer_load(tmp_path: Path, architecture: str) -> None:
    path = build_tiny_chat_model(tmp_path / architecture, architecture=architecture)
    tokenizer = AutoTokenizer.from_pretrained(path)
    check_round_trip(tokenizer, [BASE_TEXT, "<tool_call>\n{}\n</tool_call> 🦀 x"])
    model = AutoModelForCausalLM.from_pretrained(path)
    assert model.config.model_type == architecture
    assert tokenizer.chat_template == CHATML_HERMES_TEMPLATE
    for token in (*TOOL_TOKENS, END_OF_TURN):
        assert len(tokenizer.encode(token, add_special_tokens=False)) == 1


def test_tiny_model_build_is_deterministic(tmp_path: Path) -> None:
    a = AutoModelForCausalLM.from_pretrained(build_tiny_chat_model(tmp_path / "a", seed=3))
    b = AutoModelForCausalLM.from_pretrained(build_tiny_chat_model(tmp_path / "b", seed=3))
    c = AutoModelForCausalLM.from_pretrained(build_tiny_chat_model(tmp_path / "c", seed=4))
    wa, wb, wc = (m.model.embed_tokens.weight for m in (a, b, c))
    assert torch.equal(wa, wb)
    assert not torch.equal(wa, wc)


# -- loading and configuration --------------------------------------------------------------------
def test_loads_a_model_folder_with_context_from_config_and_detected_parser(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model)
    assert engine.max_context_size == engine.model.config.max_position_embeddings == 4096
    assert engine.parser.name == "hermes"
    assert HuggingEngine(chat_model, max_context_size=300).max_context_size == 300


def test_folder_without_chat_template_is_rejected_at_construction(base_model: Path) -> None:
    with pytest.raises(ModelLoadError, match="chat_template"):
        HuggingEngine(base_model)
    engine = HuggingEngine(base_model, chat_template=CHATML_HERMES_TEMPLATE)
    assert engine.prompt_len([Message.user("hi")]) > 0


def test_subclass_with_own_build_prompt_needs_no_chat_template(base_model: Path) -> None:
    class Plain(HuggingEngine):
        def build_prompt(self, messages: Any, tools: Any = ()) -> str:
            return "".join(f"{m.role}: {m.text}\n" for m in messages) + "assistant:"

    engine = Plain(base_model)
    assert engine.prompt_len([Message.user("hi")]) == len(
        engine.tokenizer.encode("user: hi\nassistant:", add_special_tokens=False)
    )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"load_in_4bit": True, "load_in_8bit": True}, "both"),
        ({"load_in_4bit": True, "quantization_config": object()}, "not both"),
        ({"max_context_size": 0}, "max_context_size"),
        ({"max_cached_sessions": -1}, "max_cached_sessions"),
        ({"max_cached_tokens": -1}, "max_cached_tokens"),
        ({"dtype": "float_nonsense"}, "dtype"),
    ],
)
def test_impossible_options_raise_configuration_error(
    chat_model: Path, kwargs: dict[str, Any], match: str
) -> None:
    with pytest.raises(ConfigurationError, match=match):
        HuggingEngine(chat_model, **kwargs)


def test_missing_model_folder_raises_model_load_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        HuggingEngine(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ModelLoadError) as info:  # a folder that holds no model
        HuggingEngine(tmp_path / "empty")
    assert info.value.__cause__ is not None


def test_unknown_parser_name_raises_configuration_error(chat_model: Path) -> None:
    with pytest.raises(ConfigurationError, match="parser"):
        HuggingEngine(chat_model, parser="no-such-format")


@pytest.mark.anyio
@pytest.mark.loop_lag_limit(5, reason="the test loads a 4-bit model on the loop (construction is sync)")
async def test_4bit_load_on_cpu_uses_bitsandbytes_layers_and_generates(chat_model: Path) -> None:
    pytest.importorskip("bitsandbytes")
    import bitsandbytes as bnb

    async with HuggingEngine(chat_model, load_in_4bit=True, device="cpu") as engine:
        layers = [m for m in engine.model.modules() if isinstance(m, bnb.nn.Linear4bit)]
        assert layers
        assert layers[0].weight.quant_type == "nf4"
        _, completion = await _collect(engine, HISTORY[:2], max_new_tokens=5, extra=_no_tools(engine))
        assert completion.usage.completion_tokens == 5


@pytest.mark.anyio
@pytest.mark.loop_lag_limit(5, reason="the test loads an 8-bit model on the loop (construction is sync)")
async def test_8bit_load_on_cpu_generates(chat_model: Path) -> None:
    pytest.importorskip("bitsandbytes")
    import bitsandbytes as bnb

    async with HuggingEngine(chat_model, load_in_8bit=True, device="cpu") as engine:
        assert any(isinstance(m, bnb.nn.Linear8bitLt) for m in engine.model.modules())
        _, completion = await _collect(engine, HISTORY[:2], max_new_tokens=5, extra=_no_tools(engine))
        assert completion.usage.completion_tokens == 5


def test_device_auto_loads_through_accelerate(chat_model: Path) -> None:
    pytest.importorskip("accelerate")
    engine = HuggingEngine(chat_model, device="auto")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert engine.model.device.type == expected
    assert engine.prompt_len([Message.user("hi")]) > 0


@pytest.mark.anyio
async def test_llama_architecture_streams_and_reuses_its_cache(tmp_path: Path) -> None:
    engine = HuggingEngine(build_tiny_chat_model(tmp_path / "llama", architecture="llama"))
    fresh = HuggingEngine(tmp_path / "llama", max_cached_sessions=0)
    assert engine.model.config.model_type == "llama"
    options = GenerationOptions(max_new_tokens=8, session="s", extra=_no_tools(engine))
    first = await engine.generate(HISTORY[:2], options=options)
    history = [*HISTORY[:2], first.message, Message.user("and then?")]
    second = await engine.generate(history, options=options)
    again = await fresh.generate(
        history, options=GenerationOptions(max_new_tokens=8, extra=_no_tools(engine))
    )
    assert second.usage.cached_tokens > 0
    assert second.message.text == again.message.text


@pytest.mark.anyio
async def test_generation_kwargs_are_defaults_that_options_override(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model, generation_kwargs={"max_new_tokens": 3, "suppress_tokens": [0, 2]})
    default = await engine.generate(HISTORY[:2])
    assert default.usage.completion_tokens == 3
    override = await engine.generate(HISTORY[:2], options=GenerationOptions(max_new_tokens=5))
    assert override.usage.completion_tokens == 5


@pytest.mark.anyio
async def test_seeded_sampling_is_reproducible_and_temperature_zero_is_greedy(engine: HuggingEngine) -> None:
    extra = _no_tools(engine)

    async def text(**kwargs: Any) -> str:
        completion = await engine.generate(
            HISTORY, options=GenerationOptions(max_new_tokens=20, extra=extra, **kwargs)
        )
        return completion.message.text

    assert await text(temperature=1.0, seed=1) == await text(temperature=1.0, seed=1)
    assert await text(temperature=1.0, seed=1) != await text(temperature=1.0, seed=2)
    assert await text(temperature=0.0) == await text(temperature=0.0, seed=5)


# -- token counts ---------------------------------------------------------------------------------
def test_prompt_len_equals_the_tokenized_chat_template_with_tools(engine: HuggingEngine) -> None:
    dicts = [m.to_dict() for m in HISTORY]
    for tools in ([], [WEATHER_TOOL]):
        expected = engine.tokenizer.apply_chat_template(
            dicts, tools=tools or None, add_generation_prompt=True, tokenize=True
        )["input_ids"]
        assert engine.prompt_ids(HISTORY, tools) == list(expected)
        assert engine.prompt_len(HISTORY, tools) == len(expected)
    assert engine.prompt_len(HISTORY, [WEATHER_TOOL]) > engine.prompt_len(HISTORY) + 20


def test_message_len_is_additive_for_chatml(engine: HuggingEngine) -> None:
    # ChatML renders every message independently, so each message adds exactly its message_len.
    for i in range(1, len(HISTORY)):
        added = engine.prompt_len(HISTORY[: i + 1]) - engine.prompt_len(HISTORY[:i])
        assert engine.message_len(HISTORY[i]) == added, HISTORY[i]
    overhead = engine.prompt_len(HISTORY) - sum(engine.message_len(m) for m in HISTORY)
    assert overhead == len(engine.tokenizer.encode("<|im_start|>assistant\n", add_special_tokens=False))


def test_empty_prompt_len_is_the_fixed_overhead(engine: HuggingEngine) -> None:
    for tools in ([], [WEATHER_TOOL]):
        total = engine.prompt_len([], tools) + sum(engine.message_len(m) for m in HISTORY[1:])
        assert total == engine.prompt_len(HISTORY[1:], tools)


def test_real_qwen25_template_counts_exactly(chat_model: Path) -> None:
    template = (FIXTURES / "llamacpp__Qwen-Qwen2.5-7B-Instruct.jinja").read_text(encoding="utf-8")
    engine = HuggingEngine(chat_model, chat_template=template)
    history = HISTORY[1:]  # Qwen2.5 adds its default system prompt when there is none
    expected = engine.tokenizer.apply_chat_template(
        [m.to_dict() for m in history], tools=[WEATHER_TOOL], add_generation_prompt=True, tokenize=True
    )["input_ids"]
    assert engine.prompt_len(history, [WEATHER_TOOL]) == len(expected)
    # It cannot render an empty conversation; the overhead is still exact for this additive template.
    for tools in ([], [WEATHER_TOOL]):
        total = engine.prompt_len([], tools) + sum(engine.message_len(m) for m in history)
        assert total == engine.prompt_len(history, tools)


def test_count_tokens_uses_the_tokenizer(engine: HuggingEngine) -> None:
    assert engine.count_tokens("hello world") == len(
        engine.tokenizer.encode("hello world", add_special_tokens=False)
    )
    assert engine.count_tokens("") == 0


# -- streaming and stopping -----------------------------------------------------------------------
@pytest.mark.anyio
@pytest.mark.loop_lag_limit(5, reason="the test runs plain model.generate on the loop to compare outputs")
async def test_stream_deltas_concatenate_to_the_decode_of_raw_generate(engine: HuggingEngine) -> None:
    extra = _no_tools(engine)
    events, completion = await _collect(
        engine, HISTORY, max_new_tokens=60, temperature=1.0, seed=7, extra=extra
    )
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 5
    assert all("\ufffd" not in d or len(d) >= 1 for d in deltas)
    # The same sampling, seed and prompt through plain transformers.
    ids = torch.tensor([engine.prompt_ids(HISTORY)])
    torch.manual_seed(7)
    out = engine.model.generate(
        ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=60,
        do_sample=True,
        temperature=1.0,
        eos_token_id=sorted(engine._end_ids),
        **extra,
    )
    new = [t for t in out[0, ids.shape[1] :].tolist() if t not in engine._end_ids]
    expected = engine.tokenizer.decode(new, skip_special_tokens=False)
    assert "".join(deltas) == expected == completion.message.text
    assert completion.usage.prompt_tokens == ids.shape[1]
    assert completion.usage.completion_tokens == out.shape[1] - ids.shape[1]


@pytest.mark.anyio
async def test_max_new_tokens_ends_with_length(engine: HuggingEngine) -> None:
    _, completion = await _collect(engine, HISTORY, max_new_tokens=7, extra=_no_tools(engine))
    assert completion.finish_reason == "length"
    assert completion.usage.completion_tokens == 7
    assert completion.usage.requests == 1


@pytest.mark.anyio
async def test_end_of_turn_token_stops_and_is_not_shown(engine: HuggingEngine) -> None:
    script = ForcedTokensLogitsProcessor.from_texts(engine.tokenizer, ["Hi there 🦀"])
    extra = {"logits_processor": LogitsProcessorList([script])}
    _, completion = await _collect(engine, HISTORY, max_new_tokens=50, extra=extra)
    assert completion.message.text == "Hi there 🦀"
    assert completion.finish_reason == "stop"
    n = len(engine.tokenizer.encode("Hi there 🦀", add_special_tokens=False))
    assert completion.usage.completion_tokens == n + 1  # the reply and <|im_end|>


@pytest.mark.anyio
async def test_user_stop_string_cuts_the_reply(engine: HuggingEngine) -> None:
    text = "alpha beta STOP gamma delta"
    script = ForcedTokensLogitsProcessor.from_texts(engine.tokenizer, [text, text])
    extra = {"logits_processor": LogitsProcessorList([script])}
    events, completion = await _collect(engine, HISTORY, max_new_tokens=50, stop=("STOP",), extra=extra)
    assert completion.message.text == "alpha beta "
    assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "alpha beta "
    assert completion.finish_reason == "stop"
    assert completion.usage.completion_tokens < len(engine.tokenizer.encode(text, add_special_tokens=False))


@pytest.mark.anyio
async def test_tool_call_markup_becomes_a_tool_call_event(engine: HuggingEngine) -> None:
    reply = '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Zürich"}}\n</tool_call>'
    script = ForcedTokensLogitsProcessor.from_texts(engine.tokenizer, [reply])
    extra = {"logits_processor": LogitsProcessorList([script])}
    events, completion = await _collect(engine, HISTORY, max_new_tokens=80, extra=extra)
    calls = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", {"city": "Zürich"})]
    assert completion.finish_reason == "tool_calls"
    assert completion.message.tool_calls == tuple(calls)


@pytest.mark.anyio
async def test_engine_generate_collects_the_completion(engine: HuggingEngine) -> None:
    script = ForcedTokensLogitsProcessor.from_texts(engine.tokenizer, ["Bonjour"])
    options = GenerationOptions(max_new_tokens=20, extra={"logits_processor": LogitsProcessorList([script])})
    completion = await engine.generate(HISTORY, options=options)
    assert completion.message.text == "Bonjour"


@pytest.mark.anyio
async def test_generation_errors_become_engine_errors(engine: HuggingEngine) -> None:
    with pytest.raises(EngineError) as info:
        await engine.generate(
            HISTORY, options=GenerationOptions(max_new_tokens=3, extra={"no_such_kwarg": 1})
        )
    assert info.value.__cause__ is not None
    assert engine.active_rounds == 0


@pytest.mark.anyio
async def test_prompt_longer_than_the_context_raises(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model, max_context_size=10)
    with pytest.raises(PromptTooLongError):
        await engine.generate(HISTORY)


# -- cancellation ---------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_aclose_stops_generate_at_the_next_token_and_ends_the_thread(engine: HuggingEngine) -> None:
    counter = StepCounter(delay=0.002)
    options = GenerationOptions(
        max_new_tokens=3000, extra={"logits_processor": [counter], **_no_tools(engine)}
    )
    stream = engine.stream(HISTORY, options=options)
    async for event in stream:
        assert isinstance(event, TextDelta)
        break
    at_close = counter.steps
    await stream.aclose()
    assert engine.active_rounds == 0
    assert counter.steps <= at_close + 2


@pytest.mark.anyio
async def test_cancelling_the_consumer_stops_generate(engine: HuggingEngine) -> None:
    counter = StepCounter(delay=0.002)
    options = GenerationOptions(
        max_new_tokens=3000, extra={"logits_processor": [counter], **_no_tools(engine)}
    )
    at_cancel = -1
    with anyio.CancelScope() as scope:
        async for _ in engine.stream(HISTORY, options=options):
            if counter.steps >= 5:
                at_cancel = counter.steps
                scope.cancel()
    assert scope.cancelled_caught
    assert engine.active_rounds == 0
    assert at_cancel >= 5
    assert counter.steps <= at_cancel + 2


@pytest.mark.anyio
# trio warns (ResourceWarning) about any async generator left unexhausted without aclosing(), then
# closes it anyway; that closing is what this test checks.
@pytest.mark.filterwarnings("ignore:Async generator .* was garbage collected:ResourceWarning")
async def test_breaking_out_of_async_for_stops_generate(engine: HuggingEngine) -> None:
    counter = StepCounter(delay=0.002)
    options = GenerationOptions(
        max_new_tokens=3000, extra={"logits_processor": [counter], **_no_tools(engine)}
    )
    async for _ in engine.stream(HISTORY, options=options):
        break
    # The abandoned generator is finalized by the event loop; the engine must then let go promptly.
    with anyio.fail_after(10):
        while engine.active_rounds:  # noqa: ASYNC110 (a thread cannot set an anyio.Event here)
            await anyio.sleep(0.01)
    assert counter.steps < 3000
    # The engine is free again for the next round.
    _, completion = await _collect(engine, HISTORY, max_new_tokens=3, extra=_no_tools(engine))
    assert completion.usage.completion_tokens == 3


@pytest.mark.anyio
async def test_slow_consumer_gets_every_delta_through_a_tiny_buffer(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model, stream_buffer=1)
    extra = _no_tools(engine)
    fast = await engine.generate(HISTORY, options=GenerationOptions(max_new_tokens=40, extra=extra))
    text = ""
    async for event in engine.stream(HISTORY, options=GenerationOptions(max_new_tokens=40, extra=extra)):
        await anyio.sleep(0.001)
        if isinstance(event, TextDelta):
            text += event.text
    assert text == fast.message.text


# -- KV reuse -------------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_kv_reuse_gives_the_same_tokens_as_fresh_generation(chat_model: Path) -> None:
    reused = HuggingEngine(chat_model)
    fresh = HuggingEngine(chat_model, max_cached_sessions=0)
    extra = _no_tools(reused)
    history = list(HISTORY[:2])
    cached_counts = []
    for turn in range(4):
        a = await reused.generate(
            history, options=GenerationOptions(max_new_tokens=12, session="s", extra=extra)
        )
        b = await fresh.generate(history, options=GenerationOptions(max_new_tokens=12, extra=extra))
        assert a.message.text == b.message.text
        assert b.usage.cached_tokens == 0
        cached_counts.append(a.usage.cached_tokens)
        history += [a.message, Message.user(f"next question number {turn}")]
    assert cached_counts[0] == 0
    assert all(c > 0 for c in cached_counts[1:])
    # The last round reused at least the whole prompt of the round before it (history[:-4]).
    assert cached_counts[-1] >= reused.prompt_len(history[:-4])


@pytest.mark.anyio
async def test_kv_reuse_after_an_edited_history_and_a_repeated_prompt(chat_model: Path) -> None:
    reused = HuggingEngine(chat_model)
    fresh = HuggingEngine(chat_model, max_cached_sessions=0)
    extra = _no_tools(reused)

    async def both(messages: list[Message]) -> int:
        a = await reused.generate(
            messages, options=GenerationOptions(max_new_tokens=10, session=1, extra=extra)
        )
        b = await fresh.generate(messages, options=GenerationOptions(max_new_tokens=10, extra=extra))
        assert a.message.text == b.message.text
        return a.usage.cached_tokens

    await both(list(HISTORY))
    # The same prompt again: everything but the last prompt token comes from the cache.
    assert await both(list(HISTORY)) == reused.prompt_len(HISTORY) - 1
    # An earlier message edited: only the part before the edit is reused.
    edited = [HISTORY[0], Message.user("What is the weather in Lyon?"), *HISTORY[2:]]
    cached = await both(edited)
    assert 0 < cached < reused.prompt_len(HISTORY[:2])


@pytest.mark.anyio
async def test_session_caches_are_bounded_and_released(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model, max_cached_sessions=2)
    for session in ("a", "b", "c"):
        await engine.generate(HISTORY[:2], options=GenerationOptions(max_new_tokens=2, session=session))
    assert engine.cached_sessions == 2
    engine.release_session("c")
    assert engine.cached_sessions == 1
    c = await engine.generate(HISTORY[:2], options=GenerationOptions(max_new_tokens=2, session="c"))
    assert c.usage.cached_tokens == 0  # released: nothing reused
    b = await engine.generate(HISTORY[:2], options=GenerationOptions(max_new_tokens=2, session="b"))
    assert b.usage.cached_tokens > 0
    a = await engine.generate(HISTORY[:2], options=GenerationOptions(max_new_tokens=2, session="a"))
    assert a.usage.cached_tokens == 0  # evicted as least recently used


@pytest.mark.anyio
async def test_cached_tokens_budget_evicts_least_recently_used(chat_model: Path) -> None:
    probe = HuggingEngine(chat_model)
    one = probe.prompt_len(HISTORY[:2]) + 2  # prompt + 3 generated tokens, the last one uncached
    engine = HuggingEngine(chat_model, max_cached_tokens=2 * one + 1)
    for session in ("a", "b", "c"):
        await engine.generate(HISTORY[:2], options=GenerationOptions(max_new_tokens=3, session=session))
        assert engine.cached_tokens <= 2 * one + 1
    assert engine.cached_sessions == 2
    a = await engine.generate(HISTORY[:2], options=GenerationOptions(max_new_tokens=3, session="a"))
    assert a.usage.cached_tokens == 0
    c = await engine.generate(HISTORY[:2], options=GenerationOptions(max_new_tokens=3, session="c"))
    assert c.usage.cached_tokens > 0


# -- concurrency and lifetime -----------------------------------------------------------------------
@pytest.mark.anyio
async def test_concurrent_streams_are_serialised_and_match_sequential_results(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model)
    extra = _no_tools(engine)
    prompts = [[Message.user(f"question {i} about the weather in Paris")] for i in range(4)]
    sequential = [
        (await engine.generate(p, options=GenerationOptions(max_new_tokens=15, extra=extra))).message.text
        for p in prompts
    ]
    active = 0
    overlap = 0
    lock = threading.Lock()

    def pre(*_: Any) -> None:
        nonlocal active, overlap
        with lock:
            active += 1
            overlap = max(overlap, active)

    def post(*_: Any) -> None:
        nonlocal active
        with lock:
            active -= 1

    hooks = [engine.model.register_forward_pre_hook(pre), engine.model.register_forward_hook(post)]
    results: dict[int, str] = {}

    async def run(i: int) -> None:
        text = ""
        options = GenerationOptions(max_new_tokens=15, session=f"c{i}", extra=extra)
        async for event in engine.stream(prompts[i], options=options):
            if isinstance(event, TextDelta):
                text += event.text
        results[i] = text

    try:
        async with anyio.create_task_group() as tg:
            for i in range(4):
                tg.start_soon(run, i)
    finally:
        for hook in hooks:
            hook.remove()
    assert [results[i] for i in range(4)] == sequential
    assert overlap == 1


@pytest.mark.anyio
async def test_close_frees_the_model_and_refuses_new_rounds(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model)
    async with engine:
        await engine.generate(HISTORY[:2], options=GenerationOptions(max_new_tokens=2, session="x"))
        assert engine.cached_sessions == 1
    assert engine.model is None
    assert engine.cached_sessions == 0
    with pytest.raises(ConversationClosedError):
        await engine.generate(HISTORY[:2])
    await engine.close()  # idempotent


@pytest.mark.anyio
async def test_close_during_a_round_stops_it(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model)
    counter = StepCounter(delay=0.002)
    options = GenerationOptions(
        max_new_tokens=3000, extra={"logits_processor": [counter], **_no_tools(engine)}
    )
    completions = []
    errors: list[BaseException] = []

    async def consume() -> None:
        try:
            async for event in engine.stream(HISTORY, options=options):
                if isinstance(event, Completion):
                    completions.append(event)
        except ConversationClosedError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(consume)
        while counter.steps < 3:  # noqa: ASYNC110 (polling a counter of another thread)
            await anyio.sleep(0.005)
        await engine.close()
    assert counter.steps < 3000
    # A reply cut off by the engine closing is not a complete reply: the round fails.
    assert completions == []
    assert len(errors) == 1
    assert engine.active_rounds == 0
