"""HuggingEngine with prompt pipelines (models without a chat template) and prompt-aware parsers."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import LogitsProcessorList

from hermitcrab import Conversation, GenerationOptions, HuggingEngine, Message, ModelLoadError, ToolCall, tool
from hermitcrab.prompting import CHATML_HERMES_TEMPLATE, chatml_pipeline, llama2_pipeline, vicuna_pipeline
from hermitcrab.testing import ForcedTokensLogitsProcessor, build_tiny_base_model, build_tiny_chat_model


@pytest.fixture(scope="session")
def base_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_base_model(tmp_path_factory.mktemp("pipeline") / "base")


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


HISTORY = [
    Message.system("You add numbers."),
    Message.user("What is 2 + 3?"),
    Message.assistant(tool_calls=[ToolCall(id="c1", name="add", arguments={"a": 2, "b": 3})]),
    Message.tool_result(ToolCall(id="c1", name="add", arguments={}), "5"),
    Message.assistant("The sum is 5."),
    Message.user("And 4 + 4?"),
]


@pytest.mark.parametrize("where", ["/no/such/model", "./missing-model", Path("missing")])
def test_missing_model_folder_is_a_clear_error(where: str | Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        HuggingEngine(where)


def test_model_without_template_names_both_remedies(base_model: Path) -> None:
    with pytest.raises(ModelLoadError) as info:
        HuggingEngine(base_model)
    assert "chat_template=" in str(info.value)
    assert "prompt_pipeline=" in str(info.value)


@pytest.mark.parametrize("make", [chatml_pipeline, llama2_pipeline, vicuna_pipeline])
def test_pipeline_engine_renders_and_counts_exactly(base_model: Path, make: object) -> None:
    pipeline = make()  # type: ignore[operator]
    engine = HuggingEngine(base_model, prompt_pipeline=pipeline, max_context_size=4096)
    schemas = [add.schema()]
    text = engine.build_prompt(HISTORY, schemas)
    assert text == pipeline(HISTORY, schemas)
    ids = engine.tokenizer.encode(text, add_special_tokens=False)
    assert engine.prompt_len(HISTORY, schemas) == len(ids)
    assert engine.message_len(HISTORY[-1]) == pipeline.message_len(engine.tokenizer, HISTORY[-1])
    assert engine.parser.name == "hermes"


@pytest.mark.anyio
async def test_pipeline_engine_runs_a_tool_round(base_model: Path) -> None:
    engine = HuggingEngine(base_model, prompt_pipeline=chatml_pipeline(), max_context_size=4096)
    call = '<tool_call>\n{"name": "add", "arguments": {"a": 4, "b": 4}}\n</tool_call>'
    script = ForcedTokensLogitsProcessor.from_texts(engine.tokenizer, [call, "Eight."], end="<|endoftext|>")
    options = GenerationOptions(extra={"logits_processor": LogitsProcessorList([script])})
    async with engine, Conversation(engine, tools=[add], options=options) as conv:
        reply = await conv.send("4 + 4?")
    assert reply.text.startswith("Eight.")
    assert conv.history[2].content == "8"
    assert conv.history[1].tool_calls[0].arguments == {"a": 4, "b": 4}


@pytest.mark.anyio
async def test_parser_starts_inside_reasoning_when_the_prompt_opens_think(tmp_path: Path) -> None:
    template = CHATML_HERMES_TEMPLATE.replace(
        "'<|im_start|>assistant\\n' }}", "'<|im_start|>assistant\\n<think>\\n' }}"
    )
    assert template != CHATML_HERMES_TEMPLATE
    folder = build_tiny_chat_model(tmp_path / "thinker", chat_template=template)
    async with HuggingEngine(folder) as engine:
        assert engine.build_prompt([Message.user("hi")]).endswith("<think>\n")
        script = ForcedTokensLogitsProcessor.from_texts(engine.tokenizer, ["let me see</think>Hello!"])
        options = GenerationOptions(extra={"logits_processor": LogitsProcessorList([script])})
        completion = await engine.generate([Message.user("hi")], options=options)
    assert completion.message.reasoning == "let me see"
    assert completion.message.text == "Hello!"
