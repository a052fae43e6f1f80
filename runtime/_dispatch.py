"""Running the tool calls of one model reply.

Every call becomes exactly one tool-result message, in call order. Problems the model can fix (a
malformed call, an unknown tool, arguments that fail validation, a tool that raised or timed out, a
result that cannot be turned into text) become error results it can read: each is described by a
:class:`ToolFailure`, and the policy's ``describe`` (``Conversation.format_tool_error``) words it. With
``on_error="raise"`` a tool's own exception instead aborts the round as
:class:`~hermitcrab.errors.ToolExecutionError` (the first failing call's, in call order, with the others
on its ``others``; never an exception group).

A tool that raises :class:`~hermitcrab.errors.ToolRetry` asks the model for another call: within the
tool's ``max_retries`` per round (counted in the round's ``retries``) that is an error result and never
aborts the round; one more is a failure like any other.
Calls of one reply run concurrently in a task group: sync tools in worker threads, async tools
natively, each with its timeout and optional tenacity retries.

A sync tool's thread cannot be killed: when the round stops waiting for it (cancellation, timeout),
its cancel flag (``tools/_cancel.py``) is set so the tool can see it through
:func:`~hermitcrab.tools.tool_cancelled` and return early; until it does, the thread runs on.

The results of one reply then share what the prompt budget leaves (:func:`fit_results`): each is cut to
``max_result_tokens``, and lower still when together they would not fit. Counting and cutting large
results runs in a worker thread, so a megabyte of tool output never stalls the event loop.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import anyio.to_thread
import pydantic
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    retry_if_not_exception_type,
    stop_after_attempt,
    wait_exponential,
)

from hermitcrab.errors import ConfigurationError, ToolExecutionError, ToolRetry
from hermitcrab.messages import Message, ToolCall
from hermitcrab.tools import Tool, format_validation_error
from hermitcrab.tools._cancel import CancelFlag, call_scope
from hermitcrab.tools._schema import validator_class

__all__ = (
    "DispatchPolicy",
    "ToolFailure",
    "fit_results",
    "run_tool_calls",
    "share_budget",
    "truncate_to_tokens",
)

TRUNCATION_MARKER = "\n[... truncated: the result had {total} tokens; only the first {kept} are shown]"

MIN_RESULT_TOKENS = 16
"""No result is cut below this many tokens (the truncation marker alone takes about as many)."""

_INLINE_CHARS = 8_192
"""Results this short (in total) are counted and cut on the event loop; longer ones in a thread."""

_COUNT_CHUNK = 16_384
"""Long texts are counted in pieces this long, so the counting thread gives the GIL back often."""


ToolFailureKind = Literal[
    "malformed", "unknown_tool", "invalid_arguments", "retry", "timeout", "raised", "bad_result"
]


@dataclass(frozen=True)
class ToolFailure:
    """A tool call that did not give a result, as the model will be told about it.

    :meth:`Conversation.format_tool_error <hermitcrab.Conversation.format_tool_error>` turns it into
    the text of the error result; :attr:`text` is hermitcrab's own wording.
    """

    kind: ToolFailureKind
    """What went wrong: ``"malformed"`` (the call could not be parsed), ``"unknown_tool"``,
    ``"invalid_arguments"`` (validation failed), ``"retry"`` (the tool raised
    :class:`~hermitcrab.errors.ToolRetry`), ``"timeout"``, ``"raised"`` (the tool raised; also a
    ``ToolRetry`` past the tool's ``max_retries``) or ``"bad_result"`` (the result cannot be shown as
    text)."""
    call: ToolCall
    """The call as the model wrote it."""
    tool: Tool[..., Any] | None
    """The tool called (``None`` for a malformed call or an unknown tool)."""
    error: BaseException | None
    """The exception behind it (pydantic's ``ValidationError``, the tool's exception, the
    ``ToolRetry``), if any."""
    text: str
    """hermitcrab's default text for the model (``"Error: ..."``)."""


def _default_text(failure: ToolFailure) -> str:
    return failure.text


@dataclass(frozen=True)
class DispatchPolicy:
    """How a conversation runs tools (built from the Conversation's arguments)."""

    on_error: Literal["feedback", "raise"]
    max_result_tokens: int
    count_tokens: Callable[[str], int]
    parallel: bool = True
    describe: Callable[[ToolFailure], str] = _default_text
    """Words a failed call for the model (``Conversation.format_tool_error``)."""


# -- counting and cutting (thread-safe, pure) ---------------------------------------------------------
def _count(text: str, count_tokens: Callable[[str], int]) -> int:
    """Tokens in ``text``: exact for short texts; for long ones the sum over pieces cut just before a
    space or newline (where tokenizers split anyway; elsewhere a token or so may differ per seam), which
    keeps each call to the tokenizer short."""
    if len(text) <= _COUNT_CHUNK:
        return count_tokens(text)
    total, start = 0, 0
    while start < len(text):
        end = start + _COUNT_CHUNK
        if end < len(text):
            seam = max(text.rfind(" ", start + 1, end), text.rfind("\n", start + 1, end))
            end = seam if seam > start + _COUNT_CHUNK // 2 else end
        total += count_tokens(text[start:end])
        start = end
    return total


def truncate_to_tokens(text: str, budget: int, count_tokens: Callable[[str], int]) -> str:
    """``text`` cut to at most ``budget`` tokens, with a marker saying so.

    Cost: one count of the whole text (in pieces) plus O(log n) counts of prefixes about ``budget``
    tokens long, never O(log n) counts of the whole text.
    """
    total = _count(text, count_tokens)
    if total <= budget and len(text) > _COUNT_CHUNK:
        total = count_tokens(text)  # counted in pieces and close to the limit: count exactly
    if total <= budget:
        return text
    marker_room = count_tokens(TRUNCATION_MARKER.format(total=total, kept=budget))
    room = max(0, budget - marker_room)
    # Gallop from a guess (the text's own characters per token) to a prefix that is too long...
    per_token = max(1.0, len(text) / max(1, total))
    lo, hi = 0, min(len(text), int(room * per_token) + 1)
    while hi < len(text) and count_tokens(text[:hi]) <= room:
        lo, hi = hi, min(len(text), hi * 2)
    # ...then bisect: the longest prefix that fits in `room` tokens.
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if count_tokens(text[:mid]) <= room:
            lo = mid
        else:
            hi = mid - 1
    kept = count_tokens(text[:lo])
    return text[:lo] + TRUNCATION_MARKER.format(total=total, kept=kept)


def share_budget(lengths: Sequence[int], cap: int, room: int | None) -> int:
    """The per-result token limit for results of ``lengths`` tokens: ``cap``, lowered (water-filling)
    until the results, each cut to the limit, fit in ``room`` together. Never below
    :data:`MIN_RESULT_TOKENS`. ``room=None`` means no shared limit."""
    if room is None:
        return cap
    sizes = sorted(min(n, cap) for n in lengths)
    remaining = room
    for i, size in enumerate(sizes):
        left = len(sizes) - i  # results still to place, each at least `size` long
        if size * left > remaining:
            return max(MIN_RESULT_TOKENS, remaining // left)
        remaining -= size
    return cap


def fit_results(
    texts: Sequence[str], fixed: Sequence[str], policy: DispatchPolicy, room: int | None
) -> list[str]:
    """``texts`` (successful results) cut so that each fits ``policy.max_result_tokens`` and, with the
    ``fixed`` texts (error results, never cut), all fit ``room`` tokens. Blocking: run it in a thread
    when the texts are long."""
    count = policy.count_tokens
    lengths = [_count(t, count) for t in texts]
    if room is not None:
        room -= sum(count(t) for t in fixed)
    limit = share_budget(lengths, policy.max_result_tokens, room)
    return [
        t if n <= limit else truncate_to_tokens(t, limit, count) for t, n in zip(texts, lengths, strict=True)
    ]


# -- running the calls --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Text:
    """A successful result's text, still to be fitted to the budget (error results are Messages)."""

    text: str


async def run_tool_calls(
    calls: Sequence[ToolCall],
    tools: Mapping[str, Tool[..., Any]],
    policy: DispatchPolicy,
    mark_round: Callable[[], AbstractContextManager[None]],
    room: int | None = None,
    retries: dict[str, int] | None = None,
) -> list[Message]:
    """Answer every call with a tool-result message, in call order.

    ``mark_round`` is entered around each tool's execution (the conversation uses it to detect a tool
    calling back into its own conversation). ``room`` is the number of tokens the results may take
    together (``None``: only ``policy.max_result_tokens`` applies to each). ``retries`` counts, per
    tool name, the :class:`~hermitcrab.errors.ToolRetry` requests of the round so far (updated here).

    Raises:
        ToolExecutionError: with ``on_error="raise"``, the first failing call's (in call order); the
            other calls are cancelled, and errors of calls that failed too are on its ``others``.
    """
    outcomes: list[ToolFailure | _Text | None] = [None] * len(calls)
    failures: list[tuple[int, ToolExecutionError]] = []
    counts = retries if retries is not None else {}

    async def one(index: int, call: ToolCall, scope: anyio.CancelScope | None) -> None:
        try:
            with mark_round():
                outcomes[index] = await _answer(call, tools, policy, counts)
        except ToolExecutionError as exc:
            failures.append((index, exc))
            if scope is not None:
                scope.cancel()  # the round is lost: stop the other calls now

    if policy.parallel and len(calls) > 1:
        async with anyio.create_task_group() as tg:
            for index, call in enumerate(calls):
                tg.start_soon(one, index, call, tg.cancel_scope)
    else:
        for index, call in enumerate(calls):
            await one(index, call, None)
            if failures:
                break
    if failures:
        failures.sort(key=lambda item: item[0])
        first = failures[0][1]
        first.others = tuple(exc for _, exc in failures[1:])
        raise first
    # Failures are worded here, in call order on the loop, once every call has run.
    answers = [o if isinstance(o, _Text) else _error(policy, o) for o in outcomes if o is not None]
    return await _fitted(calls, answers, policy, room)


async def _fitted(
    calls: Sequence[ToolCall], outcomes: list[Message | _Text], policy: DispatchPolicy, room: int | None
) -> list[Message]:
    """The outcomes as messages, successful texts fitted to the budget (in a thread when long)."""
    texts = [o.text for o in outcomes if isinstance(o, _Text)]
    fixed = [o.text for o in outcomes if isinstance(o, Message)]
    fit = functools.partial(fit_results, texts, fixed, policy, room)
    if sum(map(len, texts)) <= _INLINE_CHARS:
        fitted = iter(fit())
    else:
        fitted = iter(await anyio.to_thread.run_sync(fit, abandon_on_cancel=True))
    return [
        Message.tool_result(call, next(fitted)) if isinstance(o, _Text) else o
        for call, o in zip(calls, outcomes, strict=True)
    ]


def _error(policy: DispatchPolicy, failure: ToolFailure) -> Message:
    """The error result the model reads for ``failure``, worded by the policy."""
    text = policy.describe(failure)
    if not isinstance(text, str):
        raise ConfigurationError(f"format_tool_error() must return a str, not {type(text).__name__}")
    return Message.tool_result(failure.call, text, is_error=True)


def _with_texts(call: ToolCall, tool: Tool[..., Any]) -> Mapping[str, Any]:
    """The call's arguments, where a value that a format without types decoded from its text
    (``ToolCall.texts``) goes back to that text if the tool's schema refuses the value and takes the
    text: a string parameter holding ``12345`` or ``3.10`` gets the string the model wrote."""
    if not call.texts:
        return call.arguments
    validator = validator_class(tool.parameters)(tool.parameters)

    def refused(args: Mapping[str, Any]) -> set[Any]:
        return {error.path[0] for error in validator.iter_errors(dict(args)) if error.path}

    args = dict(call.arguments)
    try:
        bad = refused(args)
        for name, text in call.texts.items():
            if name in bad and name in args:
                candidate = {**args, name: text}
                if name not in refused(candidate):
                    args = candidate
    except Exception:  # a schema jsonschema cannot use (bad or unresolvable): pydantic alone decides
        return call.arguments
    return args


async def _answer(
    call: ToolCall, tools: Mapping[str, Tool[..., Any]], policy: DispatchPolicy, retries: dict[str, int]
) -> ToolFailure | _Text:
    def fail(
        kind: ToolFailureKind,
        text: str,
        tool: Tool[..., Any] | None = None,
        error: BaseException | None = None,
    ) -> ToolFailure:
        return ToolFailure(kind, call, tool, error, f"Error: {text}")

    if call.error is not None:
        return fail(
            "malformed", f"your tool call could not be parsed: {call.error}. Write the call again, correctly."
        )
    tool = tools.get(call.name)
    if tool is None:
        available = ", ".join(sorted(tools)) or "none"
        return fail("unknown_tool", f"there is no tool named {call.name!r}. Available tools: {available}.")
    try:
        kwargs = tool.validate(_with_texts(call, tool))
    except pydantic.ValidationError as exc:
        return fail("invalid_arguments", format_validation_error(tool, exc), tool, exc)
    try:
        value = await _execute(tool, kwargs)
    except _ToolTimeout:
        return fail("timeout", f"tool {tool.name!r} timed out after {tool.timeout:g} s.", tool)
    except ToolRetry as exc:
        used = retries.get(tool.name, 0)
        if used < tool.max_retries:
            retries[tool.name] = used + 1
            return fail("retry", f"tool {tool.name!r} asks you to call it again: {exc.message}", tool, exc)
        times = f"{tool.max_retries} time{'s' if tool.max_retries != 1 else ''}"
        text = (
            f"tool {tool.name!r} failed: it asked for another call more than {times} this round "
            f"({exc.message})"
        )
        if policy.on_error == "raise":
            raise ToolExecutionError(text, tool_name=tool.name) from exc
        return fail("raised", text, tool, exc)
    except (Exception, GeneratorExit) as exc:  # GeneratorExit from a tool is the tool's error too
        if isinstance(exc, _FromThread):
            exc = exc.original
        if policy.on_error == "raise":
            raise ToolExecutionError(
                f"tool {tool.name!r} raised {type(exc).__name__}: {exc}", tool_name=tool.name
            ) from exc
        return fail("raised", f"tool {tool.name!r} failed with {type(exc).__name__}: {exc}", tool, exc)
    try:
        return _Text(tool.result_to_text(value))
    except Exception as exc:
        return fail(
            "bad_result",
            f"tool {tool.name!r} returned a {type(value).__name__} that cannot be shown as text "
            f"({type(exc).__name__}: {_short(exc)}).",
            tool,
            exc,
        )


def _short(exc: BaseException, limit: int = 200) -> str:
    try:
        text = str(exc)
    except Exception:
        return "?"
    return text if len(text) <= limit else text[:limit] + "..."


async def _execute(tool: Tool[..., Any], kwargs: dict[str, Any]) -> Any:
    """Run the tool once per attempt (retries only for its declared ``retry_on`` exceptions)."""
    if tool.retries and tool.retry_on:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(tool.retries + 1),
            # A ToolRetry is for the model to act on, never retried here.
            retry=retry_if_exception_type(tool.retry_on) & retry_if_not_exception_type(ToolRetry),
            wait=wait_exponential(multiplier=0.05, max=2.0),
            sleep=anyio.sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await _attempt(tool, kwargs)
    return await _attempt(tool, kwargs)


class _FromThread(Exception):
    """Carries a GeneratorExit raised by a sync tool out of its thread: asyncio would throw it into
    the awaiting coroutine, which then stops as if it were being closed."""

    def __init__(self, original: GeneratorExit) -> None:
        super().__init__(str(original))
        self.original = original


def _boxed(fn: Callable[..., Any], kwargs: dict[str, Any], flag: CancelFlag) -> tuple[Any]:
    with call_scope(flag):
        try:
            return (fn(**kwargs),)
        except GeneratorExit as exc:
            raise _FromThread(exc) from exc


class _ToolTimeout(Exception):
    """The tool's own timeout expired (distinct from a TimeoutError the tool itself raised)."""


async def _attempt(tool: Tool[..., Any], kwargs: dict[str, Any]) -> Any:
    flag = CancelFlag()
    try:
        with anyio.move_on_after(tool.timeout):  # None means no limit
            if tool.is_async:
                with call_scope(flag):
                    return await tool.fn(**kwargs)
            # abandon_on_cancel: a sync tool cannot be interrupted; the round moves on without it and
            # the flag tells the tool. The result travels in a 1-tuple: trio refuses a thread function
            # whose result is a coroutine.
            (value,) = await anyio.to_thread.run_sync(
                functools.partial(_boxed, tool.fn, kwargs, flag), abandon_on_cancel=True
            )
            if inspect.isawaitable(value):  # a plain function that returns a coroutine (e.g. a wrapper)
                with call_scope(flag):
                    value = await value
            return value
        raise _ToolTimeout
    finally:
        flag.set()  # whatever happened, nobody waits for this call any more
