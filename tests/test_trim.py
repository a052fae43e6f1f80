"""Exact history trimming: what is kept, what is dropped, and that it costs O(log n) renders at most."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from hermitcrab import Conversation, Message, PromptTooLongError, ScriptedEngine, ToolCall
from hermitcrab.engines import ToolSchema
from hermitcrab.runtime._trim import unit_starts


class CountingEngine(ScriptedEngine):
    """Counts the expensive calls, to check trimming's cost."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.prompt_len_calls = 0
        self.message_len_calls = 0
        self.rendered_messages = 0
        self._rendering = False

    def message_len(self, message: Message) -> int:
        if not self._rendering:
            self.message_len_calls += 1
        return super().message_len(message)

    def prompt_len(self, messages: Sequence[Message], tools: Sequence[ToolSchema] = ()) -> int:
        self.prompt_len_calls += 1
        self.rendered_messages += len(messages)
        self._rendering = True
        try:
            return super().prompt_len(messages, tools)
        finally:
            self._rendering = False


class PositionalEngine(CountingEngine):
    """A non-additive template: every message after the first five costs one extra token."""

    def prompt_len(self, messages: Sequence[Message], tools: Sequence[ToolSchema] = ()) -> int:
        return super().prompt_len(messages, tools) + max(0, len(messages) - 5)


def chat(n_turns: int) -> list[Message]:
    history: list[Message] = []
    for i in range(n_turns):
        history.append(Message.user(f"question number {i} about things"))
        history.append(Message.assistant(f"answer number {i}"))
    return history


def assert_exact(conv: Conversation, engine: ScriptedEngine) -> list[Message]:
    """The prompt fits the budget and one more (older) unit would not."""
    prompt = conv.prompt()
    fixed = len(prompt) - len([m for m in prompt if m in conv.history])
    kept = prompt[fixed:]
    assert engine.prompt_len(prompt, [t.schema() for t in conv.tools]) <= conv.budget
    history = list(conv.history)
    first = len(history) - len(kept)
    assert history[first:] == kept
    if first > 0:
        starts = unit_starts(history)
        previous = max(s for s in starts if s < first)
        bigger = [*prompt[:fixed], *history[previous:]]
        assert engine.prompt_len(bigger, [t.schema() for t in conv.tools]) > conv.budget
    return prompt


@pytest.mark.parametrize("engine_class", [CountingEngine, PositionalEngine])
@pytest.mark.parametrize("n_turns", [1, 7, 40, 300])
def test_trimmed_prompt_is_exact(engine_class: type[CountingEngine], n_turns: int) -> None:
    engine = engine_class(max_context_size=300)
    conv = Conversation(
        engine, system="You are terse.", pinned=["Pinned fact."], history=chat(n_turns), max_new_tokens=60
    )
    prompt = assert_exact(conv, engine)
    assert prompt[0] == Message.system("You are terse.")
    assert prompt[1] == Message.user("Pinned fact.")
    assert prompt[-1] == conv.history[-1]


def test_tool_call_and_results_are_kept_or_dropped_together() -> None:
    engine = CountingEngine(max_context_size=400)
    history = chat(20)
    calls = [ToolCall(id=f"c{i}", name="lookup", arguments={"key": f"k{i}" * 5}) for i in range(3)]
    history += [Message.user("look things up"), Message.assistant(tool_calls=calls)]
    history += [Message.tool_result(c, "value " * 12) for c in calls]
    history += [Message.assistant("done"), *chat(2)]
    for budget_cut in range(60, 330, 7):
        conv = Conversation(engine, history=history, max_new_tokens=budget_cut)
        prompt = assert_exact(conv, engine)
        assert prompt[0].role != "tool"
        ids_called = {c.id for m in prompt for c in m.tool_calls}
        ids_answered = {m.tool_call_id for m in prompt if m.role == "tool"}
        assert ids_answered <= ids_called


def test_newest_turn_too_long_names_the_numbers() -> None:
    engine = CountingEngine(max_context_size=100)
    conv = Conversation(engine, history=[Message.user("word " * 200)], max_new_tokens=20)
    with pytest.raises(PromptTooLongError) as info:
        conv.prompt()
    assert info.value.budget == 80
    assert info.value.prompt_tokens > 200
    assert "80" in str(info.value) and str(info.value.prompt_tokens) in str(info.value)


def test_fixed_part_too_long_is_a_clear_error_at_construction() -> None:
    engine = CountingEngine(max_context_size=50)
    with pytest.raises(PromptTooLongError, match="system prompt") as info:
        Conversation(engine, system="long " * 100, max_new_tokens=10)
    assert info.value.budget == 40


def test_cost_is_logarithmic_in_renders_and_incremental_in_lengths() -> None:
    engine = PositionalEngine(max_context_size=2048)
    history = chat(5000)
    conv = Conversation(engine, history=history, max_new_tokens=256)
    kept = len(conv.prompt())
    # the estimate is off by a few units; galloping from it needs a handful of renders, each about the
    # size of the kept prompt, never a render of the whole 10,000-message history
    assert engine.prompt_len_calls <= 3 + 12
    assert engine.rendered_messages <= engine.prompt_len_calls * (kept + 64)
    assert engine.message_len_calls < 2 * kept  # only messages near the kept suffix were measured
    engine.prompt_len_calls = engine.message_len_calls = 0
    conv._history.append(Message.user("one more"))
    conv.prompt()
    assert engine.message_len_calls <= 2  # lengths are cached per message


def test_additive_engine_needs_only_the_two_checks() -> None:
    engine = CountingEngine(max_context_size=1024)
    conv = Conversation(engine, history=chat(2000), max_new_tokens=128)
    conv.prompt()
    assert engine.prompt_len_calls == 3  # fixed overhead once + fits + next would not


def test_unit_starts_group_tool_results_with_their_call() -> None:
    call = ToolCall(id="x", name="f")
    history = [
        Message.tool_result("orphan", "r"),
        Message.user("u"),
        Message.assistant(tool_calls=[call]),
        Message.tool_result(call, "r"),
        Message.assistant("a"),
    ]
    assert unit_starts(history) == [0, 1, 2, 4]
