"""Text the model reads: tool results and argument-validation errors."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python

if TYPE_CHECKING:
    from hermitcrab.tools._tool import Tool

__all__ = ("format_validation_error", "result_to_text")

_MAX_INPUT_CHARS = 60
"""Longest offending input (as JSON) that an error message repeats back to the model."""


def result_to_text(value: object) -> str:
    """Turn a tool's return value into the text the model reads.

    A ``str`` is used as is; a pydantic model becomes its JSON; anything else becomes JSON with
    ``ensure_ascii=False`` (dataclasses, enums, dates, sets and nested models through pydantic's
    encoder, and ``str(value)`` for what has no JSON form). A value that cannot be JSON as a whole (a
    dict with tuple keys, a circular list, an integer too long to print as JSON) becomes ``str(value)``.

    Raises:
        Exception: whatever ``str(value)`` raised when even that fails (an object whose ``__str__``
            raises, ``10**5000``); the conversation then answers the call with an error result.
    """
    if isinstance(value, str):
        return value
    try:
        if isinstance(value, BaseModel):
            return value.model_dump_json()
        return json.dumps(value, ensure_ascii=False, default=_jsonable)
    except Exception:  # TypeError, ValueError, RecursionError, pydantic's serialization errors...
        return str(value)


def _jsonable(value: object) -> Any:
    """JSON-ready form of what :mod:`json` cannot encode itself, ``str(value)`` as the last resort."""
    try:
        return to_jsonable_python(value)
    except Exception:
        return str(value)


def format_validation_error(tool: Tool[..., Any] | str, exc: BaseException) -> str:
    """A short message telling the model what was wrong with its arguments and to try again.

    For a pydantic ``ValidationError`` the errors are listed as compact JSON with the location of each
    (``"unit"``, ``"items.0.qty"``), pydantic's message and, when short, the offending input.
    """
    name = tool if isinstance(tool, str) else tool.name
    if isinstance(exc, ValidationError):
        problems: list[dict[str, Any]] = []
        for error in exc.errors(include_url=False, include_context=False):
            loc = ".".join(str(part) for part in error["loc"])
            problem: dict[str, Any] = {"loc": loc or "(arguments)", "msg": error["msg"]}
            if error["type"] != "missing" and loc:
                shown = _short_json(error.get("input"))
                if shown is not None:
                    problem["input"] = shown
            problems.append(problem)
        detail = json.dumps(problems, ensure_ascii=False)
    else:
        detail = str(exc) or type(exc).__name__
    return f"Invalid arguments for tool {name!r}: {detail}\nFix the arguments and call the tool again."


def _short_json(value: object) -> Any:
    """``value`` if its JSON is short enough to repeat in a message, else ``None``."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    return value if len(text) <= _MAX_INPUT_CHARS else None
