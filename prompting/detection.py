"""Pick the tool-call parser that fits a chat template, offline, from the template's text.

Each rule names a format and the template fragments that identify it; rules are tried from the most
specific to the most generic (Qwen3-Coder templates also mention ``<tool_call>``, so they are checked
before Hermes). The fragments are the markup a template writes for past tool calls or asks the model
to write, so detection follows what the model was trained to emit.
"""

from __future__ import annotations

from hermitcrab.prompting.base import ToolCallParser
from hermitcrab.prompting.registry import get_parser

__all__ = ("detect_format", "detect_parser")

_RULES: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    # (format name, alternatives: each a tuple of fragments that must all appear)
    ("hermes", (("<tool_call>",),)),
)


def detect_format(chat_template: str) -> str | None:
    """The registered format name that fits ``chat_template``, or ``None`` when none does."""
    for name, alternatives in _RULES:
        for fragments in alternatives:
            if all(fragment in chat_template for fragment in fragments):
                return name
    return None


def detect_parser(chat_template: str | None, *, default: str | None = "hermes") -> ToolCallParser | None:
    """A new parser for the format ``chat_template`` uses.

    When nothing in the template is recognised (or there is no template), returns
    ``get_parser(default)``, or ``None`` when ``default`` is ``None``.
    """
    name = detect_format(chat_template) if chat_template else None
    if name is None:
        name = default
    return get_parser(name) if name is not None else None
