"""``hermitcrab chat``: the REPL streams, shows tool calls apart, and Ctrl-C cancels only the round."""

from __future__ import annotations

import importlib.util
import io
import os
import queue
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import pytest

from hermitcrab import _cli
from hermitcrab.__main__ import main as module_main
from hermitcrab.errors import ConfigurationError

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DEMO_MODEL = EXAMPLES / "demo_model" / "model"
sys.path.insert(0, str(EXAMPLES))

import weather_bot  # noqa: E402

needs_demo_model = pytest.mark.skipif(
    not (DEMO_MODEL / "model.safetensors").is_file(),
    reason="the demo model is missing: run python training/train.py",
)


def _env() -> dict[str, str]:
    return {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}


class _Reader:
    """Collects a subprocess's stdout in a thread, so a test can wait for a piece of text."""

    def __init__(self, stream: io.TextIOBase) -> None:
        self.text = ""
        self._chunks: queue.Queue[str] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: io.TextIOBase) -> None:
        while chunk := stream.read(1):
            self._chunks.put(chunk)

    def wait_for(self, needle: str, timeout: float = 120) -> str:
        deadline = time.monotonic() + timeout
        while needle not in self.text:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{needle!r} did not appear; output so far:\n{self.text}")
            try:
                self.text += self._chunks.get(timeout=remaining)
            except queue.Empty:
                continue
        return self.text

    def drain(self) -> str:
        self._thread.join(timeout=30)
        while not self._chunks.empty():
            self.text += self._chunks.get()
        return self.text


def _chat(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hermitcrab", "chat", "--plain", *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=ROOT,
    )


@needs_demo_model
def test_chat_streams_a_round_with_a_tool_call_and_exits_on_end_of_input() -> None:
    # No --system: the tools module's own SYSTEM is used (without it the demo model declines).
    done = subprocess.run(
        [
            sys.executable, "-m", "hermitcrab", "chat",
            "--tools", "examples/weather_bot.py:TOOLS",
        ],
        input="What's the weather in Oslo, in Fahrenheit?\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = weather_bot.get_weather("Oslo", "F")
    assert "Loading the demo model" in done.stdout
    assert "System prompt: SYSTEM from examples/weather_bot.py" in done.stdout
    assert "Loading weights" not in done.stdout + done.stderr  # no transformers progress bar
    assert '  → get_weather({"city": "Oslo", "unit": "F"})\n' in done.stdout
    assert f"  ← {result}\n" in done.stdout
    answer = done.stdout.split(f"  ← {result}\n", 1)[1]
    assert answer.startswith("bot> ") and result.rstrip(".") in answer
    assert "\x1b[" not in done.stdout  # not a terminal: plain text, no colour codes


@pytest.mark.skipif(importlib.util.find_spec("mcp") is None, reason="needs hermitcrab[mcp]")
def test_chat_with_mcp_calls_the_servers_tool() -> None:
    done = subprocess.run(
        [
            sys.executable, "-m", "hermitcrab", "chat",
            "--mcp", f"{sys.executable} examples/mcp_weather_server.py",
            "--system", weather_bot.SYSTEM,
        ],
        input="What's the weather in Oslo, in Fahrenheit?\n",
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
        cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    result = weather_bot.get_weather("Oslo", "F")
    assert "Tools: get_weather, convert_length." in done.stdout
    assert '  → get_weather({"city": "Oslo", "unit": "F"})\n' in done.stdout
    assert f"  ← {result}\n" in done.stdout


def test_mcp_option_without_a_command_is_an_error_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main(["chat", "--mcp", " ", "--model", str(DEMO_MODEL)]) == 1
    assert "--mcp takes a command line" in capsys.readouterr().err


HANGING_TOOL = textwrap.dedent(
    '''
    from typing import Literal

    import anyio

    from hermitcrab import tool


    @tool
    async def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
        """Current weather for a city.

        Args:
            city: The city's name, e.g. "Lisbon".
            unit: Temperature unit, Celsius or Fahrenheit.
        """
        await anyio.sleep_forever()  # the round can only end by being cancelled
        return "never"
    '''
)


@needs_demo_model
@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery to a child process is POSIX-only here")
def test_ctrl_c_cancels_the_running_round_and_the_repl_goes_on(tmp_path: Path) -> None:
    module = tmp_path / "hanging_tools.py"
    module.write_text(HANGING_TOOL, encoding="utf-8")
    proc = _chat("--tools", f"{module}:get_weather", "--system", weather_bot.SYSTEM)
    assert proc.stdin is not None and proc.stdout is not None
    out = _Reader(proc.stdout)
    try:
        out.wait_for("Ctrl-C cancels a reply")
        proc.stdin.write("What's the weather in Oslo?\n")
        proc.stdin.flush()
        out.wait_for("→ get_weather(")  # the model called the tool, which now hangs
        proc.send_signal(signal.SIGINT)
        out.wait_for("(cancelled")
        assert proc.poll() is None  # still running: only the round was cancelled
        proc.stdin.write("Hello!\n")  # the next round works normally
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        text = out.drain()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()
    after = text.split("(cancelled", 1)[1]
    assert "you> " in after and "bot> " in after
    assert "→" not in after  # "Hello!" is answered without a tool call


SLOW_LOAD = textwrap.dedent(
    """
    import signal, sys, time
    import hermitcrab.engines._hugging as hugging

    # A child inherits an ignored or blocked SIGINT from its parent (a busy test runner, a shell's
    # background job); the CLI rightly keeps that, so this test starts from the terminal's defaults.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})

    def slow_init(self, *args, **kwargs):
        print("slow load started", flush=True)
        time.sleep(60)

    hugging.HuggingEngine.__init__ = slow_init
    from hermitcrab._cli import main
    sys.exit(main(["chat", "--plain"]))
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery to a child process is POSIX-only here")
def test_ctrl_c_while_the_model_loads_quits_at_once() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_LOAD],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
        cwd=ROOT,
    )
    assert proc.stdout is not None
    out = _Reader(proc.stdout)
    try:
        out.wait_for("slow load started")
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            _, stderr = proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, stderr = proc.communicate(timeout=30)
            pytest.fail(f"still running 20 s after Ctrl-C; its stderr:\n{stderr}")
        assert proc.returncode == 130, stderr
        assert time.monotonic() - started < 10  # not after the 60 s load
        assert "Traceback" not in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=30)
        out.drain()
        for pipe in (proc.stdin, proc.stdout, proc.stderr):
            if pipe is not None and not pipe.closed:
                pipe.close()


def test_system_prompt_comes_from_system_or_the_tools_module_or_a_hint_is_shown(tmp_path: Path) -> None:
    tools, system, notice = _cli._tools_and_system(["weather_bot:TOOLS"], None)
    assert len(tools) == 2 and system == weather_bot.SYSTEM
    assert notice is not None and "SYSTEM from weather_bot" in notice
    _, mine, none = _cli._tools_and_system(["weather_bot:TOOLS"], "my prompt")
    assert mine == "my prompt" and none is None
    module = tmp_path / "bare_tools.py"
    module.write_text(HANGING_TOOL, encoding="utf-8")
    _, nothing, hint = _cli._tools_and_system([f"{module}:get_weather"], None)
    assert nothing is None and hint is not None and "--system" in hint
    assert _cli._tools_and_system([], None) == ([], None, None)


def test_load_tools_reads_a_file_or_a_module() -> None:
    tools = _cli.load_tools(str(EXAMPLES / "weather_bot.py") + ":TOOLS")
    assert [t.name for t in tools] == ["get_weather", "convert_length"]
    single = _cli.load_tools(str(EXAMPLES / "calculator_bot.py") + ":add")
    assert [t.name for t in single] == ["add"]
    assert _cli.load_tools("weather_bot:TOOLS")[0].name == "get_weather"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_colon_here", "MODULE:ATTR"),
        ("no_such_module_xyz:TOOLS", "cannot import"),
        ("weather_bot:NOPE", "has no attribute 'NOPE'"),
        ("missing/file.py:TOOLS", "no such file"),
    ],
)
def test_load_tools_errors_say_what_is_wrong(spec: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        _cli.load_tools(spec)


def test_no_command_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli.main([]) == 0
    assert "chat" in capsys.readouterr().out


def test_python_dash_m_entry_point_runs_the_cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(sys, "argv", ["hermitcrab", "chat", "--help"])
    with pytest.raises(SystemExit) as exit_info:
        module_main()
    assert exit_info.value.code == 0
    assert "--load-in-4bit" in capsys.readouterr().out


def test_a_model_that_cannot_load_is_an_error_message_not_a_traceback(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "hermitcrab", "chat", "--model", str(tmp_path / "nothing-here")],
        input="",
        capture_output=True,
        text=True,
        timeout=120,
        env=_env(),
    )
    assert done.returncode == 1
    assert done.stderr.startswith("hermitcrab: error: ")
    assert "Traceback" not in done.stderr


def test_demo_model_env_variable_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(_cli.DEMO_MODEL_ENV, str(tmp_path))
    assert _cli.find_demo_model() == tmp_path
    monkeypatch.delenv(_cli.DEMO_MODEL_ENV)
    found = _cli.find_demo_model()
    assert found is None or found == DEMO_MODEL


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_terminal_output_uses_rich_styles_and_plain_output_does_not() -> None:
    pytest.importorskip("rich")
    terminal = _Terminal()
    styled = _cli._Output(terminal, plain=False)
    assert styled.console is not None
    styled.tool_call("get_weather", {"city": "Oslo"})
    assert 'get_weather({"city": "Oslo"})' in terminal.getvalue()
    plain_stream = _Terminal()
    plain = _cli._Output(plain_stream, plain=True)
    plain.tool_call("get_weather", {"city": "Oslo"})
    assert plain_stream.getvalue() == '\n  → get_weather({"city": "Oslo"})\n'


@needs_demo_model
def test_the_wheel_carries_the_demo_model_and_the_cli_finds_it_there(tmp_path: Path) -> None:
    # A pip user has no checkout: `hermitcrab chat` with no --model must still find the model.
    pytest.importorskip("setuptools", minversion="70")
    source = tmp_path / "source"  # a copy, so the build leaves nothing behind in the checkout
    for name in (
        "hermitcrab",
        "runtime",
        "engines",
        "tools",
        "prompting",
        "testing",
        "examples/demo_model/model",
    ):
        shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(tmp_path),
         str(source)],
        capture_output=True, text=True, timeout=300, env=_env(),
    )  # fmt: skip
    assert built.returncode == 0, built.stderr
    (wheel,) = tmp_path.glob("hermitcrab-*.whl")
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert {"hermitcrab/demo_model/model.safetensors", "hermitcrab/demo_model/tokenizer.json"} <= names
        archive.extractall(site)
    env = {k: v for k, v in _env().items() if k != _cli.DEMO_MODEL_ENV}
    found = subprocess.run(
        [sys.executable, "-c", "from hermitcrab._cli import find_demo_model; print(find_demo_model())"],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env={**env, "PYTHONPATH": str(site)},
    )  # fmt: skip
    assert found.returncode == 0, found.stderr
    assert Path(found.stdout.strip()) == site / "hermitcrab" / "demo_model"
    packaged = site / "hermitcrab" / "demo_model" / "model.safetensors"
    assert packaged.read_bytes() == (DEMO_MODEL / "model.safetensors").read_bytes()
