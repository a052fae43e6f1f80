"""Load on the chat web app (``examples/web_app``): concurrent clients over loopback, the demo model.

For each engine setting (``--max-batch-size``, e.g. 1 = one generation at a time, 8 = continuous
batching) a fresh server process runs the app with the shipped demo model (one torch thread), and
for each client count N (``--clients``, default 1 8 32) N clients each open their own conversation
and send ``--rounds`` messages one after another, all N at once. Measured per round from the POST:
the first model event (first text delta, reasoning delta or tool call), the whole round (to the
``done`` event); per run: generated tokens per second of wall time and errors (must be 0). Each run
is bounded by ``--time-limit``; rounds still open then are counted as unfinished.

    python benchmarks/web_load.py [--clients 1 8 32] [--rounds 3] [--max-batch-size 1 8] [--time-limit 180]

``--max-batch-size`` is passed to ``HuggingEngine`` only if its signature has it; otherwise the
script says so and measures the engine as it is. The clients run in this process and the server in
another, so the two share the machine's cores but not a GIL. Numbers from a shared 2-core CPU are
noisy: compare rows of one run.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import anyio
import httpx
from httpx_sse import aconnect_sse

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))

from _common import DEMO_MAX_STRING_LENGTH, DEMO_MODEL, constrained_available  # noqa: E402

from hermitcrab import HuggingEngine  # noqa: E402

PROMPTS = (
    "What's the weather in Oslo, in Fahrenheit?",
    "Convert 42 km to miles.",
    "Hello!",
    "What's the weather in Lisbon?",
    "How far is 10 miles in km?",
)
MODEL_EVENTS = ("text_delta", "reasoning_delta", "tool_call")


def batching_supported() -> bool:
    """Whether this ``HuggingEngine`` takes ``max_batch_size`` (continuous batching)."""
    return "max_batch_size" in inspect.signature(HuggingEngine).parameters


# -- the server (a child process) ------------------------------------------------------------------
def serve(max_batch_size: int | None, constrained: bool) -> None:
    """Serve the app on a free port of 127.0.0.1 and print ``serving on <url>``; runs until killed."""
    import socket

    import torch
    import uvicorn
    from weather_bot import SYSTEM, TOOLS
    from web_app import create_app

    torch.set_num_threads(1)  # fastest for a tiny model on these machines
    options = {"max_batch_size": max_batch_size} if max_batch_size is not None else {}
    engine = HuggingEngine(
        DEMO_MODEL,
        constrained=constrained,
        max_string_length=DEMO_MAX_STRING_LENGTH if constrained else None,
        **options,
    )
    app = create_app(engine, tempfile.mkdtemp(prefix="web-load-"), system=SYSTEM, tools=TOOLS)
    listener = socket.create_server(("127.0.0.1", 0))
    print(f"serving on http://127.0.0.1:{listener.getsockname()[1]}", flush=True)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", ws="none")).run(sockets=[listener])


class Server:
    """The server process for one engine setting."""

    def __init__(self, max_batch_size: int | None, constrained: bool) -> None:
        command = [
            sys.executable,
            __file__,
            "--serve",
            "--constrained" if constrained else "--no-constrained",
        ]
        if max_batch_size is not None:
            command += ["--max-batch-size", str(max_batch_size)]
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=env)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("serving on "):
            self.close()
            raise RuntimeError(f"the server did not start: {line!r}")
        self.url = line.split()[2]

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()


# -- the clients (this process) --------------------------------------------------------------------
@dataclass
class Round:
    """One measured round: seconds to the first model event and to ``done``, tokens, or an error."""

    first_event: float | None = None
    latency: float | None = None
    tokens: int = 0
    error: str | None = None


async def one_round(client: httpx.AsyncClient, conversation_id: str, text: str) -> Round:
    result = Round()
    started = time.perf_counter()
    try:
        async with aconnect_sse(
            client, "POST", f"/conversations/{conversation_id}/messages", json={"text": text}
        ) as source:
            if source.response.status_code != 200:
                result.error = f"HTTP {source.response.status_code}"
                return result
            async for sse in source.aiter_sse():
                if result.first_event is None and sse.event in MODEL_EVENTS:
                    result.first_event = time.perf_counter() - started
                elif sse.event == "done":
                    result.tokens = json.loads(sse.data)["usage"]["completion_tokens"]
                    result.latency = time.perf_counter() - started
                elif sse.event == "error":
                    result.error = json.loads(sse.data)["error"]
    except httpx.HTTPError as exc:
        result.error = type(exc).__name__
    if result.latency is None and result.error is None:
        result.error = "no done event"
    return result


async def one_client(client: httpx.AsyncClient, index: int, rounds: int, results: list[Round]) -> None:
    response = await client.post("/conversations")
    if response.status_code != 201:
        results.append(Round(error=f"create: HTTP {response.status_code}"))
        return
    conversation_id = response.json()["id"]
    for n in range(rounds):
        results.append(await one_round(client, conversation_id, PROMPTS[(index + n) % len(PROMPTS)]))


async def load(url: str, clients: int, rounds: int, time_limit: float) -> tuple[list[Round], float]:
    """Run ``clients`` clients at once; returns every finished round and the wall time."""
    results: list[Round] = []
    limits = httpx.Limits(max_connections=clients + 4, max_keepalive_connections=clients + 4)
    async with httpx.AsyncClient(base_url=url, timeout=httpx.Timeout(time_limit), limits=limits) as client:
        await one_round(client, (await client.post("/conversations")).json()["id"], "Hello!")  # warm-up
        started = time.perf_counter()
        with anyio.move_on_after(time_limit):
            async with anyio.create_task_group() as tg:
                for index in range(clients):
                    tg.start_soon(one_client, client, index, rounds, results)
        wall = time.perf_counter() - started
    return results, wall


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q``-th percentile (``q`` in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def ms(values: list[float]) -> str:
    if not values:
        return "-"
    return f"{percentile(values, 50) * 1000:.0f} / {percentile(values, 99) * 1000:.0f}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 32], help="concurrent clients")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per client (default 3)")
    parser.add_argument(
        "--max-batch-size",
        type=int,
        nargs="+",
        default=[1, 8],
        help="engine settings to compare (default 1 8)",
    )
    parser.add_argument("--time-limit", type=float, default=180, help="seconds per run (default 180)")
    parser.add_argument(
        "--constrained",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="grammar-constrained tool calls (default: as `make web`: on when xgrammar is installed)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    constrained = constrained_available() if args.constrained is None else args.constrained
    if args.serve:
        serve(args.max_batch_size[0] if len(args.max_batch_size) == 1 else None, constrained)
        return

    settings: list[int | None] = list(args.max_batch_size)
    if not batching_supported():
        print(
            "note: this HuggingEngine has no max_batch_size parameter (continuous batching has not landed "
            "here), so --max-batch-size is not passed: one setting is measured, one generation at a time.",
            file=sys.stderr,
        )
        settings = [None]
    print(
        f"demo model, {'constrained' if constrained else 'free'} tool calls, {args.rounds} rounds per "
        f"client, limit {args.time_limit:.0f} s per run",
        file=sys.stderr,
    )
    rows = []
    for setting in settings:
        server = Server(setting, constrained)
        try:
            for clients in args.clients:
                results, wall = anyio.run(load, server.url, clients, args.rounds, args.time_limit)
                done = [r for r in results if r.error is None]
                errors = [r.error for r in results if r.error is not None]
                unfinished = clients * args.rounds - len(results)
                tokens = sum(r.tokens for r in done)
                row = (
                    "n/a (1 at a time)" if setting is None else str(setting),
                    str(clients),
                    f"{len(done)}" + (f" (+{unfinished} unfinished)" if unfinished else ""),
                    str(len(errors)) + (f" {sorted(set(errors))}" if errors else ""),
                    ms([r.first_event for r in done if r.first_event is not None]),
                    ms([r.latency for r in done if r.latency is not None]),
                    f"{tokens / wall:.0f}",
                    f"{statistics.mean(r.tokens for r in done):.0f}" if done else "-",
                )
                rows.append(row)
                print("  " + " | ".join(row), file=sys.stderr)
        finally:
            server.close()

    header = (
        "max_batch_size",
        "clients",
        "rounds ok",
        "errors",
        "first model event p50 / p99 (ms)",
        "round p50 / p99 (ms)",
        "tokens/s",
        "tokens/round",
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
