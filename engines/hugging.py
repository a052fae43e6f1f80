"""Deprecated: import ``HuggingEngine`` from :mod:`hermitcrab.engines` (or ``hermitcrab``).

``from hermitcrab.engines.hugging import HuggingEngine`` still works for one release, with a
``DeprecationWarning``; the implementation is private (``hermitcrab.engines._hugging``).
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ("HuggingEngine",)  # noqa: F822 (served by __getattr__)


def __getattr__(name: str) -> Any:
    if name == "HuggingEngine":
        warnings.warn(
            "hermitcrab.engines.hugging is deprecated: import HuggingEngine from hermitcrab.engines "
            "(this module goes away in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        from hermitcrab.engines._hugging import HuggingEngine

        return HuggingEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
