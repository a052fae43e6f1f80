"""The data a prompt pipeline's steps work on: turns made of owned pieces, and the rendered prompt.

Each message becomes a :class:`Turn` whose content is a tuple of :class:`Piece` s; every piece has an
*owner* (the index of the message that put it there, or ``None`` for format overhead), which is how
token counts are attributed (see ``_counting``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Union

from hermitcrab.messages import Message, ReasoningPart, TextPart, ToolCall

__all__ = (
    "Owner",
    "Piece",
    "RenderContext",
    "RenderedPrompt",
    "RoleSpec",
    "Step",
    "ToolSchema",
    "Turn",
    "turn_of",
)

ToolSchema = Mapping[str, Any]
Owner = Union[int, None]
RoleSpec = Union[str, Iterable[str], None]


@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of a turn's content: text, or a reasoning part / tool call not rendered yet.

    ``owner`` is the index of the message (in the list given to the pipeline) that this text belongs to,
    or ``None`` for format overhead. Token counts are attributed to owners.
    """

    text: str = ""
    owner: Owner = None
    part: ReasoningPart | ToolCall | None = None
    """A structured part still waiting for a step to render it (``reasoning``/``tool_calls``)."""


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn of the prompt as the steps see it.

    ``role`` is free-form (steps may rename roles to anything); ``owner`` owns the markers that
    :meth:`PromptPipeline.wrap` adds; ``message`` is the original message (``None`` for turns a step
    inserted), useful for tool-result ids and names.
    """

    role: str
    pieces: tuple[Piece, ...] = ()
    owner: Owner = None
    message: Message | None = None

    @property
    def text(self) -> str:
        """The text of the rendered pieces (reasoning and tool calls not yet rendered are skipped)."""
        return "".join(p.text for p in self.pieces if p.part is None)

    def with_pieces(self, pieces: Iterable[Piece]) -> Turn:
        """A copy with other pieces."""
        return replace(self, pieces=tuple(pieces))


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What a step may need besides the turns: the tool schemas of this prompt."""

    tools: tuple[ToolSchema, ...] = ()


Step = Callable[[list[Turn], RenderContext], list[Turn]]
"""A pipeline step: takes the turns (and the context) and returns the new turns. It must not mutate the
list it is given in place (return a new one); turns and pieces are immutable."""


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """A rendered prompt: its text and the owned pieces it is made of (in order, empty pieces dropped)."""

    text: str
    pieces: tuple[Piece, ...]
    n_messages: int

    def owner_text(self, owner: Owner) -> str:
        """All text owned by ``owner`` (a message index, or ``None`` for format overhead), in order."""
        return "".join(p.text for p in self.pieces if p.owner == owner)


def turn_of(index: int, message: Message) -> Turn:
    pieces = []
    for part in message.parts:
        if isinstance(part, TextPart):
            pieces.append(Piece(part.text, index))
        else:
            pieces.append(Piece("", index, part))
    return Turn(message.role, tuple(pieces), index, message)
