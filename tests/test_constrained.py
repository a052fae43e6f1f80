"""Constrained tool calls (engines/_constrained.py) on a tiny random-weight chat model built offline.

A random model writes garbage; with the constraint on, whatever calls it starts must parse and
validate. ``sequence_bias`` (a real ``generate`` option) pushes the model towards or away from the
``<tool_call>`` token so that calls actually happen; the same bias without the constraint is the
control that shows these tests can fail.
"""

from __future__ import annotations

import functools
import json
import sys
from pathlib import Path
from typing import Any

import anyio
import jsonschema
import pytest

pytest.importorskip("transformers")
pytest.importorskip("torch")

import torch
import xgrammar as xgr
from transformers import AutoTokenizer, LogitsProcessor

from hermitcrab.engines import HuggingEngine
from hermitcrab.engines._constrained import ToolCallConstraint, constrained_formats
from hermitcrab.errors import ConfigurationError, EngineError, MissingDependencyError
from hermitcrab.events import Completion, GenerationOptions, TextDelta, ToolCallEvent
from hermitcrab.messages import Message, ToolCall
from hermitcrab.testing import ForcedTokensLogitsProcessor, build_tiny_chat_model

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "chat_templates"  # see tests/fixtures/README.md


def _tool(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {"type": "function", "function": {"name": name, "description": name, "parameters": parameters}}


WEATHER = _tool(
    "get_weather",
    {
        "type": "object",
        "properties": {
            "city": {"type": "string", "maxLength": 8},
            "unit": {"enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
    },
)
ADD = _tool(
    "add",
    {
        "type": "object",
        "properties": {
            "a": {"type": "integer", "minimum": -99, "maximum": 99},
            "b": {"type": "integer", "minimum": 0, "maximum": 9},
        },
        "required": ["a", "b"],
    },
)
REMINDER = _tool(
    "set_reminder",
    {
        "type": "object",
        "properties": {
            "when": {
                "type": "object",
                "properties": {
                    "day": {"enum": ["today", "tomorrow"]},
                    "hour": {"type": "integer", "minimum": 0, "maximum": 23},
                },
                "required": ["day", "hour"],
            },
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 3}, "maxItems": 2},
            "urgent": {"type": "boolean"},
        },
        "required": ["when", "urgent"],
    },
)
TOOL_SETS = {"weather": [WEATHER], "nested": [REMINDER], "three": [WEATHER, ADD, REMINDER]}
PROMPT = [Message.user("What is the weather in Paris? Add 12 and 30.")]

HERMES_CALL = '<tool_call>\n{{"name": "{name}", "arguments": {args}}}\n</tool_call>'


def _call(name: str, args: dict[str, Any] | str) -> str:
    return HERMES_CALL.format(
        name=name, args=args if isinstance(args, str) else json.dumps(args, ensure_ascii=False)
    )


def _assert_valid(calls: tuple[ToolCall, ...] | list[ToolCall], tools: list[dict[str, Any]]) -> None:
    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    for call in calls:
        assert call.error is None, f"malformed call: {call.error}: {call.raw!r}"
        assert call.name in schemas, call.name
        jsonschema.validate(call.arguments, schemas[call.name])


def _is_valid(call: ToolCall, tools: list[dict[str, Any]]) -> bool:
    try:
        _assert_valid([call], tools)
    except (AssertionError, jsonschema.ValidationError):
        return False
    return True


@pytest.fixture(scope="module", autouse=True)
def _one_torch_thread() -> Any:
    """One torch thread: fastest for tiny models on these shared 2-core machines."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="session")
def chat_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_chat_model(tmp_path_factory.mktemp("constrained") / "chat")


@pytest.fixture(scope="session")
def tokenizer(chat_model: Path) -> Any:
    return AutoTokenizer.from_pretrained(chat_model)


@pytest.fixture
def engine(chat_model: Path) -> HuggingEngine:
    # One call per reply and at most one space between JSON tokens keep random replies short.
    return HuggingEngine(chat_model, parallel_tool_calls=False, max_whitespace=1, constrained=True)


@pytest.fixture
def constraint(tokenizer: Any) -> ToolCallConstraint:
    return ToolCallConstraint(
        tokenizer, "hermes", stop_token_ids=[tokenizer.convert_tokens_to_ids("<|im_end|>")]
    )


def _options(engine: HuggingEngine, *, seed: int, bias: float = 0.0, **kw: Any) -> GenerationOptions:
    extra: dict[str, Any] = dict(kw.pop("extra", {}))
    if bias:
        extra["sequence_bias"] = {(engine.tokenizer.convert_tokens_to_ids("<tool_call>"),): bias}
    return GenerationOptions(
        max_new_tokens=kw.pop("max_new_tokens", 120), temperature=1.0, seed=seed, extra=extra, **kw
    )


def _generate(engine: HuggingEngine, tools: list[dict[str, Any]], options: GenerationOptions) -> Completion:
    """One generation on a fresh event loop: the many-generation tests below need no second backend
    (the anyio tests further down check streaming and cancellation under asyncio and trio)."""
    return anyio.run(functools.partial(engine.generate, PROMPT, tools=tools, options=options))


# -- generation with the constraint on -----------------------------------------------------------------
@pytest.mark.parametrize("tool_set", list(TOOL_SETS))
def test_constrained_calls_always_parse_and_validate(engine: HuggingEngine, tool_set: str) -> None:
    tools = TOOL_SETS[tool_set]
    calls: list[ToolCall] = []
    for seed, choice in ((0, "auto"), (1, "auto"), (2, "required")):  # the seed sweep is in benchmarks/
        options = _options(engine, seed=seed, bias=8.0, max_new_tokens=200, tool_choice=choice)
        completion = _generate(engine, tools, options)
        assert completion.finish_reason != "length", completion.message
        _assert_valid(completion.message.tool_calls, tools)
        calls.extend(completion.message.tool_calls)
    assert len(calls) >= 2  # the bias made the model call: the assertions above had something to check


def test_same_model_without_constraint_writes_invalid_calls(engine: HuggingEngine) -> None:
    tools = TOOL_SETS["three"]
    calls: list[ToolCall] = []
    for seed in range(3):
        options = _options(engine, seed=seed, bias=6.0, max_new_tokens=60, extra={"constrained": False})
        completion = _generate(engine, tools, options)
        calls.extend(completion.message.tool_calls)
    assert calls
    assert not any(_is_valid(call, tools) for call in calls)


def test_tool_choice_required_always_yields_a_valid_call(engine: HuggingEngine) -> None:
    tools = TOOL_SETS["three"]
    for seed in range(3):
        # Biased *against* the call marker: the grammar still makes the reply a call.
        options = _options(engine, seed=seed, bias=-8.0, tool_choice="required")
        completion = _generate(engine, tools, options)
        assert completion.finish_reason == "tool_calls"
        assert len(completion.message.tool_calls) == 1
        assert completion.message.text == ""
        _assert_valid(completion.message.tool_calls, tools)


def test_tool_choice_none_never_yields_a_call(engine: HuggingEngine) -> None:
    tools = TOOL_SETS["three"]
    for seed in range(3):
        options = _options(engine, seed=seed, bias=8.0, max_new_tokens=40, tool_choice="none")
        completion = _generate(engine, tools, options)
        assert completion.message.tool_calls == ()
        assert "<tool_call>" not in completion.message.text
    control = _options(engine, seed=0, bias=8.0, max_new_tokens=40, extra={"constrained": False})
    assert _generate(engine, tools, control).message.tool_calls


def test_named_tool_choice_forces_exactly_that_tool(engine: HuggingEngine) -> None:
    tools = TOOL_SETS["three"]
    for seed in range(2):
        options = _options(engine, seed=seed, tool_choice="add")
        completion = _generate(engine, tools, options)
        assert [c.name for c in completion.message.tool_calls] == ["add"]
        _assert_valid(completion.message.tool_calls, tools)


@pytest.mark.anyio
async def test_streaming_with_constraint_emits_the_call_and_a_matching_completion(
    engine: HuggingEngine,
) -> None:
    tools = TOOL_SETS["nested"]
    events = [e async for e in engine.stream(PROMPT, tools=tools, options=_options(engine, seed=1, bias=6.0))]
    assert isinstance(events[-1], Completion)
    streamed = [e.call for e in events if isinstance(e, ToolCallEvent)]
    assert streamed and list(events[-1].message.tool_calls) == streamed
    _assert_valid(streamed, tools)
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    assert text == events[-1].message.text


@pytest.mark.anyio
async def test_cancelling_a_constrained_round_leaves_the_engine_usable(
    engine: HuggingEngine,
) -> None:
    tools = TOOL_SETS["three"]
    long = _options(engine, seed=0, max_new_tokens=2000)
    stream = engine.stream(PROMPT, tools=tools, options=long)
    async for event in stream:  # break at the first delta, then close
        assert isinstance(event, TextDelta)
        break
    await stream.aclose()  # type: ignore[attr-defined]
    with anyio.CancelScope() as scope:
        async for _ in engine.stream(PROMPT, tools=tools, options=long):
            scope.cancel()
    assert scope.cancelled_caught
    completion = await engine.generate(
        PROMPT, tools=tools, options=_options(engine, seed=2, tool_choice="required")
    )
    _assert_valid(completion.message.tool_calls, tools)
    assert completion.message.tool_calls


@pytest.mark.anyio
async def test_constraint_follows_kv_cache_reuse_across_rounds(engine: HuggingEngine) -> None:
    tools = TOOL_SETS["weather"]
    session = object()
    first = await engine.generate(
        PROMPT, tools=tools, options=_options(engine, seed=3, tool_choice="required", session=session)
    )
    _assert_valid(first.message.tool_calls, tools)
    call = first.message.tool_calls[0]
    history = [*PROMPT, first.message, Message.tool_result(call.id, '{"temperature": 21}', name=call.name)]
    second = await engine.generate(
        history, tools=tools, options=_options(engine, seed=4, tool_choice="required", session=session)
    )
    assert second.usage.cached_tokens > 0
    _assert_valid(second.message.tool_calls, tools)
    assert second.message.tool_calls


@pytest.mark.anyio
async def test_a_processor_that_fights_the_grammar_raises_instead_of_emitting_a_bad_call(
    engine: HuggingEngine,
) -> None:
    tools = TOOL_SETS["weather"]
    bad = _call("get_weather", {"city": "Paris", "unit": "kelvin"})
    forced = ForcedTokensLogitsProcessor.from_texts(engine.tokenizer, [bad])
    options = GenerationOptions(max_new_tokens=80, extra={"logits_processor": [forced]})
    with pytest.raises(EngineError, match="tool-call grammar"):
        await engine.generate(PROMPT, tools=tools, options=options)
    good = _call("get_weather", {"city": "Paris", "unit": "celsius"})
    forced = ForcedTokensLogitsProcessor.from_texts(engine.tokenizer, [good])
    options = GenerationOptions(max_new_tokens=80, extra={"logits_processor": [forced]})
    completion = await engine.generate(PROMPT, tools=tools, options=options)
    assert [(c.name, c.arguments) for c in completion.message.tool_calls] == [
        ("get_weather", {"city": "Paris", "unit": "celsius"})
    ]


@pytest.mark.anyio
async def test_invalid_tool_choice_is_a_configuration_error(engine: HuggingEngine) -> None:
    with pytest.raises(ConfigurationError, match="get_weather"):
        await engine.generate(PROMPT, tools=[WEATHER], options=GenerationOptions(tool_choice="send_email"))
    with pytest.raises(ConfigurationError, match="required"):
        await engine.generate(PROMPT, tools=[], options=GenerationOptions(tool_choice="required"))
    # the engine is still usable afterwards
    completion = await engine.generate(PROMPT, options=GenerationOptions(max_new_tokens=2))
    assert completion.usage.completion_tokens <= 2


DEMO_MODEL = Path(__file__).resolve().parents[1] / "examples" / "demo_model" / "model"


@pytest.mark.skipif(
    not (DEMO_MODEL / "config.json").exists(), reason="the demo model has not been trained yet"
)
def test_demo_model_with_constraint_makes_only_valid_calls() -> None:
    import importlib.util

    # training/data.py: held-out prompts and the example bots' real tools (a unique module
    # name, so that no other test's `data` module is shadowed)
    spec = importlib.util.spec_from_file_location(
        "_demo_model_data", DEMO_MODEL.parents[2] / "training" / "data.py"
    )
    assert spec is not None and spec.loader is not None
    data = sys.modules.get(spec.name) or importlib.util.module_from_spec(spec)
    if spec.name not in sys.modules:
        sys.modules[spec.name] = data  # dataclasses look their module up while the file runs
        spec.loader.exec_module(data)
    engine = HuggingEngine(DEMO_MODEL, constrained=True, max_string_length=48)

    async def first_replies() -> list[tuple[Any, Completion]]:
        out = []
        for sample in data.eval_prompts(per_kind=2):
            options = GenerationOptions(max_new_tokens=96)
            out.append(
                (
                    sample,
                    await engine.generate(sample.messages, tools=sample.toolset.schemas, options=options),
                )
            )
        return out

    calls = 0
    for sample, completion in anyio.run(first_replies):
        tools = {t.name: t for t in sample.toolset.tools}
        for call in completion.message.tool_calls:
            calls += 1
            assert call.error is None, call.raw
            tools[call.name].validate(call.arguments)  # raises on invalid arguments
    assert calls >= 5


# -- grammars, without generating ---------------------------------------------------------------------
def _accepts(
    constraint: ToolCallConstraint, text: str, tools: Any, choice: str | None = None, **kw: Any
) -> bool:
    matcher = xgr.GrammarMatcher(constraint.grammar(tools, choice, **kw))
    return matcher.accept_string(text) and matcher.accept_token(
        constraint.tokenizer.convert_tokens_to_ids("<|im_end|>")
    )


@pytest.mark.parametrize(
    ("args", "valid"),
    [
        ({"when": {"day": "today", "hour": 9}, "urgent": True}, True),
        ({"when": {"day": "today", "hour": 9}, "tags": ["a", "b"], "urgent": False}, True),
        ({"when": {"day": "today", "hour": 9}}, False),  # missing required key
        ({"when": {"day": "someday", "hour": 9}, "urgent": True}, False),  # enum
        ({"when": {"day": "today", "hour": 24}, "urgent": True}, False),  # maximum
        ({"when": {"day": "today"}, "urgent": True}, False),  # nested required key
        ({"when": {"day": "today", "hour": "9"}, "urgent": True}, False),  # type
        ({"when": {"day": "today", "hour": 9}, "tags": ["a", "b", "c"], "urgent": True}, False),  # maxItems
        ({"when": {"day": "today", "hour": 9}, "tags": ["long"], "urgent": True}, False),  # maxLength
    ],
)
def test_grammar_accepts_exactly_the_calls_that_validate(
    constraint: ToolCallConstraint, args: dict[str, Any], valid: bool
) -> None:
    text = "Sure. " + _call("set_reminder", args)
    assert _accepts(constraint, text, [REMINDER]) is valid
    assert (jsonschema.Draft202012Validator(REMINDER["function"]["parameters"]).is_valid(args)) is valid


def test_grammar_rejects_undeclared_tools_and_broken_json(constraint: ToolCallConstraint) -> None:
    tools = [WEATHER, ADD]
    assert _accepts(constraint, _call("add", {"a": 1, "b": 2}), tools)
    assert not _accepts(constraint, _call("multiply", {"a": 1, "b": 2}), tools)
    assert not _accepts(constraint, _call("add", '{"a": 1, "b": 2'), tools)
    assert not _accepts(constraint, _call("add", '{"a": 1, "b": 2,}'), tools)
    assert _accepts(constraint, "Just text, no call.", tools)


def test_length_limited_strings_stay_valid_json(constraint: ToolCallConstraint) -> None:
    assert _accepts(constraint, _call("get_weather", {"city": "Zürich", "unit": "celsius"}), [WEATHER])
    assert not _accepts(
        constraint, _call("get_weather", {"city": "Ouagadougou", "unit": "celsius"}), [WEATHER]
    )
    raw_control = '{"city": "a\x1db", "unit": "celsius"}'  # json.loads rejects raw control characters
    assert not _accepts(constraint, _call("get_weather", raw_control), [WEATHER])


def test_max_string_length_caps_free_strings_only(tokenizer: Any) -> None:
    capped = ToolCallConstraint(
        tokenizer,
        "hermes",
        stop_token_ids=[tokenizer.convert_tokens_to_ids("<|im_end|>")],
        max_string_length=5,
    )
    schema = {"type": "object", "properties": {"note": {"type": "string"}}, "required": ["note"]}
    save = _tool("save_note", schema)
    assert _accepts(capped, _call("save_note", {"note": "abcde"}), [save])
    assert not _accepts(capped, _call("save_note", {"note": "abcdef"}), [save])
    # enums and explicit maxLength keep their own limits
    assert _accepts(capped, _call("get_weather", {"city": "Zürich", "unit": "fahrenheit"}), [WEATHER])
    with pytest.raises(ConfigurationError, match="max_string_length"):
        ToolCallConstraint(tokenizer, "hermes", max_string_length=0)


def test_markup_cannot_hide_inside_arguments(constraint: ToolCallConstraint) -> None:
    schema = {"type": "object", "properties": {"note": {"type": "string"}}, "required": ["note"]}
    save = _tool("save_note", schema)
    assert _accepts(constraint, _call("save_note", {"note": "a < b, c > d"}), [save])
    for markup in ("</tool_call>", "<tool_call>", "<|im_end|>"):  # would end the call or the turn early
        assert not _accepts(constraint, _call("save_note", {"note": f"x {markup} y"}), [save]), markup
    assert not _accepts(constraint, _call("get_weather", {"city": "a</b", "unit": "celsius"}), [WEATHER])


def test_tool_choice_shapes_the_reply(constraint: ToolCallConstraint) -> None:
    tools = [WEATHER, ADD]
    call = _call("add", {"a": 1, "b": 2})
    assert _accepts(constraint, "Let me add. " + call, tools, "auto")
    assert not _accepts(constraint, "Let me add. " + call, tools, "required")
    assert _accepts(constraint, call, tools, "required")
    assert not _accepts(constraint, "no call", tools, "required")
    assert _accepts(constraint, call, tools, "add")
    assert not _accepts(constraint, _call("get_weather", {"city": "Oslo", "unit": "celsius"}), tools, "add")
    assert not _accepts(constraint, call + "\n" + call, tools, "add")  # a forced tool is called once
    assert _accepts(constraint, "plain text", tools, "none")
    assert not _accepts(constraint, call, tools, "none")


def test_parallel_calls_follow_the_option(tokenizer: Any) -> None:
    two = _call("add", {"a": 1, "b": 2}) + "\n" + _call("add", {"a": 3, "b": 4})
    parallel = ToolCallConstraint(tokenizer, "hermes")
    single = ToolCallConstraint(tokenizer, "hermes", parallel_tool_calls=False)
    assert _accepts(parallel, two, [ADD], "required")
    assert not _accepts(single, two, [ADD], "required")
    assert _accepts(single, _call("add", {"a": 1, "b": 2}), [ADD], "required")


def test_reasoning_opened_by_the_prompt_stays_free(tokenizer: Any) -> None:
    tok = AutoTokenizer.from_pretrained(tokenizer.name_or_path)
    tok.add_tokens(["<think>", "</think>"])
    constraint = ToolCallConstraint(tok, "qwen3", stop_token_ids=[tok.convert_tokens_to_ids("<|im_end|>")])
    assert constraint._reasoning_state(tok.encode("<|im_start|>assistant\n<think>\n")) == "enabled"
    assert constraint._reasoning_state(tok.encode("<think>\n\n</think>\n\n")) == "auto"
    call = _call("add", {"a": 1, "b": 2})
    assert _accepts(
        constraint, "I will add them.\n</think>\n\n" + call, [ADD], "required", reasoning="enabled"
    )
    assert _accepts(constraint, "<think>\nadd\n</think>\n\n" + call, [ADD], "required")
    assert _accepts(constraint, call, [ADD], "required")
    assert not _accepts(constraint, "I will add them.\n</think>\n\n" + call, [ADD], "required")


def test_compiled_grammars_are_cached_per_tool_set_and_bounded(tokenizer: Any) -> None:
    constraint = ToolCallConstraint(tokenizer, "hermes", max_cached_grammars=2)
    first = constraint.grammar([WEATHER])
    assert constraint.grammar([WEATHER]) is first
    assert constraint.cache_info() == {"hits": 1, "misses": 1, "size": 1}
    constraint.grammar([WEATHER], "required")
    constraint.grammar([WEATHER, ADD])
    assert constraint.cache_info() == {"hits": 1, "misses": 3, "size": 2}
    assert constraint.grammar([WEATHER]) is not first  # evicted (least recently used), compiled again


def test_logits_processor_is_fresh_per_generation_and_absent_when_unneeded(
    constraint: ToolCallConstraint,
) -> None:
    assert constraint.logits_processor([], None) is None
    assert constraint.logits_processor([], "auto") is None
    one = constraint.logits_processor([WEATHER], "auto")
    assert isinstance(one, LogitsProcessor)
    assert constraint.logits_processor([WEATHER], "auto") is not one
    assert isinstance(constraint.logits_processor([], "none"), LogitsProcessor)


def test_errors_say_what_to_do(tokenizer: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigurationError, match="hermes"):
        ToolCallConstraint(tokenizer, "pythonic")
    constraint = ToolCallConstraint(tokenizer, "Qwen2.5")  # aliases normalise like the parser registry
    assert constraint.format == "qwen2_5"
    with pytest.raises(ConfigurationError, match="'auto', 'none', 'required'"):
        constraint.logits_processor([WEATHER], "add")
    monkeypatch.setitem(sys.modules, "xgrammar", None)  # as if the extra were not installed
    with pytest.raises(MissingDependencyError, match=r"pip install 'hermitcrab\[constrained\]'"):
        ToolCallConstraint(tokenizer, "hermes")


def test_engine_reports_its_constraint(chat_model: Path) -> None:
    engine = HuggingEngine(chat_model, constrained=False)
    assert engine.constrained is False
    assert engine.constraint.format == "hermes"  # made on demand, for rounds that ask for it
    assert engine.constraint.vocab_size == engine.model.config.vocab_size


# -- other families (xgrammar's built-in structural tags) ---------------------------------------------
FAMILY_SAMPLES: dict[str, tuple[str, str, str]] = {
    # format: (fixture file, end of the generation prompt, the call as the template renders it)
    "llama3_json": (
        "llamacpp__meta-llama-Llama-3.1-8B-Instruct.jinja",
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
        '{"name": "add", "parameters": {"a": 1, "b": 2}}',
    ),
    "harmony": (
        "llamacpp__openai-gpt-oss-120b.jinja",
        "<|start|>assistant",
        ' to=functions.add<|channel|>commentary json<|message|>{"a": 1, "b": 2}<|call|>',
    ),
    "kimi_k2": (
        "llamacpp__moonshotai-Kimi-K2.jinja",
        "<|im_assistant|>assistant<|im_middle|>",
        "<|tool_calls_section_begin|><|tool_call_begin|>functions.add:0<|tool_call_argument_begin|>"
        '{"a": 1, "b": 2}<|tool_call_end|><|tool_calls_section_end|>',
    ),
    "qwen3_coder_xml": (
        "llamacpp__Qwen3-Coder.jinja",
        "<|im_start|>assistant\n",
        "<tool_call>\n<function=add>\n<parameter=a>\n1\n</parameter>\n<parameter=b>\n2\n</parameter>\n</function>\n"
        "</tool_call>",
    ),
    "deepseek_v31": (
        "llamacpp__deepseek-ai-DeepSeek-V3.1.jinja",
        "<｜Assistant｜></think>",  # noqa: RUF001
        '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>add<｜tool▁sep｜>{"a": 1, "b": 2}<｜tool▁call▁end｜>'  # noqa: RUF001
        "<｜tool▁calls▁end｜>",  # noqa: RUF001
    ),
    "deepseek_v32_dsml": (
        "llamacpp__deepseek-ai-DeepSeek-V3.2.jinja",
        "<｜Assistant｜><think></think>",  # noqa: RUF001
        '\n\n<｜DSML｜function_calls>\n<｜DSML｜invoke name="add">\n'  # noqa: RUF001
        '<｜DSML｜parameter name="a" string="false">1</｜DSML｜parameter>\n'  # noqa: RUF001
        '<｜DSML｜parameter name="b" string="false">2</｜DSML｜parameter>\n'  # noqa: RUF001
        "</｜DSML｜invoke>\n</｜DSML｜function_calls>",  # noqa: RUF001
    ),
    "deepseek_v3": (
        "llamacpp__deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja",
        "<｜Assistant｜><think>\n",  # noqa: RUF001
        "Adding.\n</think><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>add\n```json\n"  # noqa: RUF001
        '{"a": 1, "b": 2}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',  # noqa: RUF001
    ),
}


def _template_markers(sample: str) -> list[str]:
    """The literal markup of a sample (its special-looking tokens), to find in the fixture template."""
    import re

    return re.findall(r"<[|｜][^<>]*[|｜]>|<tool_call>|<function=|<parameter=", sample)  # noqa: RUF001


@pytest.mark.parametrize("fmt", list(FAMILY_SAMPLES))
def test_family_grammar_accepts_its_templates_call_markup(tokenizer: Any, fmt: str) -> None:
    fixture, prompt_end, sample = FAMILY_SAMPLES[fmt]
    template = (FIXTURES / fixture).read_text(encoding="utf-8")
    for marker in _template_markers(sample):
        assert marker in template, f"{marker!r} is not in {fixture}"
    assert fmt in constrained_formats()
    constraint = ToolCallConstraint(
        tokenizer, fmt, stop_token_ids=[tokenizer.convert_tokens_to_ids("<|im_end|>")]
    )
    reasoning = constraint._reasoning_state(tokenizer.encode(prompt_end))
    for choice in ("auto", "required", "add"):
        assert _accepts(constraint, sample, [ADD, WEATHER], choice, reasoning=reasoning), choice
    assert not _accepts(constraint, sample, [ADD, WEATHER], "none", reasoning=reasoning)
    misnamed = sample.replace("add", "sub")
    assert not _accepts(constraint, misnamed, [ADD, WEATHER], "auto", reasoning=reasoning)
    bad_args = sample.replace("1", "x").replace('"a": 1', '"a": "x"')
    assert not _accepts(constraint, bad_args, [ADD, WEATHER], "required", reasoning=reasoning)
