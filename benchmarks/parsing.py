"""Parsing benchmark: whole-reply and streaming cost of the tool-call parsers.

Prints three tables:

1. A ~4 KB reply with 8 tool calls per family: whole-reply parse time (total and per call), and
   streaming time with 4-character chunks (about one token) and 1-character chunks.
2. Linearity: streaming cost per character as the reply grows 1x..16x (flat = linear), for the
   hermitcrab Hermes parser and for a naive baseline that re-scans the whole buffer on every chunk
   (the usual way stream parsers are written; quadratic).
3. The same linearity check for families with implicit starts and bracket matching.

Run: ``.venv/bin/python benchmarks/parsing.py`` (single-threaded; numbers are noisy on shared CPUs:
compare ratios, not absolute times).
"""

# ruff: noqa: RUF001  (DeepSeek markers use fullwidth bars)
from __future__ import annotations

import json
import re
import time
from collections.abc import Callable

from hermitcrab.prompting import get_parser

ARGS = {"city": "São Paulo", "days": 3, "filter": {"tags": ["rain", "wind"], "min": -1.5}}


def _filler(n: int) -> str:
    words = [
        "the",
        "quick",
        "brown",
        "fox",
        "jumps",
        "over",
        "a",
        "lazy",
        "dog",
        "while",
        "checking",
        "weather",
        "reports",
    ]
    return " ".join(words[i % len(words)] for i in range(n))


def _call(family: str, i: int) -> str:
    args = json.dumps({**ARGS, "i": i}, ensure_ascii=False)
    name = f"tool_{i}"
    return {
        "hermes": f'<tool_call>\n{{"name": "{name}", "arguments": {args}}}\n</tool_call>',
        "llama3_json": f'{{"name": "{name}", "parameters": {args}}}',
        "mistral": f"[TOOL_CALLS]{name}[ARGS]{args}",
        "pythonic": (
            f'[{name}(city="São Paulo", days=3, filter={{"tags": ["rain", "wind"], "min": -1.5}}, i={i})]'
        ),
        "deepseek_v3": (
            f"<｜tool▁call▁begin｜>function<｜tool▁sep｜>{name}\n```json\n{args}\n```<｜tool▁call▁end｜>"
        ),
        "harmony": (
            f"<|start|>assistant<|channel|>commentary to=functions.{name} json<|message|>{args}<|call|>"
        ),
        "qwen3_coder": (
            f"<tool_call>\n<function={name}>\n<parameter=city>\nSão Paulo\n</parameter>\n"
            f"<parameter=i>\n{i}\n</parameter>\n</function>\n</tool_call>"
        ),
    }[family]


def reply(family: str, calls: int = 8, size: int = 4096) -> str:
    """About ``size`` characters: reasoning-free text with ``calls`` calls spread through it."""
    parts = [_call(family, i) for i in range(calls)]
    if family == "harmony":
        # harmony stops at <|call|>: make the calls the end of separate turns joined by analysis text.
        parts = [p.replace("<|call|>", "<|end|>") for p in parts]
    text_budget = max(0, size - sum(len(p) for p in parts))
    filler = _filler(text_budget // 6)
    per = max(1, len(filler) // (calls + 1))
    out = []
    for i, part in enumerate(parts):
        out.append(filler[i * per : (i + 1) * per] + "\n")
        out.append(part)
    out.append("\n" + filler[calls * per :])
    return "".join(out)[: max(size, sum(len(p) for p in parts))]


def _best(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def _stream(name: str, text: str, size: int) -> Callable[[], object]:
    chunks = [text[i : i + size] for i in range(0, len(text), size)]

    def run() -> object:
        parser = get_parser(name)
        events = []
        for chunk in chunks:
            events.extend(parser.feed(chunk))
        events.extend(parser.finish())
        return events

    return run


class NaiveHermes:
    """Baseline: append each chunk to a buffer and re-scan the whole buffer with a regex."""

    _CALL = re.compile(r"<tool_call>(.*?)</tool_call>", re.S)

    def __init__(self) -> None:
        self.buffer = ""
        self.seen = 0

    def feed(self, chunk: str) -> list[object]:
        self.buffer += chunk
        found = [json.loads(m.group(1)) for m in self._CALL.finditer(self.buffer)]
        new, self.seen = found[self.seen :], len(found)
        return new


def _naive_stream(text: str, size: int) -> Callable[[], object]:
    chunks = [text[i : i + size] for i in range(0, len(text), size)]

    def run() -> object:
        parser = NaiveHermes()
        out = []
        for chunk in chunks:
            out.extend(parser.feed(chunk))
        return out

    return run


def main() -> None:
    families = ["hermes", "llama3_json", "mistral", "pythonic", "deepseek_v3", "harmony", "qwen3_coder"]
    print("1. A ~4 KB reply with 8 calls (best of 5)")
    print(
        f"{'family':<14}{'bytes':>7}{'calls':>6}{'parse ms':>10}{'µs/call':>9}"
        f"{'stream/4 ms':>13}{'stream/1 ms':>13}"
    )
    for family in families:
        text = reply(family)
        parsed = get_parser(family).parse(text)
        good = [c for c in parsed.tool_calls if c.error is None]
        assert len(good) == 8, (family, parsed.tool_calls)
        whole = _best(lambda family=family, text=text: get_parser(family).parse(text))
        s4 = _best(_stream(family, text, 4))
        s1 = _best(_stream(family, text, 1))
        print(
            f"{family:<14}{len(text.encode()):>7}{len(good):>6}{whole * 1e3:>10.3f}{whole / 8 * 1e6:>9.1f}"
            f"{s4 * 1e3:>13.3f}{s1 * 1e3:>13.3f}"
        )

    print("\n2. Streaming cost per character as the reply grows (4-char chunks; flat = linear)")
    print(f"{'size':>8}{'hermitcrab µs/char':>20}{'naive re-scan µs/char':>23}{'naive / ours':>14}")
    base = reply("hermes")
    for factor in (1, 2, 4, 8, 16):
        text = base * factor
        ours = _best(_stream("hermes", text, 4), repeat=3)
        naive = _best(_naive_stream(text, 4), repeat=1 if factor >= 8 else 3)
        print(
            f"{len(text):>8}{ours / len(text) * 1e6:>20.3f}{naive / len(text) * 1e6:>23.3f}"
            f"{naive / ours:>14.1f}"
        )

    print("\n3. Linearity of the other machinery paths (µs/char, 1-char chunks)")
    header = "".join(f"{f'x{f}':>10}" for f in (1, 4, 16))
    print(f"{'family':<14}{header}")
    for family in ["llama3_json", "mistral", "pythonic", "harmony"]:
        base = reply(family)
        row = []
        for factor in (1, 4, 16):
            text = base * factor
            row.append(_best(_stream(family, text, 1), repeat=3) / len(text) * 1e6)
        print(f"{family:<14}" + "".join(f"{v:>10.3f}" for v in row))


if __name__ == "__main__":
    main()
