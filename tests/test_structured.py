"""Typed structured output (``output_type``) on the ScriptedEngine: parsed answers of any type pydantic
validates, corrections sent back to the model, OutputValidationError after ``max_output_retries``, tool
calls before the answer, and a transactional history."""

from __future__ import annotations

import json
from typing import Literal

import pydantic
import pytest
from typing_extensions import TypedDict  # pydantic needs it for TypedDicts before Python 3.12

from hermitcrab import Conversation, Message, MessageEvent, ScriptedEngine, tool
from hermitcrab.errors import ConfigurationError, OutputValidationError

pytestmark = pytest.mark.anyio


class City(pydantic.BaseModel):
    name: str
    population: int = pydantic.Field(ge=0)


class Point(TypedDict):
    x: int
    y: int


@tool
def lookup(city: str) -> str:
    """Facts about a city."""
    return f"{city}: 2,100,000 people"


async def test_send_returns_an_instance_of_the_pydantic_model() -> None:
    engine = ScriptedEngine(['{"name": "Paris", "population": 2100000}'])
    conv = Conversation(engine)
    city = await conv.send("Biggest French city?", output_type=City)
    assert city == City(name="Paris", population=2100000)
    assert conv.last_output is city
    assert conv.history[-1].text == '{"name": "Paris", "population": 2100000}'


@pytest.mark.parametrize(
    ("output_type", "reply", "expected"),
    [
        (Point, '{"x": 1, "y": 2}', {"x": 1, "y": 2}),
        (list[int], "[3, 1, 2]", [3, 1, 2]),
        (Literal["yes", "no"], '"no"', "no"),
        (int, "```json\n42\n```", 42),  # a code fence around the JSON is accepted
    ],
)
async def test_any_type_pydantic_validates_works(output_type: object, reply: str, expected: object) -> None:
    conv = Conversation(ScriptedEngine([reply]))
    assert await conv.send("Answer.", output_type=output_type) == expected


async def test_the_schema_goes_to_the_engine_and_to_the_prompt_but_not_to_the_history() -> None:
    engine = ScriptedEngine(['{"name": "Oslo", "population": 700000}'])
    conv = Conversation(engine)
    await conv.send("A Nordic capital?", output_type=City)
    request = engine.requests[0]
    assert request.options.output_schema == pydantic.TypeAdapter(City).json_schema()
    prompt_text = request.messages[-1].text
    assert prompt_text.startswith("A Nordic capital?\n\nAnswer with JSON that matches this JSON schema")
    assert json.dumps(City.model_json_schema()) in prompt_text
    assert conv.history[0] == Message.user("A Nordic capital?")


async def test_the_model_may_call_tools_before_answering() -> None:
    engine = ScriptedEngine(
        [
            '<tool_call>{"name": "lookup", "arguments": {"city": "Paris"}}</tool_call>',
            '{"name": "Paris", "population": 2100000}',
        ]
    )
    conv = Conversation(engine, tools=[lookup])
    city = await conv.send("How many people live in Paris?", output_type=City)
    assert city.population == 2100000
    assert [m.role for m in conv.history] == ["user", "assistant", "tool", "assistant"]
    assert all(r.options.output_schema is not None for r in engine.requests)


async def test_an_invalid_answer_goes_back_with_the_errors_and_the_retry_is_used() -> None:
    engine = ScriptedEngine(['{"name": "Paris", "population": -5}', '{"name": "Paris", "population": 5}'])
    conv = Conversation(engine)
    events = [e async for e in conv.stream("Paris?", output_type=City)]
    assert conv.last_output == City(name="Paris", population=5)
    correction = engine.requests[1].messages[-1]
    assert correction.role == "user"
    assert "does not match the required JSON schema" in correction.text
    assert '"loc": "population"' in correction.text and "greater than or equal to 0" in correction.text
    messages = [e.message for e in events if isinstance(e, MessageEvent)]
    assert messages[-1].text == '{"name": "Paris", "population": 5}'  # the final event holds the JSON
    assert [m.role for m in conv.history] == ["user", "assistant", "user", "assistant"]


async def test_after_max_output_retries_the_round_fails_and_the_history_is_unchanged() -> None:
    engine = ScriptedEngine(["not json", "still not json", "nope"])
    history = [Message.user("hi"), Message.assistant("hello")]
    conv = Conversation(engine, max_output_retries=1, history=history)
    before = conv.history
    with pytest.raises(OutputValidationError) as caught:
        await conv.send("A city?", output_type=City)
    assert caught.value.text == "still not json"
    assert caught.value.errors[0]["type"] == "json_invalid"
    assert len(engine.requests) == 2
    assert conv.history == before
    assert conv.last_output is None


async def test_max_output_retries_zero_fails_at_the_first_invalid_answer() -> None:
    conv = Conversation(ScriptedEngine(['{"name": "Paris"}']), max_output_retries=0)
    with pytest.raises(OutputValidationError, match="population"):
        await conv.send("A city?", output_type=City)


async def test_a_round_without_output_type_clears_last_output() -> None:
    conv = Conversation(ScriptedEngine(["[1]", "Just text."]))
    assert await conv.send("List?", output_type=list[int]) == [1]
    message = await conv.send("Talk.")
    assert isinstance(message, Message) and conv.last_output is None


async def test_stream_output_is_the_parsed_value_once_the_round_ends() -> None:
    conv = Conversation(ScriptedEngine(["[1, 2]"]))
    async with conv.stream("Numbers?", output_type=list[int]) as events:
        async for _ in events:
            pass
    assert events.output == [1, 2] == conv.last_output


async def test_output_instruction_can_be_overridden() -> None:
    class Terse(Conversation):
        def output_instruction(self, schema: dict[str, object]) -> str:
            return "JSON only."

    engine = ScriptedEngine(["7"])
    assert await Terse(engine).send("Number?", output_type=int) == 7
    assert engine.requests[0].messages[-1].text == "Number?\n\nJSON only."


def test_a_type_pydantic_cannot_describe_is_a_configuration_error() -> None:
    conv = Conversation(ScriptedEngine([]))
    with pytest.raises(ConfigurationError, match="output_type"):
        conv.stream("x", output_type=object())
    with pytest.raises(ConfigurationError, match="max_output_retries"):
        Conversation(ScriptedEngine([]), max_output_retries=-1)
