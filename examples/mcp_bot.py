"""The weather bot with its tools served by an MCP server (``mcp_weather_server.py``, started here
over stdio): the model calls MCP tools exactly as it calls ``@tool`` functions.

    python examples/mcp_bot.py
    python examples/mcp_bot.py "How cold is it in Oslo in Fahrenheit?"
    python examples/mcp_bot.py --model Qwen/Qwen2.5-0.5B-Instruct "Weather in Oslo, in F?"

Needs the ``mcp`` extra: ``pip install "hermitcrab[mcp]"``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import anyio
from _common import ask, bot_arguments, load_engine
from weather_bot import QUESTION, SYSTEM

from hermitcrab import MCPTools

SERVER = Path(__file__).resolve().parent / "mcp_weather_server.py"


async def main() -> None:
    args = bot_arguments(__doc__, QUESTION)
    async with (
        MCPTools.stdio(sys.executable, [str(SERVER)]) as tools,
        load_engine(args.model, load_in_4bit=args.load_in_4bit, constrained=args.constrained) as engine,
    ):
        print(f"(MCP tools: {', '.join(t.name for t in tools)})")
        await ask(engine, args.question, system=SYSTEM, tools=tools)


if __name__ == "__main__":
    anyio.run(main)
