"""Evaluate the demo model the way users run it: ``HuggingEngine`` + ``Conversation`` + the real tools.

Every held-out prompt (phrasings never seen in training; cities and note words seen and unseen) is
sent as a fresh one-round conversation with its bot's system prompt and tools. The round's first tool
call (or none), the tool's result and the final answer are scored, and a Markdown report is written::

    python training/evaluate.py                   # ./model -> ./EVALUATION.md
    python training/evaluate.py --model /tmp/try --per-kind 10 --report /tmp/eval.md
    python training/evaluate.py --constrained --report /tmp/eval-constrained.md  # xgrammar
    python training/evaluate.py --set dev --report /tmp/dev.md   # generated development set
    python training/evaluate.py --set handdev --constrained      # hand-written: chooses runs
    python training/evaluate.py --set handtest --constrained     # hand-written: reports only

``--constrained`` runs the examples' engine (``examples/_common.py``'s ``DemoEngine``: string arguments
capped by the prompt's length); ``--max-string-length N`` fixes the cap at N instead.

Metrics:
    call/no-call   the model called a tool exactly when the prompt needed one
    right tool     among prompts that need a tool: the first call names the right one
    exact args     the first call's arguments, validated by the tool (defaults filled), equal the
                   expected ones; split by entity (city, note text) seen / unseen in training
    valid calls    every call the model made parsed as JSON and passed the tool's schema validation
    uses result    the final answer quotes the tool's result (e.g. "34°F, snowing in Oslo")

The hand-written sets (``prompts/``) add: prompts that need no tool answered without a call, exact
arguments over all tool requests and by kind (cities of several words, Fahrenheit asked for, numbers,
notes longer than 48 characters); ``add`` and ``multiply`` count with their numbers in either order.
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
MODEL = HERE.parent / "examples" / "demo_model" / "model"
"""The shipped model folder (what the examples, `make demo` and `hermitcrab chat` load)."""
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import anyio  # noqa: E402
import data  # noqa: E402
from _common import DemoEngine  # noqa: E402

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


class _Tally:
    """(hits, total) per metric, in the order metrics first appear; what every set scores alike."""

    def __init__(self) -> None:
        self._counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def add(self, key: str, hit: bool) -> None:
        self._counts[key][0] += int(hit)
        self._counts[key][1] += 1

    def calls(self, sample: data.Sample, out: dict[str, Any]) -> Any:
        """Score the decision and each call's validity; return the first call (``None``: no call)."""
        calls = out["calls"]
        first = calls[0] if calls else None
        self.add("call/no-call decision", (first is not None) == (sample.tool is not None))
        for call in calls:
            self.add("valid calls", _valid(sample, call))
        return first

    def answer(self, first: Any, out: dict[str, Any]) -> None:
        """Score whether the final answer quotes the first successful tool result."""
        ok_results = [r for r in out["results"] if not r.is_error]
        if first is not None and ok_results:
            self.add("final answer uses the result", ok_results[0].text.rstrip(".") in out["answer"])

    def result(self) -> dict[str, tuple[int, int]]:
        return {k: (v[0], v[1]) for k, v in self._counts.items()}


def score(samples: list[data.Sample], outcomes: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Counts (hits, total) per metric."""
    tally = _Tally()
    add = tally.add
    for sample, out in zip(samples, outcomes, strict=True):
        first = tally.calls(sample, out)
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
        tally.answer(first, out)
    return tally.result()


def _same_call(sample: data.Sample, call: Any) -> bool:
    """The right tool with the expected arguments; ``add`` and ``multiply`` in either order."""
    if call is None or call.name != sample.tool:
        return False
    if _same_args(sample, call):
        return True
    if sample.tool in ("add", "multiply") and isinstance(call.arguments, dict):
        swapped = {"a": call.arguments.get("b"), "b": call.arguments.get("a")}
        return _same_args(sample, call.model_copy(update={"arguments": swapped}))
    return False


def score_hand(samples: list[data.Sample], outcomes: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """Counts (hits, total) per metric for a hand-written set."""
    tally = _Tally()
    add = tally.add
    for sample, out in zip(samples, outcomes, strict=True):
        first = tally.calls(sample, out)
        if sample.tool is None:
            add("no tool needed: answered without a call", first is None)
            add(f"no tool needed: {sample.kind.split(':')[1]}", first is None)
            continue
        add("tool requests: a call", first is not None)
        add("right tool", first is not None and first.name == sample.tool)
        exact = _same_call(sample, first)
        add("exact args: all tool requests", exact)
        if sample.kind == "weather":
            city = sample.arguments["city"]
            add(f"exact args: city, {'seen' if sample.seen else 'unseen'}", exact)
            if " " in city or "-" in city:
                add("exact args: city of several words", exact)
            if sample.arguments.get("unit") == "F":
                add("exact args: Fahrenheit asked for", exact)
        elif sample.kind in ("convert", "add", "multiply"):
            add("exact args: numbers", exact)
        elif sample.kind == "save_note":
            add("exact args: note text", exact)
            if len(sample.arguments["text"]) > 48:
                add("exact args: note text over 48 characters", exact)
        else:
            add("exact args: list_notes", exact)
        tally.answer(first, out)
    return tally.result()


_HAND_ORDER = (
    ("call/no-call decision", ">= 95%"),
    ("tool requests: a call", ""),
    ("no tool needed: answered without a call", ">= 85%"),
    ("no tool needed: knowledge", ""),
    ("no tool needed: other_bot", ""),
    ("no tool needed: abilities", ""),
    ("no tool needed: chat", ""),
    ("right tool", ">= 95%"),
    ("exact args: all tool requests", ">= 85%"),
    ("exact args: city, seen", ""),
    ("exact args: city, unseen", ""),
    ("exact args: city of several words", ""),
    ("exact args: Fahrenheit asked for", ""),
    ("exact args: numbers", ""),
    ("exact args: note text", ""),
    ("exact args: note text over 48 characters", ""),
    ("exact args: list_notes", ""),
    ("valid calls", "100%"),
    ("final answer uses the result", ">= 90%"),
)


def selection_score(counts: dict[str, tuple[int, int]]) -> float:
    """The hand-written development set's selection score (prompts/README.md): the mean of the
    decision, no-tool, right-tool and exact-argument rates, in percent."""
    keys = (
        "call/no-call decision",
        "no tool needed: answered without a call",
        "right tool",
        "exact args: all tool requests",
    )
    return 100 * sum(counts[k][0] / counts[k][1] for k in keys) / len(keys)


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
    order = _HAND_ORDER if "exact args: all tool requests" in counts else _ORDER
    for key, target in order:
        if key in counts:
            hits, total = counts[key]
            lines.append(f"| {key} | {target} | {hits / total:.1%} ({hits}/{total}) |")
    return "\n".join(lines)


def _samples(prompts: str, per_kind: int, seed: int) -> list[data.Sample]:
    if prompts == "dev":
        return data.dev_prompts(per_kind=per_kind)
    if prompts in data.HAND_SETS:
        return data.hand_prompts(prompts)
    return data.eval_prompts(seed=seed, per_kind=per_kind)


async def _run(
    model: str, samples: list[data.Sample], constrained: bool, max_string_length: int | None
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every sample as a real round; the outcomes, and how long loading and running took."""
    started = time.perf_counter()
    if constrained and max_string_length is None:
        engine: HuggingEngine = DemoEngine(model, constrained=True)
    else:
        engine = HuggingEngine(model, constrained=constrained, max_string_length=max_string_length)
    async with engine:
        load_s = time.perf_counter() - started
        outcomes = [await run_one(engine, s) for s in samples]
    elapsed = time.perf_counter() - started - load_s
    return outcomes, {"prompts": len(samples), "load_s": round(load_s, 2), "eval_s": round(elapsed, 1)}


def _rows(samples: list[data.Sample], outcomes: list[dict[str, Any]], hand: bool) -> list[dict[str, Any]]:
    """Every prompt's outcome, JSON-ready; ``right``: the right call with the right arguments (or none;
    with ``hand``, ``add`` and ``multiply`` in either order, as the hand-written sets are scored)."""
    rows = []
    for s, o in zip(samples, outcomes, strict=True):
        first = o["calls"][0] if o["calls"] else None
        if s.tool is None:
            right = first is None
        elif hand:
            right = _same_call(s, first)
        else:
            right = first is not None and first.name == s.tool and _same_args(s, first)
        rows.append(
            {
                "prompt": s.prompt,
                "toolset": s.toolset.name,
                "expected": {"tool": s.tool, "arguments": s.arguments},
                "seen": s.seen,
                "kind": s.kind,
                "right": right,
                "calls": [{"name": c.name, "arguments": c.arguments, "error": c.error} for c in o["calls"]],
                "results": [r.text for r in o["results"]],
                "answer": o["answer"],
                "error": o["error"],
            }
        )
    return rows


async def evaluate(
    model: str,
    per_kind: int,
    seed: int,
    constrained: bool = False,
    max_string_length: int | None = None,
    prompts: str = "test",
) -> tuple[str, list[dict[str, Any]], dict[str, Any]]:
    """Run every held-out prompt (``prompts``: ``"dev"``, ``"handdev"``, ``"handtest"`` for another
    set); ``constrained`` turns on grammar-constrained tool calls (xgrammar), with string arguments
    capped at ``max_string_length`` characters, or by the prompt's length as the examples do (``None``)."""
    samples = _samples(prompts, per_kind, seed)
    outcomes, info = await _run(model, samples, constrained, max_string_length)
    counts = (score_hand if prompts in data.HAND_SETS else score)(samples, outcomes)
    if prompts in data.HAND_SETS:
        info["selection_score"] = round(selection_score(counts), 2)
    return table(counts), _rows(samples, outcomes, prompts in data.HAND_SETS), info


_SETS = (
    ("handdev", "hand-written development (218)"),
    ("handtest", "hand-written test (103)"),
    ("test", "generated held-out (280)"),
    ("dev", "generated development (160)"),
)
_ROWS = (  # (row, target, key in the hand-written sets' counts, keys summed in the generated sets')
    ("call/no-call decision", ">= 95%", "call/no-call decision", ("call/no-call decision",)),
    ("no tool needed: answered without a call", ">= 85%", "no tool needed: answered without a call", ()),
    ("right tool", ">= 95%", "right tool", ("right tool",)),
    (
        "exact args, all tool requests",
        ">= 85%",
        "exact args: all tool requests",
        ("exact args: all seen", "exact args: all unseen"),
    ),
    ("exact args: city, seen", "", "exact args: city, seen", ("exact args: city, seen",)),
    ("exact args: city, unseen", "", "exact args: city, unseen", ("exact args: city, unseen",)),
    ("exact args: city of several words", "", "exact args: city of several words", ()),
    ("exact args: Fahrenheit asked for", "", "exact args: Fahrenheit asked for", ()),
    ("exact args: numbers", "", "exact args: numbers", ("exact args: numbers / no args",)),
    (
        "exact args: note text",
        "",
        "exact args: note text",
        ("exact args: note text, seen", "exact args: note text, unseen"),
    ),
    ("exact args: note text over 48 characters", "", "exact args: note text over 48 characters", ()),
    ("valid calls", "100% constrained", "valid calls", ("valid calls",)),
    (
        "final answer uses the result",
        ">= 90%",
        "final answer uses the result",
        ("final answer uses the result",),
    ),
)


def _cell(counts: dict[str, tuple[int, int]], keys: tuple[str, ...]) -> str:
    hits = sum(counts[k][0] for k in keys if k in counts)
    total = sum(counts[k][1] for k in keys if k in counts)
    return f"{hits / total:.1%} ({hits}/{total})" if total else "—"


async def side_by_side(model: str) -> str:
    """Every set, free and constrained (as the examples run), in one Markdown report."""
    results: dict[
        tuple[str, bool], tuple[dict[str, tuple[int, int]], list[dict[str, Any]], dict[str, Any]]
    ] = {}
    for name, _ in _SETS:
        for constrained in (False, True):
            samples = _samples(name, 40, 1234)
            outcomes, info = await _run(model, samples, constrained, None)
            counts = (score_hand if name in data.HAND_SETS else score)(samples, outcomes)
            results[name, constrained] = counts, _rows(samples, outcomes, name in data.HAND_SETS), info
    lines = [
        "# Demo model evaluation",
        "",
        "Every prompt through `HuggingEngine` + `Conversation` with the bots' real tools, greedy, one CPU "
        "thread; free decoding and grammar-constrained tool calls as the examples run them (`DemoEngine`: "
        "string arguments capped by the prompt's length). Produced by "
        "`python training/evaluate.py --set all`. The hand-written sets are in `prompts/` "
        "(`prompts/README.md`: how they were written, and the rule that chose the model on the development "
        "set); the generated ones come from `data.py`. `add` and `multiply` count with their numbers in "
        "either order in the hand-written sets only.",
        "",
    ]
    for constrained in (True, False):
        lines.append("## " + ("Constrained (what the examples use)" if constrained else "Free decoding"))
        lines.append("")
        lines.append("| metric | target | " + " | ".join(title for _, title in _SETS) + " |")
        lines.append("|---|---|" + "---|" * len(_SETS))
        for row, target, hand_key, keys in _ROWS:
            cells = [
                _cell(results[name, constrained][0], (hand_key,) if name in data.HAND_SETS else keys)
                for name, _ in _SETS
            ]
            lines.append(f"| {row} | {target} | " + " | ".join(cells) + " |")
        lines.append("")
    for name in ("handdev", "handtest"):
        counts, rows, _ = results[name, True]
        title = dict(_SETS)[name]
        lines += [f"## Misses on the {title} set (constrained)", ""]
        lines += [f"- `{r['prompt']}` expected {_expected(r)}, got {_got(r)}" for r in rows if not _right(r)]
        lines.append("")
    return "\n".join(lines)


def _expected(row: dict[str, Any]) -> str:
    expected = row["expected"]
    if expected["tool"] is None:
        return "no call"
    return f"`{expected['tool']}({json.dumps(expected['arguments'], ensure_ascii=False)})`"


def _got(row: dict[str, Any]) -> str:
    if not row["calls"]:
        return "no call"
    return ", ".join(
        f"`{c['name']}({json.dumps(c['arguments'], ensure_ascii=False)})`" for c in row["calls"][:2]
    )


def _right(row: dict[str, Any]) -> bool:
    return bool(row["right"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(MODEL))
    parser.add_argument("--per-kind", type=int, default=40)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--report", type=Path, default=HERE / "EVALUATION.md")
    parser.add_argument(
        "--constrained", action="store_true", help="grammar-constrained tool calls (needs xgrammar)"
    )
    parser.add_argument(
        "--max-string-length",
        type=int,
        default=None,
        help="with --constrained: longest string argument (the grammar then closes the call); "
        "default: the length of the prompt, at least 48 (what the examples use)",
    )
    parser.add_argument("--rows", type=Path, default=None, help="also write every prompt's outcome (JSON)")
    parser.add_argument(
        "--set",
        choices=("test", "dev", "handdev", "handtest", "all"),
        default="test",
        help="test: the generated held-out prompts; dev: the generated development set; handdev: the "
        "hand-written development set runs are chosen on; handtest: the hand-written test set; all: "
        "every set, free and constrained, side by side (what EVALUATION.md shows)",
    )
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    if args.set == "all":
        report = anyio.run(side_by_side, args.model)
        args.report.write_text(report, encoding="utf-8")
        print(report)
        return
    md, rows, info = anyio.run(
        evaluate, args.model, args.per_kind, args.seed, args.constrained, args.max_string_length, args.set
    )
    hand = args.set in data.HAND_SETS
    failures = [r for r in rows if (r["expected"]["tool"] is not None or hand) and not r["right"]]
    names = {
        "test": "Held-out",
        "dev": "Development",
        "handdev": "Hand-written development",
        "handtest": "Hand-written test",
    }
    if args.constrained:
        cap = args.max_string_length or "the prompt's length, at least 48"
        how = f"grammar-constrained tool calls (`constrained=True`, strings capped at {cap})"
    else:
        how = "unconstrained"
    report = (
        "# Demo model evaluation\n\n"
        f"{names[args.set]} prompts through `HuggingEngine` + `Conversation` with the bots' real tools "
        f"({info['prompts']} prompts, greedy decoding, {how}, "
        f"evaluated in {info['eval_s']} s on 1 CPU thread; "
        f"produced by `training/evaluate.py`).\n\n"
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
