"""The public surface is deliberate and pinned (as httpx's and anyio's are).

Every public module (no ``_`` in its dotted path) is listed in ``PUBLIC`` with exactly the names its
``__all__`` exports, so a name that leaks, disappears or is added without a decision fails here; a new
public module fails until it is listed. Implementation modules are private (``_name.py``). The core
imports without torch.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

MODULES = [
    "hermitcrab",
    "hermitcrab.runtime",
    "hermitcrab.engines",
    "hermitcrab.tools",
    "hermitcrab.prompting",
    "hermitcrab.testing",
]

_ERRORS = {
    "ConfigurationError",
    "ConversationClosedError",
    "EngineError",
    "HermitcrabError",
    "MCPServerError",
    "MissingDependencyError",
    "ModelLoadError",
    "OutputValidationError",
    "PromptTooLongError",
    "ReentrantCallError",
    "SaveFileError",
    "SaveFileVersionError",
    "ServerError",
    "ToolDefinitionError",
    "ToolExecutionError",
    "ToolRetry",
    "ToolRoundsExceededError",
}
_EVENTS = {
    "Completion",
    "EngineEvent",
    "Event",
    "GenerationOptions",
    "MessageEvent",
    "ReasoningDelta",
    "TextDelta",
    "ToolCallEvent",
    "ToolResultEvent",
    "Usage",
}
_MESSAGES = {"Message", "Part", "ReasoningPart", "Role", "TextPart", "ToolCall", "new_call_id"}
_SCRIPTED = {"Fail", "Hang", "Reply", "ScriptedEngine", "ScriptedRequest"}

PUBLIC: dict[str, set[str]] = {
    "hermitcrab": {
        "Conversation",
        "Engine",
        "Fail",
        "Hang",
        "HuggingEngine",
        "MCPTools",
        "OpenAIEngine",
        "PromptPipeline",
        "RoundStream",
        "ScriptedEngine",
        "Tool",
        "ToolFailure",
        "tool",
        "tool_cancelled",
        *_ERRORS,
        *_EVENTS,
        *_MESSAGES,
    },
    "hermitcrab.errors": _ERRORS,
    "hermitcrab.events": _EVENTS,
    "hermitcrab.messages": _MESSAGES,
    "hermitcrab.runtime": {"Conversation", "RoundStream", "ToolFailure"},
    "hermitcrab.engines": {
        "Engine",
        "HuggingEngine",
        "OpenAIEngine",
        "ToolSchema",
        "completion_from_events",
        "constrained_formats",
    },
    "hermitcrab.engines.hugging": {"HuggingEngine"},  # deprecated alias module
    "hermitcrab.engines.openai": {"OpenAIEngine"},  # deprecated alias module
    "hermitcrab.engines.scripted": _SCRIPTED,  # deprecated alias module (moved to hermitcrab.testing)
    "hermitcrab.tools": {
        "MCPTool",
        "MCPTools",
        "Tool",
        "as_tool",
        "format_validation_error",
        "result_to_text",
        "tool",
        "tool_cancelled",
        "tools_of",
    },
    "hermitcrab.prompting": {
        "Block",
        "CHATML_HERMES_TEMPLATE",
        "CallDecoder",
        "MalformedCall",
        "MarkupParser",
        "ParserEvent",
        "Piece",
        "PromptCounts",
        "PromptPipeline",
        "RenderContext",
        "RenderedPrompt",
        "Step",
        "TemplateMarkers",
        "ToolCallParser",
        "Turn",
        "VICUNA_SYSTEM",
        "assemble_message",
        "chatml_pipeline",
        "detect_format",
        "detect_parser",
        "get_parser",
        "hermes_tool_call",
        "hermes_tools_block",
        "json_calls",
        "llama2_pipeline",
        "parser_names",
        "python_calls",
        "register_parser",
        "resolve_parser",
        "unregister_parser",
        "vicuna_pipeline",
    },
    "hermitcrab.prompting.templates": {"CHATML_HERMES_TEMPLATE"},
    "hermitcrab.testing": {
        "BASE_TEXT",
        "END_OF_TURN",
        "EngineConformance",
        "ForcedTokensLogitsProcessor",
        "ReplyFunction",
        "TOOL_TOKENS",
        "build_tiny_base_model",
        "build_tiny_chat_model",
        "build_tiny_model",
        "check_round_trip",
        "train_tiny_tokenizer",
        *_SCRIPTED,
    },
}
"""Every public module and exactly the names it exports."""


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


def _packages() -> list[str]:
    """The packages the wheel ships (pyproject.toml), without the data-only demo model."""
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11")
    pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
    packages = tomllib.loads(pyproject.read_text(encoding="utf-8"))["tool"]["setuptools"]["packages"]
    return [p for p in packages if p != "hermitcrab.demo_model"]


def _public_modules() -> set[str]:
    found: set[str] = set()
    for package in _packages():
        found.add(package)
        module = importlib.import_module(package)
        for info in pkgutil.iter_modules(module.__path__, package + "."):
            if not any(part.startswith("_") for part in info.name.split(".")) and info.name not in found:
                found.add(info.name)
    return {name for name in found if not any(part.startswith("_") for part in name.split("."))}


def test_every_public_module_is_pinned() -> None:
    assert _public_modules() == set(PUBLIC), (
        "a public module is missing from PUBLIC (or PUBLIC lists a gone one)"
    )


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_each_public_module_exports_exactly_its_pinned_names(name: str) -> None:
    exported = importlib.import_module(name).__all__
    assert len(exported) == len(set(exported)), f"{name}.__all__ lists a name twice"
    assert set(exported) == PUBLIC[name]


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_what_a_public_module_defines_is_exported_or_private(name: str) -> None:
    module = importlib.import_module(name)
    defined = {
        attr
        for attr, value in vars(module).items()
        if not attr.startswith("_")
        and getattr(value, "__module__", None) == name
        and not inspect.ismodule(value)
    }
    assert defined <= set(module.__all__), f"{name} defines public names it does not export"


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_every_exported_name_resolves(name: str) -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("httpx")
    module = importlib.import_module(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # the alias modules warn, as they should
        for attr in module.__all__:
            assert getattr(module, attr) is not None


@pytest.mark.parametrize(
    ("module", "name"),
    [("hermitcrab.engines.hugging", "HuggingEngine"), ("hermitcrab.engines.openai", "OpenAIEngine")],
)
def test_the_old_engine_modules_still_import_with_a_deprecation_warning(module: str, name: str) -> None:
    pytest.importorskip("transformers")
    pytest.importorskip("httpx")
    import hermitcrab.engines

    with pytest.warns(DeprecationWarning, match=f"{module} is deprecated"):
        engine = getattr(importlib.import_module(module), name)
    assert engine is getattr(hermitcrab.engines, name)
    with pytest.raises(AttributeError):
        importlib.import_module(module).Nothing  # noqa: B018
