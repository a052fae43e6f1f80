"""The ``hermitcrab`` command line: ``hermitcrab chat`` opens a streaming REPL on a local model.

::

    hermitcrab chat                                   # the shipped demo model, no tools
    hermitcrab chat --tools examples/weather_bot.py:TOOLS
    hermitcrab chat --model Qwen/Qwen2.5-0.5B-Instruct --load-in-4bit --tools mypkg.tools:TOOLS
    hermitcrab chat --mcp "python examples/mcp_weather_server.py"   # an MCP server's tools

The reply streams as it is generated; tool calls and their results are shown apart from the text
(with colours when ``rich`` is installed and stdout is a terminal, plain text otherwise). Ctrl-C
during a reply cancels that round (the history stays as it was before the question) and returns to
the prompt; Ctrl-C while the model loads quits; Ctrl-D or ``/exit`` leaves. ``/reset`` clears the
history. Without ``--system``, a ``--tools`` module's own ``SYSTEM`` string is the system prompt (the
example bots define one), since small models often call tools only when told about them.

Everything heavy (torch, transformers, rich) is imported only when the command runs.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.resources
import importlib.util
import json
import os
import shlex
import signal
import sys
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import Any, TextIO

import anyio

__all__ = ("DEMO_MODEL_ENV", "build_parser", "find_demo_model", "load_tools", "main")

DEMO_MODEL_ENV = "HERMITCRAB_DEMO_MODEL"
"""Environment variable naming the demo model folder (overrides the one found next to the sources)."""

_EXIT_COMMANDS = frozenset({"/exit", "/quit", "exit", "quit"})


def find_demo_model() -> Path | None:
    """The shipped demo model's folder: ``$HERMITCRAB_DEMO_MODEL``, else ``examples/demo_model/model``
    in the source checkout this package runs from, else the copy installed with the package
    (``hermitcrab/demo_model`` in the wheel); ``None`` when there is none."""
    env = os.environ.get(DEMO_MODEL_ENV)
    if env:
        return Path(env)
    candidate = Path(__file__).resolve().parent.parent / "examples" / "demo_model" / "model"
    if (candidate / "config.json").is_file():
        return candidate
    try:
        config = importlib.resources.files("hermitcrab.demo_model").joinpath("config.json")
    except ModuleNotFoundError:
        return None
    return Path(str(config)).parent if config.is_file() else None


def load_tools(spec: str) -> list[Any]:
    """Tools from ``module:attr`` or ``path/to/file.py:attr`` (``attr`` a tool or a list of tools).

    Raises:
        ConfigurationError: the spec is malformed, or the module or attribute cannot be found.
    """
    return _load_spec(spec)[0]


def _load_spec(spec: str) -> tuple[list[Any], Any]:
    """The tools named by ``spec`` and the module they come from."""
    from hermitcrab.errors import ConfigurationError

    target, sep, attr = spec.rpartition(":")
    if not sep or not target or not attr:
        raise ConfigurationError(f"--tools takes MODULE:ATTR or FILE.py:ATTR, not {spec!r}")
    try:
        if target.endswith(".py") or os.sep in target or "/" in target:
            path = Path(target).resolve()
            if not path.is_file():
                raise ConfigurationError(f"--tools: no such file {target!r}")
            sys.path.insert(0, str(path.parent))  # let the file import its neighbours
            module_spec = importlib.util.spec_from_file_location(f"_hermitcrab_tools_{path.stem}", path)
            assert module_spec is not None and module_spec.loader is not None
            module = importlib.util.module_from_spec(module_spec)
            module_spec.loader.exec_module(module)
        else:
            module = importlib.import_module(target)
    except ConfigurationError:
        raise
    except Exception as exc:
        raise ConfigurationError(f"--tools {spec!r}: cannot import {target!r}: {exc}") from exc
    try:
        value = getattr(module, attr)
    except AttributeError:
        raise ConfigurationError(f"--tools {spec!r}: {target!r} has no attribute {attr!r}") from None
    return (list(value) if isinstance(value, (list, tuple)) else [value]), module


def _tools_and_system(specs: Sequence[str], system: str | None) -> tuple[list[Any], str | None, str | None]:
    """``(tools, system prompt, notice)``: the tools of every ``--tools`` spec, and ``--system`` or else
    the first tools module's ``SYSTEM`` string (with a notice saying where it came from)."""
    tools: list[Any] = []
    found: tuple[str, str] | None = None
    for spec in specs:
        spec_tools, module = _load_spec(spec)
        tools.extend(spec_tools)
        candidate = getattr(module, "SYSTEM", None)
        if found is None and isinstance(candidate, str):
            found = (candidate, spec.rpartition(":")[0])
    if system is not None or not tools:
        return tools, system, None
    if found is not None:
        return tools, found[0], f"System prompt: SYSTEM from {found[1]} (--system to change it).\n"
    notice = (
        "No --system given and the tools' module has no SYSTEM string: small models may not use the "
        'tools unless a system prompt mentions them (--system "...").\n'
    )
    return tools, None, notice


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``hermitcrab`` command."""
    parser = argparse.ArgumentParser(
        prog="hermitcrab", description="An async agent runtime for local Hugging Face models with tools."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    chat = commands.add_parser(
        "chat", help="chat with a model in the terminal (streams; Ctrl-C cancels a reply)"
    )
    chat.add_argument(
        "--model", help="a Hugging Face model id or local folder (default: the shipped demo model)"
    )
    chat.add_argument("--load-in-4bit", action="store_true", help="quantize to 4-bit at load (bitsandbytes)")
    chat.add_argument("--system", help="the system prompt")
    chat.add_argument(
        "--tools",
        action="append",
        default=[],
        metavar="MODULE:ATTR",
        help="tools the model may call: module:attr or file.py:attr (a tool or a list); repeatable",
    )
    chat.add_argument(
        "--mcp",
        action="append",
        default=[],
        metavar="COMMAND",
        help='an MCP server to start over stdio whose tools the model may call, e.g. "python server.py" '
        "(needs hermitcrab[mcp]); repeatable",
    )
    chat.add_argument("--max-new-tokens", type=int, default=None, help="tokens per reply (default: engine's)")
    chat.add_argument("--plain", action="store_true", help="plain text output, even on a terminal")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``hermitcrab`` console script and of ``python -m hermitcrab``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command != "chat":
        parser.print_help()
        return 0 if args.command is None else 2
    from hermitcrab.errors import HermitcrabError

    try:
        out = _Output(sys.stdout, args.plain)
        tools, system, notice = _tools_and_system(args.tools, args.system)
        # Load before the event loop starts: loading blocks, and only outside a loop does Ctrl-C stop it
        # at once (inside one, asyncio's SIGINT handler waits for the loop to run again).
        engine = _load_engine(args, out)
        if notice:
            out.notice(notice)
        return anyio.run(_chat, engine, tools, system, args, out)
    except HermitcrabError as exc:
        print(f"hermitcrab: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\n(interrupted)", file=sys.stderr)
        return 130


# -- output ---------------------------------------------------------------------------------------
class _Output:
    """Writes the REPL's text, tool calls and notices; rich styles on a terminal, plain text otherwise."""

    def __init__(self, stream: TextIO, plain: bool) -> None:
        self.stream = stream
        self.console: Any = None
        if not plain and stream.isatty():
            try:
                from rich.console import Console
            except ImportError:
                pass
            else:
                self.console = Console(file=stream, highlight=False, soft_wrap=True)

    def text(self, text: str) -> None:
        if self.console is not None:
            self.console.print(text, end="", markup=False)
        else:
            self.stream.write(text)
        self.stream.flush()

    def styled(self, text: str, style: str) -> None:
        if self.console is not None:
            self.console.print(text, style=style, markup=False, end="")
        else:
            self.stream.write(text)
        self.stream.flush()

    def tool_call(self, name: str, arguments: Any) -> None:
        self.styled(f"\n  → {name}({json.dumps(arguments, ensure_ascii=False)})\n", "bold cyan")

    def tool_result(self, text: str, is_error: bool) -> None:
        self.styled(f"  ← {text}\n", "red" if is_error else "green")

    def notice(self, text: str) -> None:
        self.styled(text, "dim")


# -- the REPL -------------------------------------------------------------------------------------
def _load_engine(args: argparse.Namespace, out: _Output) -> Any:
    from hermitcrab.errors import ConfigurationError

    model = args.model
    if model is None:
        demo = find_demo_model()
        if demo is None:
            raise ConfigurationError(
                "no --model given and the demo model was not found: pass --model PATH_OR_ID, or set "
                f"{DEMO_MODEL_ENV} to the demo model's folder (examples/demo_model/model in the source tree)"
            )
        model = str(demo)
    from hermitcrab import HuggingEngine

    _quiet_transformers()
    label = "the demo model" if args.model is None else model
    started = time.perf_counter()
    if out.console is not None:
        with out.console.status(f"Loading {label}..."):
            engine = HuggingEngine(model, load_in_4bit=args.load_in_4bit)
    else:
        out.notice(f"Loading {label}... ")
        engine = HuggingEngine(model, load_in_4bit=args.load_in_4bit)
    out.notice(
        f"loaded in {time.perf_counter() - started:.1f} s ({engine.max_context_size} tokens of context).\n"
    )
    return engine


def _quiet_transformers() -> None:
    """No progress bars or info logs from transformers in the chat screen (our one line says it)."""
    try:
        from transformers.utils import logging as hf_logging
    except ImportError:  # the engine will say what to install
        return
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


async def _chat(
    engine: Any, tools: list[Any], system: str | None, args: argparse.Namespace, out: _Output
) -> int:
    from hermitcrab import Conversation

    async with (
        engine,
        _mcp_servers(args.mcp, tools, out) as tools,
        Conversation(engine, system=system, tools=tools, max_new_tokens=args.max_new_tokens) as conv,
    ):
        names = ", ".join(t.name for t in conv.tools) or "none"
        out.notice(f"Tools: {names}. Ctrl-C cancels a reply, Ctrl-D or /exit quits, /reset clears history.\n")
        with anyio.open_signal_receiver(signal.SIGINT) as signals:
            return await _repl(conv, out, signals)


@asynccontextmanager
async def _mcp_servers(commands: Sequence[str], tools: list[Any], out: _Output) -> AsyncIterator[list[Any]]:
    """``tools`` plus the tools of an MCP server started for each ``--mcp`` command line."""
    from hermitcrab import MCPTools
    from hermitcrab.errors import ConfigurationError

    async with AsyncExitStack() as servers:
        found = list(tools)
        for command in commands:
            words = shlex.split(command)
            if not words:
                raise ConfigurationError(
                    "--mcp takes a command line that starts a server, e.g. 'python server.py'"
                )
            server = await servers.enter_async_context(MCPTools.stdio(words[0], words[1:]))
            out.notice(f"MCP server {command!r}: {', '.join(t.name for t in server) or 'no tools'}.\n")
            found.extend(server)
        yield found


async def _repl(conv: Any, out: _Output, signals: Any) -> int:
    current: list[anyio.CancelScope] = []

    async def watch_interrupts() -> None:
        async for _ in signals:
            if current:
                current[-1].cancel()
            else:
                out.notice("\n(Ctrl-C: nothing to cancel; Ctrl-D or /exit quits)\n")
                out.styled("you> ", "bold")

    async with anyio.create_task_group() as tg:
        tg.start_soon(watch_interrupts)
        while True:
            out.styled("you> ", "bold")
            line = await anyio.to_thread.run_sync(_read_line, abandon_on_cancel=True)
            if line is None:
                out.text("\n")
                break
            text = line.strip()
            if not text:
                continue
            if text in _EXIT_COMMANDS:
                break
            if text == "/reset":
                conv.clear()
                out.notice("(history cleared)\n")
                continue
            with anyio.CancelScope() as scope:
                current.append(scope)
                try:
                    await _round(conv, text, out)
                finally:
                    current.pop()
            if scope.cancelled_caught:
                out.notice("\n(cancelled: the question and partial reply were dropped from the history)\n")
        tg.cancel_scope.cancel()
    return 0


def _read_line() -> str | None:
    line = sys.stdin.readline()
    return line if line else None


async def _round(conv: Any, text: str, out: _Output) -> None:
    from hermitcrab import MessageEvent, ReasoningDelta, TextDelta, ToolCallEvent, ToolResultEvent
    from hermitcrab.errors import HermitcrabError

    out.styled("bot> ", "bold magenta")
    at_line_start = False
    try:
        async for event in conv.stream(text):
            if isinstance(event, TextDelta):
                if at_line_start:
                    out.styled("bot> ", "bold magenta")
                    at_line_start = False
                out.text(event.text)
            elif isinstance(event, ReasoningDelta):
                out.styled(event.text, "dim italic")
            elif isinstance(event, ToolCallEvent):
                out.tool_call(event.call.name, event.call.arguments)
                at_line_start = True
            elif isinstance(event, ToolResultEvent):
                out.tool_result(event.message.text, event.message.is_error)
                at_line_start = True
            elif isinstance(event, MessageEvent):
                pass
    except HermitcrabError as exc:
        out.styled(f"\n[error] {exc}\n", "bold red")
        return
    out.text("\n")
