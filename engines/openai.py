"""Deprecated: import ``OpenAIEngine`` from :mod:`hermitcrab.engines` (or ``hermitcrab``).

``from hermitcrab.engines.openai import OpenAIEngine`` still works for one release, with a
``DeprecationWarning``; the implementation is private (``hermitcrab.engines._openai``).
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ("OpenAIEngine",)  # noqa: F822 (served by __getattr__)


def __getattr__(name: str) -> Any:
    if name == "OpenAIEngine":
        warnings.warn(
            "hermitcrab.engines.openai is deprecated: import OpenAIEngine from hermitcrab.engines "
            "(this module goes away in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        from hermitcrab.engines._openai import OpenAIEngine

        return OpenAIEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
