"""Soak test: many conversations, many rounds, random faults, on a real tiny HuggingEngine.

N conversations share one engine; in each epoch every conversation runs M rounds concurrently. Each
round's plan is drawn from a seeded generator: a plain answer, a tool call, a tool that fails (a quarter
of the conversations use ``tool_errors="raise"``), a sync tool that runs until its round is cancelled,
or a cancellation at a random moment. Replies are forced token by token with a logits processor (the
model's weights are random), so the real generate, streaming, parsing and KV-reuse paths run with known
output. After every round the history is checked: the old one plus the round's messages when it ended
well, exactly the old one when it failed or was cancelled. Every ``--restart-every`` epochs the engine
is restarted: all conversations are saved, the engine closed, a new one loaded, the conversations
loaded back and compared with what was saved.

It prints RSS, threads and open files after the first epoch (the baseline, once everything is warm) and
at the end, the round latency p50/p99 of successful rounds, the outcomes, and the histories checked.

    python benchmarks/soak.py --minutes 10 [--conversations 16] [--rounds 5] [--context 1024] [--backend trio]

Latency counts from the call to the final answer, so it includes waiting for the engine: one
``generate`` at a time is shared by all the conversations.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import torch

from hermitcrab import (
    Conversation,
    ConversationClosedError,
    EngineError,
    GenerationOptions,
    MessageEvent,
    ToolExecutionError,
    tool,
    tool_cancelled,
)
from hermitcrab.engines import HuggingEngine
from hermitcrab.testing import END_OF_TURN, build_tiny_chat_model

PLANS = ("ok", "tool", "tool-fail", "tool-hang", "cancel")
WEIGHTS = (4, 3, 2, 1, 2)


class Script:
    """A logits processor that forces the replies of one conversation's current round."""

    def __init__(self, end: int) -> None:
        self.end = end
        self.replies: list[list[int]] = []
        self._index = -1
        self._start = 0
        self._last = -2

    def set(self, replies: list[list[int]]) -> None:
        self.replies, self._index, self._last = replies, -1, -2

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        length = int(input_ids.shape[-1])
        if length != self._last + 1:  # a new generation
            self._index += 1
            self._start = length
        self._last = length
        reply = self.replies[self._index] if self._index < len(self.replies) else []
        step = length - self._start
        forced = reply[step] if step < len(reply) else self.end
        out = scores.new_full(scores.shape, float("-inf"))
        out[:, forced] = 0.0
        return out


RUNNING_TOOL_THREADS = 0
_LOCK = threading.Lock()


@tool
def work(n: int) -> str:
    """Does a little work."""
    return f"worked {n} " * 20


@tool
def fail(n: int) -> str:
    """Always fails."""
    raise RuntimeError(f"injected failure {n}")


@tool
def hang() -> str:
    """Runs until its round is cancelled."""
    global RUNNING_TOOL_THREADS
    with _LOCK:
        RUNNING_TOOL_THREADS += 1
    try:
        deadline = time.monotonic() + 30
        while not tool_cancelled() and time.monotonic() < deadline:
            time.sleep(0.005)
        return "stopped"
    finally:
        with _LOCK:
            RUNNING_TOOL_THREADS -= 1


def _call(name: str, **arguments: object) -> str:
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': arguments})}\n</tool_call>"


class Soak:
    def __init__(self, args: argparse.Namespace, model: Path) -> None:
        self.args = args
        self.model = model
        self.rng = random.Random(args.seed)
        self.outcomes: dict[str, int] = {}
        self.latencies: list[float] = []
        self.checked = 0
        self.restarts = 0
        self.cleared = 0
        self.engine: HuggingEngine = self._engine()
        self.scripts: list[Script] = []
        self.convs: list[Conversation] = []
        for i in range(args.conversations):
            script = Script(self.engine.tokenizer.convert_tokens_to_ids(END_OF_TURN))
            self.scripts.append(script)
            self.convs.append(self._conversation(i, script))

    def _engine(self) -> HuggingEngine:
        return HuggingEngine(
            self.model, max_context_size=self.args.context, max_cached_sessions=self.args.conversations
        )

    def _conversation(self, i: int, script: Script, path: Path | None = None) -> Conversation:
        kwargs: dict[str, Any] = {
            "tools": [work, fail, hang],
            "max_new_tokens": 48,
            "options": GenerationOptions(extra={"logits_processor": [script]}),
            "tool_errors": "raise" if i % 4 == 0 else "feedback",
        }
        if path is not None:
            return Conversation.load(path, self.engine, **kwargs)
        return Conversation(self.engine, system=f"You are soak assistant {i}.", **kwargs)

    def _ids(self, text: str) -> list[int]:
        return self.engine.tokenizer.encode(text, add_special_tokens=False)

    def count(self, outcome: str) -> None:
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    async def round(self, i: int, turn: int) -> None:
        conv, script = self.convs[i], self.scripts[i]
        plan = self.rng.choices(PLANS, WEIGHTS)[0]
        answer = self._ids(f"answer {turn} for {i}")
        replies = {
            "ok": [answer],
            "tool": [self._ids(_call("work", n=turn)), answer],
            "tool-fail": [self._ids(_call("fail", n=turn)), answer],
            "tool-hang": [self._ids(_call("hang")), answer],
            "cancel": [self._ids(" ".join(["slow"] * 40))],
        }[plan]
        script.set(replies)
        cancel_after = {"tool-hang": 0.05, "cancel": self.rng.uniform(0.0, 0.05)}.get(plan)
        before, usage = conv.history, conv.usage
        events: list[Any] = []
        outcome = "ok"
        started = time.perf_counter()
        with anyio.move_on_after(cancel_after) as scope:
            try:
                async with conv.stream(f"question {turn} ({plan})") as stream:
                    async for event in stream:
                        events.append(event)
            except ToolExecutionError:
                outcome = "tool-error-raised"
            except (EngineError, ConversationClosedError) as exc:
                outcome = f"unexpected {type(exc).__name__}"
        if scope.cancelled_caught:
            outcome = "cancelled"
        elif outcome == "ok":
            self.latencies.append(time.perf_counter() - started)
            added = tuple(e.message for e in events if isinstance(e, MessageEvent))
            assert conv.history == before + added, f"conversation {i}: history is not old + round"
            assert conv.usage == usage + conv.last_usage
        if outcome != "ok":
            assert conv.history == before, f"conversation {i}: a {outcome} round changed the history"
            assert conv.usage == usage
        self.checked += 1
        self.count(outcome)

    async def epoch(self) -> None:
        async def run(i: int) -> None:
            for turn in range(self.args.rounds):
                await self.round(i, turn)

        async with anyio.create_task_group() as tg:
            for i in range(len(self.convs)):
                tg.start_soon(run, i)
        # A history is kept whole (only prompts are trimmed), so it grows memory by itself: clear long
        # ones, to tell a leak from a growing history.
        for conv in self.convs:
            if len(conv.history) > self.args.keep_messages:
                conv.clear()
                self.cleared += 1

    def messages(self) -> int:
        return sum(len(conv.history) for conv in self.convs)

    async def restart(self, folder: Path) -> None:
        saved = []
        for i, conv in enumerate(self.convs):
            path = folder / f"conv{i}.json"
            conv.save(path)
            saved.append((path, conv.history, conv.usage))
            await conv.aclose()
        await self.engine.close()
        self.engine = self._engine()
        self.convs = []
        for i, (path, history, usage) in enumerate(saved):
            conv = self._conversation(i, self.scripts[i], path)
            assert conv.history == history and conv.usage == usage, f"conversation {i} did not reload"
            self.checked += 1
            self.convs.append(conv)
        self.restarts += 1


def _rss_mib() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def _resources(soak: Soak) -> tuple[float, int, int, int]:
    gc.collect()
    return _rss_mib(), threading.active_count(), _open_files(), soak.messages()


async def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        model = build_tiny_chat_model(folder / "model", hidden_size=args.hidden, num_layers=args.layers)
        soak = Soak(args, model)
        for _ in range(args.warmup):  # caches, thread pools, allocator; histories reach the budget
            await soak.epoch()
        baseline = _resources(soak)
        started = time.perf_counter()
        epochs = args.warmup
        halfway: tuple[float, int, int, int] | None = None
        while time.perf_counter() - started < args.minutes * 60:
            await soak.epoch()
            epochs += 1
            if epochs % args.restart_every == 0:
                await soak.restart(folder)
            if halfway is None and time.perf_counter() - started >= args.minutes * 30:
                halfway = _resources(soak)
        with anyio.fail_after(10):
            while RUNNING_TOOL_THREADS:  # noqa: ASYNC110 (a counter kept by worker threads)
                await anyio.sleep(0.01)
        await anyio.sleep(0.5)
        end = _resources(soak)
        elapsed = time.perf_counter() - started
        for conv in soak.convs:
            await conv.aclose()
        await soak.engine.close()

    lat = sorted(soak.latencies)
    p50 = statistics.median(lat) * 1000 if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000 if lat else float("nan")
    rounds = sum(soak.outcomes.values())
    print(
        f"\nSoak: {args.conversations} conversations x {args.rounds} rounds per epoch, {epochs} epochs, "
        f"{elapsed / 60:.1f} min after {args.warmup} warm-up epochs, {soak.restarts} engine restarts, "
        f"{soak.cleared} histories cleared at {args.keep_messages} messages, "
        f"backend {args.backend}, tiny Qwen2 h{args.hidden} x{args.layers}, context {args.context}, "
        "1 torch thread\n"
    )
    mid = halfway or end
    print("| measure | after warm-up | halfway | at the end | change |")
    print("|---|---|---|---|---|")
    print(f"| RSS (MiB) | {baseline[0]:.1f} | {mid[0]:.1f} | {end[0]:.1f} | {end[0] - baseline[0]:+.1f} |")
    print(f"| threads | {baseline[1]} | {mid[1]} | {end[1]} | {end[1] - baseline[1]:+d} |")
    print(f"| open files | {baseline[2]} | {mid[2]} | {end[2]} | {end[2] - baseline[2]:+d} |")
    print(f"| messages in histories | {baseline[3]} | {mid[3]} | {end[3]} | {end[3] - baseline[3]:+d} |")
    print()
    print("| rounds | successful p50 | successful p99 | histories checked | outcomes |")
    print("|---|---|---|---|---|")
    outcomes = ", ".join(f"{k} {v}" for k, v in sorted(soak.outcomes.items()))
    print(f"| {rounds} | {p50:.0f} ms | {p99:.0f} ms | {soak.checked} | {outcomes} |")
    unexpected = {k: v for k, v in soak.outcomes.items() if k.startswith("unexpected")}
    if unexpected:
        raise SystemExit(f"unexpected outcomes: {unexpected}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--conversations", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--restart-every", type=int, default=10, help="restart the engine every N epochs")
    parser.add_argument("--warmup", type=int, default=3, help="epochs before the baseline is taken")
    parser.add_argument(
        "--context",
        type=int,
        default=1024,
        help="context size: histories are trimmed to it, so the load "
        "is steady after warm-up (a growing prompt would grow memory and latency by itself)",
    )
    parser.add_argument(
        "--keep-messages", type=int, default=120, help="clear a history longer than this after an epoch"
    )
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    arguments = parser.parse_args()
    anyio.run(main, arguments, backend=arguments.backend)
