"""PromptPipeline: presets against reference strings, tool calls through a pipeline and a parser, and
token counts that add up exactly to tokenizing the whole rendered prompt.

Tokenizers are tiny byte-level BPEs trained offline (hermitcrab.testing), wrapped as transformers
tokenizers; one is trained on the plain base text, one also on sample prompts of every preset so that
format markers and "space + word" pairs become single tokens, as in real vocabularies.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from hermitcrab.engines import Engine
from hermitcrab.errors import ConfigurationError
from hermitcrab.messages import Message, ToolCall
from hermitcrab.prompting import (
    CHATML_HERMES_TEMPLATE,
    VICUNA_SYSTEM,
    PromptPipeline,
    RenderContext,
    Turn,
    chatml_pipeline,
    llama2_pipeline,
    vicuna_pipeline,
)
from hermitcrab.prompting._families import HermesParser
from hermitcrab.runtime._trim import Trimmer, unit_starts
from hermitcrab.testing import BASE_TEXT, train_tiny_tokenizer

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "chat_templates"  # see tests/fixtures/README.md
SPECIAL = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<s>", "</s>")
QWEN_SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."

# The Hugging Face Llama-2-chat template (meta-llama/Llama-2-7b-chat-hf, tokenizer_config.json).
LLAMA2_HF_TEMPLATE = (
    "{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}"
    "{% set system_message = messages[0]['content'] %}{% else %}{% set loop_messages = messages %}"
    "{% set system_message = false %}{% endif %}{% for message in loop_messages %}"
    "{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
    "{% if loop.index0 == 0 and system_message != false %}"
    "{% set content = '<<SYS>>\\n' + system_message + '\\n<</SYS>>\\n\\n' + message['content'] %}"
    "{% else %}{% set content = message['content'] %}{% endif %}"
    "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}"
    "{% endfor %}"
)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["C", "F"]}},
            "required": ["city"],
        },
    },
}
TOOLS = [WEATHER]
CALL_1 = ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris", "unit": "C"})
CALL_2 = ToolCall(id="call_2", name="get_weather", arguments={"city": "Zürich"})


def conversation() -> list[Message]:
    """System, chat, a reply with two tool calls and their results, an answer and a follow-up."""
    return [
        Message.system("You are a helpful assistant."),
        Message.user("Hi there"),
        Message.assistant("Hello! How can I help?"),
        Message.user("What is the weather in Paris and Zürich?"),
        Message.assistant("Let me check.", tool_calls=[CALL_1, CALL_2]),
        Message.tool_result(CALL_1, '{"temperature": 21, "sky": "sunny"}'),
        Message.tool_result(CALL_2, '{"temperature": 9, "sky": "rain"}'),
        Message.assistant("Sunny in Paris, rain in Zürich."),
        Message.user("Thanks, what is the weather tomorrow?"),
    ]


PRESETS = {"chatml": chatml_pipeline, "llama2": llama2_pipeline, "vicuna": vicuna_pipeline}


def _hf(raw: Any) -> Any:
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(
        tokenizer_object=raw,
        bos_token="<s>",
        eos_token="</s>",
        pad_token="<|endoftext|>",
        clean_up_tokenization_spaces=False,
    )


@pytest.fixture(scope="session")
def plain_tokenizer() -> Any:
    """Byte-level BPE on the base text: format markers split into many small tokens."""
    return _hf(train_tiny_tokenizer(special_tokens=SPECIAL))


@pytest.fixture(scope="session")
def rich_tokenizer() -> Any:
    """Byte-level BPE that also saw sample prompts: ' USER', '[INST]', ' ASSISTANT' are merged tokens."""
    samples = [make()(conversation(), TOOLS) for make in PRESETS.values()]
    text = BASE_TEXT + "\n".join(samples * 3)
    return _hf(train_tiny_tokenizer(text, special_tokens=SPECIAL, vocab_size=1200))


@pytest.fixture(scope="session", params=["plain", "rich"])
def tokenizer(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(f"{request.param}_tokenizer")


def _render_template(tokenizer: Any, template: str, messages: Sequence[Message], tools: Sequence[Any]) -> str:
    return tokenizer.apply_chat_template(
        [m.to_dict() for m in messages],
        tools=list(tools) or None,
        chat_template=template,
        tokenize=False,
        add_generation_prompt=True,
    )


# -- presets against reference strings ----------------------------------------------------------------
def test_chatml_preset_renders_the_documented_chatml_string() -> None:
    messages = [
        Message.system("You are a helpful assistant."),
        Message.user("Hello"),
        Message.assistant("Hi!"),
    ]
    messages.append(Message.user("How are you?"))
    assert chatml_pipeline()(messages) == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\nHello<|im_end|>\n"
        "<|im_start|>assistant\nHi!<|im_end|>\n"
        "<|im_start|>user\nHow are you?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


@pytest.mark.parametrize("tools", [(), TOOLS], ids=["no-tools", "tools"])
@pytest.mark.parametrize("cut", [1, 4, 7, 9], ids=lambda n: f"{n}-messages")
@pytest.mark.parametrize("system", [True, False], ids=["system", "no-system"])
def test_chatml_preset_equals_the_qwen25_hermes_template(
    plain_tokenizer: Any, tools: Sequence[Any], cut: int, system: bool
) -> None:
    messages = conversation()[: cut + 1]
    if not system:
        messages = messages[1:]
    expected = _render_template(plain_tokenizer, CHATML_HERMES_TEMPLATE, messages, tools)
    assert chatml_pipeline()(messages, tools) == expected


@pytest.mark.parametrize("tools", [(), TOOLS], ids=["no-tools", "tools"])
@pytest.mark.parametrize("system", [True, False], ids=["system", "no-system"])
def test_chatml_preset_equals_the_real_qwen25_template_fixture(
    plain_tokenizer: Any, tools: Sequence[Any], system: bool
) -> None:
    template = (FIXTURES / "llamacpp__Qwen-Qwen2.5-7B-Instruct.jinja").read_text()
    messages = conversation() if system else conversation()[1:]
    expected = _render_template(plain_tokenizer, template, messages, tools)
    assert chatml_pipeline(system=QWEN_SYSTEM)(messages, tools) == expected


def test_llama2_preset_renders_metas_documented_format() -> None:
    messages = [
        Message.system("You are a helpful assistant."),
        Message.user("Hello"),
        Message.assistant("Hi! How can I help?"),
        Message.user("Tell me a joke."),
    ]
    assert llama2_pipeline()(messages) == (
        "<s>[INST] <<SYS>>\nYou are a helpful assistant.\n<</SYS>>\n\nHello [/INST] Hi! How can I help? </s>"
        "<s>[INST] Tell me a joke. [/INST]"
    )
    assert llama2_pipeline()([Message.user("  Hello  ")]) == "<s>[INST] Hello [/INST]"


@pytest.mark.parametrize("system", [True, False], ids=["system", "no-system"])
@pytest.mark.parametrize("turns", [1, 3, 5])
def test_llama2_preset_equals_the_hf_llama2_chat_template(
    plain_tokenizer: Any, system: bool, turns: int
) -> None:
    chat = [
        Message.user(" Hello there "),
        Message.assistant("Hi! How can I help?  "),
        Message.user("Tell me a joke."),
        Message.assistant("Why did the crab never share? Because it was shellfish."),
        Message.user("Another one, about hermits."),
    ][:turns]
    messages = [Message.system("Answer briefly."), *chat] if system else chat
    expected = _render_template(plain_tokenizer, LLAMA2_HF_TEMPLATE, messages, ())
    assert llama2_pipeline()(messages) == expected


def test_vicuna_preset_renders_fastchats_vicuna_v11_string() -> None:
    messages = [Message.user("Hello!"), Message.assistant("Hi there!"), Message.user("How are you?")]
    assert vicuna_pipeline()(messages) == (
        "A chat between a curious user and an artificial intelligence assistant. The assistant gives "
        "helpful, detailed, and polite answers to the user's questions. USER: Hello! ASSISTANT: Hi there!</s>"
        "USER: How are you? ASSISTANT:"
    )
    custom = [Message.system("Be terse."), Message.user("Hi")]
    assert vicuna_pipeline()(custom) == "Be terse. USER: Hi ASSISTANT:"
    assert vicuna_pipeline()(custom[1:]).startswith(VICUNA_SYSTEM + " USER: Hi")


def test_generation_prefix_is_appended_only_when_asked() -> None:
    messages = [Message.user("Hi"), Message.assistant("Hello")]
    pipeline = chatml_pipeline()
    assert pipeline(messages, generation_prefix=False).endswith("Hello<|im_end|>\n")
    assert pipeline(messages) == pipeline(messages, generation_prefix=False) + "<|im_start|>assistant\n"
    assert pipeline.render([]).text == "<|im_start|>assistant\n"


def test_reasoning_is_dropped_by_default_and_kept_on_request() -> None:
    messages = [Message.user("2+2?"), Message.assistant("4", reasoning="Add them."), Message.user("ok")]
    assert "Add them" not in chatml_pipeline()(messages)
    assert "<|im_start|>assistant\n<think>\nAdd them.\n</think>\n\n4<|im_end|>" in chatml_pipeline(
        reasoning=True
    )(messages)


# -- tool calls and results through a pipeline and a parser ---------------------------------------------
def _reply_text(pipeline: PromptPipeline, history: list[Message], reply: Message) -> str:
    """The text the model would have generated for ``reply``: the rendered conversation after the prompt,
    cut at the format's end-of-turn string (the engine stops there)."""
    prompt = pipeline(history)
    full = pipeline([*history, reply], generation_prefix=False)
    assert full.startswith(prompt), "the rendered reply must continue the generation prompt"
    text = full[len(prompt) :]
    for stop in pipeline.stop:
        text = text.split(stop)[0]
    return text


def _calls(message: Message) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, c.arguments) for c in message.tool_calls]


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("text", ["Let me check.", ""], ids=["text-and-calls", "calls-only"])
def test_tool_calls_round_trip_through_pipeline_and_parser(preset: str, text: str) -> None:
    pipeline = PRESETS[preset]()
    reply = Message.assistant(text, tool_calls=[CALL_1, CALL_2])
    history = [Message.system("Be helpful."), Message.user("Weather in Paris and Zürich?")]
    parser = HermesParser()
    assert pipeline.parser == parser.name
    parsed = parser.parse(_reply_text(pipeline, history, reply))
    assert _calls(parsed) == _calls(reply)
    assert not any(c.is_malformed for c in parsed.tool_calls)
    assert parsed.text.strip() == text


@pytest.mark.parametrize("preset", PRESETS)
def test_tool_results_follow_their_calls_in_order(preset: str) -> None:
    pipeline = PRESETS[preset]()
    messages = conversation()
    prompt = pipeline(messages, TOOLS)
    call_at = prompt.index('"arguments": {"city": "Zürich"}')
    first = prompt.index('{"temperature": 21, "sky": "sunny"}')
    second = prompt.index('{"temperature": 9, "sky": "rain"}')
    assert call_at < first < second < prompt.index("Sunny in Paris, rain in Zürich.")
    assert json.dumps(WEATHER["function"]["parameters"]) in prompt  # the tool is described


def test_a_malformed_call_is_rendered_as_the_model_wrote_it() -> None:
    raw = '<tool_call>\n{"name": "get_weather", "arguments": {"city": }\n</tool_call>'
    bad = ToolCall(name="get_weather", error="invalid JSON", raw=raw)
    messages = [
        Message.user("Weather?"),
        Message.assistant(tool_calls=[bad]),
        Message.tool_result(bad, "error"),
    ]
    assert raw in chatml_pipeline()(messages)


def test_unrendered_tool_calls_raise_an_error_that_names_the_fix() -> None:
    pipeline = PromptPipeline().wrap("user", "U: ", "\n").wrap("assistant", "A: ", "\n")
    with pytest.raises(ConfigurationError, match=r"\.tool_calls\("):
        pipeline([Message.user("x"), Message.assistant(tool_calls=[CALL_1])])
    with pytest.raises(ConfigurationError, match=r"\.reasoning\("):
        pipeline([Message.user("x"), Message.assistant("y", reasoning="z")])


# -- custom steps and the builder ------------------------------------------------------------------------
def test_custom_steps_are_plain_callables_and_keep_ownership(plain_tokenizer: Any) -> None:
    def shout(turns: list[Turn], ctx: RenderContext) -> list[Turn]:
        return [t.with_pieces(p.__class__(p.text.upper(), p.owner) for p in t.pieces) for t in turns]

    pipeline = (
        PromptPipeline(name="shouty")
        .step(shout)
        .wrap("user", "### User:\n", "\n\n")
        .wrap("assistant", "### Assistant:\n", "\n\n")
        .generation_prefix("### Assistant:\n")
    )
    messages = [Message.user("hi"), Message.assistant("hello"), Message.user("bye")]
    rendered = pipeline.render(messages)
    assert rendered.text == "### User:\nHI\n\n### Assistant:\nHELLO\n\n### User:\nBYE\n\n### Assistant:\n"
    assert rendered.owner_text(1) == "### Assistant:\nHELLO\n\n"
    assert rendered.owner_text(None) == "### Assistant:\n"
    assert "shout" in pipeline.explain(file=io.StringIO())


def test_a_step_that_returns_something_else_is_named_in_the_error() -> None:
    def broken(turns: list[Turn], ctx: RenderContext) -> Any:
        return "text"

    with pytest.raises(ConfigurationError, match="broken"):
        PromptPipeline().step(broken)([Message.user("x")])


def test_builder_methods_return_new_pipelines() -> None:
    base = PromptPipeline().wrap("user", "U: ")
    longer = base.wrap("assistant", "A: ")
    assert len(base.steps) == 1
    assert len(longer.steps) == 2
    assert base([Message.user("x"), Message.assistant("y")]) == "U: xy"


def test_merge_consecutive_joins_runs_of_one_role() -> None:
    pipeline = PromptPipeline().merge_consecutive("user", sep=" | ").wrap("user", "[", "]")
    messages = [Message.user("a"), Message.user("b"), Message.assistant("c"), Message.user("d")]
    assert pipeline(messages) == "[a | b]c[d]"


def test_explain_shows_steps_and_an_example_prompt() -> None:
    out = io.StringIO()
    text = chatml_pipeline().explain(file=out)
    assert out.getvalue() == text
    assert "wrap('user', '<|im_start|>user\\n', '<|im_end|>\\n')" in text
    assert "<tool_call>\n" in text
    assert text.rstrip().endswith("<|im_start|>assistant")
    annotated = llama2_pipeline().explain(file=io.StringIO(), annotate=True)
    assert "overhead" in annotated
    assert "system[0]" in annotated


# -- exact token counts ----------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize("tools", [(), TOOLS], ids=["no-tools", "tools"])
def test_token_counts_add_up_to_tokenizing_the_whole_prompt(
    tokenizer: Any, preset: str, tools: Sequence[Any]
) -> None:
    pipeline = PRESETS[preset]()
    for cut in range(len(conversation()) + 1):
        messages = conversation()[:cut]
        text = pipeline(messages, tools)
        ids = tokenizer.encode(text, add_special_tokens=False)
        counts = pipeline.token_counts(tokenizer, messages, tools)
        assert counts.total == len(ids) == pipeline.prompt_len(tokenizer, messages, tools)
        assert counts.overhead + sum(counts.per_message) == counts.total
        assert len(counts.per_message) == len(messages)
        assert all(n > 0 for n in counts.per_message)
        assert pipeline.render_ids(tokenizer, messages, tools) == ids


def test_token_counts_work_with_a_raw_tokenizers_tokenizer(plain_tokenizer: Any) -> None:
    raw = plain_tokenizer.backend_tokenizer
    pipeline = chatml_pipeline()
    messages = conversation()
    counts = pipeline.token_counts(raw, messages, TOOLS)
    assert counts == pipeline.token_counts(plain_tokenizer, messages, TOOLS)
    assert pipeline.render_ids(raw, messages, TOOLS) == pipeline.render_ids(plain_tokenizer, messages, TOOLS)


def _units_identity(
    pipeline: PromptPipeline, tokenizer: Any, fixed: list[Message], tools: Sequence[Any]
) -> list[tuple[int, int, int]]:
    """(history start, estimate, exact) for every unit boundary: the trimmer's additive estimate
    ``prompt_len(fixed) + sum(message_len)`` against the exact ``prompt_len``."""
    history = conversation()[1:]
    base = pipeline.prompt_len(tokenizer, fixed, tools)
    rows = []
    for start in unit_starts(history):
        kept = history[start:]
        estimate = base + sum(pipeline.message_len(tokenizer, m) for m in kept)
        rows.append((start, estimate, pipeline.prompt_len(tokenizer, [*fixed, *kept], tools)))
    return rows


@pytest.mark.parametrize("tools", [(), TOOLS], ids=["no-tools", "tools"])
@pytest.mark.parametrize("system", [True, False], ids=["system", "no-system"])
def test_chatml_message_lengths_are_exactly_additive(
    tokenizer: Any, tools: Sequence[Any], system: bool
) -> None:
    fixed = conversation()[:1] if system else []
    for start, estimate, exact in _units_identity(chatml_pipeline(), tokenizer, fixed, tools):
        assert estimate == exact, f"history from message {start}"


@pytest.mark.parametrize("tools", [(), TOOLS], ids=["no-tools", "tools"])
@pytest.mark.parametrize("system", [True, False], ids=["system", "no-system"])
def test_vicuna_message_lengths_are_additive_with_a_merging_vocabulary(
    rich_tokenizer: Any, tools: Sequence[Any], system: bool
) -> None:
    fixed = conversation()[:1] if system else []
    for start, estimate, exact in _units_identity(vicuna_pipeline(), rich_tokenizer, fixed, tools):
        assert estimate == exact, f"history from message {start}"


@pytest.mark.parametrize("preset", ["llama2", "vicuna"])
def test_away_from_the_system_junction_every_message_costs_its_message_len(
    tokenizer: Any, preset: str
) -> None:
    """Llama 2 and Vicuna put different text before the first turn after the system prompt than before
    later turns, so that one turn's count may differ by a token; every other message's share of the
    real prompt equals its ``message_len``."""
    pipeline = PRESETS[preset]()
    messages = conversation()
    counts = pipeline.token_counts(tokenizer, messages, TOOLS)
    for i, message in enumerate(messages[2:], 2):
        assert counts.per_message[i] == pipeline.message_len(tokenizer, message), f"message {i}"


class _PipelineCounter(Engine):
    """The counting half of an engine that uses a pipeline (what HuggingEngine does with one)."""

    def __init__(self, pipeline: PromptPipeline, tokenizer: Any, context: int) -> None:
        self.pipeline = pipeline
        self.tokenizer = tokenizer
        self.max_context_size = context
        self.prompt_len_calls = 0

    def message_len(self, message: Message) -> int:
        return self.pipeline.message_len(self.tokenizer, message)

    def prompt_len(self, messages: Sequence[Message], tools: Sequence[Any] = ()) -> int:
        self.prompt_len_calls += 1
        return self.pipeline.prompt_len(self.tokenizer, messages, tools)

    def stream(self, messages: Any, *, tools: Any = (), options: Any = None) -> Any:
        raise NotImplementedError("counting only")


@pytest.mark.parametrize("preset", PRESETS)
def test_trimming_with_a_pipeline_keeps_the_longest_history_that_fits(
    rich_tokenizer: Any, preset: str
) -> None:
    pipeline = PRESETS[preset]()
    system, *chat = conversation()
    history = chat * 12
    engine = _PipelineCounter(pipeline, rich_tokenizer, context=10**6)
    starts = unit_starts(history)
    for budget in (300, 600, 1200):
        engine.prompt_len_calls = 0
        chosen = Trimmer(engine).select([system], history, TOOLS, budget)
        kept = len(chosen) - 1
        assert pipeline.prompt_len(rich_tokenizer, chosen, TOOLS) <= budget
        longer = [s for s in starts if s < len(history) - kept]
        if longer:
            one_more = [system, *history[longer[-1] :]]
            assert pipeline.prompt_len(rich_tokenizer, one_more, TOOLS) > budget
        assert engine.prompt_len_calls <= 12  # verified with a few renders, never one per message
