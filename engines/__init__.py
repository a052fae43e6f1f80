"""hermitcrab.engines: the Engine interface and the engines that implement it.

``HuggingEngine`` and ``OpenAIEngine`` are imported lazily, so ``import hermitcrab.engines`` needs
neither torch/transformers nor httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hermitcrab.engines._constrained import constrained_formats
from hermitcrab.engines.base import Engine, ToolSchema, completion_from_events
from hermitcrab.engines.scripted import Fail, Hang, Reply, ScriptedEngine, ScriptedRequest

if TYPE_CHECKING:
    from hermitcrab.engines.hugging import HuggingEngine
    from hermitcrab.engines.openai import OpenAIEngine

__all__ = (
    "Engine",
    "Fail",
    "Hang",
    "HuggingEngine",
    "OpenAIEngine",
    "Reply",
    "ScriptedEngine",
    "ScriptedRequest",
    "ToolSchema",
    "completion_from_events",
    "constrained_formats",
)

_LAZY = {"HuggingEngine": "hermitcrab.engines.hugging", "OpenAIEngine": "hermitcrab.engines.openai"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
