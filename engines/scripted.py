"""Deprecated: the scripted engine moved to :mod:`hermitcrab.testing`.

``from hermitcrab.engines.scripted import ScriptedEngine`` still works for one release, with a
``DeprecationWarning``; import it from ``hermitcrab.testing``.
"""

from __future__ import annotations

import warnings
from typing import Any

__all__ = ("Fail", "Hang", "Reply", "ScriptedEngine", "ScriptedRequest")  # noqa: F822 (served by __getattr__)


def __getattr__(name: str) -> Any:
    if name in __all__:
        warnings.warn(
            f"hermitcrab.engines.scripted.{name} moved to hermitcrab.testing: import it from there "
            "(this module goes away in the next release)",
            DeprecationWarning,
            stacklevel=2,
        )
        from hermitcrab import testing

        return getattr(testing, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
