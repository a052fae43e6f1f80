"""A weather and units bot: real tools, a real Conversation, streamed to the terminal.

Run it with no arguments and it plays a scripted model offline (``ScriptedEngine``), so you can see
the whole round: the question, the model's tool call, the tool's result and the answer. Pass
``--model PATH_OR_ID`` to run the same bot on any Hugging Face chat model with ``HuggingEngine``.

    python examples/weather_bot.py
    python examples/weather_bot.py --model Qwen/Qwen2.5-0.5B-Instruct "Weather in Oslo, in F?"
"""

from __future__ import annotations

import argparse
import json
from typing import Literal

import anyio

from hermitcrab import (
    Conversation,
    Engine,
    MessageEvent,
    ScriptedEngine,
    TextDelta,
    ToolCallEvent,
    ToolResultEvent,
    tool,
)

_WEATHER = {"lisbon": (21, "sunny"), "oslo": (-3, "snowing"), "tokyo": (15, "cloudy")}


@tool
def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
    """Current weather for a city.

    Args:
        city: The city's name, e.g. "Lisbon".
        unit: Temperature unit, Celsius or Fahrenheit.
    """
    celsius, sky = _WEATHER.get(city.strip().lower(), (18, "clear"))
    temperature = celsius if unit == "C" else round(celsius * 9 / 5 + 32)
    return f"{temperature}°{unit}, {sky} in {city.title()}"


@tool
def convert_length(value: float, from_unit: Literal["km", "mi"], to_unit: Literal["km", "mi"]) -> float:
    """Convert a length between kilometres and miles.

    Args:
        value: The length to convert.
        from_unit: The unit of ``value``.
        to_unit: The unit to convert to.
    """
    if from_unit == to_unit:
        return value
    return round(value * 0.621371 if from_unit == "km" else value / 0.621371, 3)


QUESTION = "What's the weather in Oslo, in Fahrenheit?"


def scripted_model() -> ScriptedEngine:
    """A stand-in model that answers the demo question the way a tool-calling model would."""
    call = {"name": "get_weather", "arguments": {"city": "Oslo", "unit": "F"}}
    return ScriptedEngine(
        [
            f"Let me check.\n<tool_call>\n{json.dumps(call)}\n</tool_call>",
            lambda messages, tools: f"It is {messages[-1].text} right now.",
        ],
        chunk_size=4,
        delay=0.01,
    )


async def main(model: str | None, question: str) -> None:
    engine: Engine
    if model is None:
        print("(no --model given: using a scripted stand-in model, offline)\n")
        engine = scripted_model()
    else:
        from hermitcrab import HuggingEngine

        engine = HuggingEngine(model)
    async with (
        engine,
        Conversation(
            engine, system="You are a helpful assistant with tools.", tools=[get_weather, convert_length]
        ) as conv,
    ):
        print(f"user> {question}")
        print("bot> ", end="", flush=True)
        async for event in conv.stream(question):
            if isinstance(event, TextDelta):
                print(event.text, end="", flush=True)
            elif isinstance(event, ToolCallEvent):
                print(f"\n  [tool call] {event.call.name}({json.dumps(event.call.arguments)})")
            elif isinstance(event, ToolResultEvent):
                print(f"  [tool result] {event.message.text}\nbot> ", end="", flush=True)
            elif isinstance(event, MessageEvent) and event.message.role == "assistant":
                pass
        print(f"\n\n(tokens: {conv.usage.prompt_tokens} prompt, {conv.usage.completion_tokens} generated)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("question", nargs="?", default=QUESTION)
    parser.add_argument(
        "--model", help="a Hugging Face model id or local folder (default: scripted stand-in)"
    )
    args = parser.parse_args()
    anyio.run(main, args.model, args.question)
