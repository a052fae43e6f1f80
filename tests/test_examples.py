"""The example bots run on the shipped demo model and really call their tools with the right arguments.

The demo model (``examples/demo_model/model``) is a committed, trained tiny model, so these are real
end-to-end rounds: chat template, generation, Hermes parsing, tool execution, final answer. The
prompts are phrasings the model was trained on (held-out phrasings are measured by
``training/evaluate.py``, not asserted here).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))

import calculator_bot  # noqa: E402
import weather_bot  # noqa: E402
from _common import DEMO_MODEL, ask, constrained_available, load_engine  # noqa: E402

from hermitcrab import HuggingEngine  # noqa: E402

pytestmark = pytest.mark.skipif(
    not (DEMO_MODEL / "model.safetensors").is_file(),
    reason="the demo model is missing: run python training/train.py",
)


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


@pytest.fixture(
    params=[
        pytest.param(False, id="free"),
        pytest.param(
            True,
            id="constrained",
            marks=pytest.mark.skipif(not constrained_available(), reason="xgrammar is not installed"),
        ),
    ]
)
def engine(request: pytest.FixtureRequest) -> HuggingEngine:
    # Loading the ~1 M-parameter demo model takes milliseconds once transformers is imported; an
    # engine per test keeps each test on its own event loop (asyncio or trio). The examples use
    # grammar-constrained calls when xgrammar is installed, plain decoding otherwise: both must work.
    return HuggingEngine(DEMO_MODEL, constrained=request.param)


def test_examples_constrain_the_demo_model_exactly_when_xgrammar_is_installed() -> None:
    engine = load_engine(verbose=False)
    assert engine.constrained is constrained_available()
    assert load_engine(verbose=False, constrained=False).constrained is False


@pytest.mark.anyio
async def test_weather_bot_calls_get_weather_with_the_city_and_unit(engine: HuggingEngine) -> None:
    async with engine:
        t = await ask(
            engine, weather_bot.QUESTION, system=weather_bot.SYSTEM, tools=weather_bot.TOOLS, echo=False
        )
    assert [(c.name, c.arguments) for c in t.calls] == [("get_weather", {"city": "Oslo", "unit": "F"})]
    assert t.results == [weather_bot.get_weather("Oslo", "F")]
    assert t.results[0].rstrip(".") in t.answer


@pytest.mark.anyio
async def test_weather_bot_converts_kilometres_to_miles(engine: HuggingEngine) -> None:
    async with engine:
        t = await ask(
            engine, "Convert 42 km to miles.", system=weather_bot.SYSTEM, tools=weather_bot.TOOLS, echo=False
        )
    assert [(c.name, c.arguments) for c in t.calls] == [
        ("convert_length", {"value": 42, "from_unit": "km", "to_unit": "mi"})
    ]
    assert t.results == ["26.1"]
    assert "26.1" in t.answer


@pytest.mark.anyio
async def test_calculator_bot_awaits_its_async_add_tool(engine: HuggingEngine) -> None:
    async with engine:
        t = await ask(
            engine,
            calculator_bot.QUESTION,
            system=calculator_bot.SYSTEM,
            tools=calculator_bot.TOOLS,
            echo=False,
        )
    assert [(c.name, c.arguments) for c in t.calls] == [("add", {"a": 37, "b": 48})]
    assert t.results == ["85"]
    assert "85" in t.answer


@pytest.mark.anyio
async def test_calculator_bot_writes_the_note_into_the_notebook(engine: HuggingEngine) -> None:
    calculator_bot.NOTES.clear()
    async with engine:
        t = await ask(
            engine,
            "Make a note: call the plumber on Monday",
            system=calculator_bot.SYSTEM,
            tools=calculator_bot.TOOLS,
            echo=False,
        )
    assert [(c.name, c.arguments) for c in t.calls] == [("save_note", {"text": "call the plumber on Monday"})]
    assert calculator_bot.NOTES == ["call the plumber on Monday"]
    calculator_bot.NOTES.clear()


@pytest.mark.anyio
async def test_demo_model_answers_small_talk_without_calling_a_tool(engine: HuggingEngine) -> None:
    async with engine:
        t = await ask(engine, "Hello!", system=weather_bot.SYSTEM, tools=weather_bot.TOOLS, echo=False)
    assert t.calls == []
    assert t.answer.strip()


@pytest.mark.parametrize(
    ("script", "expected"),
    [
        ("weather_bot.py", ['[tool call] get_weather({"city": "Oslo", "unit": "F"})', "[tool result] "]),
        ("calculator_bot.py", ['[tool call] add({"a": 37, "b": 48})', "[tool result] 85"]),
        pytest.param(
            "mcp_bot.py",
            ["(MCP tools: get_weather, convert_length)", '[tool call] get_weather({"city": "Oslo"'],
            marks=pytest.mark.skipif(importlib.util.find_spec("mcp") is None, reason="needs hermitcrab[mcp]"),
        ),
    ],
)
def test_bot_scripts_run_end_to_end_with_no_arguments(script: str, expected: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=120, env=_env()
    )
    assert done.returncode == 0, done.stderr
    for text in expected:
        assert text in done.stdout


def test_demo_model_tokenizer_gives_a_name_the_same_tokens_in_the_question_and_in_the_call() -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(DEMO_MODEL)
    for text in ("What's the weather in Ærøskøbing, in °F?", '{"city": "San Francisco"} 12.5 km 🦀'):
        ids = tokenizer.encode(text, add_special_tokens=False)
        assert tokenizer.decode(ids) == text  # transformers kept the pre-tokenizer it was trained with

    def pieces(text: str) -> list[str]:
        return tokenizer.convert_ids_to_tokens(tokenizer.encode(text, add_special_tokens=False))

    question, call = pieces("weather in Zanzibar?"), pieces('{"city": "Zanzibar"}')
    name = pieces("Zanzibar")
    assert len(name) > 1  # an unseen name splits into pieces...
    assert any(question[i : i + len(name)] == name for i in range(len(question)))  # ...the same ones
    assert any(call[i : i + len(name)] == name for i in range(len(call)))


def test_demo_model_folder_stays_small() -> None:
    size = sum(f.stat().st_size for f in DEMO_MODEL.iterdir() if f.is_file())
    assert size < 10 * 1024 * 1024
