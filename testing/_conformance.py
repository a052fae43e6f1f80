"""The engine conformance suite: the behaviour every :class:`~hermitcrab.engines.Engine` must have.

Conversations rely on these promises of the Engine interface (``engines/_base.py`` states them); the
suite checks them against a real engine, through its public methods only:

* a stream ends with exactly one ``Completion``, after the deltas and tool calls it sums up;
* ``generate`` returns that ``Completion``; usage is reported for the one request (exactly
  ``prompt_len`` prompt tokens and at most ``max_new_tokens`` new ones, where the engine counts);
* cancelling the consumer, or closing the stream early, stops the reply and leaves the engine usable;
* a failure surfaces as :class:`~hermitcrab.errors.EngineError` and leaves the engine usable;
* ``close()`` during a reply makes that stream raise
  :class:`~hermitcrab.errors.ConversationClosedError` instead of completing, and every later stream
  raise it at once;
* one engine serves several streams at the same time; token counts are positive integers.

Subclass :class:`EngineConformance`, say how to make your engine, and run the checks, under asyncio or
trio, with or without pytest::

    class MyEngineConformance(EngineConformance):
        async def make_engine(self) -> Engine:
            return MyEngine(...)

    @pytest.mark.anyio
    @pytest.mark.parametrize("check", EngineConformance.checks())
    async def test_my_engine(check: str) -> None:
        await MyEngineConformance().run(check)

Every check makes a fresh engine and closes it. A check that fails raises ``AssertionError`` naming
the promise that was broken.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import anyio

from hermitcrab.engines import Engine, ToolSchema
from hermitcrab.errors import ConversationClosedError, EngineError
from hermitcrab.events import (
    Completion,
    EngineEvent,
    GenerationOptions,
    ReasoningDelta,
    TextDelta,
    ToolCallEvent,
)
from hermitcrab.messages import Message

__all__ = ("EngineConformance",)

_DELTAS = (TextDelta, ReasoningDelta, ToolCallEvent)


class EngineConformance:
    """The engine checks, for one kind of engine. Subclass it and implement :meth:`make_engine`.

    The attributes describe the requests the checks send; override them (in the class body, or on the
    instance) where your engine needs other ones.
    """

    messages: Sequence[Message] = (Message.user("Tell me a long story about a hermit crab."),)
    """The prompt of every request."""
    tools: Sequence[ToolSchema] = ()
    """Tool schemas sent with every request."""
    options: GenerationOptions = GenerationOptions(max_new_tokens=16)
    """Options of the requests that run to their end."""
    long_options: GenerationOptions | None = None
    """Options of the requests that are interrupted (cancelled, closed early, cut by ``close()``): the
    reply must still be streaming when its first event arrives. ``None``: :attr:`options`."""
    exact_usage: bool = True
    """Whether the engine counts usage itself, so that ``prompt_tokens == prompt_len(...)`` and
    ``completion_tokens <= max_new_tokens`` hold (a server's counts need not)."""
    timeout: float = 60.0
    """Seconds each step of a check may take before it fails."""

    # -- what a subclass provides -------------------------------------------------------------------
    async def make_engine(self) -> Engine:
        """A new engine for one check (the check closes it)."""
        raise NotImplementedError(f"{type(self).__name__} must implement make_engine()")

    async def failing_request(self, engine: Engine) -> tuple[Sequence[Message], GenerationOptions] | None:
        """Arrange for ``engine`` to fail, and return the ``(messages, options)`` of a request that
        must now fail; ``None`` (the default) skips :meth:`check_errors_are_engine_errors`."""
        return None

    # -- running ------------------------------------------------------------------------------------
    @classmethod
    def checks(cls) -> list[str]:
        """The names of the checks, in a stable order (for ``pytest.mark.parametrize``)."""
        return sorted(name for name in dir(cls) if name.startswith("check_"))

    async def run(self, check: str | None = None) -> None:
        """Run one check by name, or all of them."""
        for name in [check] if check is not None else self.checks():
            if name not in self.checks():
                raise ValueError(f"no check named {name!r}; the checks are {', '.join(self.checks())}")
            await getattr(self, name)()

    def _long(self) -> GenerationOptions:
        return self.long_options if self.long_options is not None else self.options

    async def _engine(self) -> Engine:
        engine = await self.make_engine()
        assert isinstance(engine, Engine), f"make_engine() returned {engine!r}, not an Engine"
        return engine

    async def _collect(
        self, engine: Engine, options: GenerationOptions | None = None
    ) -> tuple[list[EngineEvent], Completion]:
        with anyio.fail_after(self.timeout):
            events = [
                e
                async for e in engine.stream(self.messages, tools=self.tools, options=options or self.options)
            ]
        completions = [e for e in events if isinstance(e, Completion)]
        assert len(completions) == 1, f"a stream must end with exactly one Completion, got {len(completions)}"
        assert isinstance(events[-1], Completion), "the Completion must be the stream's last event"
        strays = [e for e in events[:-1] if not isinstance(e, _DELTAS)]
        assert not strays, f"before the Completion a stream yields deltas and tool calls only, not {strays}"
        return events[:-1], events[-1]

    async def _still_usable(self, engine: Engine, after: str) -> None:
        try:
            await self._collect(engine)
        except AssertionError as exc:
            raise AssertionError(f"after {after} the engine must serve the next request: {exc}") from exc
        except TimeoutError as exc:
            raise AssertionError(f"after {after} the engine's next request never finished") from exc

    # -- the checks ---------------------------------------------------------------------------------
    async def check_stream_ends_with_one_completion(self) -> None:
        """Deltas and tool calls, then one ``Completion`` whose message they add up to."""
        async with await self._engine() as engine:
            events, completion = await self._collect(engine)
        message = completion.message
        assert isinstance(message, Message) and message.role == "assistant", "the Completion holds a reply"
        text = "".join(e.text for e in events if isinstance(e, TextDelta))
        assert message.text == text, f"the Completion's text {message.text!r} is not the streamed {text!r}"
        reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
        assert (message.reasoning or "") == reasoning, "the Completion's reasoning is not the streamed one"
        streamed = [(e.call.name, e.call.arguments) for e in events if isinstance(e, ToolCallEvent)]
        kept = [(c.name, c.arguments) for c in message.tool_calls]
        assert kept == streamed, f"the Completion's tool calls {kept} are not the streamed {streamed}"
        assert completion.finish_reason in ("stop", "length", "tool_calls"), completion.finish_reason

    async def check_generate_returns_the_completion(self) -> None:
        """``generate`` collects a stream into its ``Completion``."""
        async with await self._engine() as engine:
            with anyio.fail_after(self.timeout):
                completion = await engine.generate(self.messages, tools=self.tools, options=self.options)
        assert isinstance(completion, Completion), f"generate() returned {completion!r}"

    async def check_usage_is_reported(self) -> None:
        """The ``Completion`` counts one request, its prompt and its new tokens."""
        async with await self._engine() as engine:
            _, completion = await self._collect(engine)
            usage = completion.usage
            assert usage.requests == 1, f"one generation is one request, not {usage.requests}"
            assert usage.prompt_tokens > 0, "the prompt's tokens are counted"
            assert usage.completion_tokens >= 0 and 0 <= usage.cached_tokens <= usage.prompt_tokens
            if self.exact_usage:
                expected = engine.prompt_len(self.messages, self.tools)
                assert usage.prompt_tokens == expected, (
                    f"usage.prompt_tokens is {usage.prompt_tokens}, but prompt_len() says {expected}"
                )
                limit = self.options.max_new_tokens
                if limit is not None:
                    assert usage.completion_tokens <= limit, (
                        f"{usage.completion_tokens} new tokens, more than max_new_tokens={limit}"
                    )

    async def check_cancelling_the_consumer_stops_the_reply(self) -> None:
        """Cancelling the task that reads a stream stops it, and the engine serves the next one."""
        async with await self._engine() as engine:
            seen: list[EngineEvent] = []
            first = anyio.Event()

            async def consume() -> None:
                stream = engine.stream(self.messages, tools=self.tools, options=self._long())
                async with _closing(stream) as events:
                    async for event in events:
                        seen.append(event)
                        first.set()

            with anyio.fail_after(self.timeout):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(consume)
                    await first.wait()
                    tg.cancel_scope.cancel()
            assert not any(isinstance(e, Completion) for e in seen), (
                "the reply ended before it could be cancelled (make long_options longer)"
            )
            await self._still_usable(engine, "a cancelled stream")

    async def check_closing_the_stream_early_stops_the_reply(self) -> None:
        """``aclose()`` on a stream after its first event stops it; the engine serves the next one."""
        async with await self._engine() as engine:
            stream = engine.stream(self.messages, tools=self.tools, options=self._long())
            assert isinstance(stream, AsyncIterator), "stream() returns an async iterator"
            with anyio.fail_after(self.timeout):
                first = await stream.__anext__()
                assert not isinstance(first, Completion), "the reply ended at once (make it longer)"
                aclose = getattr(stream, "aclose", None)
                assert aclose is not None, (
                    "a stream must have aclose() (write stream() as an async generator)"
                )
                await aclose()
            await self._still_usable(engine, "a stream closed early")

    async def check_errors_are_engine_errors(self) -> None:
        """A failed request raises :class:`EngineError`; the engine serves the next one."""
        async with await self._engine() as engine:
            request = await self.failing_request(engine)
            if request is None:
                return
            messages, options = request
            try:
                with anyio.fail_after(self.timeout):
                    async for _ in engine.stream(messages, tools=self.tools, options=options):
                        pass
            except EngineError:
                pass
            except Exception as exc:
                raise AssertionError(
                    f"a failed request must raise EngineError (raise EngineError(...) from exc), not "
                    f"{type(exc).__name__}: {exc}"
                ) from exc
            else:
                raise AssertionError("the request arranged by failing_request() did not fail")
            await self._still_usable(engine, "a failed request")

    async def check_close_mid_reply_raises_conversation_closed_error(self) -> None:
        """``close()`` while a reply streams: that stream raises ``ConversationClosedError`` instead of
        completing, ``closed`` is true, later streams raise at once, and ``close()`` again is fine."""
        engine = await self._engine()
        started = anyio.Event()
        outcome: list[object] = []

        async def consume() -> None:
            try:
                async for event in engine.stream(self.messages, tools=self.tools, options=self._long()):
                    if isinstance(event, Completion):
                        outcome.append(event)
                    started.set()
            except ConversationClosedError as exc:
                outcome.append(exc)
            except Exception as exc:
                outcome.append(exc)
            finally:
                started.set()

        try:
            with anyio.fail_after(self.timeout):
                async with anyio.create_task_group() as tg:
                    tg.start_soon(consume)
                    await started.wait()
                    await engine.close()
        finally:
            await engine.close()
        assert outcome, "the stream ended without a Completion or an error"
        if isinstance(outcome[0], Completion):
            raise AssertionError(
                "a reply that close() interrupted must raise ConversationClosedError, not complete "
                "(or the reply ended before close(): make long_options longer)"
            )
        assert isinstance(outcome[0], ConversationClosedError), (
            f"close() mid-reply must raise ConversationClosedError, not {outcome[0]!r}"
        )
        assert engine.closed, "engine.closed is true after close()"
        try:
            with anyio.fail_after(self.timeout):
                async for _ in engine.stream(self.messages, tools=self.tools, options=self.options):
                    raise AssertionError("a closed engine streamed an event")
        except ConversationClosedError:
            pass
        else:
            raise AssertionError("a closed engine must raise ConversationClosedError for new streams")

    async def check_serves_several_streams_at_once(self) -> None:
        """One engine serves concurrent streams (conversations share engines), each completing."""
        async with await self._engine() as engine:
            results: list[Completion] = []

            async def one() -> None:
                _, completion = await self._collect(engine)
                results.append(completion)

            async with anyio.create_task_group() as tg:
                for _ in range(3):
                    tg.start_soon(one)
        assert len(results) == 3

    async def check_counts_tokens(self) -> None:
        """``message_len``, ``prompt_len`` and ``max_context_size`` are positive integers."""
        async with await self._engine() as engine:
            assert isinstance(engine.max_context_size, int) and engine.max_context_size > 0
            for message in self.messages:
                length = engine.message_len(message)
                assert isinstance(length, int) and length > 0, f"message_len() gave {length!r}"
            total = engine.prompt_len(self.messages, self.tools)
            assert isinstance(total, int) and total > 0, f"prompt_len() gave {total!r}"
            assert engine.prompt_len([], self.tools) <= total, "an empty prompt is not longer than a full one"


@asynccontextmanager
async def _closing(stream: AsyncIterator[EngineEvent]) -> AsyncIterator[AsyncIterator[EngineEvent]]:
    """``stream``, closed (``aclose()``) when the block ends, however it ends."""
    try:
        yield stream
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
