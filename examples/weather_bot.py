"""A weather and units bot: real tools, a real Conversation, streamed to the terminal.

Run it with no arguments and it answers a scripted question with the shipped demo model (offline, a
few seconds on a CPU): you see the question, the model's tool call, the tool's result and the answer.
Pass ``--model PATH_OR_ID`` to run the same bot on any Hugging Face chat model with tool support.

    python examples/weather_bot.py
    python examples/weather_bot.py "How cold is it in Oslo in Fahrenheit?"
    python examples/weather_bot.py --model Qwen/Qwen2.5-0.5B-Instruct "Weather in Oslo, in F?"
"""

from __future__ import annotations

import zlib
from typing import Literal

import anyio

from hermitcrab import tool

SYSTEM = "You are a helpful assistant with weather and unit tools."
QUESTION = "What's the weather in Oslo, in Fahrenheit?"
_SKIES = ("sunny", "cloudy", "raining", "snowing", "windy", "foggy", "clear")


@tool
def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
    """Current weather for a city.

    Args:
        city: The city's name, e.g. "Lisbon".
        unit: Temperature unit, Celsius or Fahrenheit.
    """
    # A stand-in weather service: stable, made-up weather per city (no network in the examples).
    seed = zlib.crc32(city.strip().lower().encode("utf-8"))
    celsius = seed % 36 - 5
    sky = _SKIES[(seed // 36) % len(_SKIES)]
    temperature = celsius if unit == "C" else round(celsius * 9 / 5 + 32)
    return f"{temperature}°{unit}, {sky} in {city.strip()}"


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
    return round(value * 0.621371 if from_unit == "km" else value / 0.621371, 2)


TOOLS = [get_weather, convert_length]
"""The bot's tools (``hermitcrab chat --tools examples/weather_bot.py:TOOLS`` uses them too)."""


if __name__ == "__main__":
    from _common import bot_arguments, run_bot

    args = bot_arguments(__doc__, QUESTION)
    anyio.run(run_bot, args, SYSTEM, TOOLS)
