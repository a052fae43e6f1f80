"""Continuous batching: N conversations on one HuggingEngine, batched against one round at a time.

For N = 1, 8 and 32 conversations (each a fresh history of 40-400 prompt tokens, 32 new tokens,
greedy), all started at once on one engine, measured side by side in one run:

- the same engine class with ``max_batch_size=1`` (rounds take turns, as before batching), and
- with batching (``max_batch_size=--max-batch-size``, 32 by default).

Columns: generated tokens per second and the ratio to the one-at-a-time engine (and the ratio of tokens
per CPU second of this process, which other jobs on a shared machine disturb less), time to first token
(p50, p99; it includes the wait for a slot), inter-token latency p99, and the peak RSS of the run.
Batched outputs are checked equal to the one-at-a-time outputs (greedy, fp32). Each size runs
``--repeat`` times (4), alternating the two engines and which goes first, and the table sums the runs.

Two more rows check the per-round guarantees under load (N=8): how many decoding steps a cancelled
round still takes after its cancel (target <= 1), and how long the others take with one stalled reader
against the same rounds without it (target <= 1.5x).

    python benchmarks/concurrency.py [--hidden 512] [--layers 4] [--threads 2] [--constrained]
                                     [--device cuda] [--sizes 1,8,32] [--backend trio]

Targets on the 2-core CPU with the tiny model: N=1 no slower than max_batch_size=1 (<= 1.05x time),
N=8 >= 2.2x throughput, N=32 >= 2.8x; on a GPU N=32 >= 8x. These machines are shared and noisy:
compare ratios from one run, not absolute numbers across runs.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio
import torch

from hermitcrab.engines import HuggingEngine
from hermitcrab.events import Completion, GenerationOptions, ReasoningDelta, TextDelta, ToolCallEvent
from hermitcrab.messages import Message
from hermitcrab.testing import BASE_TEXT, build_tiny_chat_model

NEW_TOKENS = 32
WORDS = BASE_TEXT.split()
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string", "maxLength": 24}, "unit": {"enum": ["C", "F"]}},
                "required": ["city"],
            },
        },
    }
]


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _peak_rss_reset() -> None:
    """Reset the kernel's peak-RSS mark (Linux), so each run reports its own peak."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def _peak_rss_mib() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_histories(engine: HuggingEngine, count: int, seed: int) -> list[list[Message]]:
    """``count`` one-turn histories whose prompts have 40-400 tokens (uniform)."""
    rng = random.Random(seed)
    histories = []
    for _ in range(count):
        target = rng.randint(40, 400)
        start = rng.randrange(len(WORDS))

        def text(words: int, start: int = start) -> str:
            return " ".join(WORDS[(start + k) % len(WORDS)] for k in range(words))

        low, high = 1, 400
        while low < high:  # the most words whose prompt stays within the target
            mid = (low + high + 1) // 2
            if engine.prompt_len([Message.user(text(mid))]) <= target:
                low = mid
            else:
                high = mid - 1
        histories.append([Message.user(text(low))])
    return histories


class Run:
    """The measurements of one engine on one batch of conversations."""

    def __init__(self) -> None:
        self.wall = 0.0
        self.cpu = 0.0
        self.tokens = 0
        self.ttft: list[float] = []
        self.gaps: list[float] = []
        self.outputs: list[tuple[Any, ...]] = []
        self.peak_mib = 0.0

    def merge(self, other: Run) -> None:
        """Add ``other``'s measurements (repeated runs)."""
        self.wall += other.wall
        self.cpu += other.cpu
        self.tokens += other.tokens
        self.ttft += other.ttft
        self.gaps += other.gaps
        self.peak_mib = max(self.peak_mib, other.peak_mib)


async def run_all(engine: HuggingEngine, histories: list[list[Message]], constrained: bool) -> Run:
    run = Run()
    outputs: dict[int, tuple[Any, ...]] = {}
    tools = TOOLS if constrained else []
    options = GenerationOptions(max_new_tokens=NEW_TOKENS, temperature=0)
    _peak_rss_reset()
    start = time.perf_counter()
    cpu_start = time.process_time()

    async def one(i: int) -> None:
        last = None
        async for event in engine.stream(histories[i], tools=tools, options=options):
            now = time.perf_counter()
            if isinstance(event, (TextDelta, ReasoningDelta, ToolCallEvent)):
                if last is None:
                    run.ttft.append(now - start)
                else:
                    run.gaps.append(now - last)
                last = now
            elif isinstance(event, Completion):
                run.tokens += event.usage.completion_tokens
                calls = tuple((c.name, repr(c.arguments), c.error) for c in event.message.tool_calls)
                outputs[i] = (event.message.text, calls, event.usage.completion_tokens)

    async with anyio.create_task_group() as tg:
        for i in range(len(histories)):
            tg.start_soon(one, i)
    run.wall = time.perf_counter() - start
    run.cpu = time.process_time() - cpu_start
    run.outputs = [outputs[i] for i in range(len(histories))]
    run.peak_mib = _peak_rss_mib()
    return run


async def cancel_check(engine: HuggingEngine, histories: list[list[Message]]) -> int:
    """Steps a round still takes after its consumer cancels it, while 7 others decode."""

    class Counter:
        steps = 0

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            Counter.steps += 1
            return scores

    endless = {"suppress_tokens": sorted(engine.end_token_ids)}
    at_cancel = -1

    async def victim() -> None:
        nonlocal at_cancel
        options = GenerationOptions(max_new_tokens=2000, extra={"logits_processor": [Counter()], **endless})
        with anyio.CancelScope() as scope:
            async for _ in engine.stream(histories[0], options=options):
                if Counter.steps >= 8:
                    at_cancel = Counter.steps
                    scope.cancel()

    async def other(i: int) -> None:
        await engine.generate(histories[i], options=GenerationOptions(max_new_tokens=NEW_TOKENS * 2))

    async with anyio.create_task_group() as tg:
        tg.start_soon(victim)
        for i in range(1, 8):
            tg.start_soon(other, i)
    return Counter.steps - at_cancel


async def stall_check(
    engine: HuggingEngine, histories: list[list[Message]], repeat: int
) -> tuple[float, float]:
    """Median time for 7 rounds to finish beside a reader that stops reading, and without it."""

    async def one(i: int) -> None:
        await engine.generate(histories[i], options=GenerationOptions(max_new_tokens=NEW_TOKENS))

    async def others() -> float:
        start = time.perf_counter()
        async with anyio.create_task_group() as tg:
            for i in range(1, 8):
                tg.start_soon(one, i)
        return time.perf_counter() - start

    endless = {"suppress_tokens": sorted(engine.end_token_ids)}

    async def with_stalled_reader() -> float:
        release = anyio.Event()

        async def stalled() -> None:
            options = GenerationOptions(max_new_tokens=400, extra=endless)
            async for _ in engine.stream(histories[0], options=options):
                await release.wait()

        async with anyio.create_task_group() as tg:
            tg.start_soon(stalled)
            await anyio.sleep(0.05)
            took = await others()
            release.set()
        return took

    alone, beside = [], []
    for k in range(repeat):  # alternate which goes first; report medians
        if k % 2:
            beside.append(await with_stalled_reader())
            alone.append(await others())
        else:
            alone.append(await others())
            beside.append(await with_stalled_reader())
    return statistics.median(alone), statistics.median(beside)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--hidden", type=int, default=512)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", default="1,8,32")
    parser.add_argument("--max-batch-size", type=int, default=32)
    parser.add_argument(
        "--constrained", action="store_true", help="every round constrained by a tool grammar"
    )
    parser.add_argument("--device", default=None, help="cpu, cuda, ... (default: cuda when available)")
    parser.add_argument("--backend", default="asyncio", choices=["asyncio", "trio"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=4, help="runs per size, alternating the two engines")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[tuple[str, ...]] = []
    with tempfile.TemporaryDirectory() as tmp:
        path = build_tiny_chat_model(
            Path(tmp) / "model", hidden_size=args.hidden, num_layers=args.layers, num_heads=8, num_kv_heads=4
        )
        common: dict[str, Any] = {"device": args.device, "constrained": args.constrained}
        if args.constrained:
            common["parallel_tool_calls"] = False
        one = HuggingEngine(path, max_batch_size=1, **common)
        batched = HuggingEngine(path, max_batch_size=args.max_batch_size, **common)
        device = str(batched.model.device)
        params = sum(p.numel() for p in batched.model.parameters()) / 1e6
        histories = make_histories(batched, max(sizes), args.seed)

        async def bench() -> None:
            await run_all(batched, histories[:2], args.constrained)  # warm-up (grammar compile, allocator)
            await run_all(one, histories[:2], args.constrained)
            for n in sizes:
                base, fast = Run(), Run()
                same = "yes"
                for k in range(args.repeat):  # alternate engines and their order: noise hits both alike
                    if k % 2:
                        fast_run = await run_all(batched, histories[:n], args.constrained)
                        one_run = await run_all(one, histories[:n], args.constrained)
                    else:
                        one_run = await run_all(one, histories[:n], args.constrained)
                        fast_run = await run_all(batched, histories[:n], args.constrained)
                    base.merge(one_run)
                    fast.merge(fast_run)
                    same = same if fast_run.outputs == one_run.outputs else "NO"
                ratio = (fast.tokens / fast.wall) / (base.tokens / base.wall)
                cpu_ratio = (fast.tokens / fast.cpu) / (base.tokens / base.cpu)
                for name, r, note in (
                    ("max_batch_size=1", base, ""),
                    (
                        f"batched (max {args.max_batch_size})",
                        fast,
                        f"{ratio:.2f}x ({cpu_ratio:.2f}x per CPU second), same tokens: {same}",
                    ),
                ):
                    rows.append(
                        (
                            str(n),
                            name,
                            f"{r.tokens / r.wall:.1f}",
                            f"{_percentile(r.ttft, 50) * 1000:.0f} / {_percentile(r.ttft, 99) * 1000:.0f}",
                            f"{_percentile(r.gaps, 99) * 1000:.1f}",
                            f"{r.peak_mib:.0f}",
                            note,
                        )
                    )
            if max(sizes) >= 8:
                late = await cancel_check(batched, histories)
                rows.append(
                    ("8", "cancelled round", "", "", "", "", f"{late} decoding step(s) after its cancel")
                )
                alone, beside = await stall_check(batched, histories, args.repeat)
                rows.append(
                    (
                        "8",
                        "one stalled reader",
                        "",
                        "",
                        "",
                        "",
                        f"others {beside:.2f} s vs {alone:.2f} s without it ({beside / alone:.2f}x)",
                    )
                )

        anyio.run(bench, backend=args.backend)
    mode = "constrained (tool grammar per round)" if args.constrained else "free text"
    print()
    print(
        f"Continuous batching: Qwen2 h{args.hidden} x {args.layers} ({params:.1f} M params), {device}, "
        f"{torch.get_num_threads()} torch thread(s), {args.backend}, {mode}; prompts 40-400 tokens, "
        f"{NEW_TOKENS} new tokens, greedy"
    )
    print()
    headers = ("N", "engine", "tokens/s", "TTFT p50 / p99 (ms)", "ITL p99 (ms)", "peak RSS (MiB)", "note")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    print("| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in rows:
        print("| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
