"""The examples' engine for the demo model caps constrained string arguments by the prompt, not at 48.

A fixed ``max_string_length=48`` cut long notes that the model had copied right (issue 18);
``DemoEngine`` gives each round a grammar whose free strings may be as long as the user's message.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

import calculator_bot  # noqa: E402
from _common import (  # noqa: E402
    DEMO_MAX_STRING_LENGTH,
    DEMO_MODEL,
    DemoEngine,
    ask,
    constrained_available,
    load_engine,
    string_cap,
)

from hermitcrab import Message  # noqa: E402

LONG_NOTE = (
    "ask the landlord about the heating and the leaking tap before the end of the month, then call Sam"
)


def test_string_cap_follows_the_users_last_message() -> None:
    short = [Message.system("s"), Message.user("Note: milk")]
    assert string_cap(short) == 64  # at least 48, rounded up to a multiple of 32
    long = [Message.user("x"), Message.assistant("y"), Message.user(f"Make a note: {LONG_NOTE}")]
    assert string_cap(long) >= len(LONG_NOTE) and string_cap(long) % 32 == 0
    assert string_cap([]) >= DEMO_MAX_STRING_LENGTH


@pytest.mark.skipif(not constrained_available(), reason="xgrammar is not installed")
@pytest.mark.skipif(not (DEMO_MODEL / "model.safetensors").is_file(), reason="the demo model is missing")
@pytest.mark.anyio
async def test_demo_engine_constrains_each_round_with_strings_as_long_as_the_prompt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = load_engine(verbose=False)
    assert isinstance(engine, DemoEngine) and engine.constrained
    seen: list[Any] = []
    original = engine.constraint.logits_processor

    def spy(tools: Any, tool_choice: Any = None) -> Any:
        seen.append(tools)
        return original(tools, tool_choice)

    monkeypatch.setattr(engine.constraint, "logits_processor", spy)
    question = f"Make a note: {LONG_NOTE}"
    calculator_bot.NOTES.clear()
    async with engine:
        t = await ask(engine, question, system=calculator_bot.SYSTEM, tools=calculator_bot.TOOLS, echo=False)
    calculator_bot.NOTES.clear()
    assert seen, "the round was not constrained"
    text = next(tool for tool in seen[0] if tool["function"]["name"] == "save_note")
    assert text["function"]["parameters"]["properties"]["text"]["maxLength"] == string_cap(
        [Message.user(question)]
    )
    assert all(c.error is None for c in t.calls)  # still a valid call
    # the prompt the model reads shows the tools' own schemas (no maxLength)
    assert "maxLength" not in engine.build_prompt(
        [Message.user(question)], [t.schema() for t in calculator_bot.TOOLS]
    )
