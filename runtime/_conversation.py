"""The :class:`Conversation` actor: one chat, one round at a time.

A round is: the user's message comes in, the history is trimmed to the token budget, the engine
generates, tool calls are validated and run, their results go back to the engine, and so on until the
model answers without calling a tool. Rounds of one conversation never interleave: concurrent callers
queue in FIFO order on a one-slot :class:`anyio.Semaphore`. A round stages its messages and commits them
to the history only when it ends well, so a failure or cancellation leaves the history exactly as it was
(nothing streamed before the failure is kept). A reply generated while the engine was being closed is
not a reply: the round raises :class:`ConversationClosedError` and commits nothing. The guarantees, per
failure, are listed in ``docs/reliability.md``.
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import os
import tempfile
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import aclosing, contextmanager
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any, Literal, TypeVar, overload

import anyio
import anyio.lowlevel
import pydantic

from hermitcrab._tool_choice import check_tool_choice
from hermitcrab.engines._base import Engine
from hermitcrab.errors import (
    ConfigurationError,
    ConversationClosedError,
    EngineError,
    HermitcrabError,
    OutputValidationError,
    PromptTooLongError,
    ReentrantCallError,
    SaveFileError,
    SaveFileVersionError,
    ToolDefinitionError,
    ToolRoundsExceededError,
)
from hermitcrab.events import (
    Completion,
    Event,
    GenerationOptions,
    MessageEvent,
    ToolResultEvent,
    Usage,
)
from hermitcrab.messages import Message
from hermitcrab.runtime._dispatch import DispatchPolicy, ToolFailure, run_tool_calls
from hermitcrab.runtime._output import OutputSpec
from hermitcrab.runtime._trim import Trimmer
from hermitcrab.tools import Tool, as_tool

__all__ = ("Conversation", "RoundStream")

T = TypeVar("T")

SAVE_FORMAT = "hermitcrab.conversation"
SAVE_VERSION = 1

# The conversations whose round is running in the current context: set only inside tool executions
# (child tasks and worker threads inherit it), so a tool that calls back into its own conversation is
# detected instead of deadlocking.
_ROUNDS_IN_PROGRESS: contextvars.ContextVar[frozenset[int]] = contextvars.ContextVar(
    "hermitcrab_rounds_in_progress", default=frozenset()
)


class Conversation:
    """One chat with an engine: the system prompt, pinned messages, history and tools.

    Args:
        engine: The engine that generates replies; one engine may serve many conversations.
        system: The system prompt (always sent first, never trimmed).
        tools: Tools the model may call: ``@tool`` objects or plain functions (wrapped with ``@tool``);
            a list, or a single tool.
        pinned: Messages (or user texts) always sent right after the system prompt, never trimmed.
        history: Messages to start from (e.g. from an earlier chat).
        max_tool_rounds: How many consecutive generations in one round may call tools; one more
            tool-calling generation raises :class:`~hermitcrab.errors.ToolRoundsExceededError`.
        max_new_tokens: Tokens reserved for each reply; the prompt is trimmed to
            ``engine.max_context_size - max_new_tokens``. Defaults to ``options.max_new_tokens``, else
            the engine's own limit (``engine.default_max_new_tokens``, e.g. ``HuggingEngine``'s
            ``generation_kwargs={"max_new_tokens": ...}``, which then applies unchanged), else 512 or a
            quarter of a smaller context.
        options: Default :class:`~hermitcrab.events.GenerationOptions` (``max_new_tokens`` is filled in
            unless the engine's own limit applies).
        tool_errors: ``"feedback"`` (default) shows a tool's exception to the model as an error result;
            ``"raise"`` aborts the round with :class:`~hermitcrab.errors.ToolExecutionError` instead.
        max_tool_result_tokens: Longer tool results are truncated, with a marker, to this many tokens.
            Defaults to a quarter of the prompt budget.
        parallel_tool_calls: Run the calls of one reply concurrently (default) or one after another.
        max_output_retries: With ``output_type``: how many times an answer that does not validate goes
            back to the model with the errors before :class:`~hermitcrab.errors.OutputValidationError`.

    Override points: subclass ``Conversation`` and override these methods to change what the model
    sees and what is kept, as kani users do (each has a test in ``tests/test_override_points.py``):

    - :meth:`prompt`: which messages go into each generation's prompt (default: the system prompt,
      the pinned messages and the newest history that fits the budget).
    - :meth:`format_tool_error`: how a tool call that failed is shown to the model.
    - :meth:`to_history`: which messages of a round that ended well join the history.
    - :meth:`output_instruction`: how a round with ``output_type`` asks for JSON.

    Tools ask the model to try again by raising :class:`~hermitcrab.errors.ToolRetry`.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        system: str | None = None,
        tools: Iterable[Tool[..., Any] | Callable[..., Any]] | Tool[..., Any] | Callable[..., Any] = (),
        pinned: Iterable[Message | str] = (),
        history: Iterable[Message] = (),
        max_tool_rounds: int = 8,
        max_new_tokens: int | None = None,
        options: GenerationOptions | None = None,
        tool_errors: Literal["feedback", "raise"] = "feedback",
        max_tool_result_tokens: int | None = None,
        parallel_tool_calls: bool = True,
        max_output_retries: int = 2,
    ) -> None:
        if not isinstance(engine, Engine):
            raise ConfigurationError(f"engine must be a hermitcrab Engine, not {type(engine).__name__}")
        if max_tool_rounds < 0:
            raise ConfigurationError(f"max_tool_rounds must be 0 or more, not {max_tool_rounds}")
        if (
            isinstance(max_output_retries, bool)
            or not isinstance(max_output_retries, int)
            or max_output_retries < 0
        ):
            raise ConfigurationError(f"max_output_retries must be an int >= 0, not {max_output_retries!r}")
        if tool_errors not in ("feedback", "raise"):
            raise ConfigurationError(f"tool_errors must be 'feedback' or 'raise', not {tool_errors!r}")
        context = engine.max_context_size
        options = options or GenerationOptions()
        reserved, sent = _reserve_new_tokens(engine, max_new_tokens, options)
        self.engine = engine
        self.system = system
        self._tools: dict[str, Tool[..., Any]] = {}
        for entry in _tool_entries(tools):
            t = as_tool(entry)
            if t.name in self._tools:
                raise ToolDefinitionError(f"two tools are named {t.name!r}; tool names must be unique")
            self._tools[t.name] = t
        self._tool_schemas = tuple(t.schema() for t in self._tools.values())
        self._pinned = tuple(Message.user(p) if isinstance(p, str) else p for p in pinned)
        self._history: list[Message] = list(history)
        self.max_tool_rounds = max_tool_rounds
        self.max_new_tokens = reserved
        """Tokens reserved for each reply (the prompt budget is the context minus these)."""
        self._options = replace(options, max_new_tokens=sent, session=self)
        budget = context - reserved
        self._policy = DispatchPolicy(
            on_error=tool_errors,
            max_result_tokens=max_tool_result_tokens or max(16, budget // 4),
            count_tokens=engine.count_tokens,
            parallel=parallel_tool_calls,
            describe=self.format_tool_error,
        )
        self._trimmer = Trimmer(engine)
        self._system_message: Message | None = None
        self._check_fixed_part_fits()
        # A FIFO-fair semaphore, not a Lock: a Lock belongs to the task that took it, but a round
        # abandoned with `break` is closed by the event loop in another task, which must release it.
        # Made on first use, for the event loop that uses it (see _round_lock).
        self._lock: anyio.Semaphore | None = None
        self._lock_loop: object = None
        self._owner_task: int | None = None
        self._running: _RoundHandle | None = None
        self._closed = False
        self.usage = Usage()
        """Token usage of every round so far, added up."""
        self.last_usage = Usage()
        """Token usage of the most recent successful round."""
        self.max_output_retries = max_output_retries
        self.last_output: Any = None
        """The parsed answer of the most recent successful round with ``output_type`` (``None`` after a
        round without one)."""
        self.last_finish_reason: str | None = None
        """Why the most recent successful round's final reply ended, as the engine reported it:
        ``"stop"``, ``"length"`` (cut at ``max_new_tokens``: the answer may be incomplete) or
        ``"tool_calls"``; ``None`` before the first round."""

    # -- read-only state ------------------------------------------------------------------------
    @property
    def history(self) -> tuple[Message, ...]:
        """The committed messages, oldest first (a snapshot; rounds in progress are not included)."""
        return tuple(self._history)

    @property
    def pinned(self) -> tuple[Message, ...]:
        """Messages always sent after the system prompt."""
        return self._pinned

    @property
    def tools(self) -> tuple[Tool[..., Any], ...]:
        """The tools the model may call."""
        return tuple(self._tools.values())

    @property
    def budget(self) -> int:
        """Prompt tokens available: ``engine.max_context_size - max_new_tokens``."""
        return self.engine.max_context_size - self.max_new_tokens

    def prompt(self, pending: Sequence[Message] = ()) -> list[Message]:
        """The messages the next generation would send: system, pinned and the trimmed history
        (plus ``pending`` messages not yet committed). Useful to inspect trimming.

        An override point: every generation of a round sends what this returns, with ``pending``
        the round's messages so far (the user's message first). Override it to choose the messages
        yourself (drop old tool results, add a reminder, summarise), calling ``super().prompt(...)``
        for the trimmed default; what you return must fit ``budget`` tokens with the tools.
        """
        history: Sequence[Message] = [*self._history, *pending] if pending else self._history
        return self._trimmer.select(self._fixed(), history, self._tool_schemas, self.budget)

    def _fixed(self) -> list[Message]:
        """The system message (one object while ``system`` stays the same) and the pinned messages."""
        if self.system is None:
            return [*self._pinned]
        if self._system_message is None or self._system_message.content != self.system:
            self._system_message = Message.system(self.system)
        return [self._system_message, *self._pinned]

    def _check_fixed_part_fits(self) -> None:
        """Refuse, at construction, a system prompt + pinned messages + tools that leave no room."""
        fixed = self._fixed()
        try:
            used = self._trimmer.fixed_overhead(fixed, self._tool_schemas)
        except NotImplementedError:  # an engine that cannot count: the first round will tell
            return
        if used < self.budget:
            return
        engine = self.engine
        parts: list[tuple[str, int]] = []
        if self.system is not None:
            parts.append(("the system prompt", engine.message_len(fixed[0])))
        if self._pinned:
            n = len(self._pinned)
            label = f"{n} pinned message{'s' if n > 1 else ''}"
            parts.append((label, sum(engine.message_len(m) for m in self._pinned)))
        if self._tool_schemas:
            n = len(self._tool_schemas)
            tools_len = engine.prompt_len([], self._tool_schemas) - engine.prompt_len([], ())
            parts.append((f"{n} tool schema{'s' if n > 1 else ''}", tools_len))
        listed = ", ".join(f"{name} ({tokens} tokens)" for name, tokens in parts) or "the prompt frame"
        largest = max(parts, key=lambda p: p[1])[0] if parts else "the prompt frame"
        verb = "take" if len(parts) > 1 else "takes"
        raise PromptTooLongError(
            f"{listed} {verb} {used} tokens with the chat template, leaving no room for messages in the "
            f"prompt budget of {self.budget} (max_context_size {engine.max_context_size} minus "
            f"max_new_tokens {self.max_new_tokens}); {largest} is the largest: shorten it, lower "
            "max_new_tokens or use a model with a larger context",
            prompt_tokens=used,
            budget=self.budget,
        )

    # -- rounds ---------------------------------------------------------------------------------
    @overload
    async def send(self, message: str | Message, *, tool_choice: str | None = None) -> Message: ...

    @overload
    async def send(
        self, message: str | Message, *, tool_choice: str | None = None, output_type: type[T]
    ) -> T: ...

    @overload
    async def send(
        self, message: str | Message, *, tool_choice: str | None = None, output_type: Any
    ) -> Any: ...

    async def send(
        self, message: str | Message, *, tool_choice: str | None = None, output_type: Any = None
    ) -> Any:
        """Run one full round for ``message`` and return the model's final answer.

        ``tool_choice`` (``"auto"``, ``"none"``, ``"required"`` or a tool's name) applies to the round's
        first generation, as in OpenAI-style APIs; later generations of the round use ``"auto"`` so the
        model can answer with the results. Engines that cannot honour it ignore it.

        With ``output_type`` (a pydantic model, a TypedDict, ``list[int]``, a ``Literal``...) the
        answer is JSON for that type and ``send`` returns it parsed, an instance of ``output_type``
        (see :meth:`stream`); the model may call tools first.
        """
        final: Message | None = None
        round_events = self.stream(message, tool_choice=tool_choice, output_type=output_type)
        async with aclosing(round_events) as events:
            async for event in events:
                if isinstance(event, MessageEvent):
                    final = event.message
        assert final is not None  # a round that ends well always ends with the final message
        return final if output_type is None else round_events.output

    def stream(
        self, message: str | Message, *, tool_choice: str | None = None, output_type: Any = None
    ) -> RoundStream:
        """Run one round for ``message``, yielding its events as they happen.

        Yields text and reasoning deltas, each tool call once parsed, a :class:`ToolResultEvent` per
        executed call, and a :class:`MessageEvent` for each message that joins the history (the user's,
        the assistant's tool-calling ones, tool results); the last event is the final assistant
        message. Leaving the ``async for`` early or cancelling the task cancels the round and leaves
        the history unchanged. Use it directly with ``async for``, or as
        ``async with conv.stream(...) as events:`` to close the round deterministically when the block
        ends (trio warns about async iterators left for the garbage collector to close).

        With ``output_type`` the model is shown the type's JSON schema (:meth:`output_instruction`)
        and the engine constrains the answer to it where it can (a grammar on the HuggingEngine with
        xgrammar, ``response_format`` on the OpenAIEngine); the final ``MessageEvent`` holds the JSON
        text and the parsed value is ``conv.last_output`` (and the stream's ``output``). An answer
        that does not validate goes back to the model with the errors (those messages join the
        history too), up to ``max_output_retries`` times; then the round fails with
        :class:`~hermitcrab.errors.OutputValidationError` and the history is left as it was.
        """
        user = self._user_message(message)
        check_tool_choice(tool_choice, self._tools)
        output = OutputSpec(output_type) if output_type is not None else None
        handle = _RoundHandle()
        round_events = RoundStream(self._round(user, handle, tool_choice, output), handle)
        handle.events = weakref.ref(round_events)
        return round_events

    async def _round(
        self, user: Message, handle: _RoundHandle, tool_choice: str | None, output: OutputSpec | None = None
    ) -> AsyncGenerator[Event, None]:
        self._check_reentrant()
        async with self._round_lock():
            self._owner_task = anyio.get_current_task().id
            self._running = handle
            try:
                if self._closed:
                    raise ConversationClosedError("this conversation has been closed")
                self._check_engine_open()
                staged: list[Message] = [user]
                if output is not None:  # the schema rides on the round's first message, in prompts only
                    staged[0] = output.instruct(user, self.output_instruction(output.schema))
                    corrections = 0
                usage = Usage()
                retries: dict[str, int] = {}  # ToolRetry requests per tool, this round
                yield MessageEvent(user)
                generations = 0
                while True:
                    completion: Completion | None = None
                    prompt = self.prompt(staged)
                    options = self._options
                    if output is not None:
                        options = replace(options, output_schema=output.schema)
                    if tool_choice is not None:
                        first = generations == 0
                        options = replace(options, tool_choice=tool_choice if first else "auto")
                    async with aclosing(
                        _engine_stream(self.engine, prompt, self._tool_schemas, options)
                    ) as engine_events:
                        async for event in engine_events:
                            if isinstance(event, Completion):
                                completion = event
                            else:
                                yield event
                    if completion is None:
                        raise EngineError(f"{type(self.engine).__name__} ended a reply without a Completion")
                    self._check_engine_open(during=True)  # a reply cut off by close() is no reply
                    usage += completion.usage
                    reply = completion.message
                    finish = completion.finish_reason
                    staged.append(reply)
                    calls = reply.tool_calls
                    if not calls and output is not None:
                        value, problem = output.parse(reply.text)
                        if problem is not None:
                            if corrections >= self.max_output_retries:
                                raise OutputValidationError(
                                    f"the answer did not match output_type after {corrections + 1} "
                                    f"tries; the round was rolled back. Last answer: {reply.text[:200]!r}; "
                                    f"errors: {output.errors(problem)}",
                                    text=reply.text,
                                    errors=output.errors(problem),
                                )
                            corrections += 1
                            correction = Message.user(output.correction(problem))
                            staged.append(correction)
                            yield MessageEvent(reply)
                            yield MessageEvent(correction)
                            continue
                        handle.output = value
                        staged[0] = user  # the history keeps the message as it was sent
                    if not calls:
                        self._commit(staged, usage, finish)
                        self.last_output = handle.output
                        yield MessageEvent(reply, finish_reason=finish)
                        return
                    generations += 1
                    if generations > self.max_tool_rounds:
                        raise ToolRoundsExceededError(
                            f"the model called tools in {generations} consecutive replies, more than "
                            f"max_tool_rounds={self.max_tool_rounds}; the round was rolled back"
                        )
                    yield MessageEvent(reply, finish_reason=finish)
                    results = await run_tool_calls(
                        calls,
                        self._tools,
                        self._policy,
                        self._mark_round,
                        self._results_room(staged),
                        retries,
                    )
                    for call, result in zip(calls, results, strict=True):
                        staged.append(result)
                        yield ToolResultEvent(call, result)
                        yield MessageEvent(result)
            finally:
                self._owner_task = None
                self._running = None

    def _round_lock(self) -> anyio.Semaphore:
        """The FIFO lock of rounds, for the running event loop.

        A conversation may be used under one event loop and later under another (``anyio.run`` twice,
        or asyncio and then trio): an idle conversation simply gets a new lock for the new loop. Using it
        from two loops at the same time is refused.
        """
        loop = anyio.lowlevel.current_token().native_token
        if self._lock is None or self._lock_loop is not loop:
            if self._lock is not None and (self._running is not None or self._lock.value == 0):
                raise ConfigurationError(
                    "this conversation has a round running in another event loop; a conversation can "
                    "move to a new event loop only while it is idle"
                )
            self._lock = anyio.Semaphore(1)
            self._lock_loop = loop
        return self._lock

    def _check_engine_open(self, *, during: bool = False) -> None:
        if self.engine.closed:
            when = "while this round was generating" if during else "before this round"
            raise ConversationClosedError(
                f"the {type(self.engine).__name__} was closed {when}; nothing of the round was "
                "committed. Create a new engine (Conversation.load can bring a saved history back)."
            )

    def _results_room(self, staged: Sequence[Message]) -> int | None:
        """Tokens the results of the newest reply (``staged[-1]``) may take together: what the budget
        leaves after the system prompt, pinned messages, tools and the round so far, less each result
        message's own frame (and a small margin for tokens that merge at the seams)."""
        calls = staged[-1].tool_calls
        try:
            used = self._trimmer.fixed_overhead(self._fixed(), self._tool_schemas)
            used += sum(self._trimmer.message_len(m) for m in staged)
            used += sum(self.engine.message_len(Message.tool_result(c, "")) for c in calls)
        except NotImplementedError:
            return None
        return self.budget - used - 2 * len(calls) - 2

    def _user_message(self, message: str | Message) -> Message:
        if isinstance(message, str):
            return Message.user(message)
        if isinstance(message, Message):
            if message.role not in ("user", "tool"):
                raise ConfigurationError(f"a round starts with a user message, not a {message.role} message")
            return message
        raise ConfigurationError(f"send/stream take a str or a Message, not {type(message).__name__}")

    def _check_reentrant(self) -> None:
        if self._closed:
            raise ConversationClosedError("this conversation has been closed")
        in_tool = id(self) in _ROUNDS_IN_PROGRESS.get()
        # The task that consumes a live round's stream asking for another round would wait for itself.
        # A stream abandoned with `break` is different: its generator is unreachable and about to be
        # closed by the event loop, so waiting for the lock is right.
        running = self._running
        in_own_stream = (
            running is not None
            and self._owner_task == anyio.get_current_task().id
            and running.events is not None
            and running.events() is not None
        )
        if in_tool or in_own_stream:
            raise ReentrantCallError(
                "this conversation's round is still running and would wait for itself: a tool (or the "
                "code consuming stream()) called send/stream on its own conversation. Use another "
                "Conversation, or act after the round has finished."
            )

    @contextmanager
    def _mark_round(self) -> Iterator[None]:
        token = _ROUNDS_IN_PROGRESS.set(_ROUNDS_IN_PROGRESS.get() | {id(self)})
        try:
            yield
        finally:
            _ROUNDS_IN_PROGRESS.reset(token)

    def _commit(self, staged: list[Message], usage: Usage, finish_reason: str) -> None:
        kept = list(self.to_history(tuple(staged)))
        strays = [m for m in kept if not isinstance(m, Message)]
        if strays:
            raise ConfigurationError(f"to_history() must return Messages, not {type(strays[0]).__name__}")
        self._history.extend(kept)
        self.last_usage = usage
        self.usage = self.usage + usage
        self.last_finish_reason = finish_reason

    def format_tool_error(self, failure: ToolFailure) -> str:
        """The text the model reads when a tool call fails: a malformed call, an unknown tool, invalid
        arguments, a :class:`~hermitcrab.errors.ToolRetry`, a timeout, an exception or a result that
        cannot be shown as text (``failure.kind`` says which).

        An override point: the default is hermitcrab's wording, ``failure.text``. Override it to word
        errors for your model (shorter, in its language, with hints), e.g.
        ``return f"{failure.call.name} failed, try again" if failure.kind == "raised" else failure.text``.
        With ``tool_errors="raise"`` a tool's exception aborts the round instead and this is not called.
        """
        return failure.text

    def to_history(self, messages: Sequence[Message]) -> Sequence[Message]:
        """The messages of a round that ended well that join the history, in order.

        ``messages`` are the round's messages: the user's, each reply that called tools and the tool
        results, output corrections, and the final answer last. An override point: the default keeps
        them all. Override it to keep less (only the question and the answer), or to rewrite messages
        (redact a tool result). Keep a tool-calling reply together with its results: templates expect
        them in pairs. It runs once per round before anything is committed; if it raises, the round
        fails and the history stays as it was. The round's events are not affected.
        """
        return messages

    def output_instruction(self, schema: dict[str, Any]) -> str:
        """The text added to a round's first message (in prompts only) when it has an ``output_type``.

        Override it to word the request differently for your model.
        """
        return (
            "Answer with JSON that matches this JSON schema, and nothing else (no other text, no code "
            f"fence):\n{json.dumps(schema, ensure_ascii=False)}"
        )

    # -- history management ---------------------------------------------------------------------
    def clear(self) -> None:
        """Forget the history (system prompt, pinned messages and tools stay)."""
        self._history.clear()

    # -- persistence ----------------------------------------------------------------------------
    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the conversation (system, pinned, history, usage) as versioned JSON, atomically:
        the file is either the old one or the complete new one, never half-written.

        Raises :class:`~hermitcrab.errors.SaveFileError` naming the file when it cannot be written
        (missing folder, no permission, disk full); the old file is then untouched and no temporary
        file is left behind.
        """
        data = {
            "format": SAVE_FORMAT,
            "version": SAVE_VERSION,
            "system": self.system,
            "pinned": [m.model_dump(mode="json") for m in self._pinned],
            "history": [m.model_dump(mode="json") for m in self._history],
            "usage": self.usage.to_dict(),
        }
        target = Path(path)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        except OSError as exc:
            raise SaveFileError(f"cannot save the conversation to {str(path)!r}: {exc}") from exc
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(data, f, ensure_ascii=False, indent=1)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                Path(tmp).unlink(missing_ok=True)
            if isinstance(exc, OSError):
                raise SaveFileError(f"cannot save the conversation to {str(path)!r}: {exc}") from exc
            raise

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str],
        engine: Engine,
        *,
        tools: Iterable[Tool[..., Any] | Callable[..., Any]] | Tool[..., Any] | Callable[..., Any] = (),
        system: str | None = None,
        pinned: Iterable[Message | str] | None = None,
        **kwargs: Any,
    ) -> Conversation:
        """Read a conversation written by :meth:`save`. Tools are not saved: pass them again.

        ``system`` and ``pinned``, when given, replace the saved ones; other keyword arguments go to
        the constructor (``history`` cannot: it is what the file holds).

        Raises :class:`~hermitcrab.errors.SaveFileError` naming the file for a missing, unreadable,
        corrupt or foreign file (not UTF-8, not JSON, nested too deeply, an invalid version, message or
        usage count) and :class:`~hermitcrab.errors.SaveFileVersionError` for one written by a newer
        format version.
        """
        if "history" in kwargs:
            raise ConfigurationError(
                "Conversation.load takes the history from the file; to start from other messages, "
                "create Conversation(engine, history=...)"
            )
        name = str(path)
        try:
            raw_bytes = Path(path).read_bytes()
        except OSError as exc:
            raise SaveFileError(f"cannot read saved conversation {name!r}: {exc}") from exc
        try:
            raw = raw_bytes.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise SaveFileError(
                f"{name!r} is not UTF-8 text, so not a saved hermitcrab conversation: {exc}"
            ) from exc
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as exc:
            raise SaveFileError(f"{name!r} is not valid JSON (corrupt save file?): {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != SAVE_FORMAT:
            raise SaveFileError(f"{name!r} is not a saved hermitcrab conversation")
        version = data.get("version")
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise SaveFileError(f"{name!r} has no valid format version (found {version!r})")
        if version > SAVE_VERSION:
            raise SaveFileVersionError(
                f"{str(path)!r} was written in format version {version}; this hermitcrab reads up to "
                f"version {SAVE_VERSION}. Upgrade hermitcrab to load it."
            )
        try:
            saved_pinned = [Message.model_validate(m) for m in _json_list(data, "pinned")]
            history = [Message.model_validate(m) for m in _json_list(data, "history")]
            usage = Usage.from_dict(data.get("usage", {}))
            saved_system = data.get("system")
            if saved_system is not None and not isinstance(saved_system, str):
                raise TypeError("system must be a string")
        except (pydantic.ValidationError, TypeError, ValueError, AttributeError, RecursionError) as exc:
            raise SaveFileError(f"{name!r} holds invalid conversation data: {exc}") from exc
        conversation = cls(
            engine,
            system=saved_system if system is None else system,
            tools=tools,
            pinned=saved_pinned if pinned is None else pinned,
            history=history,
            **kwargs,
        )
        conversation.usage = usage
        return conversation

    # -- lifecycle ------------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close the conversation: waits for a running round, then frees the engine's per-conversation
        state (e.g. its KV cache). Further rounds raise :class:`ConversationClosedError`."""
        if self._closed:
            return
        self._check_reentrant()
        async with self._round_lock():
            self._closed = True
            self.engine.release_session(self)

    async def __aenter__(self) -> Conversation:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return (
            f"<Conversation engine={type(self.engine).__name__} messages={len(self._history)} "
            f"tools={list(self._tools)}>"
        )


class RoundStream(AsyncIterator[Event]):
    """The events of one round (what :meth:`Conversation.stream` returns): an async iterator that is
    also an async context manager; ``aclose()`` cancels the round if it is still running."""

    __slots__ = ("__weakref__", "_events", "_handle")

    def __init__(self, events: AsyncGenerator[Event, None], handle: _RoundHandle | None = None) -> None:
        self._events = events
        self._handle = handle

    @property
    def output(self) -> Any:
        """The round's parsed answer (with ``output_type``) once it has ended well, else ``None``."""
        return self._handle.output if self._handle is not None else None

    def __aiter__(self) -> RoundStream:
        return self

    async def __anext__(self) -> Event:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        """Stop the round (rolled back if it had not finished) and release the conversation."""
        await self._events.aclose()

    async def __aenter__(self) -> RoundStream:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()


class _RoundHandle:
    """Identifies a running round; ``events`` is a weak reference to its event generator."""

    __slots__ = ("events", "output")

    def __init__(self) -> None:
        self.events: weakref.ref[RoundStream] | None = None
        self.output: Any = None


def _tool_entries(tools: object) -> Iterable[Any]:
    """``tools=`` as a sequence: a single tool or function is accepted as a list of one."""
    if isinstance(tools, Tool) or callable(tools):
        return (tools,)
    if isinstance(tools, (str, bytes)) or not isinstance(tools, Iterable):
        raise ConfigurationError(
            "tools must be a tool, a function, or a list of them (e.g. tools=[get_weather]), "
            f"not {type(tools).__name__}"
        )
    return tools


def _reserve_new_tokens(
    engine: Engine, max_new_tokens: int | None, options: GenerationOptions
) -> tuple[int, int | None]:
    """``(reserved, sent)``: the tokens a conversation reserves for each reply, and the
    ``max_new_tokens`` it puts in its generation options (``None``: the engine's own limit applies)."""
    context = engine.max_context_size
    requested = max_new_tokens if max_new_tokens is not None else options.max_new_tokens
    source = "max_new_tokens"
    if requested is not None:
        reserved, sent = requested, requested
    elif (own := engine.default_max_new_tokens) is not None:
        reserved, sent = own, None
        source = f"the engine's own max_new_tokens ({type(engine).__name__} generation settings)"
    else:
        reserved = min(512, max(1, context // 4))
        sent = reserved
    if isinstance(reserved, bool) or not isinstance(reserved, int) or not 0 < reserved < context:
        raise ConfigurationError(
            f"{source} must be between 1 and the context size ({context}) minus 1, not {reserved!r}; "
            "pass max_new_tokens=... to the Conversation"
        )
    return reserved, sent


def _json_list(data: dict[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise TypeError(f"{key!r} must be a list, not {type(value).__name__}")
    return value


async def _engine_stream(
    engine: Engine, prompt: list[Message], tools: tuple[Any, ...], options: GenerationOptions
) -> AsyncGenerator[Any, None]:
    """The engine's stream with its unexpected errors wrapped as :class:`EngineError`, and any failure
    of an engine that was closed meanwhile reported as :class:`ConversationClosedError`."""
    stream = engine.stream(prompt, tools=tools, options=options)
    try:
        async for event in stream:
            yield event
    except ConversationClosedError:
        raise
    except Exception as exc:
        if engine.closed:
            raise ConversationClosedError(
                f"the {type(engine).__name__} was closed while this round was generating; nothing of "
                "the round was committed"
            ) from exc
        if isinstance(exc, HermitcrabError):
            raise
        raise EngineError(f"{type(engine).__name__} failed: {type(exc).__name__}: {exc}") from exc
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()
