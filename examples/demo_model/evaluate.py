"""Evaluate the demo model the way users run it: ``HuggingEngine`` + ``Conversation`` + the real tools.

Every held-out prompt (phrasings never seen in training; cities and note words seen and unseen) is
sent as a fresh one-round conversation with its bot's system prompt and tools. The round's first tool
call (or none), the tool's result and the final answer are scored, and a Markdown report is written::

    python examples/demo_model/evaluate.py                   # ./model -> ./EVALUATION.md
    python examples/demo_model/evaluate.py --model /tmp/try --per-kind 10 --report /tmp/eval.md
    python examples/demo_model/evaluate.py --constrained --report /tmp/eval-constrained.md  # xgrammar
    python examples/demo_model/evaluate.py --set dev --report /tmp/dev.md   # to choose between runs

Metrics:
    call/no-call   the model called a tool exactly when the prompt needed one
    right tool     among prompts that need a tool: the first call names the right one
    exact args     the first call's arguments, validated by the tool (defaults filled), equal the
                   expected ones; split by entity (city, note text) seen / unseen in training
    valid calls    every call the model made parsed as JSON and passed the tool's schema validation
    uses result    the final answer quotes the tool's result (e.g. "34°F, snowing in Oslo")
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import anyio  # noqa: E402
import data  # noqa: E402

from hermitcrab import Conversation, HuggingEngine, ToolCallEvent, ToolResultEvent  # noqa: E402
from hermitcrab.errors import HermitcrabError  # noqa: E402

_EXAMPLE_NOTES = ["buy milk", "call mom on Friday"]


async def run_one(engine: HuggingEngine, sample: data.Sample) -> dict[str, Any]:
    """One held-out prompt as a real round; returns what happened."""
    data.calculator_bot.NOTES[:] = list(_EXAMPLE_NOTES) if sample.tool == "list_notes" else []
    calls: list[Any] = []
    results: list[Any] = []
    answer = ""
    error = None
    async with Conversation(
        engine, system=sample.toolset.system, tools=sample.toolset.tools, max_tool_rounds=2, max_new_tokens=96
    ) as conv:
        try:
            async for event in conv.stream(sample.prompt):
                if isinstance(event, ToolCallEvent):
                    calls.append(event.call)
                elif isinstance(event, ToolResultEvent):
                    results.append(event.message)
            answer = conv.history[-1].text
        except HermitcrabError as exc:
            error = f"{type(exc).__name__}: {exc}"
    return {"calls": calls, "results": results, "answer": answer, "error": error}


def _valid(sample: data.Sample, call: Any) -> bool:
    tools = {t.name: t for t in sample.toolset.tools}
    if call.error is not None or call.name not in tools:
        return False
    try:
        tools[call.name].validate(call.arguments)
    except Exception:
        return False
    return True


def _same_args(sample: data.Sample, call: Any) -> bool:
    tool = next(t for t in sample.toolset.tools if t.name == sample.tool)
    try:
        return tool.validate(call.arguments) == tool.validate(sample.arguments)
    except Exception:
        return False


def score(samples: list[data.Sample], outcomes: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Counts (hits, total) per metric."""
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def add(key: str, hit: bool) -> None:
        counts[key][0] += int(hit)
        counts[key][1] += 1

    for sample, out in zip(samples, outcomes, strict=True):
        calls = out["calls"]
        first = calls[0] if calls else None
        add("call/no-call decision", (first is not None) == (sample.tool is not None))
        for call in calls:
            add("valid calls", _valid(sample, call))
        if sample.tool is None:
            continue
        add("right tool", first is not None and first.name == sample.tool)
        entity = {"weather": "city", "save_note": "note text"}.get(sample.kind)
        exact = first is not None and first.name == sample.tool and _same_args(sample, first)
        if entity is None:
            add("exact args: numbers / no args", exact)
        else:
            add(f"exact args: {entity}, {'seen' if sample.seen else 'unseen'}", exact)
        add(f"exact args: all {'seen' if sample.seen else 'unseen'}", exact)
        ok_results = [r for r in out["results"] if not r.is_error]
        if first is not None and ok_results:
            text = ok_results[0].text.rstrip(".")
            add("final answer uses the result", text in out["answer"])
    return {k: (v[0], v[1]) for k, v in counts.items()}


_ORDER = (
    ("call/no-call decision", ">= 95%"),
    ("right tool", ">= 95%"),
    ("exact args: all seen", ">= 90%"),
    ("exact args: all unseen", ">= 70%"),
    ("exact args: city, seen", ""),
    ("exact args: city, unseen", ""),
    ("exact args: note text, seen", ""),
    ("exact args: note text, unseen", ""),
    ("exact args: numbers / no args", ""),
    ("valid calls", "100%"),
    ("final answer uses the result", ">= 90%"),
)


def table(counts: dict[str, tuple[int, int]]) -> str:
    lines = ["| metric | target | result |", "|---|---|---|"]
    for key, target in _ORDER:
        if key in counts:
            hits, total = counts[key]
            lines.append(f"| {key} | {target} | {hits / total:.1%} ({hits}/{total}) |")
    return "\n".join(lines)


async def evaluate(
    model: str,
    per_kind: int,
    seed: int,
    constrained: bool = False,
    max_string_length: int | None = None,
    prompts: str = "test",
) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """Run every held-out prompt (``prompts="dev"``: the development set instead); ``constrained``
    turns on grammar-constrained tool calls (xgrammar), with string arguments capped at
    ``max_string_length`` characters."""
    if prompts == "dev":
        samples = data.dev_prompts(per_kind=per_kind)
    else:
        samples = data.eval_prompts(seed=seed, per_kind=per_kind)
    started = time.perf_counter()
    cap = max_string_length if constrained else None
    async with HuggingEngine(model, constrained=constrained, max_string_length=cap) as engine:
        load_s = time.perf_counter() - started
        outcomes = [await run_one(engine, s) for s in samples]
    elapsed = time.perf_counter() - started - load_s
    counts = score(samples, outcomes)
    rows = []
    for s, o in zip(samples, outcomes, strict=True):
        rows.append(
            {
                "prompt": s.prompt,
                "toolset": s.toolset.name,
                "expected": {"tool": s.tool, "arguments": s.arguments},
                "seen": s.seen,
                "calls": [{"name": c.name, "arguments": c.arguments, "error": c.error} for c in o["calls"]],
                "results": [r.text for r in o["results"]],
                "answer": o["answer"],
                "error": o["error"],
            }
        )
    info = {"prompts": len(samples), "load_s": round(load_s, 2), "eval_s": round(elapsed, 1)}
    return table(counts), rows, info


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(HERE / "model"))
    parser.add_argument("--per-kind", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--report", type=Path, default=HERE / "EVALUATION.md")
    parser.add_argument(
        "--constrained", action="store_true", help="grammar-constrained tool calls (needs xgrammar)"
    )
    parser.add_argument(
        "--max-string-length",
        type=int,
        default=48,
        help="with --constrained: longest string argument (the grammar then closes the call)",
    )
    parser.add_argument("--rows", type=Path, default=None, help="also write every prompt's outcome (JSON)")
    parser.add_argument(
        "--set",
        choices=("test", "dev"),
        default="test",
        help="test: the held-out prompts the README reports; dev: the set that runs are chosen on",
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    md, rows, info = anyio.run(
        evaluate, args.model, args.per_kind, args.seed, args.constrained, args.max_string_length, args.set
    )
    failures = [
        r
        for r in rows
        if r["expected"]["tool"] is not None
        and not (
            r["calls"]
            and r["calls"][0]["name"] == r["expected"]["tool"]
            and r["calls"][0]["arguments"] == r["expected"]["arguments"]
        )
    ]
    report = (
        "# Demo model evaluation\n\n"
        f"{'Development' if args.set == 'dev' else 'Held-out'} prompts through `HuggingEngine` + "
        "`Conversation` with the bots' real tools "
        f"({info['prompts']} prompts, greedy decoding, "
        f"{'grammar-constrained tool calls (`constrained=True`)' if args.constrained else 'unconstrained'}, "
        f"evaluated in {info['eval_s']} s on 1 CPU thread; "
        f"produced by `examples/demo_model/evaluate.py`).\n\n"
        f"{md}\n\n## Some misses\n\n"
        + "\n".join(
            f"- `{r['prompt']}` expected `{json.dumps(r['expected'], ensure_ascii=False)}`, got "
            f"`{json.dumps(r['calls'], ensure_ascii=False)}`"
            for r in failures[:15]
        )
        + "\n"
    )
    args.report.write_text(report, encoding="utf-8")
    if args.rows is not None:
        args.rows.write_text(json.dumps(rows, indent=1, ensure_ascii=False, default=str), encoding="utf-8")
    print(md)
    print(f"\n{info}; report written to {args.report}")


if __name__ == "__main__":
    main()
