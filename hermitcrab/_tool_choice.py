"""``tool_choice``, checked in one place for the conversation and the engines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

from hermitcrab.errors import ConfigurationError

__all__ = ("ToolChoiceKind", "check_tool_choice")

ToolChoiceKind = Literal["auto", "none", "required", "forced"]


def check_tool_choice(tool_choice: object, tool_names: Iterable[str]) -> tuple[ToolChoiceKind, str | None]:
    """What ``tool_choice`` asks for, given the declared tools' names: ``(kind, forced tool name)``.

    ``None`` and ``"auto"`` are ``"auto"`` (text or calls), ``"none"`` (no call), ``"required"`` (at
    least one call; needs a tool), and a declared tool's name is ``"forced"`` (exactly that tool).

    Raises:
        ConfigurationError: anything else, or ``"required"`` without tools.
    """
    if tool_choice is None or tool_choice == "auto":
        return "auto", None
    if tool_choice == "none":
        return "none", None
    names = list(tool_names)  # read only when needed: the engines derive them from tool schemas
    if tool_choice == "required":
        if not names:
            raise ConfigurationError("tool_choice='required' needs at least one tool, but none were given")
        return "required", None
    if isinstance(tool_choice, str) and tool_choice in names:
        return "forced", tool_choice
    raise ConfigurationError(
        "tool_choice must be 'auto', 'none', 'required' or the name of a declared tool "
        f"({', '.join(names) or 'no tools declared'}), not {tool_choice!r}"
    )
