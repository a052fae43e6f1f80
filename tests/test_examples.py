"""The example bots run on the shipped demo model and really call their tools with the right arguments.

The demo model (``examples/demo_model/model``) is a committed, trained tiny model, so these are real
end-to-end rounds: chat template, generation, Hermes parsing, tool execution, final answer. The
prompts are phrasings the model was trained on (held-out phrasings are measured by
``examples/demo_model/evaluate.py``, not asserted here).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
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
    reason="the demo model is missing: run python examples/demo_model/train.py",
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
    ],
)
def test_bot_scripts_run_end_to_end_with_no_arguments(script: str, expected: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], capture_output=True, text=True, timeout=120, env=_env()
    )
    assert done.returncode == 0, done.stderr
    for text in expected:
        assert text in done.stdout


@pytest.fixture
def web_service() -> Iterator[str]:
    """``examples/web_service.py`` started on an ephemeral port; yields its base URL, then stops it."""
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "web_service.py"), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert proc.stdout is not None
    timer = threading.Timer(120, proc.kill)  # never hang the suite if the server does not start
    timer.start()
    try:
        url = None
        for line in proc.stdout:
            if line.startswith("listening on "):
                url = line.split()[2]
                break
        assert url is not None, proc.stderr.read() if proc.stderr else "no output"
        timer.cancel()
        yield url
    finally:
        timer.cancel()
        proc.terminate()
        proc.wait(timeout=30)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()


def test_web_service_streams_the_round_as_ndjson(web_service: str) -> None:
    events: list[dict[str, Any]] = []
    with httpx.stream(
        "GET", f"{web_service}/ask", params={"q": "What's the weather in Lisbon?"}, timeout=60
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        for line in r.iter_lines():
            if line:
                events.append(json.loads(line))
    kinds = [e["type"] for e in events]
    calls = [e for e in events if e["type"] == "tool_call"]
    assert calls == [{"type": "tool_call", "name": "get_weather", "arguments": {"city": "Lisbon"}}]
    result = weather_bot.get_weather("Lisbon")
    assert {"type": "tool_result", "name": "get_weather", "content": result} in events
    assert kinds.index("tool_call") < kinds.index("tool_result") < len(kinds) - 1
    assert kinds.count("text") > 1  # the answer arrives in pieces, not at once
    assert kinds[-1] == "done"
    assert result in events[-1]["answer"]


def test_web_service_rejects_other_paths(web_service: str) -> None:
    assert httpx.get(f"{web_service}/nope", timeout=30).status_code == 404
    assert httpx.get(f"{web_service}/ask", timeout=30).status_code == 400


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
