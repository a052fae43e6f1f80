"""A calculator and notes bot whose tools are ``async`` functions.

The runtime awaits async tools on the event loop (sync ones run in a worker thread); the notes live
in memory for the life of the process. Run it with no arguments for a scripted question on the
shipped demo model, or ask your own; ``--model PATH_OR_ID`` runs it on any Hugging Face chat model.

    python examples/calculator_bot.py
    python examples/calculator_bot.py "What is 12 times 7?"
    python examples/calculator_bot.py "Make a note: call the plumber on Monday"
"""

from __future__ import annotations

import anyio
import anyio.lowlevel

from hermitcrab import tool

SYSTEM = "You are a helpful assistant with a calculator and a notebook."
QUESTION = "What is 37 plus 48?"

NOTES: list[str] = []
"""The notebook: a plain list, so a caller (or a test) can read what the model wrote."""


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else round(value, 6)


@tool
async def add(a: float, b: float) -> float:
    """Add two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    await anyio.lowlevel.checkpoint()  # a real async tool would await I/O here
    return _number(a + b)


@tool
async def multiply(a: float, b: float) -> float:
    """Multiply two numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    await anyio.lowlevel.checkpoint()
    return _number(a * b)


@tool
async def save_note(text: str) -> str:
    """Save a note in the notebook.

    Args:
        text: What to write down.
    """
    await anyio.lowlevel.checkpoint()
    NOTES.append(text)
    return f"Saved note {len(NOTES)}: {text}"


@tool
async def list_notes() -> str:
    """Read every note in the notebook."""
    await anyio.lowlevel.checkpoint()
    if not NOTES:
        return "The notebook is empty."
    return "; ".join(f"{i}. {note}" for i, note in enumerate(NOTES, 1))


TOOLS = [add, multiply, save_note, list_notes]
"""The bot's tools (``hermitcrab chat --tools examples/calculator_bot.py:TOOLS`` uses them too)."""


if __name__ == "__main__":
    from _common import bot_arguments, run_bot

    args = bot_arguments(__doc__, QUESTION)
    anyio.run(run_bot, args, SYSTEM, TOOLS)
