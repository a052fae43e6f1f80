"""A small, real OpenAI-compatible chat-completions server for the OpenAIEngine tests.

It speaks HTTP/1.1 (parsed with ``h11``, which httpx already depends on) over real loopback sockets
on ``127.0.0.1`` and an ephemeral port, from its own asyncio event loop in a background thread, so the
engine under test runs unchanged under asyncio *and* trio in the main thread. Routes:
``POST /v1/chat/completions`` (server-sent events, or one JSON body), ``GET /v1/models`` and
``GET /health``.

Each chat request takes the next scripted behaviour from a FIFO queue (:meth:`ChatServer.script`),
which is how a test makes the server misbehave for one request: an error status with ``Retry-After``
(:class:`Status`), a stream that breaks midway or carries malformed SSE/JSON (:class:`Stream` with
``drop_after`` or raw strings), a request that never gets an answer (:class:`Hang`), a connection
closed before any answer (:class:`Drop`), or a non-streamed reply (:class:`JsonReply`). With the queue
empty it echoes the last user message. Every request is recorded, and disconnects by the client
(cancellation) are observable through :attr:`ChatServer.disconnected`.
"""

from __future__ import annotations

import asyncio
import collections
import json
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

import h11

__all__ = (
    "Behaviour",
    "ChatServer",
    "Drop",
    "Hang",
    "JsonReply",
    "RecordedRequest",
    "Status",
    "Stream",
    "chunk",
    "text_stream",
    "tool_call_stream",
)

_MODEL = "tiny-test-model"


def chunk(
    delta: Mapping[str, Any] | None = None,
    *,
    finish_reason: str | None = None,
    usage: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One ``chat.completion.chunk`` object (no choices when only ``usage`` is given)."""
    out: dict[str, Any] = {
        "id": "chatcmpl-test",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": _MODEL,
    }
    if delta is None and usage is not None:
        out["choices"] = []
    else:
        out["choices"] = [{"index": 0, "delta": dict(delta or {}), "finish_reason": finish_reason}]
    if usage is not None:
        out["usage"] = dict(usage)
    return out


@dataclass
class Stream:
    """A streamed reply: ``chunks`` are chunk objects (sent as ``data: <json>``) or raw SSE text.

    ``usage`` is sent as a last chunk when the request asked for it; ``drop_after`` closes the
    connection abruptly after that many chunks (a stream that breaks); ``delay`` sleeps between
    chunks (so the client can disconnect mid-stream); ``done`` sends ``data: [DONE]`` at the end.
    """

    chunks: Sequence[Mapping[str, Any] | str]
    usage: Mapping[str, Any] | None = None
    drop_after: int | None = None
    delay: float = 0.0
    done: bool = True


@dataclass
class Status:
    """An HTTP error (or any status) with a body and extra headers, such as ``Retry-After``."""

    code: int
    body: str = ""
    headers: Mapping[str, str] = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class JsonReply:
    """A non-streamed ``chat.completion`` JSON body (a server that ignores ``stream: true``)."""

    body: Mapping[str, Any]


@dataclass
class Hang:
    """Read the request and never answer (until the client gives up or the server stops)."""


@dataclass
class Drop:
    """Close the connection right after reading the request, without any response."""


Behaviour = Union[Stream, Status, JsonReply, Hang, Drop]


def text_stream(
    *pieces: str, finish_reason: str = "stop", prompt_tokens: int = 11, cached: int = 0
) -> Stream:
    """A normal streamed text reply: a role chunk, one chunk per piece, a finish chunk, usage."""
    chunks: list[Mapping[str, Any] | str] = [chunk({"role": "assistant", "content": ""})]
    chunks += [chunk({"content": p}) for p in pieces]
    chunks.append(chunk({}, finish_reason=finish_reason))
    usage = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": len(pieces),
        "total_tokens": prompt_tokens + len(pieces),
        "prompt_tokens_details": {"cached_tokens": cached},
    }
    return Stream(chunks, usage=usage)


def tool_call_stream(*fragments: Mapping[str, Any], text: str = "") -> Stream:
    """A streamed tool-call reply: each fragment is one ``delta.tool_calls`` entry, in its own chunk."""
    chunks: list[Mapping[str, Any] | str] = [chunk({"role": "assistant", "content": text or None})]
    chunks += [chunk({"tool_calls": [dict(f)]}) for f in fragments]
    chunks.append(chunk({}, finish_reason="tool_calls"))
    return Stream(
        chunks, usage={"prompt_tokens": 20, "completion_tokens": len(fragments), "total_tokens": 21}
    )


@dataclass(frozen=True)
class RecordedRequest:
    """What the server received."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: Any


class ChatServer:
    """The server; ``with ChatServer() as server:`` starts it in a thread and stops it at the end."""

    def __init__(self) -> None:
        self._queue: collections.deque[Behaviour] = collections.deque()
        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.disconnected = threading.Event()
        """Set when a client closed its connection while a reply was streaming or pending."""
        self.connections = 0
        """TCP connections accepted since the last reset (keep-alive reuse keeps it low)."""
        self.request_received = threading.Event()
        """Set whenever a chat request arrives (tests clear it themselves)."""
        self._ready = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.port = 0

    # -- control (from the test's thread) -----------------------------------------------------
    @property
    def base_url(self) -> str:
        """The API root to give the engine."""
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next chat requests, in order."""
        with self._lock:
            self._queue.extend(behaviours)

    def reset(self) -> None:
        """Forget queued behaviours, recorded requests and disconnects."""
        with self._lock:
            self._queue.clear()
            self.requests.clear()
            self.connections = 0
        self.disconnected.clear()
        self.request_received.clear()

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """The recorded ``POST /v1/chat/completions`` requests."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/chat/completions")]

    def start(self) -> ChatServer:
        self._thread = threading.Thread(target=asyncio.run, args=(self._main(),), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the test server did not start within 10 s")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(10)

    def __enter__(self) -> ChatServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the server (in its own thread and loop) ----------------------------------------------
    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        with self._lock:
            self.connections += 1
        conn = h11.Connection(h11.SERVER)
        try:
            while True:
                request = await self._read_request(conn, reader)
                if request is None:
                    return
                keep_alive = await self._respond(conn, reader, writer, request)
                if not keep_alive or conn.our_state is not h11.DONE or conn.their_state is not h11.DONE:
                    return
                conn.start_next_cycle()
        except (ConnectionError, h11.ProtocolError, asyncio.CancelledError):
            return
        finally:
            self._tasks.discard(task)
            writer.transport.abort()

    async def _read_request(
        self, conn: h11.Connection, reader: asyncio.StreamReader
    ) -> RecordedRequest | None:
        head: h11.Request | None = None
        body = bytearray()
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await reader.read(65536)
                conn.receive_data(data)
                if not data and conn.their_state is h11.IDLE:
                    return None
                continue
            if isinstance(event, h11.Request):
                head = event
            elif isinstance(event, h11.Data):
                body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert head is not None
                headers = {k.decode().lower(): v.decode() for k, v in head.headers}
                payload: Any = json.loads(body) if body else None
                recorded = RecordedRequest(head.method.decode(), head.target.decode(), headers, payload)
                with self._lock:
                    self.requests.append(recorded)
                return recorded
            elif isinstance(event, h11.ConnectionClosed):
                return None

    async def _respond(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        request: RecordedRequest,
    ) -> bool:
        if request.method == "GET" and request.path == "/health":
            return await self._send_json(conn, writer, 200, {"status": "ok"})
        if request.method == "GET" and request.path == "/v1/models":
            return await self._send_json(conn, writer, 200, {"object": "list", "data": [{"id": _MODEL}]})
        if request.method != "POST" or request.path != "/v1/chat/completions":
            return await self._send_json(
                conn, writer, 404, {"error": {"message": f"no route {request.path}"}}
            )
        with self._lock:
            behaviour = self._queue.popleft() if self._queue else None
        self.request_received.set()
        if behaviour is None:
            behaviour = _echo(request.body)
        if isinstance(behaviour, Drop):
            return False
        if isinstance(behaviour, Hang):
            if await reader.read(1) == b"":  # returns when the client closes the connection
                self.disconnected.set()
            return False
        if isinstance(behaviour, Status):
            return await self._send_body(
                conn,
                writer,
                behaviour.code,
                behaviour.body.encode(),
                behaviour.content_type,
                behaviour.headers,
            )
        if isinstance(behaviour, JsonReply):
            return await self._send_json(conn, writer, 200, behaviour.body)
        return await self._send_stream(conn, reader, writer, behaviour, request.body)

    async def _send_stream(
        self,
        conn: h11.Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        stream: Stream,
        body: Any,
    ) -> bool:
        headers = [("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache")]
        writer.write(conn.send(h11.Response(status_code=200, headers=headers)))
        wants_usage = isinstance(body, Mapping) and bool(
            (body.get("stream_options") or {}).get("include_usage")
        )
        items: list[Mapping[str, Any] | str] = list(stream.chunks)
        if stream.usage is not None and wants_usage:
            items.append(chunk(usage=stream.usage))
        if stream.done:
            items.append("data: [DONE]\n\n")
        eof = asyncio.ensure_future(reader.read(1))  # completes when the client hangs up
        try:
            for i, item in enumerate(items):
                if stream.drop_after is not None and i == stream.drop_after:
                    await writer.drain()
                    return False  # the caller aborts the connection mid-body
                text = item if isinstance(item, str) else f"data: {json.dumps(item)}\n\n"
                writer.write(conn.send(h11.Data(data=text.encode())))
                await writer.drain()
                if stream.delay:
                    await asyncio.wait({eof}, timeout=stream.delay)
                if eof.done():
                    self.disconnected.set()
                    return False
            writer.write(conn.send(h11.EndOfMessage()))
            await writer.drain()
            return True
        except ConnectionError:
            self.disconnected.set()
            return False
        finally:
            eof.cancel()

    async def _send_json(
        self, conn: h11.Connection, writer: asyncio.StreamWriter, status: int, payload: Any
    ) -> bool:
        return await self._send_body(
            conn, writer, status, json.dumps(payload).encode(), "application/json", {}
        )

    async def _send_body(
        self,
        conn: h11.Connection,
        writer: asyncio.StreamWriter,
        status: int,
        data: bytes,
        content_type: str,
        extra: Mapping[str, str],
    ) -> bool:
        headers = [("content-type", content_type), ("content-length", str(len(data))), *extra.items()]
        writer.write(conn.send(h11.Response(status_code=status, headers=headers)))
        writer.write(conn.send(h11.Data(data=data)))
        writer.write(conn.send(h11.EndOfMessage()))
        await writer.drain()
        return True


def _echo(body: Any) -> Stream:
    """The default reply: ``echo: <last user message>`` in three pieces. A request with the test-only
    field ``echo_delay`` (``GenerationOptions(extra={"echo_delay": seconds})``) gets it word by word,
    that many seconds apart: a reply that is still streaming when its first word arrives."""
    last = ""
    for message in (body or {}).get("messages", []):
        if message.get("role") == "user":
            last = message.get("content") or ""
    text = f"echo: {last}"
    delay = (body or {}).get("echo_delay")
    if delay:
        words = [w + " " for w in text.split(" ")]
        words[-1] = words[-1].rstrip(" ")
        stream = text_stream(*words)
        stream.delay = float(delay)
        return stream
    third = max(1, len(text) // 3)
    return text_stream(text[:third], text[third : 2 * third], text[2 * third :])
