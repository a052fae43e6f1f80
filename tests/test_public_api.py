"""The public surface is deliberate: every name in ``__all__`` exists, and the core imports without torch."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

MODULES = [
    "hermitcrab",
    "hermitcrab.runtime",
    "hermitcrab.engines",
    "hermitcrab.tools",
    "hermitcrab.prompting",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__, f"{name} declares no public names"
    for attr in module.__all__:
        if attr in ("HuggingEngine", "OpenAIEngine"):
            continue  # lazy: they need optional extras (covered by their own tests)
        assert hasattr(module, attr), f"{name}.__all__ lists {attr!r}, which does not exist"


def test_import_hermitcrab_does_not_import_torch_or_transformers() -> None:
    code = (
        "import sys, hermitcrab; "
        "print(sorted(m for m in ('torch', 'transformers', 'httpx', 'mcp') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_contract_names_are_exported() -> None:
    import hermitcrab

    for name in ("tool", "Conversation", "Message", "ScriptedEngine", "Engine", "TextDelta", "EngineError"):
        assert name in hermitcrab.__all__
