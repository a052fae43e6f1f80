"""The web app on a scripted engine, for tests: in a thread of the test process, or as a process to kill.

``scenario_engine()`` answers by the user's words, so one server serves every test of a module:

- ``weather in <city>``: calls ``get_weather``, then answers with its result;
- ``hang``: writes a few words, then waits until cancelled;
- ``fail``: writes a few words, then the engine raises;
- ``slow <tag>``: a long answer in many small chunks;
- anything else: ``You said: <text>``.

``python tests/web_app_server.py FOLDER`` serves it on a free port of 127.0.0.1 and prints
``serving on <url>``.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

from weather_bot import SYSTEM, TOOLS  # noqa: E402

from hermitcrab import EngineError, Fail, Hang, Message, ScriptedEngine  # noqa: E402
from hermitcrab.engines import ToolSchema  # noqa: E402

HANG_TEXT = "Let me think about that"
FAIL_TEXT = "Half an ans"


def scenario(messages: Sequence[Message], tools: Sequence[ToolSchema]) -> str | Hang | Fail:
    """The scripted model: a reply chosen by the conversation's last message."""
    last = messages[-1]
    if last.role == "tool":
        return f"Here you go: {last.text}."
    text = last.text
    if text.startswith("weather in "):
        call = {"name": "get_weather", "arguments": {"city": text.removeprefix("weather in ")}}
        return f"<tool_call>{json.dumps(call)}</tool_call>"
    if text == "hang":
        return Hang(HANG_TEXT)
    if text == "fail":
        return Fail(EngineError("the model fell over"), after=FAIL_TEXT)
    if text.startswith("slow "):
        return f"{text} " * 20
    return f"You said: {text}"


def scenario_engine(delay: float = 0.002) -> ScriptedEngine:
    """A :class:`ScriptedEngine` playing :func:`scenario` in 4-character chunks."""
    return ScriptedEngine(scenario, chunk_size=4, delay=delay)


def scenario_app(folder: str | Path, engine: ScriptedEngine | None = None, **kwargs: Any) -> Any:
    """The web app on ``engine`` (a new scenario engine by default) with the weather bot's tools."""
    from web_app import create_app

    return create_app(engine or scenario_engine(), folder, system=SYSTEM, tools=TOOLS, **kwargs)


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """Run ``app`` with uvicorn on a free port of 127.0.0.1 in a thread; yields its base URL."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", ws="none", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        listener.close()


def main() -> None:
    """Serve the scenario app on a free port until killed."""
    folder = sys.argv[1]
    listener = socket.create_server(("127.0.0.1", 0))
    print(f"serving on http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
    config = uvicorn.Config(scenario_app(folder), log_level="warning", ws="none")
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    main()
