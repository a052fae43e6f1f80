"""Running the tool calls of one model reply.

Every call becomes exactly one tool-result message, in call order. Problems the model can fix (a
malformed call, an unknown tool, arguments that fail validation, a tool that raised or timed out) become
error results it can read; with ``on_error="raise"`` a tool's own exception instead aborts the round as
:class:`~hermitcrab.errors.ToolExecutionError`. Calls of one reply run concurrently in a task group: sync
tools in worker threads, async tools natively, each with its timeout and optional tenacity retries.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import pydantic
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from hermitcrab.errors import ToolExecutionError
from hermitcrab.messages import Message, ToolCall
from hermitcrab.tools import Tool, format_validation_error

__all__ = ("DispatchPolicy", "run_tool_calls", "truncate_to_tokens")

TRUNCATION_MARKER = "\n[... truncated: the result had {total} tokens; only the first {kept} are shown]"


@dataclass(frozen=True)
class DispatchPolicy:
    """How a conversation runs tools (built from the Conversation's arguments)."""

    on_error: Literal["feedback", "raise"]
    max_result_tokens: int
    count_tokens: Callable[[str], int]
    parallel: bool = True


def truncate_to_tokens(text: str, budget: int, count_tokens: Callable[[str], int]) -> str:
    """``text`` cut to at most ``budget`` tokens, with a marker saying so (O(log n) token counts)."""
    total = count_tokens(text)
    if total <= budget:
        return text
    marker_room = count_tokens(TRUNCATION_MARKER.format(total=total, kept=budget))
    room = max(0, budget - marker_room)
    lo, hi = 0, len(text)
    while lo < hi:  # longest prefix that fits in `room` tokens
        mid = (lo + hi + 1) // 2
        if count_tokens(text[:mid]) <= room:
            lo = mid
        else:
            hi = mid - 1
    kept = count_tokens(text[:lo])
    return text[:lo] + TRUNCATION_MARKER.format(total=total, kept=kept)


async def run_tool_calls(
    calls: Sequence[ToolCall],
    tools: Mapping[str, Tool],
    policy: DispatchPolicy,
    mark_round: Callable[[], AbstractContextManager[None]],
) -> list[Message]:
    """Answer every call with a tool-result message, in call order.

    ``mark_round`` is entered around each tool's execution (the conversation uses it to detect a tool
    calling back into its own conversation).
    """
    results: list[Message | None] = [None] * len(calls)

    async def one(index: int, call: ToolCall) -> None:
        with mark_round():
            results[index] = await _answer(call, tools, policy)

    if policy.parallel and len(calls) > 1:
        async with anyio.create_task_group() as tg:
            for index, call in enumerate(calls):
                tg.start_soon(one, index, call)
    else:
        for index, call in enumerate(calls):
            await one(index, call)
    return [r for r in results if r is not None]


def _error(call: ToolCall, text: str) -> Message:
    return Message.tool_result(call, f"Error: {text}", is_error=True)


async def _answer(call: ToolCall, tools: Mapping[str, Tool], policy: DispatchPolicy) -> Message:
    if call.error is not None:
        return _error(
            call, f"your tool call could not be parsed: {call.error}. Write the call again, correctly."
        )
    tool = tools.get(call.name)
    if tool is None:
        available = ", ".join(sorted(tools)) or "none"
        return _error(call, f"there is no tool named {call.name!r}. Available tools: {available}.")
    try:
        kwargs = tool.validate(call.arguments)
    except pydantic.ValidationError as exc:
        return _error(call, format_validation_error(tool, exc))
    try:
        value = await _execute(tool, kwargs)
    except _ToolTimeout:
        return _error(call, f"tool {tool.name!r} timed out after {tool.timeout:g} s.")
    except Exception as exc:
        if policy.on_error == "raise":
            raise ToolExecutionError(
                f"tool {tool.name!r} raised {type(exc).__name__}: {exc}", tool_name=tool.name
            ) from exc
        return _error(call, f"tool {tool.name!r} failed with {type(exc).__name__}: {exc}")
    text = tool.result_to_text(value)
    text = truncate_to_tokens(text, policy.max_result_tokens, policy.count_tokens)
    return Message.tool_result(call, text)


async def _execute(tool: Tool, kwargs: dict[str, Any]) -> Any:
    """Run the tool once per attempt (retries only for its declared ``retry_on`` exceptions)."""
    if tool.retries and tool.retry_on:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(tool.retries + 1),
            retry=retry_if_exception_type(tool.retry_on),
            wait=wait_exponential(multiplier=0.05, max=2.0),
            sleep=anyio.sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await _attempt(tool, kwargs)
    return await _attempt(tool, kwargs)


def _boxed(fn: Callable[..., Any], kwargs: dict[str, Any]) -> tuple[Any]:
    return (fn(**kwargs),)


class _ToolTimeout(Exception):
    """The tool's own timeout expired (distinct from a TimeoutError the tool itself raised)."""


async def _attempt(tool: Tool, kwargs: dict[str, Any]) -> Any:
    with anyio.move_on_after(tool.timeout):  # None means no limit
        if tool.is_async:
            return await tool.fn(**kwargs)
        # abandon_on_cancel: a timed-out sync tool cannot be interrupted; the round moves on without it.
        # The result travels in a 1-tuple: trio refuses a thread function whose result is a coroutine.
        (value,) = await anyio.to_thread.run_sync(
            functools.partial(_boxed, tool.fn, kwargs), abandon_on_cancel=True
        )
        if inspect.isawaitable(value):  # a plain function that returns a coroutine (e.g. a wrapper)
            value = await value
        return value
    raise _ToolTimeout
