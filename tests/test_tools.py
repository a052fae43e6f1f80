"""@tool, Tool, schemas, validation and the text the model reads (hermitcrab.tools)."""

from __future__ import annotations

from typing import Literal

import pytest
from hermitcrab.tools import Tool, as_tool, tool
from pydantic import ValidationError


@tool
def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
    """Current weather for a city.

    Args:
        city: The city's name.
        unit: Temperature unit.
    """
    return f"{city}: 21 {unit}"


def test_decorated_function_gives_openai_schema_and_stays_callable() -> None:
    assert isinstance(get_weather, Tool)
    assert get_weather("Lisbon") == "Lisbon: 21 C"
    assert get_weather.schema() == {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather for a city.",
            "parameters": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "The city's name."},
                    "unit": {
                        "type": "string",
                        "enum": ["C", "F"],
                        "default": "C",
                        "description": "Temperature unit.",
                    },
                },
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    }


def test_validate_coerces_and_rejects_extra_keys() -> None:
    assert get_weather.validate({"city": "Porto"}) == {"city": "Porto", "unit": "C"}
    with pytest.raises(ValidationError):
        get_weather.validate({"city": "Porto", "country": "PT"})


def test_as_tool_wraps_functions_and_returns_tools() -> None:
    def ping(host: str) -> str:
        return host

    assert as_tool(get_weather) is get_weather
    assert as_tool(ping).name == "ping"
