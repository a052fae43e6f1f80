"""Messages: the one data type every layer speaks.

A :class:`Message` has a role (``system``, ``user``, ``assistant`` or ``tool``) and content that is
either a plain string or a tuple of parts: :class:`TextPart`, :class:`ReasoningPart` and
:class:`ToolCall`. Tool results are ``tool`` messages that carry the ``tool_call_id`` they answer.

Messages are immutable (pydantic ``frozen``): a conversation can cache facts about a message (its token
length) keyed by identity, and a message handed to a user can never change under the conversation.
They convert to and from the dicts that Hugging Face chat templates (``to_dict()``) and
OpenAI-compatible APIs (``to_dict(style="openai")``) use.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = (
    "Message",
    "Part",
    "ReasoningPart",
    "Role",
    "TextPart",
    "ToolCall",
    "new_call_id",
)

Role = Literal["system", "user", "assistant", "tool"]


def new_call_id() -> str:
    """Return a fresh tool-call id (``call_`` and 24 hex digits), for calls whose model gave none."""
    return "call_" + uuid.uuid4().hex[:24]


class TextPart(BaseModel):
    """Plain text the model wrote (or the user sent)."""

    model_config = ConfigDict(frozen=True)
    type: Literal["text"] = "text"
    text: str


class ReasoningPart(BaseModel):
    """The model's reasoning ("thinking") text, kept apart from its answer."""

    model_config = ConfigDict(frozen=True)
    type: Literal["reasoning"] = "reasoning"
    text: str


class ToolCall(BaseModel):
    """One tool invocation requested by the model.

    ``arguments`` is the decoded argument object. When the model's call could not be understood
    (bad JSON, unknown structure, unclosed markup), ``error`` says what was wrong and ``raw`` holds the
    text as the model wrote it; the conversation then answers the call with that error instead of
    running a tool, so the model can correct itself.
    """

    model_config = ConfigDict(frozen=True)
    type: Literal["tool_call"] = "tool_call"
    id: str = Field(default_factory=new_call_id)
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    error: str | None = None
    raw: str | None = None
    texts: dict[str, str] = Field(default_factory=dict, exclude=True, repr=False)
    """Formats whose values carry no types (Qwen3-Coder's ``<parameter=k>``, MiniMax's ``<invoke>``,
    GLM's ``<arg_value>``) decode a value that reads as JSON (``12345``, ``true``, ``{...}``); this
    keeps the text of each such argument as the model wrote it, so that a tool whose schema wants a
    string there gets the text back (``"007"``, ``"3.10"``) instead of a refused number. Not saved."""

    @property
    def is_malformed(self) -> bool:
        """True when the model's call could not be parsed (see ``error``)."""
        return self.error is not None

    def to_dict(self, *, style: Literal["hf", "openai"] = "hf") -> dict[str, Any]:
        """The OpenAI-shaped ``{"id", "type": "function", "function": {...}}`` dict.

        ``style="hf"`` keeps ``arguments`` a dict (what chat templates expect); ``"openai"`` encodes
        it as a JSON string (what the HTTP API sends).
        """
        args: Any = self.arguments
        if style == "openai":
            args = json.dumps(self.arguments, ensure_ascii=False)
        return {"id": self.id, "type": "function", "function": {"name": self.name, "arguments": args}}


Part = Annotated[TextPart | ReasoningPart | ToolCall, Field(discriminator="type")]


class Message(BaseModel):
    """One chat message. Build them with :meth:`system`, :meth:`user`, :meth:`assistant` and
    :meth:`tool_result`, or from a chat-template / OpenAI dict with :meth:`from_dict`."""

    model_config = ConfigDict(frozen=True)

    role: Role
    content: str | tuple[Part, ...] = ""
    tool_call_id: str | None = None
    """On ``tool`` messages: the id of the call this result answers."""
    name: str | None = None
    """On ``tool`` messages: the name of the tool that produced the result."""
    is_error: bool = False
    """On ``tool`` messages: the result reports an error (bad call, tool failure, timeout)."""

    # -- constructors -------------------------------------------------------------------------
    @classmethod
    def system(cls, text: str) -> Message:
        """A system message."""
        return cls(role="system", content=text)

    @classmethod
    def user(cls, text: str) -> Message:
        """A user message."""
        return cls(role="user", content=text)

    @classmethod
    def assistant(
        cls,
        text: str = "",
        *,
        reasoning: str | None = None,
        tool_calls: Iterable[ToolCall] = (),
    ) -> Message:
        """An assistant message; plain text stays a plain string when there is nothing else."""
        calls = tuple(tool_calls)
        if reasoning is None and not calls:
            return cls(role="assistant", content=text)
        parts: list[TextPart | ReasoningPart | ToolCall] = []
        if reasoning is not None:
            parts.append(ReasoningPart(text=reasoning))
        if text:
            parts.append(TextPart(text=text))
        parts.extend(calls)
        return cls(role="assistant", content=tuple(parts))

    @classmethod
    def tool_result(
        cls, call: ToolCall | str, content: str, *, name: str | None = None, is_error: bool = False
    ) -> Message:
        """The result of a tool call (``call`` is the :class:`ToolCall` or its id)."""
        if isinstance(call, ToolCall):
            return cls(
                role="tool", content=content, tool_call_id=call.id, name=name or call.name, is_error=is_error
            )
        return cls(role="tool", content=content, tool_call_id=call, name=name, is_error=is_error)

    # -- views --------------------------------------------------------------------------------
    @property
    def parts(self) -> tuple[TextPart | ReasoningPart | ToolCall, ...]:
        """The content as parts (a plain string becomes one :class:`TextPart`)."""
        if isinstance(self.content, str):
            return (TextPart(text=self.content),) if self.content else ()
        return self.content

    @property
    def text(self) -> str:
        """All text parts joined (reasoning and tool calls excluded)."""
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content if isinstance(p, TextPart))

    @property
    def reasoning(self) -> str | None:
        """The reasoning parts joined, or ``None`` when there are none."""
        if isinstance(self.content, str):
            return None
        chunks = [p.text for p in self.content if isinstance(p, ReasoningPart)]
        return "".join(chunks) if chunks else None

    @property
    def tool_calls(self) -> tuple[ToolCall, ...]:
        """The tool calls this (assistant) message asks for, in order."""
        if isinstance(self.content, str):
            return ()
        return tuple(p for p in self.content if isinstance(p, ToolCall))

    def __str__(self) -> str:
        """The message's text (:attr:`text`), so ``print(await conv.send(...))`` prints the answer."""
        return self.text

    # -- conversion ---------------------------------------------------------------------------
    def to_dict(self, *, style: Literal["hf", "openai"] = "hf") -> dict[str, Any]:
        """The dict that HF chat templates (``"hf"``) or OpenAI-compatible APIs (``"openai"``) use.

        Reasoning is written as ``reasoning_content`` (the key Qwen3, DeepSeek and vLLM use).
        """
        out: dict[str, Any] = {"role": self.role}
        calls = self.tool_calls
        text = self.text
        out["content"] = None if (style == "openai" and calls and not text) else text
        reasoning = self.reasoning
        if reasoning is not None:
            out["reasoning_content"] = reasoning
        if calls:
            out["tool_calls"] = [c.to_dict(style=style) for c in calls]
        if self.role == "tool":
            if self.tool_call_id is not None:
                out["tool_call_id"] = self.tool_call_id
            if self.name is not None:
                out["name"] = self.name
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Message:
        """Build a message from a chat-template or OpenAI-style dict (the inverse of :meth:`to_dict`).

        Accepts content as a string, ``None`` or a list of ``{"type": "text", "text": ...}`` parts,
        tool-call arguments as a dict or a JSON string, and ``reasoning_content``/``reasoning``.
        """
        role = data.get("role")
        if role not in ("system", "user", "assistant", "tool"):
            raise ValueError(f"message role must be system, user, assistant or tool, not {role!r}")
        raw_content = data.get("content")
        if raw_content is None:
            text = ""
        elif isinstance(raw_content, str):
            text = raw_content
        elif isinstance(raw_content, list):
            text = "".join(
                str(p.get("text", ""))
                for p in raw_content
                if isinstance(p, Mapping) and p.get("type") == "text"
            )
        else:
            raise ValueError(
                f"message content must be a string, a list of parts or None, not {raw_content!r}"
            )
        calls = [_call_from_dict(c) for c in data.get("tool_calls") or ()]
        reasoning = data.get("reasoning_content", data.get("reasoning"))
        if role == "tool":
            return cls(
                role="tool",
                content=text,
                tool_call_id=data.get("tool_call_id"),
                name=data.get("name"),
                is_error=bool(data.get("is_error", False)),
            )
        if role == "assistant":
            return cls.assistant(text, reasoning=reasoning, tool_calls=calls)
        return cls(role=role, content=text)


def _call_from_dict(data: Mapping[str, Any]) -> ToolCall:
    fn = data.get("function", data)
    name = str(fn.get("name", ""))
    args = fn.get("arguments", fn.get("parameters", {}))
    call_id = data.get("id") or new_call_id()
    if isinstance(args, str):
        try:
            decoded = json.loads(args) if args.strip() else {}
        except json.JSONDecodeError as exc:
            return ToolCall(id=call_id, name=name, error=f"arguments are not valid JSON: {exc}", raw=args)
        args = decoded
    if not isinstance(args, dict):
        return ToolCall(
            id=call_id,
            name=name,
            error="arguments must be a JSON object",
            raw=json.dumps(args, ensure_ascii=False),
        )
    return ToolCall(id=call_id, name=name, arguments=args)
