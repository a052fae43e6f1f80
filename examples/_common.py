"""What the example bots share: the command line, loading a model, and printing a streamed round.

Not part of the library: a helper for the scripts in this folder. Each bot runs on the shipped demo
model by default (``examples/demo_model/model``, trained by ``training/train.py``) and on
any Hugging Face chat model with ``--model``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from hermitcrab import (
    Conversation,
    Engine,
    HuggingEngine,
    MessageEvent,
    TextDelta,
    Tool,
    ToolCall,
    ToolCallEvent,
    ToolResultEvent,
)
from hermitcrab.events import EngineEvent, GenerationOptions

__all__ = (
    "DEMO_MODEL",
    "DemoEngine",
    "Transcript",
    "ask",
    "bot_arguments",
    "constrained_available",
    "load_engine",
    "run_bot",
)

DEMO_MODEL = Path(__file__).resolve().parent / "demo_model" / "model"
"""The tiny tool-calling model trained for these examples (a few MB, loads in well under a second)."""


@dataclass
class Transcript:
    """What happened in one round: the tool calls with their results, and the final answer."""

    calls: list[ToolCall] = field(default_factory=list)
    results: list[str] = field(default_factory=list)
    answer: str = ""


DEMO_MAX_STRING_LENGTH = 48
"""The shortest cap on a string argument of the demo model's constrained calls (:class:`DemoEngine`
raises it to the length of the user's message; a fixed cap of 48 cut longer notes short)."""


def string_cap(messages: Sequence[Any]) -> int:
    """The longest string argument a constrained call of the demo model may write after ``messages``:
    the length of the user's last message, at least :data:`DEMO_MAX_STRING_LENGTH`, rounded up to a
    multiple of 32 (so that a few grammars serve every prompt).

    The demo model copies its string arguments (a city, a note) out of that message, so a right one
    always fits; a model that repeats itself inside a string is still stopped well before
    ``max_new_tokens``, with a valid call."""
    text = next((m.text for m in reversed(messages) if m.role == "user"), "")
    return -(-max(len(text), DEMO_MAX_STRING_LENGTH) // 32) * 32


def _cap_strings(schema: Any, cap: int) -> Any:
    """A copy of a JSON schema where every free-form string (no enum, pattern or length) gets
    ``maxLength=cap``."""
    if isinstance(schema, list):
        return [_cap_strings(s, cap) for s in schema]
    if not isinstance(schema, Mapping):
        return schema
    out = {k: _cap_strings(v, cap) for k, v in schema.items()}
    free = not any(k in out for k in ("pattern", "format", "enum", "const", "maxLength"))
    if free and out.get("type") == "string":
        out["maxLength"] = cap
    return out


class DemoEngine(HuggingEngine):
    """The :class:`HuggingEngine` the examples run the demo model on: with ``constrained=True``, each
    round's grammar caps free string arguments by :func:`string_cap` of that round's messages.

    The prompt still shows the tools' own schemas (the demo model knows each schema line as one token);
    only the grammar sees the capped copy."""

    async def stream(
        self,
        messages: Sequence[Any],
        *,
        tools: Sequence[Any] = (),
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[EngineEvent]:
        if self.constrained and tools and "constrained" not in options.extra:
            from transformers import LogitsProcessorList

            capped = [_cap_strings(dict(t), string_cap(messages)) for t in tools]
            processor = self.constraint.logits_processor(capped, options.tool_choice)
            # the grammar is ours: the engine's own (uncapped) one stays off for this round
            extra: dict[str, Any] = {**options.extra, "constrained": False}
            if processor is not None:
                others = extra.get("logits_processor", self.generation_kwargs.get("logits_processor")) or []
                extra["logits_processor"] = LogitsProcessorList([*others, processor])
            options = replace(options, extra=extra)
        async with aclosing(super().stream(messages, tools=tools, options=options)) as events:
            async for event in events:
                yield event


def constrained_available() -> bool:
    """Whether grammar-constrained tool calls can be used (the optional ``xgrammar`` is installed)."""
    return importlib.util.find_spec("xgrammar") is not None


def bot_arguments(doc: str | None, question: str) -> argparse.Namespace:
    """Parse a bot's command line: an optional question, ``--model``, ``--load-in-4bit`` and
    ``--constrained`` / ``--no-constrained``."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?", default=question, help=f"what to ask (default: {question!r})")
    parser.add_argument("--model", help="a Hugging Face model id or local folder (default: the demo model)")
    parser.add_argument(
        "--load-in-4bit", action="store_true", help="quantize the model to 4 bits at load time"
    )
    parser.add_argument(
        "--constrained",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="grammar-constrained tool calls (xgrammar); default: on for the demo model when xgrammar "
        "is installed, off for --model",
    )
    return parser.parse_args()


def load_engine(
    model: str | None = None,
    *,
    load_in_4bit: bool = False,
    verbose: bool = True,
    constrained: bool | None = None,
) -> HuggingEngine:
    """A :class:`HuggingEngine` for ``model``, or for the shipped demo model when ``model`` is None.

    ``constrained=None`` constrains the demo model's tool calls with a grammar when ``xgrammar`` is
    installed (its calls then always parse and validate; it still works without), and leaves other
    models unconstrained (not every chat format has a grammar: pass ``True`` to ask for one)."""
    path = str(model or DEMO_MODEL)
    if constrained is None:
        constrained = model is None and constrained_available()
    if verbose:
        name = "the demo model" if model is None else path
        print(f"(loading {name}{', constrained tool calls' if constrained else ''}...)", flush=True)
    started = time.perf_counter()
    # The demo model sometimes repeats itself inside a string argument; DemoEngine's length limit (from
    # the prompt) lets the grammar close the call instead of running out of tokens with the call open.
    engine_class = DemoEngine if model is None else HuggingEngine
    engine = engine_class(path, load_in_4bit=load_in_4bit, constrained=constrained)
    if verbose:
        print(f"(loaded in {time.perf_counter() - started:.2f} s)\n", flush=True)
    return engine


async def ask(
    engine: Engine,
    question: str,
    *,
    system: str | None,
    tools: Sequence[Tool[..., Any]],
    echo: bool = True,
) -> Transcript:
    """Run one round of a fresh conversation, printing it as it streams when ``echo`` is true."""
    transcript = Transcript()

    def show(text: str) -> None:
        if echo:
            print(text, end="", flush=True)

    async with Conversation(engine, system=system, tools=tools) as conv:
        show(f"user> {question}\nbot> ")
        async for event in conv.stream(question):
            if isinstance(event, TextDelta):
                show(event.text)
            elif isinstance(event, ToolCallEvent):
                transcript.calls.append(event.call)
                arguments = json.dumps(event.call.arguments, ensure_ascii=False)
                show(f"\n  [tool call] {event.call.name}({arguments})")
            elif isinstance(event, ToolResultEvent):
                transcript.results.append(event.message.text)
                show(f"\n  [tool result] {event.message.text}\nbot> ")
            elif isinstance(event, MessageEvent) and event.message.role == "assistant":
                transcript.answer = event.message.text  # the last one is the final answer
        show(f"\n\n(tokens: {conv.usage.prompt_tokens} prompt, {conv.usage.completion_tokens} generated)\n")
    return transcript


async def run_bot(args: argparse.Namespace, system: str, tools: Sequence[Tool[..., Any]]) -> Transcript:
    """Load the model named on the command line (or the demo model) and ask the question once."""
    constrained = getattr(args, "constrained", None)
    async with load_engine(args.model, load_in_4bit=args.load_in_4bit, constrained=constrained) as engine:
        return await ask(engine, args.question, system=system, tools=tools)
