"""Typed structured output: the ``output_type`` of a round, its JSON schema, and checking an answer.

A round with ``output_type`` asks for a final answer that is JSON valid for that type (a pydantic
model, a TypedDict, ``list[int]``, a ``Literal``: anything pydantic's ``TypeAdapter`` validates).
The conversation tells the model the schema, passes it to the engine (``GenerationOptions.output_schema``:
a grammar on the HuggingEngine, ``response_format`` on the OpenAIEngine), and checks the answer here.
An answer that does not validate goes back to the model with pydantic's errors, up to
``max_output_retries`` times; then :class:`~hermitcrab.errors.OutputValidationError`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pydantic

from hermitcrab.errors import ConfigurationError
from hermitcrab.messages import Message, TextPart

__all__ = ("OutputSpec",)

_FENCE = re.compile(r"```[a-zA-Z]*\s*\n?(.*?)\n?\s*```", re.DOTALL)
"""A Markdown code fence around the JSON (models trained on chat data love them)."""
_MAX_ERRORS = 8
"""Validation errors listed in one correction message (a long list would swamp a small model)."""


class OutputSpec:
    """One ``output_type``: its validator and JSON schema, made when the round is asked for."""

    def __init__(self, output_type: Any) -> None:
        try:
            self.adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(output_type)
            self.schema: dict[str, Any] = self.adapter.json_schema()
        except (pydantic.PydanticSchemaGenerationError, pydantic.PydanticUserError, TypeError) as exc:
            raise ConfigurationError(
                f"output_type must be a type pydantic can validate and describe as JSON schema (a model, "
                f"TypedDict, dataclass, list[int], Literal[...]...), not {output_type!r}: {exc}"
            ) from exc
        self.type = output_type

    def parse(self, text: str) -> tuple[Any, pydantic.ValidationError | None]:
        """``(value, None)`` when ``text`` is valid JSON for the type, else ``(None, the errors)``.

        The answer may be wrapped in a Markdown code fence; anything else around the JSON is an error.
        """
        candidate = text.strip()
        fenced = _FENCE.fullmatch(candidate)
        if fenced is not None:
            candidate = fenced.group(1).strip()
        try:
            return self.adapter.validate_json(candidate), None
        except pydantic.ValidationError as exc:
            return None, exc

    def instruct(self, message: Message, instruction: str) -> Message:
        """``message`` (the round's first) with ``instruction`` added at the end, for the prompt only."""
        if isinstance(message.content, str):
            content: Any = f"{message.content}\n\n{instruction}" if message.content else instruction
        else:
            content = (*message.content, TextPart(text=f"\n\n{instruction}"))
        return message.model_copy(update={"content": content})

    @staticmethod
    def errors(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
        """pydantic's errors as plain dicts (``loc``, ``msg``, ``type``; no URLs, no context)."""
        return [
            {"loc": list(error["loc"]), "msg": error["msg"], "type": error["type"]}
            for error in exc.errors(include_url=False, include_context=False, include_input=False)
        ]

    def correction(self, exc: pydantic.ValidationError) -> str:
        """The message that sends a failed answer back to the model."""
        problems = [
            {"loc": ".".join(str(part) for part in error["loc"]) or "(answer)", "msg": error["msg"]}
            for error in self.errors(exc)[:_MAX_ERRORS]
        ]
        return (
            "Your answer does not match the required JSON schema: "
            f"{json.dumps(problems, ensure_ascii=False)}\n"
            "Answer again with only the corrected JSON."
        )
