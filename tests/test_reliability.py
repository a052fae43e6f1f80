"""Every fault is answered and nothing is lost (issue 15): each test here failed before its fix.

The HuggingEngine side (closing mid-round, an engine-level max_new_tokens, truncation off the event loop)
is in ``test_hugging_reliability.py``; the chaos test is ``test_chaos.py``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from hermitcrab import (
    Completion,
    ConfigurationError,
    Conversation,
    ConversationClosedError,
    Engine,
    EngineError,
    GenerationOptions,
    Hang,
    Message,
    MessageEvent,
    PromptTooLongError,
    RoundStream,
    SaveFileError,
    ScriptedEngine,
    TextDelta,
    ToolDefinitionError,
    ToolExecutionError,
    Usage,
    tool,
    tool_cancelled,
)
from hermitcrab.engines import ToolSchema
from hermitcrab.events import EngineEvent


def call(name: str, **arguments: object) -> str:
    """Hermes tool-call markup for a scripted reply."""
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


class _BadStr:
    def __str__(self) -> str:
        raise RuntimeError("no text for you")


def _circular() -> list[Any]:
    items: list[Any] = []
    items.append(items)
    return items


# -- 1. results that cannot become JSON ----------------------------------------------------------------
@pytest.mark.anyio
@pytest.mark.parametrize(
    ("make", "expected", "is_error"),
    [
        (lambda: {(1, 2): 3}, "{(1, 2): 3}", False),
        (_circular, "[[...]]", False),
        (lambda: 10**5000, "cannot be shown as text", True),
        (_BadStr, "RuntimeError: no text for you", True),
    ],
    ids=["tuple-keys", "circular", "huge-int", "str-raises"],
)
async def test_a_result_that_is_not_json_falls_back_to_str_or_becomes_an_error_result(
    make: Any, expected: str, is_error: bool
) -> None:
    @tool
    def odd() -> object:
        """Returns something awkward."""
        return make()

    engine = ScriptedEngine([call("odd"), "done"])
    conv = Conversation(engine, tools=[odd])
    assert (await conv.send("go")).text == "done"  # the round went on
    result = conv.history[2]
    assert result.is_error is is_error
    assert expected in result.text


# -- 2. save files -------------------------------------------------------------------------------------
def _saved(tmp_path: Path, **changes: Any) -> Path:
    data: dict[str, Any] = {
        "format": "hermitcrab.conversation",
        "version": 1,
        "system": "sys",
        "pinned": [],
        "history": [{"role": "user", "content": "hi"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "cached_tokens": 0, "requests": 1},
    }
    data.update(changes)
    path = tmp_path / "chat.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    "content",
    [
        json.dumps({"format": "hermitcrab.conversation", "version": 1}).encode("utf-16"),
        bytes(range(256)) * 4,
        b"[" * 100_000 + b"]" * 100_000,
        b'{"format": "hermitcrab.conversation", "version": 1, "history": ' + b"[" * 50_000 + b"]" * 50_000,
    ],
    ids=["utf-16", "random-bytes", "deeply-nested", "deeply-nested-history"],
)
def test_unreadable_save_files_are_save_file_errors_naming_the_file(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "chat.json"
    path.write_bytes(content)
    with pytest.raises(SaveFileError, match=r"chat\.json"):
        Conversation.load(path, ScriptedEngine())


@pytest.mark.parametrize(
    "changes",
    [
        {"version": 0},
        {"version": -5},
        {"version": True},
        {"version": 1.0},
        {"usage": {"prompt_tokens": -1}},
        {"usage": {"requests": True}},
        {"usage": {"completion_tokens": "3"}},
        {"usage": [1, 2]},
        {"history": {"role": "user"}},
        {"pinned": "not a list"},
        {"system": 5},
    ],
    ids=lambda c: json.dumps(c),
)
def test_invalid_save_file_contents_are_save_file_errors(tmp_path: Path, changes: dict[str, Any]) -> None:
    path = _saved(tmp_path, **changes)
    with pytest.raises(SaveFileError, match=r"chat\.json"):
        Conversation.load(path, ScriptedEngine())


def test_load_accepts_a_new_system_prompt_and_pinned_messages(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    conv = Conversation.load(path, ScriptedEngine(), system="new system", pinned=["remember"])
    assert conv.system == "new system"
    assert conv.pinned == (Message.user("remember"),)
    assert conv.history == (Message.user("hi"),)
    assert Conversation.load(path, ScriptedEngine()).system == "sys"
    with pytest.raises(ConfigurationError, match="history"):
        Conversation.load(path, ScriptedEngine(), history=[])


def test_save_where_it_cannot_write_is_a_save_file_error_and_leaves_nothing(tmp_path: Path) -> None:
    conv = Conversation(ScriptedEngine(), history=[Message.user("hi")])
    with pytest.raises(SaveFileError, match="no-such-folder"):
        conv.save(tmp_path / "no-such-folder" / "chat.json")
    target = tmp_path / "taken"
    target.mkdir()  # a folder where the file should go: the final rename fails
    (target / "inside.txt").write_text("old")
    with pytest.raises(SaveFileError, match="taken"):
        conv.save(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken"]  # no temporary file left
    assert (target / "inside.txt").read_text() == "old"


# -- 3. an engine closed while a round generates -------------------------------------------------------
@pytest.mark.anyio
async def test_closing_the_engine_mid_round_raises_closed_and_commits_nothing() -> None:
    engine = ScriptedEngine(["first", Hang(after="partial reply")])
    conv = Conversation(engine)
    await conv.send("one")
    before, usage = conv.history, conv.usage

    async def close_once_hanging(events: RoundStream) -> None:
        async for event in events:
            if isinstance(event, TextDelta):  # the reply has begun, and now hangs
                await engine.close()

    with pytest.raises(ConversationClosedError, match="closed while generating"):
        await close_once_hanging(conv.stream("two"))
    assert conv.history == before and conv.usage == usage
    with pytest.raises(ConversationClosedError):  # every later round too, never an EngineError
        await conv.send("three")
    assert conv.history == before


class _EndsNormallyWhenClosed(Engine):
    """Like HuggingEngine today: close() stops generation and the stream ends with a Completion."""

    max_context_size = 1000

    def __init__(self) -> None:
        self._closed = False
        self.generating = anyio.Event()
        self.closing = anyio.Event()

    def message_len(self, message: Message) -> int:
        return 1

    def prompt_len(self, messages: Sequence[Message], tools: Sequence[ToolSchema] = ()) -> int:
        return len(messages)

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] = (),
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[EngineEvent]:
        if self._closed:
            raise ConversationClosedError("closed")
        yield TextDelta("cut ")
        self.generating.set()
        await self.closing.wait()
        yield Completion(Message.assistant("cut "), Usage(1, 1, 0, 1), "stop")

    async def close(self) -> None:
        self._closed = True
        self.closing.set()


@pytest.mark.anyio
async def test_a_reply_cut_short_by_close_is_not_committed_even_if_the_stream_ends_normally() -> None:
    engine = _EndsNormallyWhenClosed()
    conv = Conversation(engine)

    errors: list[BaseException] = []

    async def send() -> None:
        try:
            await conv.send("hello")
        except ConversationClosedError as exc:
            errors.append(exc)

    async with anyio.create_task_group() as tg:
        tg.start_soon(send)
        await engine.generating.wait()
        await engine.close()
    assert len(errors) == 1 and "while this round was generating" in str(errors[0])
    assert conv.history == () and conv.usage == Usage()
    with pytest.raises(ConversationClosedError, match="before this round"):
        await conv.send("again")


@pytest.mark.anyio
async def test_closed_error_raised_by_an_engine_is_not_wrapped_in_engine_error() -> None:
    engine = ScriptedEngine([ConversationClosedError("gone")])
    with pytest.raises(ConversationClosedError, match="gone") as info:
        await Conversation(engine).send("hi")
    assert not isinstance(info.value, EngineError)


# -- 4. finish reasons ---------------------------------------------------------------------------------
@pytest.mark.anyio
async def test_finish_reason_tells_a_cut_reply_from_a_complete_one() -> None:
    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    engine = ScriptedEngine([call("ping"), "short", " ".join(["word"] * 40)])
    conv = Conversation(engine, tools=[ping], max_new_tokens=30)
    assert conv.last_finish_reason is None
    events = [e async for e in conv.stream("go")]
    reasons = [(e.message.role, e.finish_reason) for e in events if isinstance(e, MessageEvent)]
    assert reasons == [("user", None), ("assistant", "tool_calls"), ("tool", None), ("assistant", "stop")]
    assert conv.last_finish_reason == "stop"
    final = events[-1]
    reply = await conv.send("more")
    assert reply.text == " ".join(["word"] * 30) and conv.last_finish_reason == "length"
    assert isinstance(final, MessageEvent)


# -- 5. str(message) -----------------------------------------------------------------------------------
def test_str_of_a_message_is_its_text() -> None:
    assert str(Message.assistant("Hello there!")) == "Hello there!"
    assert f"{Message.user('hi')}" == "hi"
    assert str(Message.assistant("x", reasoning="why")) == "x"


# -- 6. truncation off the event loop ------------------------------------------------------------------
class _ThreadRecordingEngine(ScriptedEngine):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.count_threads: set[int] = set()

    def count_tokens(self, text: str) -> int:
        self.count_threads.add(threading.get_ident())
        return super().count_tokens(text)


@pytest.mark.anyio
async def test_large_results_are_counted_and_cut_in_a_worker_thread() -> None:
    @tool
    def big() -> str:
        """A megabyte of text."""
        return "word " * 200_000

    engine = _ThreadRecordingEngine([call("big"), "ok"])
    conv = Conversation(engine, tools=[big], max_tool_result_tokens=100)
    await conv.send("go")
    threads = set(engine.count_threads)
    assert threads and threading.get_ident() not in threads
    result = conv.history[2].text
    assert "truncated: the result had 200000 tokens" in result
    assert engine.count_tokens(result) <= 100


# -- 7. an engine's own max_new_tokens -----------------------------------------------------------------
class _EngineWithLimit(ScriptedEngine):
    @property
    def default_max_new_tokens(self) -> int | None:
        return 3


@pytest.mark.anyio
async def test_an_engine_level_max_new_tokens_is_the_conversation_default() -> None:
    engine = _EngineWithLimit(["one two three four five"])
    conv = Conversation(engine)
    assert conv.max_new_tokens == 3 and conv.budget == engine.max_context_size - 3
    await conv.send("go")
    assert engine.requests[0].options.max_new_tokens is None  # the engine's own setting applies
    explicit = Conversation(engine, max_new_tokens=7)
    assert explicit.max_new_tokens == 7
    with pytest.raises(ConfigurationError, match="engine's own max_new_tokens"):
        Conversation(_EngineWithLimit(max_context_size=3))


# -- 8. fixed part too long; tool results sharing the budget -------------------------------------------
def test_pinned_messages_and_tools_too_long_are_refused_at_construction_naming_them() -> None:
    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    engine = ScriptedEngine(max_context_size=100)
    with pytest.raises(PromptTooLongError, match=r"2 pinned messages \(\d+ tokens\)") as info:
        Conversation(
            engine, system="hi", pinned=["word " * 40, "word " * 40], tools=[ping], max_new_tokens=10
        )
    assert "the system prompt (" in str(info.value) and "1 tool schema (" in str(info.value)
    assert "2 pinned messages is the largest" in str(info.value)
    assert info.value.budget == 90


@pytest.mark.anyio
async def test_results_of_one_reply_share_the_budget_instead_of_aborting_the_round() -> None:
    @tool
    def chunk(n: int) -> str:
        """Returns a long text."""
        return f"part{n} " * 300

    engine = ScriptedEngine(["".join(call("chunk", n=n) for n in range(4)), "summary"], max_context_size=1200)
    conv = Conversation(engine, tools=[chunk], max_new_tokens=150, max_tool_result_tokens=400)
    assert (await conv.send("read all four")).text == "summary"
    results = [m for m in conv.history if m.role == "tool"]
    assert len(results) == 4 and all("truncated" in m.text for m in results)
    assert all(engine.count_tokens(m.text) < 400 for m in results)  # under the per-result cap
    assert engine.prompt_len(engine.requests[1].messages, engine.requests[1].tools) <= conv.budget
    assert engine.requests[1].messages[0] == Message.user("read all four")  # the question stayed


# -- 9. tools= a single tool; defaults that do not match their hint ------------------------------------
def test_a_single_tool_is_accepted_and_a_wrong_value_is_explained() -> None:
    @tool
    def ping() -> str:
        """Ping."""
        return "pong"

    assert [t.name for t in Conversation(ScriptedEngine(), tools=ping).tools] == ["ping"]
    with pytest.raises(ConfigurationError, match="a list of them"):
        Conversation(ScriptedEngine(), tools=42)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("annotation", "default"), [("int", '"abc"'), ("str", "None"), ("list[int]", '["x"]')]
)
def test_a_default_that_does_not_match_its_type_hint_is_refused(annotation: str, default: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def f(x: {annotation} = {default}) -> str:\n    return ''", namespace)
    with pytest.raises(ToolDefinitionError, match=r"tool 'f', parameter 'x': the default"):
        tool(namespace["f"])


# -- 10. a conversation moving between event loops -----------------------------------------------------
def test_a_conversation_can_move_from_asyncio_to_trio_and_back() -> None:
    conv = Conversation(ScriptedEngine(["a", "b", "c"]))
    for backend in ("asyncio", "trio", "asyncio"):
        anyio.run(conv.send, f"on {backend}", backend=backend)
    assert [m.text for m in conv.history] == ["on asyncio", "a", "on trio", "b", "on asyncio", "c"]


# -- 11. a tool raising GeneratorExit ------------------------------------------------------------------
@pytest.mark.anyio
async def test_a_tool_raising_generator_exit_is_an_ordinary_tool_error() -> None:
    @tool
    async def odd_async() -> str:
        """Raises GeneratorExit."""
        raise GeneratorExit("async")

    @tool
    def odd_sync() -> str:
        """Raises GeneratorExit in its thread."""
        raise GeneratorExit("sync")

    engine = ScriptedEngine([call("odd_async") + call("odd_sync"), "recovered"])
    conv = Conversation(engine, tools=[odd_async, odd_sync])
    assert (await conv.send("go")).text == "recovered"
    assert [m.is_error for m in conv.history[2:4]] == [True, True]
    assert all("GeneratorExit" in m.text for m in conv.history[2:4])


# -- 12. a sync tool sees that its round was cancelled -------------------------------------------------
@pytest.mark.anyio
async def test_a_sync_tool_can_see_its_round_was_cancelled_and_stop() -> None:
    started, stopped = threading.Event(), threading.Event()

    @tool
    def long_job() -> str:
        """Works until told to stop."""
        started.set()
        deadline = time.monotonic() + 10
        while not tool_cancelled() and time.monotonic() < deadline:
            time.sleep(0.005)
        stopped.set()
        return "stopped" if tool_cancelled() else "ran out"

    engine = ScriptedEngine([call("long_job"), "never"])
    conv = Conversation(engine, tools=[long_job])
    assert not tool_cancelled()  # outside a tool: always False
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(conv.send, "go")
            await anyio.to_thread.run_sync(started.wait, 5)
            scope.cancel()
    assert conv.history == ()
    assert await anyio.to_thread.run_sync(stopped.wait, 5)  # the thread ended on its own, early


@pytest.mark.anyio
async def test_a_sync_tool_sees_its_timeout_expire() -> None:
    stopped = threading.Event()

    @tool(timeout=0.05)
    def slow() -> str:
        """Slower than its timeout."""
        while not tool_cancelled():
            time.sleep(0.005)
        stopped.set()
        return "late"

    conv = Conversation(ScriptedEngine([call("slow"), "ok"]), tools=[slow])
    await conv.send("go")
    assert "timed out" in conv.history[2].text
    assert await anyio.to_thread.run_sync(stopped.wait, 5)


# -- 13. tool_errors="raise" with parallel calls -------------------------------------------------------
@pytest.mark.anyio
async def test_failing_parallel_tools_raise_the_tool_execution_error_itself() -> None:
    both_failing = anyio.Event()
    failed = 0

    @tool
    async def fail(n: int) -> str:
        """Fails once both calls are running."""
        nonlocal failed
        failed += 1
        if failed == 2:
            both_failing.set()
        await both_failing.wait()
        raise ValueError(f"bad {n}")

    @tool
    async def slow() -> str:
        """Would take forever."""
        await anyio.sleep_forever()
        return "never"

    engine = ScriptedEngine([call("slow") + call("fail", n=1) + call("fail", n=2)])
    conv = Conversation(engine, tools=[fail, slow], tool_errors="raise")
    with anyio.fail_after(5), pytest.raises(ToolExecutionError) as info:
        await conv.send("go")
    assert type(info.value) is ToolExecutionError  # not an exception group
    assert isinstance(info.value.__cause__, ValueError)
    # The first failure cancels the other calls; a call that failed before that is attached.
    failures = [str(info.value.__cause__), *(str(e.__cause__) for e in info.value.others)]
    assert failures in (["bad 1"], ["bad 2"], ["bad 1", "bad 2"])
    assert conv.history == ()
