"""The Conversation actor on the ScriptedEngine: rounds, tools, faults, concurrency, persistence."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import anyio
import pytest
from anyio.lowlevel import checkpoint

from hermitcrab import (
    ConfigurationError,
    Conversation,
    ConversationClosedError,
    EngineError,
    Fail,
    Hang,
    Message,
    MessageEvent,
    ReasoningDelta,
    ReentrantCallError,
    SaveFileError,
    SaveFileVersionError,
    ScriptedEngine,
    TextDelta,
    ToolCallEvent,
    ToolExecutionError,
    ToolResultEvent,
    ToolRoundsExceededError,
    tool,
)

pytestmark = pytest.mark.anyio


def call(name: str, **arguments: object) -> str:
    """Hermes tool-call markup for a scripted reply."""
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


# -- a plain round ------------------------------------------------------------------------------
async def test_send_returns_final_message_and_commits_round() -> None:
    engine = ScriptedEngine(["Hello there!"])
    conv = Conversation(engine, system="Be brief.")
    reply = await conv.send("Hi")
    assert reply == Message.assistant("Hello there!")
    assert conv.history == (Message.user("Hi"), reply)
    sent = engine.requests[0].messages
    assert sent == (Message.system("Be brief."), Message.user("Hi"))


async def test_tool_call_round_trip_with_lax_coercion() -> None:
    engine = ScriptedEngine([call("add", a="2", b=3), "The sum is 5."])
    conv = Conversation(engine, tools=[add])
    reply = await conv.send("What is 2 + 3?")
    assert reply.text == "The sum is 5."
    roles = [m.role for m in conv.history]
    assert roles == ["user", "assistant", "tool", "assistant"]
    tool_msg = conv.history[2]
    assert tool_msg.content == "5"
    assert not tool_msg.is_error
    assert tool_msg.tool_call_id == conv.history[1].tool_calls[0].id
    # the second request carried the tool result back to the model, and tools were offered
    assert engine.requests[1].messages[-1] == tool_msg
    assert engine.requests[0].tools[0]["function"]["name"] == "add"


async def test_stream_yields_typed_events_ending_with_final_message() -> None:
    engine = ScriptedEngine(["<think>sum</think>" + call("add", a=1, b=1), "It is 2."], chunk_size=3)
    conv = Conversation(engine, tools=[add])
    events = [e async for e in conv.stream("1+1?")]
    kinds = [e.kind for e in events]
    assert kinds[0] == "message" and events[0].message == Message.user("1+1?")
    assert any(isinstance(e, ReasoningDelta) for e in events)
    i_call = kinds.index("tool_call")
    i_result = kinds.index("tool_result")
    assert i_call < i_result
    assert isinstance(events[i_call], ToolCallEvent) and events[i_call].call.arguments == {"a": 1, "b": 1}
    result = events[i_result]
    assert isinstance(result, ToolResultEvent) and result.message.content == "2"
    assert "".join(e.text for e in events[i_result:] if isinstance(e, TextDelta)) == "It is 2."
    assert isinstance(events[-1], MessageEvent) and events[-1].message.text == "It is 2."
    assert [e.message for e in events if isinstance(e, MessageEvent)] == list(conv.history)


# -- model-fixable problems become tool results ------------------------------------------------
async def test_tool_choice_applies_to_the_first_generation_of_the_round() -> None:
    engine = ScriptedEngine([call("add", a=1, b=2), "3", "plain"])
    conv = Conversation(engine, tools=[add])
    await conv.send("go", tool_choice="add")
    await conv.send("again")
    assert [r.options.tool_choice for r in engine.requests] == ["add", "auto", None]


@pytest.mark.parametrize("choice", ["nope", "", "REQUIRED"])
async def test_invalid_tool_choice_is_refused_before_the_round(choice: str) -> None:
    conv = Conversation(ScriptedEngine(["x"]), tools=[add])
    with pytest.raises(ConfigurationError, match="tool_choice"):
        conv.stream("go", tool_choice=choice)
    with pytest.raises(ConfigurationError, match="at least one tool"):
        Conversation(ScriptedEngine()).stream("go", tool_choice="required")
    assert conv.history == ()


@pytest.mark.parametrize("bad", [None, 42, Message.assistant("not a user turn")])
async def test_send_refuses_what_is_not_a_user_message(bad: object) -> None:
    conv = Conversation(ScriptedEngine(["x"]))
    with pytest.raises(ConfigurationError):
        await conv.send(bad)  # type: ignore[arg-type]
    assert conv.history == ()


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (call("subtract", a=1, b=2), "no tool named 'subtract'"),
        ("<tool_call>{not json</tool_call>", "could not be parsed"),
        (call("add", a="two", b=3), "a"),
        (call("add", a=1), "b"),
    ],
    ids=["unknown-tool", "invalid-json", "invalid-argument", "missing-argument"],
)
async def test_bad_calls_become_error_results_the_model_sees(reply: str, expected: str) -> None:
    engine = ScriptedEngine([reply, "Sorry."])
    conv = Conversation(engine, tools=[add])
    final = await conv.send("go")
    assert final.text == "Sorry."
    result = conv.history[2]
    assert result.role == "tool" and result.is_error
    assert result.content.startswith("Error:")
    assert expected in result.content
    assert engine.requests[1].messages[-1] == result


async def test_tool_exception_is_fed_back_by_default() -> None:
    @tool
    def broken(x: int) -> int:
        """Always fails."""
        raise ValueError(f"cannot handle {x}")

    engine = ScriptedEngine([call("broken", x=3), "It failed."])
    conv = Conversation(engine, tools=[broken])
    await conv.send("go")
    assert conv.history[2].is_error
    assert "ValueError: cannot handle 3" in conv.history[2].content


async def test_tool_exception_policy_raise_rolls_back() -> None:
    @tool
    def broken(x: int) -> int:
        """Always fails."""
        raise ValueError("boom")

    engine = ScriptedEngine(["ok", call("broken", x=3), "unreachable"])
    conv = Conversation(engine, tools=[broken], tool_errors="raise")
    await conv.send("first")
    before = conv.history
    with pytest.raises(ToolExecutionError) as info:
        await conv.send("second")
    assert isinstance(info.value.__cause__, ValueError)
    assert info.value.tool_name == "broken"
    assert conv.history == before


async def test_tool_timeout_becomes_error_result() -> None:
    @tool(timeout=0.05)
    async def slow() -> str:
        """Takes forever."""
        await anyio.sleep_forever()
        return "never"

    engine = ScriptedEngine([call("slow"), "Too slow."])
    conv = Conversation(engine, tools=[slow])
    await conv.send("go")
    assert conv.history[2].is_error
    assert "timed out after 0.05 s" in conv.history[2].content


async def test_retryable_exceptions_are_retried_and_others_are_not() -> None:
    attempts = {"flaky": 0, "fatal": 0}

    @tool(retries=3, retry_on=(ConnectionError,))
    def flaky() -> str:
        """Fails twice, then works."""
        attempts["flaky"] += 1
        if attempts["flaky"] < 3:
            raise ConnectionError("try again")
        return "fine"

    @tool(retries=3, retry_on=(ConnectionError,))
    def fatal() -> str:
        """Fails with a non-retryable error."""
        attempts["fatal"] += 1
        raise KeyError("nope")

    engine = ScriptedEngine([call("flaky") + call("fatal"), "done"])
    conv = Conversation(engine, tools=[flaky, fatal])
    await conv.send("go")
    assert attempts == {"flaky": 3, "fatal": 1}
    assert conv.history[2].content == "fine"
    assert conv.history[3].is_error and "KeyError" in conv.history[3].content


async def test_sync_tool_returning_an_awaitable_is_awaited() -> None:
    async def later(x: int) -> int:
        await checkpoint()
        return x * 2

    @tool
    def wrapper(x: int):  # type: ignore[no-untyped-def]
        """A plain function that hands back a coroutine."""
        return later(x)

    engine = ScriptedEngine([call("wrapper", x=21), "ok"])
    conv = Conversation(engine, tools=[wrapper])
    await conv.send("go")
    assert conv.history[2].content == "42"


async def test_large_results_are_truncated_with_a_marker() -> None:
    @tool
    def big() -> str:
        """Returns a lot of text."""
        return "word " * 1000

    engine = ScriptedEngine([call("big"), "ok"])
    conv = Conversation(engine, tools=[big], max_tool_result_tokens=50)
    await conv.send("go")
    result = conv.history[2].content
    assert "truncated" in result
    assert engine.count_tokens(result) <= 50
    assert result.startswith("word word")


# -- concurrency of tools -----------------------------------------------------------------------
async def test_async_tools_of_one_reply_run_concurrently_and_keep_call_order() -> None:
    arrived = 0
    all_here = anyio.Event()
    finished: list[int] = []

    @tool
    async def wait(n: int) -> int:
        """Waits until all four calls are running at once, then returns n."""
        nonlocal arrived
        arrived += 1
        if arrived == 4:
            all_here.set()
        with anyio.fail_after(5):  # a serial dispatcher would never get here: the test fails
            await all_here.wait()
        for _ in range(4 - n):  # finish in reverse call order
            await checkpoint()
        finished.append(n)
        return n

    engine = ScriptedEngine(["".join(call("wait", n=n) for n in range(4)), "done"])
    conv = Conversation(engine, tools=[wait])
    await conv.send("go")
    assert [m.content for m in conv.history[2:6]] == ["0", "1", "2", "3"]
    assert finished != [0, 1, 2, 3]


async def test_sync_tools_run_in_worker_threads_concurrently() -> None:
    barrier = threading.Barrier(3, timeout=5)
    threads: set[int] = set()

    @tool
    def blocking(n: int) -> int:
        """Blocks until three calls are running in parallel threads."""
        threads.add(threading.get_ident())
        barrier.wait()
        return n * 10

    engine = ScriptedEngine(["".join(call("blocking", n=n) for n in range(3)), "done"])
    conv = Conversation(engine, tools=[blocking])
    await conv.send("go")
    assert [m.content for m in conv.history[2:5]] == ["0", "10", "20"]
    assert len(threads) == 3 and threading.get_ident() not in threads


# -- transactional history ------------------------------------------------------------------------
async def test_engine_error_leaves_history_unchanged() -> None:
    engine = ScriptedEngine(["first", Fail(RuntimeError("GPU on fire"), after="partial text")])
    conv = Conversation(engine)
    await conv.send("one")
    before = conv.history
    with pytest.raises(EngineError) as info:
        await conv.send("two")
    assert isinstance(info.value.__cause__, RuntimeError)
    assert "GPU on fire" in str(info.value)
    assert conv.history == before


async def test_cancelling_a_round_leaves_history_unchanged() -> None:
    engine = ScriptedEngine(["first", Hang(after="thinking about it"), "third"])
    conv = Conversation(engine)
    await conv.send("one")
    before = conv.history
    with anyio.move_on_after(0.1) as scope:
        await conv.send("two")
    assert scope.cancelled_caught
    assert conv.history == before
    assert (await conv.send("three")).text == "third"  # the lock was released


# trio warns (ResourceWarning) when an async iterator is left for the garbage collector to close; the
# round is still cancelled. `async with conv.stream(...)` (next test) closes it deterministically.
@pytest.mark.filterwarnings("ignore::ResourceWarning", "ignore::pytest.PytestUnraisableExceptionWarning")
async def test_breaking_out_of_stream_cancels_the_round() -> None:
    engine = ScriptedEngine([call("add", a=1, b=2), "3", "next"])
    conv = Conversation(engine, tools=[add])
    async for event in conv.stream("go"):
        if isinstance(event, ToolCallEvent):
            break
    assert conv.history == ()
    assert (await conv.send("again")).text == "3"


async def test_leaving_a_stream_block_cancels_the_round() -> None:
    engine = ScriptedEngine([Hang(after="slow text"), "next"])
    conv = Conversation(engine)
    async with conv.stream("go") as events:
        async for event in events:
            if isinstance(event, TextDelta):
                break
    assert conv.history == ()
    assert (await conv.send("again")).text == "next"


async def test_too_many_tool_rounds_raise_and_roll_back() -> None:
    engine = ScriptedEngine([call("add", a=1, b=1)] * 3)
    conv = Conversation(engine, tools=[add], max_tool_rounds=2)
    with pytest.raises(ToolRoundsExceededError):
        await conv.send("loop forever")
    assert conv.history == ()
    assert len(engine.requests) == 3


async def test_script_exhausted_is_a_clear_engine_error() -> None:
    conv = Conversation(ScriptedEngine([]))
    with pytest.raises(EngineError, match="no scripted reply left"):
        await conv.send("hi")
    assert conv.history == ()


# -- the actor: FIFO, re-entrancy, many conversations -------------------------------------------
async def test_concurrent_sends_queue_fifo_and_never_interleave() -> None:
    engine = ScriptedEngine(lambda messages, tools: f"re: {messages[-1].text}", chunk_size=1, delay=0.001)
    conv = Conversation(engine)
    async with anyio.create_task_group() as tg:
        for i in range(5):
            tg.start_soon(conv.send, f"m{i}")
            await anyio.wait_all_tasks_blocked()
    texts = [m.text for m in conv.history]
    assert texts == [t for i in range(5) for t in (f"m{i}", f"re: m{i}")]


async def test_tool_calling_back_into_its_own_conversation_gets_reentrant_error() -> None:
    seen: list[BaseException] = []
    conv: Conversation

    @tool
    async def recurse() -> str:
        """Calls back into the conversation."""
        try:
            await conv.send("nested")
        except ReentrantCallError as exc:
            seen.append(exc)
            raise
        return "unreachable"

    @tool
    def recurse_from_thread() -> str:
        """Calls back into the conversation from a worker thread."""
        try:
            anyio.from_thread.run(conv.send, "nested")
        except ReentrantCallError as exc:
            seen.append(exc)
            raise
        return "unreachable"

    engine = ScriptedEngine([call("recurse") + call("recurse_from_thread"), "done"])
    conv = Conversation(engine, tools=[recurse, recurse_from_thread])
    with anyio.fail_after(5):
        await conv.send("go")
    assert len(seen) == 2
    assert all("ReentrantCallError" in m.content for m in conv.history[2:4])


async def test_consumer_of_stream_calling_send_gets_reentrant_error() -> None:
    conv = Conversation(ScriptedEngine(["a", "b"]))
    stream = conv.stream("x")
    with anyio.fail_after(5):
        await stream.__anext__()
        with pytest.raises(ReentrantCallError):
            await conv.send("y")
        await stream.aclose()
    assert conv.history == ()


async def test_a_tool_may_use_another_conversation() -> None:
    helper = Conversation(ScriptedEngine(["helper says hi"]))

    @tool
    async def ask_helper(question: str) -> str:
        """Ask the helper conversation."""
        return (await helper.send(question)).text

    conv = Conversation(ScriptedEngine([call("ask_helper", question="hi?"), "done"]), tools=[ask_helper])
    await conv.send("go")
    assert conv.history[2].content == "helper says hi"


async def test_hundred_conversations_share_one_engine_without_cross_talk() -> None:
    engine = ScriptedEngine(
        lambda messages, tools: f"echo {messages[-1].text} ({len(messages)})", chunk_size=2
    )
    convs = [Conversation(engine, system=f"conv {i}") for i in range(100)]

    async def chat(i: int) -> None:
        for turn in range(2):
            await convs[i].send(f"c{i}t{turn}")

    async with anyio.create_task_group() as tg:
        for i in range(100):
            tg.start_soon(chat, i)
    for i, conv in enumerate(convs):
        assert [m.text for m in conv.history] == [
            f"c{i}t0",
            f"echo c{i}t0 (2)",
            f"c{i}t1",
            f"echo c{i}t1 (4)",
        ]
    assert len(engine.requests) == 200


# -- usage, lifecycle, persistence ------------------------------------------------------------------
async def test_usage_per_round_and_in_total() -> None:
    engine = ScriptedEngine([call("add", a=1, b=2), "three", "again"])
    conv = Conversation(engine, tools=[add])
    await conv.send("go")
    first = conv.last_usage
    assert first.requests == 2
    assert first.prompt_tokens == sum(engine.prompt_len(r.messages, r.tools) for r in engine.requests)
    assert first.completion_tokens > 0
    await conv.send("more")
    assert conv.last_usage.requests == 1
    assert conv.usage == first + conv.last_usage


async def test_closed_conversation_refuses_rounds_and_releases_session() -> None:
    released: list[object] = []

    class Recording(ScriptedEngine):
        def release_session(self, session: object) -> None:
            released.append(session)

    engine = Recording(["hi"])
    async with Conversation(engine) as conv:
        await conv.send("hello")
    assert released == [conv]
    assert engine.requests[0].options.session is conv
    with pytest.raises(ConversationClosedError):
        await conv.send("again")


async def test_save_and_load_round_trip(tmp_path: Path) -> None:
    engine = ScriptedEngine(["<think>hm</think>" + call("add", a=1, b=2), "3"])
    conv = Conversation(engine, system="sys", tools=[add], pinned=["remember me"])
    await conv.send("go")
    path = tmp_path / "chat.json"
    conv.save(path)
    assert [p.name for p in tmp_path.iterdir()] == ["chat.json"]  # no temp file left behind
    loaded = Conversation.load(path, ScriptedEngine(["next"]), tools=[add])
    assert loaded.history == conv.history
    assert loaded.pinned == conv.pinned
    assert loaded.system == "sys"
    assert loaded.usage == conv.usage
    assert (await loaded.send("more")).text == "next"


@pytest.mark.parametrize(
    ("content", "error"),
    [
        ("{not json", SaveFileError),
        ('{"format": "something else", "version": 1}', SaveFileError),
        ('{"format": "hermitcrab.conversation", "version": 99, "history": []}', SaveFileVersionError),
        (
            '{"format": "hermitcrab.conversation", "version": 1, "history": [{"role": "robot"}]}',
            SaveFileError,
        ),
    ],
    ids=["corrupt", "foreign", "newer-version", "invalid-message"],
)
async def test_bad_save_files_give_clear_errors(tmp_path: Path, content: str, error: type) -> None:
    path = tmp_path / "chat.json"
    path.write_text(content)
    with pytest.raises(error):
        Conversation.load(path, ScriptedEngine())
    assert path.read_text() == content


async def test_missing_save_file_is_a_save_file_error(tmp_path: Path) -> None:
    with pytest.raises(SaveFileError, match="cannot read"):
        Conversation.load(tmp_path / "nope.json", ScriptedEngine())
