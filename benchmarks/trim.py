"""Trimming benchmark: time to build the trimmed prompt for long histories (2,048-token budget).

Prints a table: for histories of 200, 2,000 and 20,000 messages, the time of the first (cold) prompt
of a new conversation and of the next prompt after one message is appended (incremental), next to a
kani-style baseline (drop the oldest message and re-render the whole prompt until it fits), all in the
same run. The engine is ``ScriptedEngine`` by default; ``--engine hf`` uses ``HuggingEngine`` on a tiny
offline model with a real tokenizer and chat template (needs the ``hf`` extra).

    python benchmarks/trim.py [--engine scripted|hf] [--baseline-max 2000]
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from _timing import median_time

from hermitcrab import Conversation, Engine, Message, ScriptedEngine, ToolCall

BUDGET = 2048
MAX_NEW_TOKENS = 256


def make_history(n: int) -> list[Message]:
    """n messages of a realistic mix: questions, answers, and now and then a tool call with its result."""
    history: list[Message] = []
    i = 0
    while len(history) < n:
        history.append(Message.user(f"Question {i}: what is the weather like in city number {i % 97} today?"))
        if i % 5 == 4:
            call = ToolCall(
                id=f"call_{i}", name="get_weather", arguments={"city": f"city {i % 97}", "unit": "C"}
            )
            history.append(Message.assistant(tool_calls=[call]))
            history.append(Message.tool_result(call, f"{i % 30} degrees, cloudy"))
        history.append(Message.assistant(f"Answer {i}: it is {i % 30} degrees and cloudy there, as usual."))
        i += 1
    return history[:n]


def naive_trim(engine: Engine, system: Message, history: Sequence[Message], budget: int) -> list[Message]:
    """kani's approach: drop the oldest message until the re-rendered whole prompt fits (quadratic)."""
    start = 0
    while start < len(history):
        prompt = [system, *history[start:]]
        if engine.prompt_len(prompt) <= budget:
            return prompt
        start += 1
    return [system]


def build_engine(kind: str, workdir: Path) -> Engine:
    if kind == "scripted":
        return ScriptedEngine(max_context_size=BUDGET + MAX_NEW_TOKENS)
    from hermitcrab import HuggingEngine
    from hermitcrab.testing import build_tiny_chat_model

    folder = build_tiny_chat_model(workdir / "tiny")
    return HuggingEngine(str(folder), max_context_size=BUDGET + MAX_NEW_TOKENS)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=["scripted", "hf"], default="scripted")
    parser.add_argument(
        "--baseline-max", type=int, default=2000, help="largest history to run the baseline on"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = build_engine(args.engine, Path(tmp))
        system = Message.system("You are a helpful assistant.")
        print(f"engine: {type(engine).__name__}, budget {BUDGET} tokens, median of 3 runs\n")
        header = (
            f"| {'messages':>8} | {'cold':>10} | {'incremental':>11} | {'kept':>5} "
            f"| {'baseline (kani-style)':>21} |"
        )
        print(header)
        print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
        for n in (200, 2_000, 20_000):
            history = make_history(n)

            def cold(history: list[Message] = history) -> int:
                conv = Conversation(
                    engine, system=system.text, history=history, max_new_tokens=MAX_NEW_TOKENS
                )
                return len(conv.prompt())

            conv = Conversation(engine, system=system.text, history=history, max_new_tokens=MAX_NEW_TOKENS)
            kept = len(conv.prompt()) - 1
            counter = iter(range(10**9))

            def incremental(conv: Conversation = conv, counter: Iterator[int] = counter) -> int:
                conv._history.append(Message.user(f"one more question {next(counter)}"))
                return len(conv.prompt())

            t_cold = median_time(cold, repeat=3)
            t_incr = median_time(incremental, repeat=5)
            if n <= args.baseline_max:
                t_naive = median_time(
                    lambda history=history: naive_trim(engine, system, history, BUDGET), repeat=1
                )
                baseline = f"{t_naive * 1000:10.1f} ms ({t_naive / t_cold:5.0f}x)"
            else:
                baseline = "skipped (too slow)"
            times = f"{t_cold * 1000:7.1f} ms | {t_incr * 1000:8.2f} ms"
            print(f"| {n:>8,} | {times} | {kept:>5} | {baseline:>21} |")


if __name__ == "__main__":
    main()
