"""Constrained tool calls benchmark: grammar compile time, per-token overhead, valid-call rates.

Prints four tables, each with its unconstrained baseline measured in the same run:

1. Grammar compile time (Hermes format) for 1, 3 and 6 tools, cold and from the cache, and the
   one-off ``TokenizerInfo`` cost per tokenizer.
2. Per-token cost, unconstrained vs constrained, on the demo model (when present) and a tiny random
   model: wall ms/token of generations of equal length, and the time spent inside the grammar
   processor per token (the overhead itself, less noisy than wall-time differences). Target: <= 5 %.
3. Valid-call rate of a random-weight model over many seeds and several schemas, pushed towards
   ``<tool_call>`` with ``sequence_bias``: the worst case for structure.
4. Valid-call rate of the demo model (``examples/demo_model/model``) on its held-out prompts.

A call is valid when it parsed and its arguments pass the tool's JSON schema (random schemas) or
the tool's own validation (demo model). Runs offline on CPU with one torch thread:

    python benchmarks/constrained.py [--seeds 50] [--per-kind 10] [--tokens 64] [--model PATH]

Timings are noisy on shared 2-core machines: compare the columns of one run, not runs.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import anyio

ROOT = Path(__file__).resolve().parents[1]
for extra_path in (ROOT / "training",):
    if str(extra_path) not in sys.path:
        sys.path.insert(0, str(extra_path))

from _timing import median_time  # noqa: E402

from hermitcrab.engines import HuggingEngine  # noqa: E402
from hermitcrab.engines._constrained import ToolCallConstraint  # noqa: E402
from hermitcrab.events import Completion, GenerationOptions  # noqa: E402
from hermitcrab.messages import Message, ToolCall  # noqa: E402


def _tool(name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {"name": name, "description": f"The {name} tool.", "parameters": parameters},
    }


SCHEMAS: dict[str, list[dict[str, Any]]] = {
    "flat (string, enum)": [
        _tool(
            "get_weather",
            {
                "type": "object",
                "properties": {"city": {"type": "string", "maxLength": 12}, "unit": {"enum": ["C", "F"]}},
                "required": ["city", "unit"],
            },
        )
    ],
    "numbers (2 tools)": [
        _tool(
            name,
            {
                "type": "object",
                "properties": {
                    "a": {"type": "integer", "minimum": -999, "maximum": 999},
                    "b": {"type": "integer", "minimum": -999, "maximum": 999},
                },
                "required": ["a", "b"],
            },
        )
        for name in ("add", "multiply")
    ],
    "nested (object, array, bool)": [
        _tool(
            "set_reminder",
            {
                "type": "object",
                "properties": {
                    "when": {
                        "type": "object",
                        "properties": {
                            "day": {"enum": ["today", "tomorrow", "monday"]},
                            "hour": {"type": "integer", "minimum": 0, "maximum": 23},
                        },
                        "required": ["day", "hour"],
                    },
                    "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "maxItems": 3},
                    "urgent": {"type": "boolean"},
                },
                "required": ["when", "urgent"],
            },
        )
    ],
}
PROMPT = [Message.user("What is the weather in Paris? Add 12 and 30. Remind me tomorrow at 8.")]


def _table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    print(f"\n## {title}\n")
    print("| " + " | ".join(str(h).ljust(w) for h, w in zip(header, widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in rows:
        print("| " + " | ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)) + " |")


def _valid_against_schema(call: ToolCall, tools: list[dict[str, Any]]) -> bool:
    import jsonschema

    schemas = {t["function"]["name"]: t["function"]["parameters"] for t in tools}
    if call.error is not None or call.name not in schemas:
        return False
    return jsonschema.Draft202012Validator(schemas[call.name]).is_valid(call.arguments)


# -- 1. compile time --------------------------------------------------------------------------------
def compile_times(tokenizer: Any) -> None:
    all_tools = [t for tools in SCHEMAS.values() for t in tools]
    six = [
        *all_tools,
        *({**t, "function": {**t["function"], "name": t["function"]["name"] + "_2"}} for t in all_tools),
    ]
    sets = {"1 tool": all_tools[:1], "3 tools": all_tools[:3], f"{len(six[:6])} tools": six[:6]}
    info_s = median_time(lambda: ToolCallConstraint(tokenizer, "hermes"))

    def cold_s(tools: list[dict[str, Any]], choice: str, repeat: int = 7) -> float:
        times = []
        for _ in range(repeat):
            constraint = ToolCallConstraint(tokenizer, "hermes")  # an empty cache, not timed
            start = time.perf_counter()
            constraint.grammar(tools, choice)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    rows = []
    for label, tools in sets.items():
        cold = {choice: cold_s(tools, choice) for choice in ("auto", "required")}
        warm_constraint = ToolCallConstraint(tokenizer, "hermes")
        warm_constraint.grammar(tools)
        warm = median_time(lambda c=warm_constraint, tools=tools: c.grammar(tools), repeat=50)
        rows.append(
            [label, f"{cold['auto'] * 1e3:.2f}", f"{cold['required'] * 1e3:.2f}", f"{warm * 1e6:.0f}"]
        )
    _table(
        f"Grammar compile time (Hermes; TokenizerInfo once per tokenizer: {info_s * 1e3:.2f} ms, "
        f"vocab {len(tokenizer)})",
        ["tools", "cold auto (ms)", "cold required (ms)", "cached (µs)"],
        rows,
    )


# -- 2. per-token overhead ----------------------------------------------------------------------------
class _Timed:
    """Wraps a logits processor and adds up the time spent in it (the constraint's own cost)."""

    def __init__(self, inner: Any, sink: list[float]) -> None:
        self.inner = inner
        self.sink = sink

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        start = time.perf_counter()
        out = self.inner(input_ids, scores)
        self.sink.append(time.perf_counter() - start)
        return out


class _TimedEngine(HuggingEngine):
    """Times the constraint's processor of each round (benchmark only)."""

    sink: list[float]

    def constrain_options(self, tools: Any, options: GenerationOptions) -> GenerationOptions:
        from dataclasses import replace

        from transformers import LogitsProcessorList

        options = super().constrain_options(tools, options)
        processors = list(options.extra.get("logits_processor") or [])
        if processors:  # the constraint's processor is the last one
            processors[-1] = _Timed(processors[-1], self.sink)
            options = replace(
                options, extra={**options.extra, "logits_processor": LogitsProcessorList(processors)}
            )
        return options


async def _rounds(
    engine: HuggingEngine, tools: list[dict[str, Any]], options: list[GenerationOptions]
) -> list[Completion]:
    return [await engine.generate(PROMPT, tools=tools, options=o) for o in options]


def per_token(models: dict[str, Path], seeds: int, tokens: int) -> None:
    rows = []
    tools = SCHEMAS["flat (string, enum)"] + SCHEMAS["numbers (2 tools)"]
    for label, path in models.items():
        engine = _TimedEngine(path)
        engine.sink = []
        tc = engine.tokenizer.convert_tokens_to_ids("<tool_call>")
        regimes = {
            "free text (tool_choice auto)": dict(tool_choice="auto", extra={"min_new_tokens": tokens}),
            "inside calls (required)": dict(
                tool_choice="required", extra={"min_new_tokens": tokens, "sequence_bias": {(tc,): 5.0}}
            ),
        }
        anyio.run(_rounds, engine, tools, [GenerationOptions(max_new_tokens=8)])  # warm up
        for regime, kw in regimes.items():
            results: dict[bool, tuple[float, int]] = {}
            engine.sink.clear()
            for constrained in (False, True, False, True):  # interleaved: drift hits both alike
                opts = [
                    GenerationOptions(
                        max_new_tokens=tokens,
                        temperature=1.0,
                        seed=s,
                        tool_choice=kw["tool_choice"] if constrained else None,
                        extra={**kw["extra"], "constrained": constrained},
                    )
                    for s in range(seeds)
                ]
                start = time.perf_counter()
                done = anyio.run(_rounds, engine, tools, opts)
                elapsed = time.perf_counter() - start
                generated = sum(c.usage.completion_tokens for c in done)
                spent, count = results.get(constrained, (0.0, 0))
                results[constrained] = (spent + elapsed, count + generated)
            base = results[False][0] / results[False][1] * 1e3
            cons = results[True][0] / results[True][1] * 1e3
            mask = statistics.median(engine.sink) * 1e3
            mask_mean = statistics.mean(engine.sink) * 1e3
            rows.append(
                [
                    label,
                    regime,
                    f"{base:.2f}",
                    f"{cons:.2f}",
                    f"{(cons / base - 1) * 100:+.1f} %",
                    f"{mask * 1e3:.0f} / {mask_mean * 1e3:.0f}",
                    f"{mask / base * 100:.1f} %",
                ]
            )
    _table(
        f"Per-token cost ({seeds} seeds x {tokens} tokens x 2 passes each way, interleaved; every "
        "generation exactly that long; mask = time inside the grammar processor per token, median / "
        "mean (the mean includes the first, compiling call))",
        [
            "model",
            "regime",
            "unconstrained ms/tok",
            "constrained ms/tok",
            "wall diff",
            "mask µs/tok",
            "median mask / unconstrained tok",
        ],
        rows,
    )


# -- 3. random model, many seeds ------------------------------------------------------------------------
def random_sweep(path: Path, seeds: int) -> None:
    engine = HuggingEngine(path, parallel_tool_calls=False, max_whitespace=1, constrained=True)
    tc = engine.tokenizer.convert_tokens_to_ids("<tool_call>")
    rows = []
    for label, tools in SCHEMAS.items():
        for constrained in (False, True):
            opts = [
                GenerationOptions(
                    max_new_tokens=200,
                    temperature=1.0,
                    seed=s,
                    extra={"sequence_bias": {(tc,): 8.0}, "constrained": constrained},
                )
                for s in range(seeds)
            ]
            done = anyio.run(_rounds, engine, tools, opts)
            calls = [c for d in done for c in d.message.tool_calls]
            valid = sum(_valid_against_schema(c, tools) for c in calls)
            with_call = sum(bool(d.message.tool_calls) for d in done)
            rows.append(
                [
                    label,
                    "on" if constrained else "off",
                    f"{with_call}/{seeds}",
                    len(calls),
                    f"{valid}/{len(calls)}" + (f" ({valid / len(calls):.0%})" if calls else ""),
                ]
            )
    _table(
        f"Random-weight tiny model, {seeds} seeds per schema (sampling, <tool_call> biased +8)",
        ["schemas", "constraint", "replies with a call", "calls", "valid calls"],
        rows,
    )


# -- 4. demo model ------------------------------------------------------------------------------------
def demo_model(path: Path, per_kind: int) -> None:
    import data  # training/data.py

    samples = data.eval_prompts(per_kind=per_kind)
    engine = HuggingEngine(path, constrained=True)

    async def run(constrained: bool) -> list[Completion]:
        out = []
        for sample in samples:
            options = GenerationOptions(max_new_tokens=96, extra={"constrained": constrained})
            out.append(await engine.generate(sample.messages, tools=sample.toolset.schemas, options=options))
        return out

    rows = []
    for constrained in (False, True):
        start = time.perf_counter()
        done = anyio.run(run, constrained)
        elapsed = time.perf_counter() - start
        calls = valid = right = needs = called_ok = 0
        for sample, completion in zip(samples, done, strict=True):
            tools = {t.name: t for t in sample.toolset.tools}
            made = completion.message.tool_calls
            called_ok += bool(made) == (sample.tool is not None)
            if sample.tool is not None:
                needs += 1
                right += bool(made) and made[0].name == sample.tool
            for call in made:
                calls += 1
                if call.error is None and call.name in tools:
                    try:
                        tools[call.name].validate(call.arguments)
                        valid += 1
                    except Exception:
                        pass
        tokens = sum(c.usage.completion_tokens for c in done)
        rows.append(
            [
                "on" if constrained else "off",
                f"{called_ok}/{len(samples)}",
                f"{right}/{needs}",
                calls,
                f"{valid}/{calls}" + (f" ({valid / calls:.1%})" if calls else ""),
                f"{elapsed / max(1, tokens) * 1e3:.2f}",
            ]
        )
    _table(
        f"Demo model ({path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}), {len(samples)} "
        "held-out prompts, greedy, first reply only",
        ["constraint", "call/no-call", "right tool", "calls", "valid calls", "ms/token"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=50, help="seeds per schema for the random-model sweep")
    parser.add_argument("--per-kind", type=int, default=10, help="demo-model held-out prompts per kind")
    parser.add_argument("--tokens", type=int, default=64, help="max new tokens per timed generation")
    parser.add_argument("--model", type=Path, default=ROOT / "examples" / "demo_model" / "model")
    args = parser.parse_args()

    import torch
    from transformers import AutoTokenizer

    from hermitcrab.testing import build_tiny_chat_model

    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        tiny = build_tiny_chat_model(Path(tmp) / "tiny")
        tiny_512 = build_tiny_chat_model(Path(tmp) / "tiny512", hidden_size=512, num_layers=4)
        print(f"torch {torch.__version__}, 1 thread; xgrammar {importlib.metadata.version('xgrammar')}")
        compile_times(AutoTokenizer.from_pretrained(tiny))
        models = {"tiny random (h64, 2 layers)": tiny, "tiny random (h512, 4 layers)": tiny_512}
        demo = args.model if (args.model / "config.json").exists() else None
        if demo is not None:
            models = {"demo model": demo, **models}
        per_token(models, seeds=4, tokens=args.tokens)
        random_sweep(tiny, args.seeds)
        if demo is not None:
            demo_model(demo, args.per_kind)
        else:
            print(f"\n(no demo model at {args.model}: its valid-call rate was not measured)")


if __name__ == "__main__":
    main()
