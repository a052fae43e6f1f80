"""Structured output benchmark: valid typed answers of the demo model with and without the grammar.

50 prompts written for this benchmark (none from the demo model's training data), each asking for a
typed answer (``conv.send(prompt, output_type=...)``) with one of five output types. Half of them
come with the weather bot's tools, so the model may call ``get_weather`` / ``convert_length`` first
and then answer. Each prompt runs in a fresh conversation, greedy, on one torch thread, in three
settings measured in the same run:

- ``no grammar, 0 retries``: the answer is free text, checked once (``max_output_retries=0``);
- ``no grammar, 2 retries``: the same, but invalid answers go back with pydantic's errors (the default);
- ``grammar, 0 retries``: the answer decoded under the type's JSON schema (xgrammar).

A prompt counts as valid when the round returned an instance of its output type. The table also
gives how many valid rounds called a tool first, how many rounds never stopped calling tools
(``max_tool_rounds=3``), generated tokens and wall time. Offline, CPU:

    python benchmarks/structured.py [--model PATH] [--limit N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Literal

import anyio
import pydantic

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT / "examples") not in sys.path:
    sys.path.insert(0, str(ROOT / "examples"))

import weather_bot  # noqa: E402

from hermitcrab import Conversation, GenerationOptions, HuggingEngine  # noqa: E402
from hermitcrab.errors import OutputValidationError, ToolRoundsExceededError  # noqa: E402


class WeatherReport(pydantic.BaseModel):
    city: str = pydantic.Field(max_length=40)
    temperature: int
    unit: Literal["C", "F"]


class Distance(pydantic.BaseModel):
    value: float
    unit: Literal["km", "mi"]


class Sentiment(pydantic.BaseModel):
    label: Literal["positive", "negative", "neutral"]
    confidence: float = pydantic.Field(ge=0, le=1)


TYPES: dict[str, Any] = {
    "WeatherReport": WeatherReport,
    "Distance": Distance,
    "Sentiment": Sentiment,
    "list[int]": list[int],
    "Literal[yes, no]": Literal["yes", "no"],
}

WITH_TOOLS: list[tuple[str, str]] = [
    ("What's the weather in Oslo right now?", "WeatherReport"),
    ("Tell me the weather in Lisbon, in Fahrenheit.", "WeatherReport"),
    ("How warm is it in Cairo today?", "WeatherReport"),
    ("Weather report for Montreal please.", "WeatherReport"),
    ("Is it cold in Reykjavik? Give me the temperature.", "WeatherReport"),
    ("Current conditions in Buenos Aires, Celsius.", "WeatherReport"),
    ("What is the temperature in Nairobi in F?", "WeatherReport"),
    ("Check the weather for Seoul.", "WeatherReport"),
    ("Weather in Perth, please, in Celsius.", "WeatherReport"),
    ("How's the weather over in Dublin?", "WeatherReport"),
    ("Convert 42 km to miles.", "Distance"),
    ("How many kilometres is 26.2 miles?", "Distance"),
    ("10 miles in km?", "Distance"),
    ("Turn 5 kilometres into miles.", "Distance"),
    ("What is 100 km in miles?", "Distance"),
    ("I ran 13 miles. How far is that in kilometres?", "Distance"),
    ("Convert 3.5 km to mi.", "Distance"),
    ("How long is 250 miles in km?", "Distance"),
    ("Is it raining in Madrid? Answer yes or no.", "Literal[yes, no]"),
    ("Is it snowing in Oslo? yes or no.", "Literal[yes, no]"),
    ("Is it sunny in Rome right now? Yes or no.", "Literal[yes, no]"),
    ("Is 10 km more than 5 miles? yes or no.", "Literal[yes, no]"),
    ("Give me today's temperatures in Paris and Berlin as a list of numbers.", "list[int]"),
    ("Temperatures in Tokyo, Lima and Oslo, as numbers.", "list[int]"),
    ("List the temperature in Athens.", "list[int]"),
]

WITHOUT_TOOLS: list[tuple[str, str]] = [
    ("I love this new phone, it is fantastic!", "Sentiment"),
    ("The delivery was late and the box was broken.", "Sentiment"),
    ("The meeting is at 3 pm.", "Sentiment"),
    ("What a wonderful surprise party, thank you all!", "Sentiment"),
    ("This is the worst coffee I have ever had.", "Sentiment"),
    ("The train leaves from platform 4.", "Sentiment"),
    ("I am so happy with the service here.", "Sentiment"),
    ("Terrible support, nobody answered my emails.", "Sentiment"),
    ("List the prime numbers below 20.", "list[int]"),
    ("Give me the first five even numbers.", "list[int]"),
    ("Count from 1 to 6.", "list[int]"),
    ("Which numbers appear in: 'room 12, floor 3, seat 45'?", "list[int]"),
    ("The squares of 1, 2 and 3, please.", "list[int]"),
    ("Is Paris the capital of France?", "Literal[yes, no]"),
    ("Is 7 an even number?", "Literal[yes, no]"),
    ("Do cats bark?", "Literal[yes, no]"),
    ("Is water wet?", "Literal[yes, no]"),
    ("Is the sun a star?", "Literal[yes, no]"),
    ("Report: it is 18 degrees Celsius in Vienna.", "WeatherReport"),
    ("Write a weather report saying Denver is at 50 F.", "WeatherReport"),
    ("Summarise: Hanoi, 31 degrees C.", "WeatherReport"),
    ("The run was 8 km long. Give that as a distance.", "Distance"),
    ("Express a distance of 12 miles.", "Distance"),
    ("The bridge is 1.2 km long.", "Distance"),
    ("Marathon distance in miles: 26.2.", "Distance"),
]


async def run(engine: HuggingEngine, setting: str, prompts: list[tuple[str, str, bool]]) -> dict[str, Any]:
    constrained = setting.startswith("grammar")
    retries = 2 if "2 retries" in setting else 0
    options = GenerationOptions(temperature=0, extra={"constrained": constrained})
    valid = called = tokens = looped = 0
    started = time.perf_counter()
    for prompt, type_name, with_tools in prompts:
        tools = weather_bot.TOOLS if with_tools else []
        system = weather_bot.SYSTEM if with_tools else "You are a helpful assistant."
        conv = Conversation(
            engine,
            system=system,
            tools=tools,
            options=options,
            max_new_tokens=160,
            max_output_retries=retries,
            max_tool_rounds=3,
        )
        try:
            await conv.send(prompt, output_type=TYPES[type_name])
            valid += 1
            called += any(m.role == "tool" for m in conv.history)
            tokens += conv.usage.completion_tokens
        except OutputValidationError:
            pass
        except ToolRoundsExceededError:
            looped += 1
    return {
        "setting": setting,
        "valid": valid,
        "called": called,
        "tokens": tokens,
        "looped": looped,
        "seconds": time.perf_counter() - started,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", default=str(ROOT / "examples" / "demo_model" / "model"))
    parser.add_argument("--limit", type=int, default=None, help="use only the first N prompts of each half")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    prompts = [(p, t, True) for p, t in WITH_TOOLS[: args.limit]]
    prompts += [(p, t, False) for p, t in WITHOUT_TOOLS[: args.limit]]
    async with HuggingEngine(args.model) as engine:
        rows = [
            await run(engine, setting, prompts)
            for setting in ("no grammar, 0 retries", "no grammar, 2 retries", "grammar, 0 retries")
        ]
    print(f"\n{len(prompts)} prompts ({sum(w for *_, w in prompts)} with tools), model {args.model}\n")
    print(
        "| setting | valid typed answers | valid after a tool call | kept calling tools (> 3 rounds) "
        "| tokens (valid rounds) | s |"
    )
    print("|---|---|---|---|---|---|")
    for row in rows:
        share = 100 * row["valid"] / len(prompts)
        print(
            f"| {row['setting']} | {row['valid']}/{len(prompts)} ({share:.0f} %) | {row['called']} | "
            f"{row['looped']} | {row['tokens']} | {row['seconds']:.1f} |"
        )


if __name__ == "__main__":
    anyio.run(main)
