"""The FastAPI app: conversations over HTTP, each round streamed as server-sent events.

=======  ==============================  =====================================================
method   path                            does
=======  ==============================  =====================================================
POST     /conversations                  create one; 201 ``{"id", "messages": [], "usage"}``
GET      /conversations/{id}             its committed history and token usage
POST     /conversations/{id}/messages    ``{"text": "..."}``: run one round, streamed as SSE
DELETE   /conversations/{id}             cancel its rounds, close it, delete its file; 204
GET      /                               the chat page (``static/index.html``)
=======  ==============================  =====================================================

A round's stream (``text/event-stream``) has one event per :mod:`hermitcrab.events` event, named by
its ``kind``, with JSON data and a running ``id``:

- ``message``: ``{"message": {...}}`` each message that joins the history: the user's first, then
  assistant messages that call tools, tool results, and last the final answer;
- ``text_delta`` / ``reasoning_delta``: ``{"text": "..."}`` as the model writes;
- ``tool_call``: ``{"call": {"id", "name", "arguments", "error", ...}}`` once a call has parsed;
- ``tool_result``: ``{"call": {...}, "message": {...}}`` once the tool has answered;

then exactly one of ``done`` (``{"usage": {...}, "finish_reason": "stop" | "length"}``; the round
is committed and saved) or ``error`` (``{"error": "EngineError", "detail": "..."}``; the history is
unchanged). A client that disconnects cancels its round, which leaves the history unchanged. Rounds
of one conversation run one at a time in arrival order (the :class:`~hermitcrab.Conversation` actor's
FIFO); a second message waits, its stream open, until the first round has finished.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sse_starlette import EventSourceResponse, JSONServerSentEvent
from starlette.types import Message as ASGIMessage
from starlette.types import Receive, Scope, Send

from hermitcrab import Engine, Event, HermitcrabError, Message, Tool, Usage

from .recording import FinishReasonRecorder
from .store import ID_PATTERN, ConversationStore, Entry, UnknownConversationError

__all__ = (
    "DEFAULT_MAX_BODY_BYTES",
    "DEFAULT_MAX_MESSAGE_CHARS",
    "ConversationOut",
    "UNKNOWN_ID",
    "NewMessage",
    "create_app",
)

DEFAULT_MAX_BODY_BYTES = 64 * 1024
"""Request bodies larger than this are refused with 413 before they are read."""
DEFAULT_MAX_MESSAGE_CHARS = 8000
"""Longer message texts are refused with 422."""
UNKNOWN_ID = (
    "there is no conversation with this id (deleted, or never created: POST /conversations makes one)"
)
"""The 404 detail for an id that names no conversation."""
STATIC = Path(__file__).resolve().parent / "static"

ConversationId = Annotated[
    str, PathParam(pattern=ID_PATTERN, description="the id that POST /conversations returned")
]


class NewMessage(BaseModel):
    """The body of ``POST /conversations/{id}/messages``."""

    model_config = ConfigDict(extra="forbid")
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)] = Field(
        description="what the user says"
    )


class ConversationOut(BaseModel):
    """A conversation as the API returns it."""

    id: str
    messages: list[Message] = Field(description="the committed history, oldest first")
    usage: dict[str, int] = Field(description="tokens used by all rounds so far")


def create_app(
    engine: Engine,
    folder: str | Path,
    *,
    system: str | None = None,
    tools: Iterable[Tool[..., Any] | Callable[..., Any]] = (),
    token: str | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
    conversation_options: Mapping[str, Any] | None = None,
) -> FastAPI:
    """The chat app: one shared ``engine``, one conversation per id, saved in ``folder``.

    Args:
        engine: Serves every conversation (it is not closed by the app: it belongs to the caller).
        folder: Where conversations are saved, one ``<id>.json`` each; reloaded after a restart.
        system: The system prompt of new conversations.
        tools: The tools every conversation may call.
        token: If given, every ``/conversations`` request needs ``Authorization: Bearer <token>``.
        max_body_bytes: Larger request bodies get 413.
        max_message_chars: Longer message texts get 422.
        conversation_options: Further :class:`~hermitcrab.Conversation` arguments (e.g. ``max_new_tokens``).
    """
    recorder = FinishReasonRecorder(engine)
    store = ConversationStore(recorder, folder, system=system, tools=tools, options=conversation_options)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await store.aclose()

    # max_body_size: FastAPI answers a larger body with 413 before the endpoint runs, whether the
    # client declares its length or streams it chunked.
    app = FastAPI(title="hermitcrab chat", lifespan=lifespan, max_body_size=max_body_bytes)
    app.state.store = store

    @app.exception_handler(UnknownConversationError)
    async def unknown_conversation(request: Request, exc: UnknownConversationError) -> JSONResponse:
        return JSONResponse({"detail": UNKNOWN_ID}, status_code=404)

    api = APIRouter(prefix="/conversations", dependencies=[Depends(_bearer_token(token))])

    @api.post("", status_code=status.HTTP_201_CREATED)
    async def create_conversation(response: Response) -> ConversationOut:
        """Start a new conversation; its id is the only way to reach it."""
        entry = await store.create()
        response.headers["Location"] = f"/conversations/{entry.id}"
        return _conversation_out(entry)

    @api.get("/{conversation_id}")
    async def get_conversation(conversation_id: ConversationId) -> ConversationOut:
        """The committed history (a round still streaming is not in it)."""
        return _conversation_out(await store.get(conversation_id))

    @api.delete("/{conversation_id}", status_code=status.HTTP_204_NO_CONTENT)
    async def delete_conversation(conversation_id: ConversationId) -> None:
        """Cancel the conversation's rounds, close it and delete its save file."""
        await store.delete(conversation_id)

    @api.post(
        "/{conversation_id}/messages",
        response_class=EventSourceResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "the round's events"}},
    )
    async def post_message(conversation_id: ConversationId, message: NewMessage) -> EventSourceResponse:
        """Run one round for the user's message, streaming its events as they happen."""
        if len(message.text) > max_message_chars:
            raise HTTPException(422, f"the message is longer than {max_message_chars} characters")
        entry = await store.get(conversation_id)
        return _RoundResponse(_round_events(store, recorder, entry, message.text), entry)

    app.include_router(api)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    return app


def _bearer_token(token: str | None) -> Callable[..., Any]:
    """A dependency that lets a request through only with ``Authorization: Bearer <token>``."""
    scheme = HTTPBearer(auto_error=False)

    # A default, not Annotated[..., Depends(scheme)]: FastAPI resolves annotations in the module's
    # namespace, where the local `scheme` does not exist.
    async def require_token(credentials: HTTPAuthorizationCredentials | None = Depends(scheme)) -> None:
        if token is None:
            return
        given = credentials.credentials if credentials is not None else ""
        if not secrets.compare_digest(given.encode(), token.encode()):
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a valid 'Authorization: Bearer <token>' header is required",
                headers={"WWW-Authenticate": "Bearer"},
            )

    return require_token


def _conversation_out(entry: Entry) -> ConversationOut:
    conversation = entry.conversation
    return ConversationOut(
        id=entry.id, messages=list(conversation.history), usage=conversation.usage.to_dict()
    )


async def _round_events(
    store: ConversationStore, recorder: FinishReasonRecorder, entry: Entry, text: str
) -> AsyncIterator[JSONServerSentEvent]:
    """One round of ``entry``'s conversation as SSE events; saved as soon as it commits."""
    conversation = entry.conversation
    number = 0
    usage, finish_reason = Usage(), None
    try:
        async with conversation.stream(text) as events:
            async for event in events:
                if _is_final(event):
                    # Committed: write it to disk before telling anyone. The round still holds the
                    # conversation, so no other round can commit in between.
                    usage, finish_reason = conversation.last_usage, recorder.finish_reason(conversation)
                    await store.save(entry)
                number += 1
                yield JSONServerSentEvent(_event_data(event), event=event.kind, id=str(number))
    except HermitcrabError as exc:
        yield JSONServerSentEvent(
            {"error": type(exc).__name__, "detail": str(exc)}, event="error", id=str(number + 1)
        )
        return
    data = {"usage": usage.to_dict(), "finish_reason": finish_reason}
    yield JSONServerSentEvent(data, event="done", id=str(number + 1))


def _is_final(event: Event) -> bool:
    return event.kind == "message" and event.message.role == "assistant" and not event.message.tool_calls


def _event_data(event: Event) -> dict[str, Any]:
    """The JSON payload of one :mod:`hermitcrab.events` event."""
    if event.kind in ("text_delta", "reasoning_delta"):
        return {"text": event.text}
    if event.kind == "tool_call":
        return {"call": event.call.model_dump(mode="json")}
    if event.kind == "tool_result":
        return {"call": event.call.model_dump(mode="json"), "message": event.message.model_dump(mode="json")}
    return {"message": event.message.model_dump(mode="json")}


class _RoundResponse(EventSourceResponse):
    """An SSE response that deleting its conversation can cancel.

    The whole response runs inside a cancel scope registered with the conversation's entry; when the
    scope is cancelled the round is cancelled (and rolled back), and the stream ends with an ``error``
    event instead of being cut off.
    """

    def __init__(self, content: AsyncIterator[JSONServerSentEvent], entry: Entry) -> None:
        # send_timeout: a client that stops reading must not hold the conversation (and, with a
        # one-at-a-time engine, everyone's generation) forever.
        super().__init__(content, send_timeout=30)
        self._entry = entry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        sent = {"started": False, "ended": False}

        async def tracking_send(message: ASGIMessage) -> None:
            await send(message)
            if message["type"] == "http.response.start":
                sent["started"] = True
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                sent["ended"] = True

        with anyio.CancelScope() as cancel:
            self._entry.rounds.add(cancel)
            try:
                await super().__call__(scope, receive, tracking_send)
            finally:
                self._entry.rounds.discard(cancel)
        if cancel.cancelled_caught and sent["started"] and not sent["ended"]:
            gone = JSONServerSentEvent(
                {"error": "ConversationDeleted", "detail": "the conversation was deleted during the round"},
                event="error",
            )
            await send({"type": "http.response.body", "body": gone.encode(), "more_body": False})
