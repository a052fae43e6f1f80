"""hermitcrab.engines: the Engine interface and the engines that implement it.

``HuggingEngine`` and ``OpenAIEngine`` are imported lazily, so ``import hermitcrab.engines`` needs
neither torch/transformers nor httpx. The scripted test engine lives in :mod:`hermitcrab.testing`.
"""

from __future__ import annotations

import importlib
import warnings
from typing import TYPE_CHECKING, Any

from hermitcrab.engines._base import Engine, ToolSchema, completion_from_events
from hermitcrab.engines._constrained import constrained_formats

if TYPE_CHECKING:
    from hermitcrab.engines._hugging import HuggingEngine
    from hermitcrab.engines._openai import OpenAIEngine

__all__ = (
    "Engine",
    "HuggingEngine",
    "OpenAIEngine",
    "ToolSchema",
    "completion_from_events",
    "constrained_formats",
)

_LAZY = {"HuggingEngine": "hermitcrab.engines._hugging", "OpenAIEngine": "hermitcrab.engines._openai"}
_MOVED_TO_TESTING = frozenset({"Fail", "Hang", "Reply", "ScriptedEngine", "ScriptedRequest"})
"""Names that moved to :mod:`hermitcrab.testing` (importable from here, with a warning, for one release)."""


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    if name in _MOVED_TO_TESTING:
        warnings.warn(
            f"hermitcrab.engines.{name} moved to hermitcrab.testing: import it from there "
            "(this alias goes away in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module("hermitcrab.testing"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
