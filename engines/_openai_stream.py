"""Decoding an OpenAI-compatible chat-completions stream: server-sent events in, engine events out.

Two small, synchronous, I/O-free pieces so they can be tested and reasoned about on their own:

* :class:`_SSEDecoder` turns the lines of a ``text/event-stream`` body into the ``data`` payload of each
  event (``data: [DONE]`` included; comments and unknown fields are ignored, as the SSE spec says).
* :class:`_ChunkAssembler` turns decoded ``chat.completion.chunk`` objects into hermitcrab events:
  text and reasoning deltas as they come, and each tool call once it is complete. Native tool calls
  arrive as ``tool_calls`` deltas (``index``, ``id``, ``function.name``, argument fragments) and are
  assembled here; in text mode the content goes through a hermitcrab
  :class:`~hermitcrab.prompting._base.ToolCallParser` instead.

Problems the model can fix (arguments that are not JSON, a call without a name) become a
:class:`~hermitcrab.messages.ToolCall` with ``error`` set. Problems of the *server* (a payload that is
not JSON, a chunk of the wrong shape, a server-reported error) raise :class:`_StreamProtocolError`,
which the engine maps to :class:`~hermitcrab.errors.ServerError`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hermitcrab.events import ReasoningDelta, TextDelta, ToolCallEvent, Usage
from hermitcrab.messages import ToolCall, new_call_id
from hermitcrab.prompting._base import ParserEvent, ToolCallParser

__all__ = ()

_FINISH_REASONS = {"length": "length", "tool_calls": "tool_calls", "function_call": "tool_calls"}


class _StreamProtocolError(Exception):
    """The server's stream is not valid chat-completions SSE (or it reported an error inside it)."""

    def __init__(self, message: str, *, status_code: int | None = None, reported: bool = False) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.reported = reported
        """True when the server itself reported the error (``data: {"error": ...}``)."""


class _SSEDecoder:
    """Server-sent events, line by line: ``feed(line)`` returns the event's data when one is complete."""

    def __init__(self) -> None:
        self._data: list[str] = []

    def feed(self, line: str) -> str | None:
        """Consume one line (without its line ending); return an event's data at its blank line."""
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None  # a comment (keep-alive)
        field, sep, value = line.partition(":")
        if sep and value.startswith(" "):
            value = value[1:]
        if field == "data":
            self._data.append(value)
        return None  # event:, id:, retry: and unknown fields carry nothing we use

    def finish(self) -> str | None:
        """The data of a last event that was not followed by a blank line, if any."""
        return self._dispatch()

    def _dispatch(self) -> str | None:
        if not self._data:
            return None
        data = "\n".join(self._data)
        self._data = []
        return data


@dataclass
class _PartialCall:
    index: int
    id: str | None = None
    name: str = ""
    arguments: str = ""


def _finish_call(partial: _PartialCall) -> ToolCall:
    """The :class:`ToolCall` that a fully streamed call describes (malformed calls carry ``error``)."""
    call_id = partial.id or new_call_id()
    raw = partial.arguments
    if not partial.name:
        return ToolCall(
            id=call_id,
            name="",
            error="the tool call has no function name; call one of the tools you were given by name",
            raw=raw,
        )
    if not raw.strip():
        return ToolCall(id=call_id, name=partial.name, arguments={})
    try:
        arguments = json.loads(raw)
    except json.JSONDecodeError as exc:
        return ToolCall(
            id=call_id,
            name=partial.name,
            error=f"the arguments are not valid JSON ({exc}); send them as one JSON object",
            raw=raw,
        )
    if not isinstance(arguments, dict):
        return ToolCall(
            id=call_id,
            name=partial.name,
            error="the arguments must be a JSON object mapping parameter names to values",
            raw=raw,
        )
    return ToolCall(id=call_id, name=partial.name, arguments=arguments)


class _ChunkAssembler:
    """Turns parsed chunk objects into events and remembers what the Completion needs.

    ``parser`` switches on text mode: content is fed to it and it finds the tool calls. Native
    ``tool_calls`` deltas are assembled in either mode (a server with a tool parser may send them).
    """

    def __init__(self, parser: ToolCallParser | None = None) -> None:
        self._parser = parser
        self._calls: dict[int, _PartialCall] = {}
        self._current: int | None = None
        self._done_indexes: set[int] = set()
        self.finish_reason: str | None = None
        self.usage: Usage | None = None
        self.received_chunks = 0

    # -- input --------------------------------------------------------------------------------
    def feed_data(self, data: str) -> list[ParserEvent]:
        """Consume one SSE ``data`` payload (a JSON chunk); return the events it completes."""
        try:
            chunk = json.loads(data)
        except json.JSONDecodeError as exc:
            raise _StreamProtocolError(
                f"the server sent an event that is not JSON ({exc}): {data[:200]!r}"
            ) from exc
        return self.feed_chunk(chunk)

    def feed_chunk(self, chunk: Any) -> list[ParserEvent]:
        """Consume one decoded chunk (streamed ``delta`` or a whole non-streamed ``message``)."""
        if not isinstance(chunk, Mapping):
            raise _StreamProtocolError(f"expected a JSON object per event, got {type(chunk).__name__}")
        if chunk.get("error"):
            raise _stream_error(chunk["error"])
        self.received_chunks += 1
        usage = chunk.get("usage")
        if isinstance(usage, Mapping):
            self.usage = _usage_from_dict(usage)
        choices = chunk.get("choices") or []
        if not isinstance(choices, list):
            raise _StreamProtocolError(f"'choices' must be a list, got {type(choices).__name__}")
        events: list[ParserEvent] = []
        for choice in choices:
            if not isinstance(choice, Mapping):
                raise _StreamProtocolError("each choice must be a JSON object")
            if choice.get("index", 0) != 0:
                continue  # we ask for one choice; ignore any others
            delta = choice.get("delta")
            if delta is None:
                delta = choice.get("message")  # a non-streamed completion
            if delta is not None:
                if not isinstance(delta, Mapping):
                    raise _StreamProtocolError("a choice's 'delta' must be a JSON object")
                events.extend(self._feed_delta(delta))
            reason = choice.get("finish_reason")
            if reason:
                self.finish_reason = _FINISH_REASONS.get(str(reason), "stop")
                events.extend(self._close_calls())
        return events

    def finish(self) -> list[ParserEvent]:
        """The end of the stream: flush the parser and any call still open."""
        events = self._close_calls()
        if self._parser is not None:
            events.extend(self._parser.finish())
            self._parser = None
        return events

    # -- internals ----------------------------------------------------------------------------
    def _feed_delta(self, delta: Mapping[str, Any]) -> list[ParserEvent]:
        events: list[ParserEvent] = []
        reasoning = delta.get("reasoning_content") or delta.get("reasoning")
        if isinstance(reasoning, str) and reasoning:
            events.append(ReasoningDelta(reasoning))
        content = delta.get("content")
        if isinstance(content, list):  # content parts
            content = "".join(
                str(p.get("text", "")) for p in content if isinstance(p, Mapping) and p.get("type") == "text"
            )
        if isinstance(content, str) and content:
            if self._parser is not None:
                events.extend(self._parser.feed(content))
            else:
                events.append(TextDelta(content))
        tool_calls = delta.get("tool_calls")
        if tool_calls:
            if not isinstance(tool_calls, list):
                raise _StreamProtocolError("'tool_calls' must be a list")
            for fragment in tool_calls:
                events.extend(self._feed_call_fragment(fragment))
        return events

    def _feed_call_fragment(self, fragment: Any) -> list[ParserEvent]:
        if not isinstance(fragment, Mapping):
            raise _StreamProtocolError("each 'tool_calls' entry must be a JSON object")
        index = fragment.get("index")
        if not isinstance(index, int):
            # Some servers omit the index: a fragment with an id starts a new call, one without
            # continues the open call.
            if fragment.get("id") or self._current is None:
                index = max([*self._calls, *self._done_indexes], default=-1) + 1
            else:
                index = self._current
        if index in self._done_indexes:
            raise _StreamProtocolError(
                f"a fragment of tool call {index} arrived after that call was complete"
            )
        events: list[ParserEvent] = []
        if index != self._current and index not in self._calls:
            events.extend(self._close_calls())  # the next call starts: the previous one is complete
        partial = self._calls.setdefault(index, _PartialCall(index))
        self._current = index
        if fragment.get("id") and not partial.id:
            partial.id = str(fragment["id"])
        function = fragment.get("function") or {}
        if not isinstance(function, Mapping):
            raise _StreamProtocolError("a tool call's 'function' must be a JSON object")
        name = function.get("name")
        if isinstance(name, str) and name and name != partial.name:
            partial.name += name
        arguments = function.get("arguments")
        if isinstance(arguments, Mapping):  # some servers send the decoded object
            partial.arguments += json.dumps(arguments, ensure_ascii=False)
        elif isinstance(arguments, str):
            partial.arguments += arguments
        return events

    def _close_calls(self) -> list[ParserEvent]:
        events: list[ParserEvent] = []
        for index in sorted(self._calls):
            events.append(ToolCallEvent(_finish_call(self._calls[index])))
            self._done_indexes.add(index)
        self._calls.clear()
        self._current = None
        return events


def _usage_from_dict(data: Mapping[str, Any]) -> Usage:
    details = data.get("prompt_tokens_details") or {}
    cached = details.get("cached_tokens") if isinstance(details, Mapping) else None
    try:
        return Usage(
            prompt_tokens=int(data.get("prompt_tokens") or 0),
            completion_tokens=int(data.get("completion_tokens") or 0),
            cached_tokens=int(cached or 0),
            requests=1,
        )
    except (TypeError, ValueError) as exc:
        raise _StreamProtocolError(f"the server's usage report is not numeric: {dict(data)!r}") from exc


def _stream_error(error: Any) -> _StreamProtocolError:
    """A server-reported error inside the stream (vLLM and others send ``data: {"error": {...}}``)."""
    if isinstance(error, Mapping):
        message = str(error.get("message") or error)
        code = error.get("code")
        status = code if isinstance(code, int) and 100 <= code < 600 else None
        return _StreamProtocolError(
            f"the server reported an error in the stream: {message}", status_code=status, reported=True
        )
    return _StreamProtocolError(f"the server reported an error in the stream: {error}", reported=True)
