"""Structured output on the real engines: the HuggingEngine decodes the final answer under the JSON
schema (a random-weight tiny model then always answers valid JSON, and may still call a tool first),
and the OpenAIEngine sends ``response_format`` (or its documented fallbacks)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pydantic
import pytest

pytest.importorskip("transformers")
pytest.importorskip("xgrammar")

from openai_server import ChatServer, text_stream
from transformers import LogitsProcessorList

from hermitcrab import Conversation, GenerationOptions, HuggingEngine, OpenAIEngine, tool
from hermitcrab.engines._constrained import ToolCallConstraint
from hermitcrab.errors import ConfigurationError, OutputValidationError
from hermitcrab.testing import ForcedTokensLogitsProcessor, build_tiny_chat_model

pytestmark = pytest.mark.anyio


class Reading(pydantic.BaseModel):
    ok: bool
    level: int = pydantic.Field(ge=0, le=100)
    color: Literal["red", "green", "blue"]
    sizes: list[int] = pydantic.Field(max_length=3)


@tool
def lookup(city: str) -> str:
    """Facts about a city."""
    return f"{city} is large"


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_chat_model(tmp_path_factory.mktemp("structured") / "chat")


@pytest.mark.parametrize("constrained", [False, True])
async def test_random_tiny_model_answers_valid_json_at_the_first_try(
    chat_model: Path, constrained: bool
) -> None:
    """Without the grammar a random-weight model never writes this JSON; with it, every answer validates
    (max_output_retries=0: the first answer must), sampled with five seeds."""
    async with HuggingEngine(chat_model, constrained=constrained) as engine:
        for seed in range(5):
            options = GenerationOptions(temperature=1.0, seed=seed)
            conv = Conversation(engine, max_output_retries=0, options=options, max_new_tokens=300)
            reading = await conv.send("How is it?", output_type=Reading)
            assert isinstance(reading, Reading)
            assert Reading.model_validate_json(conv.history[-1].text) == reading


async def test_without_the_grammar_the_random_model_fails_validation(chat_model: Path) -> None:
    async with HuggingEngine(chat_model) as engine:
        options = GenerationOptions(temperature=1.0, seed=0, extra={"constrained": False})
        conv = Conversation(engine, max_output_retries=1, options=options, max_new_tokens=40)
        with pytest.raises(OutputValidationError):
            await conv.send("How is it?", output_type=Reading)
        assert conv.history == ()


@pytest.mark.parametrize("constrained", [False, True])
async def test_a_tool_call_may_come_before_the_constrained_answer(
    chat_model: Path, constrained: bool
) -> None:
    async with HuggingEngine(chat_model, constrained=constrained) as engine:
        script = ForcedTokensLogitsProcessor.from_texts(
            engine.tokenizer,
            ['<tool_call>\n{"name": "lookup", "arguments": {"city": "Paris"}}\n</tool_call>'],
        )
        options = GenerationOptions(temperature=0, extra={"logits_processor": LogitsProcessorList([script])})
        conv = Conversation(engine, tools=[lookup], options=options, max_new_tokens=300, max_output_retries=0)
        reading = await conv.send("Paris?", output_type=Reading)
    assert isinstance(reading, Reading)
    assert [m.role for m in conv.history] == ["user", "assistant", "tool", "assistant"]
    assert conv.history[2].text == "Paris is large"


async def test_tools_with_a_family_without_a_call_grammar_leave_the_answer_to_validation(
    chat_model: Path,
) -> None:
    async with HuggingEngine(chat_model) as engine:
        constraint = ToolCallConstraint(engine.tokenizer, "mistral", free_calls=True)
        schema = Reading.model_json_schema()
        assert constraint.logits_processor([lookup.schema()], output_schema=schema) is None
        assert constraint.logits_processor([], output_schema=schema) is not None  # no call possible
        assert constraint.logits_processor([lookup.schema()], "none", output_schema=schema) is not None
        assert constraint.logits_processor([lookup.schema()], "required", output_schema=schema) is None
        with pytest.raises(ConfigurationError, match="no tool-call grammar"):
            ToolCallConstraint(engine.tokenizer, "mistral")


# -- OpenAIEngine ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def _module_server() -> Iterator[ChatServer]:
    with ChatServer() as server:
        yield server


@pytest.fixture
def server(_module_server: ChatServer) -> Iterator[ChatServer]:
    _module_server.reset()
    yield _module_server
    _module_server.reset()


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("json_schema", {"type": "json_schema", "json_schema": {"name": "output", "schema": None}}),
        ("json_object", {"type": "json_object"}),
        ("off", None),
    ],
)
async def test_openai_engine_sends_response_format_or_its_fallback(
    server: ChatServer, mode: Literal["json_schema", "json_object", "off"], expected: dict[str, object] | None
) -> None:
    server.script(text_stream('{"ok": true, "level": 3, "color": "red", "sizes": [1]}'))
    async with OpenAIEngine(server.base_url, "tiny-test-model", structured_output=mode) as engine:
        reading = await Conversation(engine).send("How is it?", output_type=Reading)
    assert reading == Reading(ok=True, level=3, color="red", sizes=[1])
    body = server.chat_requests[0].body
    if expected is not None and mode == "json_schema":
        expected = {**expected, "json_schema": {"name": "output", "schema": Reading.model_json_schema()}}
    assert body.get("response_format") == expected


async def test_openai_engine_without_output_type_sends_no_response_format(server: ChatServer) -> None:
    server.script(text_stream("hi"))
    async with OpenAIEngine(server.base_url, "tiny-test-model") as engine:
        await Conversation(engine).send("Hello")
    assert "response_format" not in server.chat_requests[0].body


def test_openai_engine_rejects_an_unknown_structured_output_mode() -> None:
    with pytest.raises(ConfigurationError, match="structured_output"):
        OpenAIEngine("http://127.0.0.1:1/v1", "m", structured_output="xml")  # type: ignore[arg-type]
