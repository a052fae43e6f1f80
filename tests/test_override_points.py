"""Conversation's override points (prompt, format_tool_error, to_history), ToolRetry with its per-tool
budget, and tool_choice checked in one place."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest

from hermitcrab import (
    ConfigurationError,
    Conversation,
    Message,
    MessageEvent,
    ToolExecutionError,
    ToolFailure,
    ToolRetry,
    tool,
)
from hermitcrab._tool_choice import check_tool_choice
from hermitcrab.errors import ToolDefinitionError
from hermitcrab.testing import ScriptedEngine

pytestmark = pytest.mark.anyio


def call(name: str, **arguments: object) -> str:
    """Hermes tool-call markup for a scripted reply."""
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


@tool
def boom() -> str:
    """Always fails."""
    raise ValueError("kaput")


# -- prompt: which messages go into the prompt -----------------------------------------------------
class LastTurnOnly(Conversation):
    """Sends the system prompt and the round's own messages, never older history."""

    def prompt(self, pending: Sequence[Message] = ()) -> list[Message]:
        default = super().prompt(pending)
        return [m for m in default if m.role == "system"] + list(pending)


async def test_overriding_prompt_chooses_what_every_generation_sends() -> None:
    engine = ScriptedEngine(["first answer", call("add", a=1, b=2), "3"])
    conv = LastTurnOnly(engine, system="Be brief.", tools=[add])
    await conv.send("first question")
    await conv.send("1 + 2?")
    second, third = engine.requests[1].messages, engine.requests[2].messages
    assert [m.role for m in second] == ["system", "user"]
    assert second[1].text == "1 + 2?"
    assert [m.role for m in third] == ["system", "user", "assistant", "tool"]  # the round so far
    assert len(conv.history) == 6  # the history itself keeps everything


# -- format_tool_error: how a tool error is shown to the model -------------------------------------
class Terse(Conversation):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.failures: list[ToolFailure] = []

    def format_tool_error(self, failure: ToolFailure) -> str:
        self.failures.append(failure)
        return f"[{failure.kind}] {failure.call.name}"


async def test_overriding_format_tool_error_words_every_kind_of_failure() -> None:
    engine = ScriptedEngine(
        [
            call("nope") + call("add", a="x", b=1) + call("boom") + "<tool_call>{broken</tool_call>",
            "done",
        ]
    )
    conv = Terse(engine, tools=[add, boom])
    await conv.send("go")
    results = [m for m in conv.history if m.role == "tool"]
    assert [r.text for r in results] == [
        "[unknown_tool] nope",
        "[invalid_arguments] add",
        "[raised] boom",
        "[malformed] ",
    ]
    kinds = {f.kind: f for f in conv.failures}
    assert kinds["raised"].tool is boom and isinstance(kinds["raised"].error, ValueError)
    assert kinds["raised"].text == "Error: tool 'boom' failed with ValueError: kaput"  # the default wording
    assert kinds["unknown_tool"].tool is None
    assert all(r.is_error for r in results)


async def test_the_default_wording_is_unchanged_without_an_override() -> None:
    conv = Conversation(ScriptedEngine([call("boom"), "ok"]), tools=[boom])
    await conv.send("go")
    assert conv.history[2].text == "Error: tool 'boom' failed with ValueError: kaput"


async def test_a_format_tool_error_that_returns_no_text_fails_the_round_cleanly() -> None:
    class Broken(Conversation):
        def format_tool_error(self, failure: ToolFailure) -> str:
            return None  # type: ignore[return-value]

    conv = Broken(ScriptedEngine([call("boom"), "ok"]), tools=[boom])
    with pytest.raises(ConfigurationError, match="must return a str"):
        await conv.send("go")
    assert conv.history == ()


# -- to_history: what joins the history --------------------------------------------------------------
class QuestionAndAnswer(Conversation):
    """Keeps only the user's question and the final answer of each round."""

    def to_history(self, messages: Sequence[Message]) -> Sequence[Message]:
        return [messages[0], messages[-1]]


async def test_overriding_to_history_chooses_what_is_committed() -> None:
    engine = ScriptedEngine([call("add", a=1, b=2), "It is 3."])
    conv = QuestionAndAnswer(engine, tools=[add])
    events = [e async for e in conv.stream("1 + 2?")]
    assert conv.history == (Message.user("1 + 2?"), Message.assistant("It is 3."))
    assert len([e for e in events if isinstance(e, MessageEvent)]) == 4  # the events are not affected


async def test_a_to_history_that_raises_leaves_the_history_as_it_was() -> None:
    class Failing(Conversation):
        def to_history(self, messages: Sequence[Message]) -> Sequence[Message]:
            raise RuntimeError("no")

    conv = Failing(ScriptedEngine(["hi"]), history=[Message.user("old")])
    with pytest.raises(RuntimeError):
        await conv.send("new")
    assert conv.history == (Message.user("old"),)
    assert conv.usage.requests == 0


async def test_to_history_must_return_messages() -> None:
    class Wrong(Conversation):
        def to_history(self, messages: Sequence[Message]) -> Sequence[Message]:
            return ["text"]  # type: ignore[list-item]

    conv = Wrong(ScriptedEngine(["hi"]))
    with pytest.raises(ConfigurationError, match="must return Messages"):
        await conv.send("new")
    assert conv.history == ()


# -- ToolRetry ----------------------------------------------------------------------------------------
attempts: list[str] = []


@tool(max_retries=2)
def lookup(city: str) -> str:
    """Look a city up."""
    attempts.append(city)
    if city != "Paris":
        raise ToolRetry(f"{city!r} is not a city I know; try 'Paris'")
    return "sunny"


@pytest.fixture(autouse=True)
def _clear_attempts() -> None:
    attempts.clear()


async def test_tool_retry_shows_the_message_and_the_model_calls_again() -> None:
    engine = ScriptedEngine([call("lookup", city="Parsi"), call("lookup", city="Paris"), "Sunny."])
    conv = Conversation(engine, tools=[lookup])
    assert (await conv.send("Weather?")).text == "Sunny."
    retry_result = conv.history[2]
    assert retry_result.is_error
    assert (
        retry_result.text
        == "Error: tool 'lookup' asks you to call it again: 'Parsi' is not a city I know; try 'Paris'"
    )
    assert conv.history[4].text == "sunny"
    assert attempts == ["Parsi", "Paris"]


async def test_tool_retry_never_aborts_a_round_within_its_budget_even_with_tool_errors_raise() -> None:
    engine = ScriptedEngine(
        [call("lookup", city="A"), call("lookup", city="B"), call("lookup", city="Paris"), "ok"]
    )
    conv = Conversation(engine, tools=[lookup], tool_errors="raise")
    assert (await conv.send("go")).text == "ok"
    assert attempts == ["A", "B", "Paris"]


async def test_past_the_budget_a_retry_is_a_failure() -> None:
    script = [call("lookup", city=c) for c in "ABC"] + ["gave up"]
    conv = Conversation(ScriptedEngine(script), tools=[lookup])
    await conv.send("go")
    last = conv.history[6]
    assert last.text == (
        "Error: tool 'lookup' failed: it asked for another call more than 2 times this round "
        "('C' is not a city I know; try 'Paris')"
    )
    strict = Conversation(ScriptedEngine(list(script)), tools=[lookup], tool_errors="raise")
    with pytest.raises(ToolExecutionError, match="more than 2 times") as info:
        await strict.send("go")
    assert isinstance(info.value.__cause__, ToolRetry)
    assert strict.history == ()


async def test_the_retry_budget_is_per_tool_and_per_round() -> None:
    @tool  # max_retries defaults to 1
    def other(x: int) -> str:
        """Another tool."""
        raise ToolRetry("again")

    engine = ScriptedEngine(
        [
            *[call("lookup", city="A"), call("other", x=1), "round one"],  # one retry each: within budget
            *[call("lookup", city="B"), call("lookup", city="C"), "round two"],  # the count starts again
        ]
    )
    conv = Conversation(engine, tools=[lookup, other])
    await conv.send("one")
    assert [m.text.startswith("Error: tool 'other' asks") for m in conv.history if m.name == "other"] == [
        True
    ]
    await conv.send("two")
    round_two = conv.history[6:]
    assert [m.is_error for m in round_two if m.role == "tool"] == [True, True]
    assert all("asks you to call it again" in m.text for m in round_two if m.role == "tool")


async def test_retry_on_never_retries_a_tool_retry_without_the_model() -> None:
    calls: list[int] = []

    @tool(retries=3, retry_on=Exception, max_retries=1)
    async def flaky() -> str:
        """Asks for a retry."""
        calls.append(1)
        raise ToolRetry("please call me again")

    conv = Conversation(ScriptedEngine([call("flaky"), "ok"]), tools=[flaky])
    await conv.send("go")
    assert len(calls) == 1
    assert "asks you to call it again" in conv.history[2].text


async def test_a_retry_request_from_a_sync_tool_and_the_format_hook_see_it() -> None:
    engine = ScriptedEngine([call("lookup", city="X"), "ok"])
    conv = Terse(engine, tools=[lookup])
    await conv.send("go")
    (failure,) = conv.failures
    assert failure.kind == "retry" and isinstance(failure.error, ToolRetry)
    assert failure.error.message == "'X' is not a city I know; try 'Paris'"


@pytest.mark.parametrize("value", [-1, 1.5, True, "2"])
def test_max_retries_must_be_a_non_negative_int(value: object) -> None:
    with pytest.raises(ToolDefinitionError, match="max_retries must be an int >= 0"):
        tool(name="f", max_retries=value)(lambda: None)  # type: ignore[arg-type]


# -- tool_choice, checked in one place ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        (None, ("auto", None)),
        ("auto", ("auto", None)),
        ("none", ("none", None)),
        ("required", ("required", None)),
        ("add", ("forced", "add")),
    ],
)
def test_check_tool_choice_reads_every_valid_choice(
    choice: str | None, expected: tuple[str, str | None]
) -> None:
    assert check_tool_choice(choice, ["add"]) == expected


@pytest.mark.parametrize("choice", ["nope", "", "REQUIRED", 3])
def test_check_tool_choice_refuses_the_rest_with_one_message(choice: object) -> None:
    with pytest.raises(
        ConfigurationError,
        match=r"tool_choice must be 'auto', 'none', 'required' or the name of a declared tool \(add\)",
    ):
        check_tool_choice(choice, ["add"])
    with pytest.raises(ConfigurationError, match="needs at least one tool, but none were given"):
        check_tool_choice("required", [])


def test_the_conversation_and_the_grammar_give_the_same_tool_choice_error() -> None:
    pytest.importorskip("xgrammar")
    from hermitcrab.engines._constrained import _normalise_choice

    conv = Conversation(ScriptedEngine(["x"]), tools=[add])
    with pytest.raises(ConfigurationError) as from_conversation:
        conv.stream("go", tool_choice="sub")
    with pytest.raises(ConfigurationError) as from_grammar:
        _normalise_choice([add.schema()], "sub")
    assert str(from_conversation.value) == str(from_grammar.value)
