"""hermitcrab: an async, actor-style agent runtime for local Hugging Face models with tool calling.

The public names live here::

    from hermitcrab import tool, Conversation, Message, HuggingEngine

``ScriptedEngine``, ``Fail`` and ``Hang`` are here too, for tests; they live in
:mod:`hermitcrab.testing`, with the tiny-model builders and the engine conformance suite.

``HuggingEngine`` and ``OpenAIEngine`` load lazily (they need the ``hf`` / ``openai`` extras).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hermitcrab.engines import Engine
from hermitcrab.errors import *  # noqa: F403
from hermitcrab.errors import __all__ as _errors_all
from hermitcrab.events import *  # noqa: F403
from hermitcrab.events import __all__ as _events_all
from hermitcrab.messages import *  # noqa: F403
from hermitcrab.messages import __all__ as _messages_all
from hermitcrab.prompting import PromptPipeline
from hermitcrab.runtime import Conversation, RoundStream, ToolFailure
from hermitcrab.testing import Fail, Hang, ScriptedEngine
from hermitcrab.tools import MCPTools, Tool, tool, tool_cancelled

if TYPE_CHECKING:
    from hermitcrab.engines import HuggingEngine, OpenAIEngine

__version__ = "0.1.0"

__all__ = (
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
    *_errors_all,
    *_events_all,
    *_messages_all,
)


def __getattr__(name: str) -> Any:
    if name in ("HuggingEngine", "OpenAIEngine"):
        from hermitcrab import engines

        return getattr(engines, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
