"""Conversations kept server-side: one :class:`~hermitcrab.Conversation` per id, saved to a folder.

Each conversation lives in memory while the server runs and in ``<folder>/<id>.json`` on disk. The
file is written (atomically, by :meth:`Conversation.save`) when the conversation is created and after
every committed round, so a server killed mid-round loses only that round. After a restart a
conversation is loaded from its file the first time someone asks for it.

Ids are 22 random URL-safe characters (128 bits, :func:`secrets.token_urlsafe`): unguessable, and
nothing else is ever accepted as an id, so an id can never name a file outside the folder.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread

from hermitcrab import Conversation, Engine, Tool

__all__ = ("ID_PATTERN", "ConversationStore", "Entry", "UnknownConversationError")

ID_PATTERN = r"^[A-Za-z0-9_-]{22}$"
"""What a conversation id looks like (``secrets.token_urlsafe(16)``); anything else is rejected."""

_ID = re.compile(ID_PATTERN)


class UnknownConversationError(LookupError):
    """No conversation has this id (never created, deleted, or not a valid id at all)."""


@dataclass(eq=False)
class Entry:
    """One open conversation: the actor, its save file, and the responses streaming its rounds."""

    id: str
    conversation: Conversation
    path: Path
    rounds: set[anyio.CancelScope] = field(default_factory=set)
    """Cancel scopes of the HTTP responses streaming (or queued to stream) a round of this conversation;
    deleting the conversation cancels them."""


class ConversationStore:
    """Creates, finds, saves and deletes conversations for the web app.

    Args:
        engine: The engine every conversation shares.
        folder: Where ``<id>.json`` files are kept (created if missing).
        system: The system prompt of new conversations (loaded ones keep the one they were saved with).
        tools: The tools of every conversation (tools are not saved; they are passed again on load).
        options: Further :class:`Conversation` keyword arguments (``max_new_tokens``, ...).
    """

    def __init__(
        self,
        engine: Engine,
        folder: str | Path,
        *,
        system: str | None = None,
        tools: Iterable[Tool[..., Any] | Callable[..., Any]] = (),
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self.engine = engine
        self.folder = Path(folder).resolve()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.system = system
        self.tools = tuple(tools)
        self.options = dict(options or {})
        self._open: dict[str, Entry] = {}
        # Held while a conversation is loaded or deleted, so one id never has two Conversation objects
        # (two actors would break the one-round-at-a-time guarantee).
        self._lock = anyio.Lock()

    def path(self, conversation_id: str) -> Path:
        """The save file of ``conversation_id``; raises :class:`UnknownConversationError` for anything
        that is not a well-formed id (such as ``../x``), so no other file can ever be named."""
        if not _ID.fullmatch(conversation_id):
            raise UnknownConversationError(conversation_id)
        path = self.folder / f"{conversation_id}.json"
        if path.parent != self.folder:  # cannot happen with ID_PATTERN; kept as the last line of defence
            raise UnknownConversationError(conversation_id)
        return path

    async def create(self) -> Entry:
        """Start a new, empty conversation under a fresh unguessable id, saved at once."""
        conversation_id = secrets.token_urlsafe(16)
        conversation = Conversation(self.engine, system=self.system, tools=self.tools, **self.options)
        entry = Entry(conversation_id, conversation, self.path(conversation_id))
        await self.save(entry)
        self._open[conversation_id] = entry
        return entry

    async def get(self, conversation_id: str) -> Entry:
        """The open conversation with this id, loaded from its file if the server restarted since."""
        entry = self._open.get(conversation_id)
        if entry is not None:
            return entry
        path = self.path(conversation_id)
        async with self._lock:
            entry = self._open.get(conversation_id)
            if entry is None:
                conversation = await anyio.to_thread.run_sync(self._load, path)
                entry = self._open[conversation_id] = Entry(conversation_id, conversation, path)
            return entry

    def _load(self, path: Path) -> Conversation:
        if not path.is_file():
            raise UnknownConversationError(path.stem)
        return Conversation.load(path, self.engine, tools=self.tools, **self.options)

    async def save(self, entry: Entry) -> None:
        """Write the conversation's file (atomically). Shielded: a cancelled caller still finishes it,
        so a round that committed is on disk."""
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(entry.conversation.save, entry.path)

    async def delete(self, conversation_id: str) -> None:
        """Cancel the conversation's rounds, close it and remove its file."""
        path = self.path(conversation_id)
        async with self._lock:
            entry = self._open.pop(conversation_id, None)
            if entry is not None:
                for scope in entry.rounds:
                    scope.cancel()
                await entry.conversation.aclose()
            elif not await anyio.to_thread.run_sync(path.is_file):
                raise UnknownConversationError(conversation_id)
            await anyio.to_thread.run_sync(lambda: path.unlink(missing_ok=True))

    async def aclose(self) -> None:
        """Cancel every round and close every open conversation (the files stay)."""
        async with self._lock:
            entries, self._open = list(self._open.values()), {}
            for entry in entries:
                for scope in entry.rounds:
                    scope.cancel()
            for entry in entries:
                await entry.conversation.aclose()
