"""Every exception hermitcrab raises, in one place.

The hierarchy::

    HermitcrabError
    ├── ConfigurationError (ValueError)      bad arguments or settings; fix your code
    │   ├── ToolDefinitionError               a function @tool cannot describe (names the parameter)
    │   └── MissingDependencyError (ImportError)  an optional extra is not installed (names the command)
    ├── ReentrantCallError (RuntimeError)    a tool called back into its own running conversation
    ├── ConversationClosedError (RuntimeError)  the conversation or engine was closed (mid-round too)
    ├── PromptTooLongError                   the fixed part, or even the newest turn, exceeds the budget
    ├── ToolRoundsExceededError              the model kept calling tools past ``max_tool_rounds``
    ├── ToolExecutionError                   a tool raised and the policy says re-raise
    ├── MCPServerError                       an MCP server could not be reached, or a call to it failed
    ├── OutputValidationError                the final answer never matched ``output_type``
    ├── EngineError                          the engine failed to generate (wraps the cause)
    │   ├── ModelLoadError                    a model or tokenizer could not be loaded
    │   └── ServerError                       a serving engine answered with an error
    └── SaveFileError                        a saved conversation is unreadable
        └── SaveFileVersionError              ... or written by a newer hermitcrab

Problems the *model* can fix (unknown tool, invalid JSON, arguments that fail validation, a tool that
raised) are not exceptions: the conversation turns them into tool-result messages the model reads.
``docs/reliability.md`` lists, per fault, which error a caller gets and what happens to the history.

One exception here is a signal your code raises, not an error hermitcrab raises::

    ToolRetry (Exception)                    a tool asks the model to call it again, differently
"""

from __future__ import annotations

from typing import Any

__all__ = (
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
)


class HermitcrabError(Exception):
    """Base class of every error hermitcrab raises on purpose."""


class ConfigurationError(HermitcrabError, ValueError):
    """An argument or setting is invalid; the message says which and why."""


class ToolDefinitionError(ConfigurationError):
    """A function cannot be turned into a tool (e.g. ``*args`` or a parameter without a type hint)."""


class MissingDependencyError(ConfigurationError, ImportError):
    """An optional dependency is missing; the message names the ``pip install`` that adds it."""


class ReentrantCallError(HermitcrabError, RuntimeError):
    """A conversation was asked for a new round from inside its own running round.

    Raised at once instead of deadlocking: a tool (or the consumer of ``stream()``) that calls
    ``send``/``stream`` on the conversation whose round it is part of would wait for itself forever.
    """


class ConversationClosedError(HermitcrabError, RuntimeError):
    """The conversation or engine has been closed and cannot be used again.

    Also raised by a round that the engine's closing interrupted: such a round commits nothing.
    """


class PromptTooLongError(HermitcrabError):
    """The prompt cannot fit the budget: at construction, the system prompt, pinned messages and tools
    alone; in a round, even the newest turn with them."""

    def __init__(self, message: str, *, prompt_tokens: int, budget: int) -> None:
        super().__init__(message)
        self.prompt_tokens = prompt_tokens
        self.budget = budget


class ToolRoundsExceededError(HermitcrabError):
    """The model asked for tools in more consecutive generations than ``max_tool_rounds`` allows."""


class ToolExecutionError(HermitcrabError):
    """A tool raised and the conversation's ``tool_errors`` policy is ``"raise"``; ``__cause__`` is it.

    When several calls of one reply failed, the first in call order is raised (never an exception
    group) and the others are on :attr:`others`.
    """

    def __init__(self, message: str, *, tool_name: str, others: tuple[ToolExecutionError, ...] = ()) -> None:
        super().__init__(message)
        self.tool_name = tool_name
        self.others = others
        """Errors of other calls of the same reply that failed too (in call order)."""


class MCPServerError(HermitcrabError):
    """An MCP server could not be started or reached, or one call to it failed (an error result, a
    timeout, a crash or a closed connection).

    Raised when ``MCPTools`` connect; inside a tool call it is what the model reads as the error
    result (with ``tool_errors="raise"`` it is the ``__cause__`` of :class:`ToolExecutionError`).
    """


class OutputValidationError(HermitcrabError):
    """The model's final answer did not validate against the round's ``output_type``, even after
    ``max_output_retries`` corrections; the round was rolled back.

    ``text`` is the last answer, ``errors`` pydantic's errors for it (``loc``, ``msg``, ``type``).
    """

    def __init__(self, message: str, *, text: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(message)
        self.text = text
        self.errors = errors


class EngineError(HermitcrabError):
    """The engine could not produce a reply; ``__cause__`` holds the underlying exception."""


class ModelLoadError(EngineError):
    """A model, tokenizer or chat template could not be loaded."""


class ServerError(EngineError):
    """A remote serving engine failed (after any retries); ``status_code`` is set when one came back."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class SaveFileError(HermitcrabError):
    """A saved conversation could not be read (missing, corrupt, or not a hermitcrab file)."""


class SaveFileVersionError(SaveFileError):
    """A saved conversation was written by a newer format version than this hermitcrab understands."""


class ToolRetry(Exception):
    """Raised *by a tool* to ask the model to call it again, differently: ``raise ToolRetry("...")``.

    The model reads the message as the call's result (say what was wrong and what to do instead) and
    may call the tool again. Each tool may ask this ``max_retries`` times per round
    (``@tool(max_retries=...)``, default 1); a tool that asks once more than that is treated as a tool
    that failed (an error result, or :class:`ToolExecutionError` with ``tool_errors="raise"``).

    Unlike a failure, a retry within the budget never aborts a round, whatever ``tool_errors`` says,
    and ``@tool(retries=..., retry_on=...)`` never retries it by itself: only the model can.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
