"""Pick the tool-call parser that fits a chat template, offline, from the template's text.

Each registered family declares ``template_markers``: the markup a template writes for past tool
calls or asks the model to write, so detection follows what the model was trained to emit. Families
are tried in the registry's order: a higher ``detect_priority`` first (Qwen3-Coder templates also
mention Hermes' ``<tool_call>``, so Qwen3-Coder is tried before Hermes), then the family registered
last. A family of your own, registered with :func:`~hermitcrab.prompting.register_parser`, is
detected the same way.
"""

from __future__ import annotations

from hermitcrab.prompting._base import ToolCallParser
from hermitcrab.prompting._registry import families, get_parser

__all__ = ("detect_format", "detect_parser")

_NO_TOOLS = "plain"
"""Templates that never mention tools get the text-only parser."""


def detect_format(chat_template: str) -> str | None:
    """The registered format name that fits ``chat_template``, or ``None`` when none does."""
    for family in families():
        for fragments in family.markers:
            if all(fragment in chat_template for fragment in fragments):
                return family.name
    if "tool" not in chat_template and "function" not in chat_template:
        return _NO_TOOLS
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
