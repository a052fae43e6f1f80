"""``ScriptedEngine``: a deterministic engine that plays back scripted replies, for tests and demos.

Part of :mod:`hermitcrab.testing` (it used to live in ``hermitcrab.engines``).

It is a real :class:`~hermitcrab.engines._base.Engine`: it counts tokens with a fixed, documented rule,
streams replies in chunks of any size through a real tool-call parser (Hermes
``<tool_call>{json}</tool_call>``
by default), records every request it receives, and can be told to fail or to hang at any point, so an
application's fault handling can be tested without a model. ``close()`` behaves as a real engine's
must: a reply it interrupts (a ``Hang`` included) raises ``ConversationClosedError``, and so does every
later request.
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Union, cast

import anyio

from hermitcrab.engines._base import Engine, ToolSchema, completion_from_events
from hermitcrab.errors import ConfigurationError, ConversationClosedError, EngineError
from hermitcrab.events import (
    EngineEvent,
    GenerationOptions,
    ReasoningDelta,
    TextDelta,
    ToolCallEvent,
    Usage,
)
from hermitcrab.messages import Message
from hermitcrab.prompting._base import ToolCallParser

__all__ = ("Fail", "Hang", "Reply", "ReplyFunction", "ScriptedEngine", "ScriptedRequest")

_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Hang:
    """A scripted reply that streams ``after`` and then waits forever (until cancelled)."""

    after: str = ""


@dataclass(frozen=True)
class Fail:
    """A scripted reply that streams ``after`` and then raises ``error``."""

    error: BaseException
    after: str = ""


ReplyFunction = Callable[[Sequence[Message], Sequence[ToolSchema]], Any]
"""A function ``(messages, tools) -> reply`` (sync or async) that computes a scripted reply."""
Reply = Union[str, Message, Hang, Fail, BaseException, ReplyFunction]
"""One scripted reply: raw model text (parsed for tool calls), a ready :class:`Message`, :class:`Hang`,
:class:`Fail` or an exception to raise, or a function ``(messages, tools) -> reply`` (sync or async)
that computes the reply (text, a Message, Hang, Fail or an exception) from the prompt."""


@dataclass(frozen=True)
class ScriptedRequest:
    """What one ``stream`` call received (recorded in ``ScriptedEngine.requests``)."""

    messages: tuple[Message, ...]
    tools: tuple[ToolSchema, ...]
    options: GenerationOptions


class ScriptedEngine(Engine):
    """Plays back ``script`` in order, one reply per generation, shared by every conversation using it.

    ``script`` is a list of :data:`Reply` values, or a single reply function that answers every request.
    Token counting is deterministic: a message costs 2 tokens plus one per word or punctuation mark of
    its rendering (role, text, reasoning, tool calls as JSON); a prompt costs the sum of its messages,
    plus the same count of each tool's JSON schema, plus 2 for the generation prompt. A text reply
    longer than ``options.max_new_tokens`` tokens is cut there and finishes as ``"length"``.

    Args:
        script: The replies, in order, or one function that computes every reply.
        max_context_size: The context window to report (tokens).
        chunk_size: Characters per streamed chunk (replies are fed to the parser in chunks this size).
        delay: Seconds to sleep between chunks (0 still yields to the event loop each chunk).
        parser: The tool-call parser for text replies; Hermes by default.
    """

    def __init__(
        self,
        script: Iterable[Reply] | ReplyFunction = (),
        *,
        max_context_size: int = 8192,
        chunk_size: int = 8,
        delay: float = 0.0,
        parser: ToolCallParser | None = None,
    ) -> None:
        if chunk_size < 1:
            raise ConfigurationError(f"chunk_size must be at least 1, not {chunk_size}")
        if max_context_size < 1:
            raise ConfigurationError(f"max_context_size must be positive, not {max_context_size}")
        if delay < 0:
            raise ConfigurationError(f"delay must not be negative, not {delay}")
        self._function: ReplyFunction | None = None
        self._script: list[Reply] = []
        if callable(script) and not isinstance(script, (BaseException, type)):
            self._function = script
        else:
            self._script = list(cast("Iterable[Reply]", script))
        self._next = 0
        self.max_context_size = max_context_size
        self.chunk_size = chunk_size
        self.delay = delay
        self._parser = parser
        self.requests: list[ScriptedRequest] = []
        """Every request received, in order (for assertions in tests)."""
        self._closed = False
        self._wakers: set[anyio.Event] = set()

    # -- scripting ----------------------------------------------------------------------------
    def add(self, *replies: Reply) -> None:
        """Append replies to the script."""
        self._script.extend(replies)

    @property
    def remaining(self) -> int:
        """Scripted replies not yet played."""
        return len(self._script) - self._next

    # -- token counting -------------------------------------------------------------------------
    @staticmethod
    def _words(text: str) -> int:
        return len(_TOKEN.findall(text))

    def message_len(self, message: Message) -> int:
        """2 + the words and punctuation marks of the message's rendering."""
        pieces = [message.role, message.text, message.reasoning or ""]
        pieces.extend(json.dumps(c.to_dict(), ensure_ascii=False) for c in message.tool_calls)
        return 2 + sum(self._words(p) for p in pieces)

    def prompt_len(self, messages: Sequence[Message], tools: Sequence[ToolSchema] = ()) -> int:
        """Sum of ``message_len``, plus each tool schema's words, plus 2 for the generation prompt."""
        tools_len = sum(self._words(json.dumps(t, ensure_ascii=False, sort_keys=True)) for t in tools)
        return sum(self.message_len(m) for m in messages) + tools_len + 2

    def count_tokens(self, text: str) -> int:
        """Words and punctuation marks in ``text``."""
        return self._words(text)

    # -- generation ---------------------------------------------------------------------------
    async def _next_reply(self, messages: Sequence[Message], tools: Sequence[ToolSchema]) -> Reply:
        if self._function is not None:
            return self._function
        if self._next >= len(self._script):
            raise EngineError(
                f"ScriptedEngine has no scripted reply left for request {len(self.requests)} "
                f"(it was given {len(self._script)}); add more with engine.add(...)"
            )
        reply = self._script[self._next]
        self._next += 1
        return reply

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] = (),
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[EngineEvent]:
        """Play the next scripted reply as a stream of events ending with one ``Completion``."""
        self._check_open()
        self.requests.append(ScriptedRequest(tuple(messages), tuple(tools), options))
        await anyio.lowlevel.checkpoint()
        reply = await self._next_reply(messages, tools)
        _raise_if_exception(reply)
        if callable(reply) and not isinstance(reply, (Hang, Fail)):
            reply = reply(messages, tools)
            if inspect.isawaitable(reply):
                reply = await reply
            _raise_if_exception(reply)
        self._check_open()
        prompt_tokens = self.prompt_len(messages, tools)
        events: list[EngineEvent] = []
        finish = "stop"
        if isinstance(reply, Message):
            async for event in self._play_message(reply):
                events.append(event)
                yield event
            text_len = self.message_len(reply) - 2
        else:
            text, tail = _split_reply(cast("str | Hang | Fail", reply))  # exceptions were raised above
            cut = _cut_after_tokens(text, options.max_new_tokens)
            if cut is not None:  # the reply runs past max_new_tokens: cut it there, as a model would be
                text, tail, finish = cut, None, "length"
            parser = self._new_parser()
            for start in range(0, len(text), self.chunk_size):
                await self._pause()
                for event in parser.feed(text[start : start + self.chunk_size]):
                    events.append(event)
                    yield event
            if tail is not None:
                await self._pause()
                if isinstance(tail, Hang):
                    await self._hang()  # returns only by raising: cancelled, or the engine closed
                assert isinstance(tail, Fail)
                raise tail.error
            for event in parser.finish():
                events.append(event)
                yield event
            text_len = self._words(text)
        usage = Usage(prompt_tokens=prompt_tokens, completion_tokens=text_len, requests=1)
        yield completion_from_events(events, usage, finish)

    def _new_parser(self) -> ToolCallParser:
        if self._parser is None:
            from hermitcrab.prompting import get_parser

            self._parser = get_parser("hermes")
        return self._parser.clone()

    async def _pause(self) -> None:
        if self.delay:
            await anyio.sleep(self.delay)
        else:
            await anyio.lowlevel.checkpoint()
        self._check_open(during=True)

    async def _hang(self) -> None:
        """Wait until cancelled, or until the engine closes (then raise ConversationClosedError)."""
        waker = anyio.Event()
        self._wakers.add(waker)
        try:
            await waker.wait()
        finally:
            self._wakers.discard(waker)
        self._check_open(during=True)

    def _check_open(self, *, during: bool = False) -> None:
        if self._closed:
            what = "closed while generating this reply" if during else "closed"
            raise ConversationClosedError(f"this ScriptedEngine was {what}")

    async def close(self) -> None:
        """Close the engine: replies being streamed (hanging ones too) raise
        :class:`~hermitcrab.errors.ConversationClosedError` at their next step, as do later requests."""
        self._closed = True
        for waker in list(self._wakers):
            waker.set()

    async def _play_message(self, message: Message) -> AsyncIterator[EngineEvent]:
        if message.role != "assistant":
            raise ConfigurationError(
                f"a scripted Message reply must be an assistant message, not {message.role}"
            )
        for part in message.parts:
            await self._pause()
            if part.type == "text":
                yield TextDelta(part.text)
            elif part.type == "reasoning":
                yield ReasoningDelta(part.text)
            else:
                yield ToolCallEvent(part)


def _cut_after_tokens(text: str, limit: int | None) -> str | None:
    """``text`` up to the end of its ``limit``-th token, or ``None`` when it has no more tokens."""
    if limit is None:
        return None
    for i, match in enumerate(_TOKEN.finditer(text), start=1):
        if i == limit + 1:
            return text[: match.start()].rstrip()
    return None


def _raise_if_exception(reply: object) -> None:
    if isinstance(reply, BaseException):
        raise reply
    if isinstance(reply, type) and issubclass(reply, BaseException):
        raise reply()


def _split_reply(reply: str | Hang | Fail) -> tuple[str, Hang | Fail | None]:
    if isinstance(reply, str):
        return reply, None
    if isinstance(reply, (Hang, Fail)):
        return reply.after, reply
    raise ConfigurationError(
        "a scripted reply must be a str, Message, Hang, Fail, exception or function, "
        f"not {type(reply).__name__}"
    )
