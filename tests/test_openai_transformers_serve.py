"""OpenAIEngine against a real ``transformers serve`` on loopback, serving a tiny offline model.

The fault tests live in ``test_openai.py`` (against a scriptable server, since ``transformers serve``
cannot be told to misbehave). These check the happy paths against the real thing: streaming, usage,
``finish_reason``, exact token counts with the same tokenizer, and a Conversation round. The server
starts once per session in a subprocess (``transformers serve MODEL_FOLDER``, ready in ~6 s on 2 cores)
and is skipped when the ``transformers[serving]`` extra (fastapi, uvicorn, openai) is not installed.
"""

from __future__ import annotations

import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hermitcrab.engines import OpenAIEngine
from hermitcrab.events import Completion, GenerationOptions, TextDelta
from hermitcrab.messages import Message

pytestmark = pytest.mark.skipif(
    any(importlib.util.find_spec(name) is None for name in ("fastapi", "uvicorn", "openai")),
    reason="transformers serve needs the transformers[serving] extra (fastapi, uvicorn, openai)",
)

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather in a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="session")
def served_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """``(base_url, model_folder)`` of a running ``transformers serve``."""
    from hermitcrab.testing import build_tiny_chat_model

    folder = build_tiny_chat_model(tmp_path_factory.mktemp("serve") / "model")
    port = _free_port()
    cli = Path(sys.executable).with_name("transformers")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    log = (folder.parent / "serve.log").open("wb")
    process = subprocess.Popen(
        [str(cli), "serve", str(folder), "--host", "127.0.0.1", "--port", str(port), "--device", "cpu"],
        cwd=folder.parent,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while True:
            if process.poll() is not None:
                pytest.fail(f"transformers serve exited with {process.returncode}; see {log.name}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve was not ready within 90 s; see {log.name}")
            time.sleep(0.25)
        yield f"http://127.0.0.1:{port}/v1", folder
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
        log.close()


@pytest.mark.anyio
async def test_streams_from_transformers_serve_with_exact_prompt_tokens(
    served_model: tuple[str, Path],
) -> None:
    base_url, folder = served_model
    messages = [Message.system("be brief"), Message.user("hello there")]
    async with OpenAIEngine(base_url, str(folder), tokenizer=folder) as engine:
        events = [
            e
            async for e in engine.stream(
                messages, tools=[WEATHER], options=GenerationOptions(max_new_tokens=6, temperature=0.0)
            )
        ]
        expected_prompt = engine.prompt_len(messages, [WEATHER])
    *deltas, completion = events
    assert isinstance(completion, Completion)
    assert all(isinstance(d, TextDelta) for d in deltas)
    assert completion.message.text == "".join(d.text for d in deltas if isinstance(d, TextDelta))
    assert completion.finish_reason == "length"
    assert completion.usage.completion_tokens == 6
    assert completion.usage.prompt_tokens == expected_prompt  # the local tokenizer counts what the server did
    assert completion.usage.requests == 1


@pytest.mark.anyio
async def test_a_conversation_round_against_transformers_serve(served_model: tuple[str, Path]) -> None:
    from hermitcrab.runtime import Conversation

    base_url, folder = served_model
    async with OpenAIEngine(base_url, str(folder), max_context_size=2048) as engine:
        conversation = Conversation(engine, system="be brief", max_new_tokens=4)
        answer = await conversation.send("hi")
    assert answer.role == "assistant"
    assert [m.role for m in conversation.history] == ["user", "assistant"]
    assert conversation.last_usage.requests == 1
    assert conversation.last_usage.completion_tokens <= 4
