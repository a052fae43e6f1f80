"""The :class:`OpenAIEngine`: hermitcrab conversations on any OpenAI-compatible chat-completions server.

vLLM, TGI, SGLang, llama.cpp's server and ``transformers serve`` all speak ``POST /v1/chat/completions``
with server-sent events. This engine streams from them with ``httpx`` (the optional ``[openai]``
extra), so the same :class:`~hermitcrab.runtime.Conversation`, tools and streaming code that runs on a
local :class:`~hermitcrab.engines.HuggingEngine` runs against a GPU cluster. ``docs/openai.md`` shows
the server flags for tool calling.
"""

from __future__ import annotations

import email.utils
import json
import logging
import math
import os
import random
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, cast

import anyio
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception_type, stop_after_attempt

from hermitcrab.engines._base import Engine, ToolSchema, completion_from_events
from hermitcrab.engines._openai_stream import _ChunkAssembler, _SSEDecoder, _StreamProtocolError
from hermitcrab.errors import (
    ConfigurationError,
    ConversationClosedError,
    MissingDependencyError,
    ModelLoadError,
    ServerError,
)
from hermitcrab.events import (
    Completion,
    EngineEvent,
    GenerationOptions,
    ReasoningDelta,
    TextDelta,
    ToolCallEvent,
    Usage,
)
from hermitcrab.messages import Message
from hermitcrab.prompting._base import ParserEvent, ToolCallParser

if TYPE_CHECKING:
    import httpx

__all__ = ("OpenAIEngine",)

logger = logging.getLogger("hermitcrab.engines.openai")

_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
_MESSAGE_OVERHEAD = 8
"""Estimated tokens a chat template adds around each message (role markers, separators)."""
_PROMPT_OVERHEAD = 8
"""Estimated tokens a chat template adds once per prompt (BOS, the generation prompt)."""
_TOOLS_OVERHEAD = 32
"""Estimated tokens a chat template adds around the tool schemas (instructions, markup)."""
_MAX_SCALE = 4.0


def _import_httpx() -> Any:
    try:
        import httpx
    except ImportError as exc:
        raise MissingDependencyError(
            "OpenAIEngine needs httpx, which is not installed; run: pip install 'hermitcrab[openai]'"
        ) from exc
    return httpx


class _Retryable(Exception):
    """One attempt failed in a way that may succeed when tried again (before any output was shown)."""

    def __init__(self, error: ServerError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


@dataclass
class _Stream:
    """One successfully opened response and the decoding state that goes with it."""

    response: httpx.Response
    assembler: _ChunkAssembler
    lines: AsyncIterator[str] | None = None
    decoder: _SSEDecoder = field(default_factory=_SSEDecoder)
    first: list[ParserEvent] = field(default_factory=list)
    done: bool = False
    saw_done: bool = False


class OpenAIEngine(Engine):
    """An :class:`~hermitcrab.engines._base.Engine` backed by an OpenAI-compatible HTTP server.

    ``base_url`` is the API root including ``/v1`` (``"http://gpu-node:8000/v1"``); ``model`` the name
    the server serves. One engine (one connection pool) serves many conversations at once.

    **Tool calls, two modes.** *Native* (the default, ``tool_parser=None``): tool schemas go in the
    request's ``tools`` and the server's own tool parser returns ``tool_calls``, whose streamed
    argument fragments are assembled here; each call is emitted as a ``ToolCallEvent`` as soon as it
    is complete (when the next call starts, or at ``finish_reason``). *Text* (``tool_parser="hermes"``,
    a :class:`~hermitcrab.prompting._base.ToolCallParser`, or ``"auto"`` with a ``tokenizer`` whose
    chat template names the format): for servers started without a tool parser. The schemas are still
    sent, with ``tool_choice="none"`` so the server renders them into the prompt without parsing the
    reply, and hermitcrab's parser finds the calls in the streamed text (``options.tool_choice`` is
    not enforced in this mode). Either way a call whose arguments are not valid JSON becomes a
    :class:`~hermitcrab.messages.ToolCall` with ``error`` set, never an exception.

    **Token counting.** With ``tokenizer`` (a transformers tokenizer, or a path/name for
    ``AutoTokenizer``) counts are *exact*: prompts are rendered with the tokenizer's chat template,
    which must be the one the server uses. ``message_len`` is the difference the message makes to a
    rendered prompt, so it can differ by a token or two at template boundaries; ``prompt_len`` is
    exact. Without a tokenizer both are a deliberately *conservative estimate*: UTF-8 bytes / 3
    (``bytes_per_token``) per message plus 8 tokens of template overhead per message, 8 per prompt
    and 32 plus the schemas' JSON for tools. Byte-level BPE vocabularies average about 4 bytes per
    token on English and fewer on code and non-Latin text, so the estimate errs high. The server's
    reported ``usage`` then calibrates it: when a server counts more prompt tokens than estimated,
    later estimates are scaled up (never down, at most 4x). ``Completion.usage`` always carries the
    server's own counts when it reports them (``stream_options.include_usage``), and the estimate
    otherwise.

    **Failures.** Connection errors, timeouts, HTTP 408/425/429/5xx, malformed SSE or JSON, and a
    stream that breaks before any output was streamed are retried up to ``max_retries`` times with
    exponential backoff and jitter (honouring ``Retry-After``, up to ``max_retry_wait`` seconds).
    Other statuses (400, 401, 404, ...) fail at once. A stream that breaks *after* text or a tool call
    was yielded is never retried: a retry would stream the reply again and duplicate what the
    consumer already showed; it raises :class:`~hermitcrab.errors.ServerError` instead, and a
    conversation discards the partial reply, so its history is unchanged and the user can send again.
    Every failure is a :class:`~hermitcrab.errors.ServerError` (``status_code`` set when the server
    answered) whose ``__cause__`` is the underlying exception.

    **Cancellation.** Cancelling the consuming task or closing the stream early (``aclose()``) closes
    the HTTP response, which closes the connection, so the server stops generating.

    To change the request (extra sampling fields, a different ``tool_choice`` policy), pass
    ``GenerationOptions.extra`` (merged into the request body) or override :meth:`build_request`.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        max_context_size: int = 4096,
        tokenizer: Any = None,
        tool_parser: str | ToolCallParser | type[ToolCallParser] | None = None,
        timeout: float = 120.0,
        connect_timeout: float = 10.0,
        max_retries: int = 3,
        backoff: float = 0.5,
        max_retry_wait: float = 60.0,
        max_connections: int = 100,
        include_usage: bool = True,
        bytes_per_token: float = 3.0,
        headers: Mapping[str, str] | None = None,
        client: httpx.AsyncClient | None = None,
        structured_output: Literal["json_schema", "json_object", "off"] = "json_schema",
    ) -> None:
        """Configure the engine; nothing is sent until the first :meth:`stream`.

        ``timeout`` bounds each read, write and pool wait (seconds without a byte from the server),
        ``connect_timeout`` the TCP connect. ``max_retries`` retries follow the first attempt.
        ``max_connections`` bounds concurrent requests (one connection per streaming reply; more wait
        for a free one). ``client`` lets you share your own ``httpx.AsyncClient`` (it is not closed by
        :meth:`close`, and ``max_connections`` does not apply to it).

        ``structured_output`` says how a round's ``output_type`` reaches the server: ``"json_schema"``
        sends ``response_format`` with the JSON schema (OpenAI, vLLM, SGLang, llama-server, TGI's
        grammar); ``"json_object"`` only asks for JSON (servers with a JSON mode but no schemas);
        ``"off"`` sends nothing (servers that reject ``response_format``). In every case the
        conversation shows the schema to the model and validates the answer, retrying with the errors.
        """
        http = _import_httpx()
        if not isinstance(base_url, str) or not base_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"base_url must be an http(s) URL such as 'http://localhost:8000/v1', not {base_url!r}"
            )
        if not model:
            raise ConfigurationError("model must name the model the server serves (see GET /v1/models)")
        if max_context_size <= 0:
            raise ConfigurationError(f"max_context_size must be positive, not {max_context_size}")
        if max_retries < 0:
            raise ConfigurationError(f"max_retries must be 0 or more, not {max_retries}")
        if timeout <= 0 or connect_timeout <= 0 or backoff < 0 or max_retry_wait < 0:
            raise ConfigurationError(
                "timeout and connect_timeout must be positive; backoff and max_retry_wait >= 0"
            )
        if max_connections <= 0:
            raise ConfigurationError(f"max_connections must be positive, not {max_connections}")
        if bytes_per_token <= 0:
            raise ConfigurationError(f"bytes_per_token must be positive, not {bytes_per_token}")
        if structured_output not in ("json_schema", "json_object", "off"):
            raise ConfigurationError(
                f"structured_output must be 'json_schema', 'json_object' or 'off', not {structured_output!r}"
            )
        self.structured_output = structured_output
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.max_context_size = max_context_size
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_retry_wait = max_retry_wait
        self.include_usage = include_usage
        self.bytes_per_token = bytes_per_token
        self.tokenizer = _load_tokenizer(tokenizer) if tokenizer is not None else None
        self.tool_parser = self._resolve_parser(tool_parser)
        self._headers = {"Accept": "text/event-stream", **(headers or {})}
        if api_key:
            self._headers["Authorization"] = f"Bearer {api_key}"
        self._timeout = http.Timeout(timeout, connect=connect_timeout)
        self._limits = http.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._owns_client = client is None
        self._client: httpx.AsyncClient | None = client
        self._scale = 1.0
        self._closed = False

    # -- configuration helpers ----------------------------------------------------------------
    def _resolve_parser(self, tool_parser: Any) -> ToolCallParser | None:
        if tool_parser is None:
            return None
        from hermitcrab import prompting

        if tool_parser == "auto":
            template = getattr(self.tokenizer, "chat_template", None)
            if not template:
                raise ConfigurationError(
                    "tool_parser='auto' needs a tokenizer with a chat template to detect the format; "
                    "pass tokenizer=... or name the format (e.g. tool_parser='hermes')"
                )
            return prompting.resolve_parser(None, chat_template=template)
        if not isinstance(tool_parser, (str, ToolCallParser, type)):
            raise ConfigurationError(
                "tool_parser must be None (native tool calls), 'auto', a format name, or a ToolCallParser "
                f"class or instance, not {tool_parser!r}"
            )
        return prompting.resolve_parser(tool_parser)

    def _parser_for(self, messages: Sequence[Message], tools: Sequence[ToolSchema]) -> ToolCallParser | None:
        """A fresh text-mode parser for this prompt (started inside ``<think>`` when the prompt opens it)."""
        if self.tool_parser is None:
            return None
        for_prompt = getattr(self.tool_parser, "for_prompt", None)
        if self.tokenizer is None or for_prompt is None:
            return self.tool_parser.clone()
        try:
            prompt = self.tokenizer.apply_chat_template(
                [m.to_dict() for m in messages],
                tools=[dict(t) for t in tools] or None,
                add_generation_prompt=True,
                tokenize=False,
            )
        except Exception:  # the server renders its own prompt; a local render is only a hint
            return self.tool_parser.clone()
        parser: ToolCallParser = for_prompt(prompt)
        return parser

    @property
    def client(self) -> httpx.AsyncClient:
        """The ``httpx.AsyncClient`` used for requests (created on first use)."""
        if self._closed:
            raise ConversationClosedError("this OpenAIEngine has been closed; create a new one")
        if self._client is None:
            http = _import_httpx()
            self._client = http.AsyncClient(timeout=self._timeout, limits=self._limits)
        return self._client

    # -- token counting -----------------------------------------------------------------------
    def message_len(self, message: Message) -> int:
        """Tokens ``message`` adds to a prompt (exact-by-difference with a tokenizer, else an estimate)."""
        if self.tokenizer is not None:
            return self._exact_message_len(message)
        return math.ceil(self._estimate_message(message) * self._scale)

    def prompt_len(self, messages: Sequence[Message], tools: Sequence[ToolSchema] = ()) -> int:
        """Tokens of the prompt for ``messages`` and ``tools`` (exact with a tokenizer, else an estimate)."""
        if self.tokenizer is not None:
            if not messages:
                # The fixed overhead conversations add to the sum of message_len (transformers will
                # not render an empty conversation): measured with a short probe message.
                probe = Message.user("a")
                return self._render_len([probe], tools, add_generation_prompt=True) - self.message_len(probe)
            return self._render_len(messages, tools, add_generation_prompt=True)
        return math.ceil(self._estimate_prompt(messages, tools) * self._scale)

    def count_tokens(self, text: str) -> int:
        """Tokens in plain ``text``: the tokenizer's count, or the byte-based estimate."""
        if self.tokenizer is not None:
            return len(self.tokenizer.encode(text, add_special_tokens=False))
        return math.ceil(len(text.encode("utf-8")) / self.bytes_per_token * self._scale)

    def _estimate_message(self, message: Message) -> float:
        size = len(message.text.encode("utf-8"))
        if message.reasoning:
            size += len(message.reasoning.encode("utf-8"))
        for call in message.tool_calls:
            size += len(json.dumps(call.to_dict(style="openai"), ensure_ascii=False).encode("utf-8"))
        if message.name:
            size += len(message.name.encode("utf-8"))
        return size / self.bytes_per_token + _MESSAGE_OVERHEAD

    def _estimate_prompt(self, messages: Sequence[Message], tools: Sequence[ToolSchema]) -> float:
        total = _PROMPT_OVERHEAD + sum(self._estimate_message(m) for m in messages)
        if tools:
            schemas = json.dumps(list(tools), ensure_ascii=False).encode("utf-8")
            total += _TOOLS_OVERHEAD + len(schemas) / self.bytes_per_token
        return total

    def _render_len(
        self, messages: Sequence[Message], tools: Sequence[ToolSchema], *, add_generation_prompt: bool
    ) -> int:
        assert self.tokenizer is not None
        try:
            text = self.tokenizer.apply_chat_template(
                [m.to_dict() for m in messages],
                tools=[dict(t) for t in tools] or None,
                add_generation_prompt=add_generation_prompt,
                tokenize=False,
            )
        except Exception as exc:
            raise ConfigurationError(
                f"the tokenizer's chat template could not render this prompt ({exc}); pass the tokenizer "
                "of the model the server runs, or tokenizer=None for estimated counts"
            ) from exc
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def _exact_message_len(self, message: Message) -> int:
        # What the message adds after a fixed system message (so templates that insert a default
        # system prompt do not count it); system messages are measured alone.
        if message.role == "system":
            return self._render_len([message], (), add_generation_prompt=False)
        anchor = Message.system("")
        try:
            return self._render_len([anchor, message], (), add_generation_prompt=False) - self._render_len(
                [anchor], (), add_generation_prompt=False
            )
        except ConfigurationError:
            # Templates that insist on a strict role order: measure the content alone.
            return self.count_tokens(message.text) + _MESSAGE_OVERHEAD

    # -- requests -----------------------------------------------------------------------------
    def build_request(
        self, messages: Sequence[Message], tools: Sequence[ToolSchema], options: GenerationOptions
    ) -> dict[str, Any]:
        """The JSON body of the chat-completions request (override to add or change fields)."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [m.to_dict(style="openai") for m in messages],
            "stream": True,
        }
        if self.include_usage:
            body["stream_options"] = {"include_usage": True}
        if options.max_new_tokens is not None:
            body["max_tokens"] = options.max_new_tokens
        if options.temperature is not None:
            body["temperature"] = options.temperature
        if options.top_p is not None:
            body["top_p"] = options.top_p
        if options.stop:
            body["stop"] = list(options.stop)
        if options.seed is not None:
            body["seed"] = options.seed
        if tools:
            body["tools"] = [dict(t) for t in tools]
            if self.tool_parser is not None:
                body["tool_choice"] = "none"  # render the schemas, but let hermitcrab parse the reply
            elif options.tool_choice in ("auto", "none", "required"):
                body["tool_choice"] = options.tool_choice
            elif options.tool_choice:
                body["tool_choice"] = {"type": "function", "function": {"name": options.tool_choice}}
        if options.output_schema is not None and self.structured_output == "json_schema":
            schema = {"name": "output", "schema": dict(options.output_schema)}
            body["response_format"] = {"type": "json_schema", "json_schema": schema}
        elif options.output_schema is not None and self.structured_output == "json_object":
            body["response_format"] = {"type": "json_object"}
        body.update(options.extra)
        return body

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] = (),
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[EngineEvent]:
        """Stream one assistant reply from the server: deltas, complete tool calls, one Completion."""
        self._check_open()
        body = self.build_request(messages, tools, options)
        parser = self._parser_for(messages, tools)
        try:
            opened = await self._open_with_retries(body, parser)
        except Exception as exc:
            self._check_open(during=exc)
            raise
        events: list[EngineEvent] = []
        try:
            for event in opened.first:
                events.append(event)
                yield event
            while not opened.done:
                try:
                    batch = await self._next_events(opened)
                except Exception as exc:
                    self._check_open(during=exc)
                    raise self._broken_midway(exc, events) from exc
                for event in batch:
                    events.append(event)
                    yield event
            try:
                _check_complete(opened)
                tail = opened.assembler.finish()
            except Exception as exc:
                self._check_open(during=exc)
                raise self._broken_midway(exc, events) from exc
            for event in tail:
                events.append(event)
                yield event
        finally:
            await _close_response(opened.response, opened.lines)
        self._check_open(during=True)  # close() cut the reply short: it is not a reply
        yield self._completion(messages, tools, events, opened.assembler)

    def _check_open(self, *, during: BaseException | bool = False) -> None:
        """Raise :class:`ConversationClosedError` if the engine was closed (before a request, or
        ``during`` one: then from the error the closing caused, if any)."""
        if not self._closed:
            return
        if not during:
            raise ConversationClosedError("this OpenAIEngine has been closed; create a new one")
        error = ConversationClosedError("this OpenAIEngine was closed while it streamed this reply")
        if isinstance(during, BaseException):
            raise error from during
        raise error

    def _completion(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema],
        events: list[EngineEvent],
        assembler: _ChunkAssembler,
    ) -> Completion:
        usage = assembler.usage
        if usage is not None and self.tokenizer is None and usage.prompt_tokens > 0:
            estimate = self._estimate_prompt(messages, tools)
            if usage.prompt_tokens > estimate * self._scale:
                self._scale = min(_MAX_SCALE, usage.prompt_tokens / estimate)
        if usage is None:
            generated = "".join(
                e.text
                if isinstance(e, (TextDelta, ReasoningDelta))
                else json.dumps(e.call.to_dict(style="openai"))
                if isinstance(e, ToolCallEvent)
                else ""
                for e in events
            )
            usage = Usage(self.prompt_len(messages, tools), self.count_tokens(generated), 0, 1)
        return completion_from_events(events, usage, assembler.finish_reason or "stop")

    # -- the transport boundary: every httpx error is mapped here ----------------------------
    async def _open_with_retries(self, body: dict[str, Any], parser: ToolCallParser | None) -> _Stream:
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.max_retries + 1),
            wait=self._retry_wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=anyio.sleep,
            before_sleep=self._log_retry,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._attempt(body, parser.clone() if parser is not None else None)
        except _Retryable as failure:
            attempts = self.max_retries + 1
            error = ServerError(
                f"{failure.error} (gave up after {attempts} attempt{'s' if attempts > 1 else ''})",
                status_code=failure.error.status_code,
            )
            raise error from failure.error.__cause__
        raise AssertionError("unreachable: tenacity either returns or raises")  # pragma: no cover

    async def _attempt(self, body: dict[str, Any], parser: ToolCallParser | None) -> _Stream:
        """Send the request and read until the first events (or the end): everything that may be retried."""
        http = _import_httpx()
        url = f"{self.base_url}/chat/completions"
        response: httpx.Response | None = None
        opened: _Stream | None = None
        try:
            request = self.client.build_request(
                "POST", url, json=body, headers=self._headers, timeout=self._timeout
            )
            response = await self.client.send(request, stream=True)
            if response.status_code >= 400:
                await response.aread()
                raise _status_failure(response, url, self.max_retry_wait)
            opened = _Stream(response, _ChunkAssembler(parser))
            content_type = response.headers.get("content-type", "")
            if "text/event-stream" in content_type:
                opened.lines = response.aiter_lines()
                while not opened.first and not opened.done:
                    opened.first = await self._next_events(opened)
                if opened.done:
                    _check_complete(opened)
            elif "json" in content_type:  # a server that ignored stream=true answered in one piece
                await response.aread()
                try:
                    payload = response.json()
                except ValueError as exc:
                    raise _StreamProtocolError(f"the server's JSON reply is not valid JSON ({exc})") from exc
                opened.first = opened.assembler.feed_chunk(payload)
                opened.done = True
            else:
                raise _StreamProtocolError(
                    f"expected a text/event-stream reply, got content-type {content_type!r}; "
                    "is base_url the server's OpenAI-compatible API root (ending in /v1)?"
                )
            return opened
        except BaseException as exc:
            if response is not None:
                await _close_response(response, opened.lines if opened is not None else None)
            if isinstance(exc, _StreamProtocolError):
                status = exc.status_code
                if status is not None and 400 <= status < 500 and status not in _RETRY_STATUSES:
                    raise ServerError(f"{url} rejected the request: {exc}", status_code=status) from exc
                what = "error from" if exc.reported else "malformed reply from"
                error = ServerError(f"{what} {url}: {exc}", status_code=status)
                error.__cause__ = exc
                raise _Retryable(error) from exc
            if isinstance(exc, http.UnsupportedProtocol):
                raise ConfigurationError(f"base_url {self.base_url!r} is not usable: {exc}") from exc
            if isinstance(exc, http.TransportError):
                error = ServerError(_describe_transport_error(exc, url))
                error.__cause__ = exc
                raise _Retryable(error) from exc
            if isinstance(exc, http.HTTPError):
                raise ServerError(f"request to {url} failed: {exc}") from exc
            raise

    async def _next_events(self, opened: _Stream) -> list[ParserEvent]:
        """Read SSE lines until they complete at least one event or the stream ends."""
        assert opened.lines is not None
        while True:
            try:
                line = await opened.lines.__anext__()
            except StopAsyncIteration:
                opened.done = True
                data = opened.decoder.finish()
                if opened.saw_done:
                    return []
                if data is None or data.strip() == "[DONE]":
                    opened.saw_done = opened.saw_done or data is not None
                    return []
                return opened.assembler.feed_data(data)
            data = opened.decoder.feed(line)
            if data is None or opened.saw_done:
                continue  # after [DONE], read on to the end of the body so the connection can be reused
            if data.strip() == "[DONE]":
                opened.saw_done = True
                continue
            events = opened.assembler.feed_data(data)
            if events:
                return events

    def _broken_midway(self, exc: Exception, events: list[EngineEvent]) -> ServerError:
        """The error for a stream that failed after output reached the consumer (never retried)."""
        http = _import_httpx()
        what = (
            _describe_transport_error(exc, self.base_url)
            if isinstance(exc, http.TransportError)
            else str(exc)
        )
        shown = sum(len(e.text) for e in events if isinstance(e, (TextDelta, ReasoningDelta)))
        calls = sum(1 for e in events if isinstance(e, ToolCallEvent))
        status = exc.status_code if isinstance(exc, _StreamProtocolError) else None
        return ServerError(
            f"the server's stream broke after {shown} character(s) and {calls} tool call(s) were streamed: "
            f"{what}. Not retried, because a retry would repeat output already shown; the partial reply "
            "is discarded (a conversation's history is unchanged), so send the message again to retry.",
            status_code=status,
        )

    def _retry_wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return exc.retry_after
        base = min(self.max_retry_wait, self.backoff * 2 ** (state.attempt_number - 1))
        return cast(float, base * random.uniform(0.5, 1.0))

    def _log_retry(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        logger.warning(
            "%s: attempt %d of %d failed (%s); retrying in %.3f s",
            self.model,
            state.attempt_number,
            self.max_retries + 1,
            exc,
            wait,
        )

    # -- lifecycle ----------------------------------------------------------------------------
    async def close(self) -> None:
        """Close the connection pool (unless the client was passed in). The engine cannot be reused."""
        self._closed = True
        client, self._client = self._client, None
        if client is not None and self._owns_client:
            await client.aclose()

    async def __aenter__(self) -> OpenAIEngine:
        return self

    def __repr__(self) -> str:
        mode = f"text:{self.tool_parser.name}" if self.tool_parser is not None else "native"
        return f"OpenAIEngine({self.base_url!r}, {self.model!r}, tools={mode})"


def _check_complete(opened: _Stream) -> None:
    """A streamed reply that ended must have ended on purpose (``[DONE]`` or a ``finish_reason``)."""
    if opened.lines is not None and not opened.saw_done and opened.assembler.finish_reason is None:
        raise _StreamProtocolError("the stream ended without a finish_reason or [DONE]")


def _load_tokenizer(tokenizer: Any) -> Any:
    if not isinstance(tokenizer, (str, os.PathLike)):
        if not callable(getattr(tokenizer, "apply_chat_template", None)):
            raise ConfigurationError(
                "tokenizer must be a transformers tokenizer (with apply_chat_template) or a path/name "
                f"for AutoTokenizer, not {type(tokenizer).__name__}"
            )
        return tokenizer
    try:
        from transformers import AutoTokenizer
    except ImportError as exc:
        raise MissingDependencyError(
            "loading a tokenizer by path needs transformers; run: pip install 'hermitcrab[hf]'"
        ) from exc
    try:
        return AutoTokenizer.from_pretrained(os.fspath(tokenizer))
    except Exception as exc:
        raise ModelLoadError(f"could not load the tokenizer {os.fspath(tokenizer)!r}: {exc}") from exc


def _status_failure(response: httpx.Response, url: str, max_retry_wait: float) -> Exception:
    """The exception for an HTTP error status: retryable (429, 5xx, ...) or final."""
    status = response.status_code
    detail = _error_detail(response)
    error = ServerError(f"{url} answered HTTP {status}: {detail}", status_code=status)
    if status not in _RETRY_STATUSES:
        hint = {
            401: " Check api_key.",
            403: " Check api_key.",
            404: " Check base_url (it should end in /v1) and model.",
        }.get(status, "")
        if status == 400 and "tool" in detail.lower():
            hint = (
                " If the server has no tool parser, start it with one (docs/openai.md) or use "
                "tool_parser=... for text mode."
            )
        return ServerError(f"{str(error).rstrip('.')}.{hint}", status_code=status)
    retry_after = _parse_retry_after(response.headers.get("retry-after"))
    if retry_after is not None and retry_after > max_retry_wait:
        return ServerError(
            f"{str(error).rstrip('.')}. The server asked to retry after {retry_after:g} s, longer than "
            f"max_retry_wait={max_retry_wait:g} s; try later or raise max_retry_wait.",
            status_code=status,
        )
    return _Retryable(error, retry_after)


def _error_detail(response: httpx.Response) -> str:
    text = response.text.strip()
    try:
        payload = json.loads(text)
    except ValueError:
        return text[:500] or response.reason_phrase
    if isinstance(payload, Mapping):
        inner = payload.get("error", payload)
        if isinstance(inner, Mapping) and inner.get("message"):
            return str(inner["message"])[:500]
        if isinstance(payload.get("message"), str):
            return cast(str, payload["message"][:500])
        if isinstance(payload.get("detail"), str):
            return cast(str, payload["detail"][:500])
    return text[:500]


def _parse_retry_after(value: str | None) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (RFC 9110); ``None`` if absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        seconds = when.timestamp() - time.time()
    if math.isnan(seconds):
        return None
    return max(0.0, seconds)


def _describe_transport_error(exc: Exception, url: str) -> str:
    http = _import_httpx()
    if isinstance(exc, http.ConnectTimeout):
        return f"timed out connecting to {url}"
    if isinstance(exc, http.ConnectError):
        return f"could not connect to {url} ({exc or 'connection refused'}); is the server running?"
    if isinstance(exc, http.TimeoutException):
        return f"timed out waiting for {url} ({type(exc).__name__}); raise timeout= if the model is slow"
    return f"the connection to {url} failed ({type(exc).__name__}: {exc or 'no detail'})"


async def _close_response(response: httpx.Response, lines: AsyncIterator[str] | None = None) -> None:
    """Close a response (and its line iterator) even when the task is being cancelled (bounded to 5 s)."""
    with anyio.move_on_after(5, shield=True):
        try:
            await response.aclose()
            if lines is not None:
                # httpx's line iterator wraps a chain of async generators; closing the outer one leaves
                # the inner ones suspended (trio warns when they are collected). Resuming it on the
                # closed response makes the whole chain end (StopAsyncIteration or a read error).
                for _ in range(10_000):
                    await lines.__anext__()
        except StopAsyncIteration:
            pass
        except Exception:  # closing a broken connection may itself fail; nothing left to do
            logger.debug("error while closing a response", exc_info=True)
