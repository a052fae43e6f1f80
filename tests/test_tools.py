"""@tool, Tool, schemas, validation and the text the model reads (hermitcrab.tools).

This module uses ``from __future__ import annotations`` on purpose: every type hint below is a string
that ``@tool`` has to resolve.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import functools
import gc
import json
import sys
import types
import weakref
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal, Optional

import anyio
import anyio.lowlevel
import jsonschema
import pytest
from pydantic import BaseModel, Field, ValidationError
from typing_extensions import TypedDict

from hermitcrab.errors import ConfigurationError, ToolDefinitionError
from hermitcrab.tools import Tool, as_tool, format_validation_error, result_to_text, tool, tools_of

# -- module-level types and tools used by several tests ------------------------------------------


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Size(enum.IntEnum):
    SMALL = 1
    LARGE = 2


class Item(BaseModel):
    name: str
    qty: int = 1


class Order(BaseModel):
    items: list[Item]
    note: str | None = None


class TreeNode(BaseModel):
    value: int
    children: list[TreeNode] = []


class Point(TypedDict):
    x: float
    y: float


@dataclasses.dataclass
class Box:
    width: int
    height: int = 1


@tool
def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
    """Current weather for a city.

    Args:
        city: The city's name.
        unit: Temperature unit.
    """
    return f"{city}: 21 {unit}"


def _props(t: Tool[..., Any]) -> dict[str, Any]:
    return t.parameters["properties"]


def _keys_named(node: Any, key: str) -> Iterator[Any]:
    """Every value stored under ``key`` anywhere in a JSON-like structure."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k == key:
                yield v
            yield from _keys_named(v, key)
    elif isinstance(node, list):
        for v in node:
            yield from _keys_named(v, key)


# -- decorator forms and the Tool object ---------------------------------------------------------


def test_decorated_function_gives_openai_schema_and_stays_callable() -> None:
    assert isinstance(get_weather, Tool)
    assert get_weather("Lisbon") == "Lisbon: 21 C"
    assert get_weather("Lisbon", unit="F") == "Lisbon: 21 F"
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
                        "description": "Temperature unit.",
                        "enum": ["C", "F"],
                        "default": "C",
                    },
                },
                "required": ["city"],
                "additionalProperties": False,
            },
        },
    }
    assert list(_props(get_weather)["unit"])[:2] == ["type", "description"]
    assert get_weather.__name__ == "get_weather"
    assert get_weather.__doc__.startswith("Current weather")


def test_tool_defaults_for_execution_settings() -> None:
    assert get_weather.timeout is None
    assert get_weather.retries == 0
    assert get_weather.retry_on == ()
    assert get_weather.is_async is False
    assert get_weather.fn("Oslo") == "Oslo: 21 C"


def test_decorator_with_options() -> None:
    @tool(name="lookup-v2", description="Look a key up.", timeout=2, retries=3, retry_on=TimeoutError)
    def lookup(key: str) -> str:
        """Ignored summary."""
        return key.upper()

    assert lookup.name == "lookup-v2"
    assert lookup.description == "Look a key up."
    assert lookup.timeout == 2.0
    assert isinstance(lookup.timeout, float)
    assert lookup.retries == 3
    assert lookup.retry_on == (TimeoutError,)
    assert lookup("a") == "A"


def test_decorator_with_empty_parentheses() -> None:
    @tool()
    def ping() -> str:
        return "pong"

    assert ping.name == "ping"
    assert ping.parameters == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }
    assert ping() == "pong"


def test_retry_on_accepts_a_tuple_of_exceptions() -> None:
    @tool(retry_on=(TimeoutError, ConnectionError), retries=1)
    def fetch(url: str) -> str:
        return url

    assert fetch.retry_on == (TimeoutError, ConnectionError)


def test_async_function_is_marked_async_and_returns_a_coroutine() -> None:
    @tool
    async def slow_add(a: int, b: int) -> int:
        await anyio.lowlevel.checkpoint()
        return a + b

    assert slow_add.is_async is True
    assert anyio.run(slow_add.fn, 2, 3) == 5
    coro = slow_add(1, 1)
    assert anyio.run(lambda: coro) == 2


@pytest.mark.anyio
async def test_runtime_style_call_of_async_tool_with_validated_arguments() -> None:
    @tool
    async def multiply(a: int, b: int = 2) -> int:
        await anyio.lowlevel.checkpoint()
        return a * b

    kwargs = multiply.validate({"a": "21"})
    assert await multiply.fn(**kwargs) == 42


@pytest.mark.anyio
async def test_runtime_style_call_of_sync_tool_in_worker_thread() -> None:
    kwargs = get_weather.validate({"city": "Rome", "unit": "F"})
    result = await anyio.to_thread.run_sync(functools.partial(get_weather.fn, **kwargs))
    assert get_weather.result_to_text(result) == "Rome: 21 F"


def test_public_surface_is_pinned() -> None:
    import hermitcrab.tools as tools_module

    assert set(tools_module.__all__) == {
        "MCPTool",
        "MCPTools",
        "Tool",
        "as_tool",
        "format_validation_error",
        "result_to_text",
        "tool",
        "tool_cancelled",
        "tools_of",
    }


# -- schemas for every type kind -----------------------------------------------------------------


def test_enum_and_int_enum_are_inlined_and_validated_to_members() -> None:
    @tool
    def paint(color: Color, size: Size = Size.SMALL) -> str:
        return f"{color.value}/{size.value}"

    props = _props(paint)
    assert props["color"] == {"type": "string", "enum": ["red", "blue"]}
    assert props["size"] == {"type": "integer", "enum": [1, 2], "default": 1}
    assert "$defs" not in paint.parameters
    args = paint.validate({"color": "blue", "size": "2"})
    assert args == {"color": Color.BLUE, "size": Size.LARGE}
    assert paint(**args) == "blue/2"


def test_optional_and_union_with_none_allow_null() -> None:
    @tool
    def search(query: str, limit: Optional[int] = None, page: int | None = 1) -> str:  # noqa: UP045
        return query

    props = _props(search)
    assert props["limit"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": None}
    assert props["page"] == {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": 1}
    assert search.parameters["required"] == ["query"]
    assert search.validate({"query": "q", "limit": None}) == {"query": "q", "limit": None, "page": 1}


def test_containers_list_dict_tuple_set() -> None:
    @tool
    def stats(values: list[float], weights: dict[str, int], pair: tuple[int, str], tags: set[str]) -> str:
        return "ok"

    props = _props(stats)
    assert props["values"] == {"type": "array", "items": {"type": "number"}}
    assert props["weights"] == {"type": "object", "additionalProperties": {"type": "integer"}}
    assert props["pair"]["type"] == "array"
    assert props["pair"]["prefixItems"] == [{"type": "integer"}, {"type": "string"}]
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "uniqueItems": True}
    args = stats.validate({"values": [1, "2.5"], "weights": {"a": "3"}, "pair": [1, "x"], "tags": ["a", "a"]})
    assert args == {"values": [1.0, 2.5], "weights": {"a": 3}, "pair": (1, "x"), "tags": {"a"}}


def test_nested_models_are_inlined_without_titles_and_arrive_as_instances() -> None:
    @tool
    def place_order(order: Order, express: bool = False) -> int:
        """Place an order."""
        return sum(item.qty for item in order.items)

    assert place_order.parameters == {
        "type": "object",
        "properties": {
            "order": {
                "type": "object",
                "properties": {
                    "items": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "name": {"type": "string"},
                                "qty": {"type": "integer", "default": 1},
                            },
                            "required": ["name"],
                        },
                    },
                    "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
                },
                "required": ["items"],
            },
            "express": {"type": "boolean", "default": False},
        },
        "required": ["order"],
        "additionalProperties": False,
    }
    args = place_order.validate({"order": {"items": [{"name": "tea", "qty": "3"}, {"name": "cup"}]}})
    assert isinstance(args["order"], Order)
    assert isinstance(args["order"].items[0], Item)
    assert args["express"] is False
    assert place_order(**args) == 4


def test_recursive_model_keeps_defs_and_validates() -> None:
    @tool
    def total(tree: TreeNode) -> int:
        return tree.value + sum(total(child) for child in tree.children)

    params = total.parameters
    assert params["properties"]["tree"] == {"$ref": "#/$defs/TreeNode"}
    assert params["$defs"]["TreeNode"]["properties"]["children"]["items"] == {"$ref": "#/$defs/TreeNode"}
    jsonschema.Draft202012Validator.check_schema(params)
    jsonschema.validate({"tree": {"value": 1, "children": [{"value": 2}]}}, params)
    args = total.validate({"tree": {"value": 1, "children": [{"value": "2"}]}})
    assert total(**args) == 3


def test_typeddict_and_dataclass_parameters() -> None:
    @tool
    def area(box: Box, origin: Point) -> float:
        return box.width * box.height + origin["x"]

    props = _props(area)
    assert props["box"] == {
        "type": "object",
        "properties": {"width": {"type": "integer"}, "height": {"type": "integer", "default": 1}},
        "required": ["width"],
        "additionalProperties": False,  # stdlib dataclasses inherit the tool's "forbid extra keys"
    }
    assert props["origin"] == {
        "type": "object",
        "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
        "required": ["x", "y"],
        "additionalProperties": False,
    }
    with pytest.raises(ValidationError):
        area.validate({"box": {"width": 1, "depth": 2}, "origin": {"x": 1, "y": 0}})
    args = area.validate({"box": {"width": "2"}, "origin": {"x": 1, "y": 0}})
    assert args["box"] == Box(width=2, height=1)
    assert args["origin"] == {"x": 1.0, "y": 0.0}
    assert area(**args) == 3.0


def test_annotated_field_description_wins_over_docstring_and_constraints_apply() -> None:
    @tool
    def repeat(
        text: Annotated[str, Field(description="What to say.", min_length=1)],
        times: Annotated[int, Field(ge=1, le=5)] = 1,
    ) -> str:
        """Repeat text.

        Args:
            text: Docstring text that must lose.
            times: How many times.
        """
        return text * times

    props = _props(repeat)
    assert props["text"] == {"type": "string", "description": "What to say.", "minLength": 1}
    assert props["times"] == {
        "type": "integer",
        "description": "How many times.",
        "default": 1,
        "maximum": 5,
        "minimum": 1,
    }
    with pytest.raises(ValidationError):
        repeat.validate({"text": "a", "times": 9})


def test_field_as_default_gives_default_and_description() -> None:
    @tool
    def greet(name: str = Field("world", description="Who to greet.")) -> str:
        return f"hi {name}"

    assert _props(greet)["name"] == {"type": "string", "description": "Who to greet.", "default": "world"}
    assert greet.parameters["required"] == []
    assert greet.validate({}) == {"name": "world"}


def test_parameter_names_that_shadow_basemodel_attributes_work() -> None:
    @tool
    def export(json: bool, schema: str, copy: int = 0, model_config: str = "x", title: str = "t") -> str:
        return f"{json}{schema}{copy}{model_config}{title}"

    assert list(_props(export)) == ["json", "schema", "copy", "model_config", "title"]
    assert _props(export)["title"] == {"type": "string", "default": "t"}
    args = export.validate({"json": "true", "schema": "s"})
    assert args == {"json": True, "schema": "s", "copy": 0, "model_config": "x", "title": "t"}


def test_no_title_noise_anywhere_in_schemas() -> None:
    @tool
    def everything(order: Order, color: Color, tree: TreeNode, box: Box, title: str = "x") -> None:
        return None

    params = everything.parameters
    assert "title" in params["properties"]  # a property may be called "title" ...
    assert not [v for v in _keys_named(params, "title") if isinstance(v, str)]  # ... but no schema title


def test_non_json_default_is_left_out_of_the_schema_without_warning() -> None:
    sentinel = object()

    @tool
    def f(x: Any = sentinel) -> None:
        return None

    assert "default" not in _props(f)["x"]
    assert f.validate({}) == {"x": sentinel}


def test_all_kinds_schema_passes_metaschema_and_accepts_a_valid_call() -> None:
    @tool
    def kitchen_sink(
        a: int,
        b: float,
        c: bool,
        d: Literal["x", "y"],
        e: Color,
        f: Optional[str],  # noqa: UP045
        g: list[Item],
        h: dict[str, list[int]],
        i: tuple[int, ...],
        j: Point,
        k: Box,
        m: datetime.date,
        n: Order | None = None,
    ) -> None:
        return None

    params = kitchen_sink.parameters
    jsonschema.Draft202012Validator.check_schema(params)
    call = {
        "a": 1,
        "b": 1.5,
        "c": True,
        "d": "x",
        "e": "red",
        "f": None,
        "g": [{"name": "n"}],
        "h": {"k": [1]},
        "i": [1, 2],
        "j": {"x": 0, "y": 1},
        "k": {"width": 1},
        "m": "2026-11-25",
    }
    jsonschema.validate(call, params)
    args = kitchen_sink.validate(call)
    assert args["m"] == datetime.date(2026, 11, 25)
    assert args["i"] == (1, 2)


# -- docstrings ------------------------------------------------------------------------------------

GOOGLE = """Convert an amount between currencies.

    Uses the daily reference rate.

    Args:
        amount: How much money,
            as a decimal number.
        currency (str): ISO code of the target currency.

    Returns:
        The converted amount.
    """

NUMPY = """Convert an amount between currencies.

    Uses the daily reference rate.

    Parameters
    ----------
    amount : float
        How much money,
        as a decimal number.
    currency : str
        ISO code of the target currency.

    Returns
    -------
    float
        The converted amount.
    """

REST = """Convert an amount between currencies.

    Uses the daily reference rate.

    :param amount: How much money,
        as a decimal number.
    :param str currency: ISO code of the target currency.
    :returns: The converted amount.
    """


@pytest.mark.parametrize("doc", [GOOGLE, NUMPY, REST], ids=["google", "numpy", "rest"])
def test_docstring_styles_give_description_and_parameter_descriptions(doc: str) -> None:
    def convert(amount: float, currency: str) -> float:
        return amount

    convert.__doc__ = doc
    t = as_tool(convert)
    assert t.description == "Convert an amount between currencies.\n\nUses the daily reference rate."
    assert _props(t)["amount"] == {"type": "number", "description": "How much money, as a decimal number."}
    assert _props(t)["currency"] == {"type": "string", "description": "ISO code of the target currency."}


def test_no_docstring_gives_empty_description_and_explicit_description_wins() -> None:
    def bare(x: int) -> int:
        return x

    assert as_tool(bare).description == ""
    assert _props(as_tool(bare))["x"] == {"type": "integer"}
    assert tool(description="Given.")(bare).description == "Given."


# -- methods, classmethods, staticmethods, tools_of -------------------------------------------------


class Calculator:
    """A toolbox whose tools share state."""

    def __init__(self, offset: int = 0) -> None:
        self.offset = offset

    @tool
    def add(self, a: int, b: int) -> int:
        """Add two numbers (plus the offset).

        Args:
            a: First number.
            b: Second number.
        """
        return a + b + self.offset

    @tool(timeout=1.5)
    async def negate(self, a: int) -> int:
        """Negate a number."""
        return -a - self.offset

    @tool
    @classmethod
    def unit(cls, name: str) -> str:
        """Name of the class's unit."""
        return f"{cls.__name__}:{name}"

    @tool
    @staticmethod
    def double(a: int) -> int:
        """Double a number."""
        return 2 * a

    @staticmethod
    @tool
    def triple(a: int) -> int:
        """Triple a number (staticmethod outside @tool)."""
        return 3 * a

    def helper(self) -> int:
        return self.offset


class ScientificCalculator(Calculator):
    @tool
    def add(self, a: int, b: int) -> int:
        """Add with extra care."""
        return a + b

    @tool
    def power(self, base: float, exponent: int = 2) -> float:
        """Raise to a power."""
        return base**exponent


def test_method_tool_binds_self_and_hides_it_from_the_schema() -> None:
    calc = Calculator(offset=10)
    bound = calc.add
    assert isinstance(bound, Tool)
    assert list(_props(bound)) == ["a", "b"]
    assert bound.parameters["required"] == ["a", "b"]
    assert bound.description == "Add two numbers (plus the offset)."
    assert bound(1, 2) == 13
    assert bound.fn(**bound.validate({"a": "1", "b": 2})) == 13
    assert bound.fn.__self__ is calc
    assert Calculator(offset=0).add(1, 2) == 3


def test_method_read_from_class_stays_usable_but_is_not_a_runnable_tool() -> None:
    calc = Calculator(offset=1)
    unbound = Calculator.add
    assert isinstance(unbound, Tool)
    assert unbound(calc, 1, 1) == 3
    assert list(_props(unbound)) == ["a", "b"]
    assert unbound.needs_binding
    assert not calc.add.needs_binding
    with pytest.raises(ToolDefinitionError, match=r"'add' is a method read from its class"):
        as_tool(Calculator.add)


@pytest.mark.anyio
async def test_async_method_tool_binds_and_keeps_settings() -> None:
    calc = Calculator(offset=1)
    assert calc.negate.is_async
    assert calc.negate.timeout == 1.5
    assert await calc.negate.fn(**calc.negate.validate({"a": 4})) == -5
    assert await calc.negate(4) == -5


def test_classmethod_and_staticmethod_tools() -> None:
    calc = Calculator()
    for unit in (Calculator.unit, calc.unit):
        assert list(_props(unit)) == ["name"]
        assert unit.fn(name="m") == "Calculator:m"
        assert unit("m") == "Calculator:m"
    assert ScientificCalculator.unit("s") == "ScientificCalculator:s"
    for double in (Calculator.double, calc.double):
        assert list(_props(double)) == ["a"]
        assert double(4) == 8
    assert list(_props(Calculator.triple)) == ["a"]
    assert calc.triple.fn(a=2) == 6


def test_tools_of_instance_binds_in_definition_order_with_overrides() -> None:
    calc = ScientificCalculator(offset=100)
    found = tools_of(calc)
    assert [t.name for t in found] == ["add", "negate", "unit", "double", "triple", "power"]
    by_name = {t.name: t for t in found}
    assert by_name["add"].fn(a=1, b=1) == 2  # the subclass's override, bound
    assert by_name["add"].description == "Add with extra care."
    assert by_name["power"].fn(base=3.0) == 9.0
    assert all(not t.needs_binding for t in found)
    assert all(as_tool(t) is t for t in found)


def test_tools_of_includes_tools_stored_on_the_instance() -> None:
    calc = Calculator()
    calc.weather = get_weather
    assert [t.name for t in tools_of(calc)][-1] == "get_weather"


def test_tools_of_class_gives_only_class_and_static_tools() -> None:
    assert [t.name for t in tools_of(Calculator)] == ["unit", "double", "triple"]


def test_tools_of_module_gives_its_tools() -> None:
    module = types.ModuleType("toolbox")
    module.get_weather = get_weather
    module.helper = lambda: None
    module.number = 3
    assert tools_of(module) == [get_weather]


def test_as_tool_wraps_functions_and_bound_methods_and_returns_tools() -> None:
    def ping(host: str) -> str:
        """Ping a host."""
        return host

    class Plain:
        def echo(self, text: str) -> str:
            return text

    assert as_tool(get_weather) is get_weather
    wrapped = as_tool(ping)
    assert (wrapped.name, wrapped.description, list(_props(wrapped))) == ("ping", "Ping a host.", ["host"])
    echo = as_tool(Plain().echo)
    assert list(_props(echo)) == ["text"]
    assert echo.fn(**echo.validate({"text": "hi"})) == "hi"


@pytest.mark.parametrize("bad", [42, "get_weather", None, functools.partial(print), Calculator])
def test_as_tool_rejects_anything_else(bad: object) -> None:
    with pytest.raises(ToolDefinitionError, match="is not a tool"):
        as_tool(bad)


# -- no objects kept alive -----------------------------------------------------------------------


def test_bound_tool_does_not_keep_its_instance_alive() -> None:
    calc = Calculator(offset=1)
    ref = weakref.ref(calc)
    bound = calc.add
    assert bound.fn(a=1, b=1) == 3
    found = tools_of(calc)
    assert found
    del calc, bound, found
    assert ref() is None  # freed by reference counting alone: no cycle, no cache


def test_decorating_keeps_no_reference_to_the_tool() -> None:
    def make() -> Tool[..., Any]:
        class Local(BaseModel):
            v: int

        @tool
        def use(x: Local) -> int:
            return x.v

        return use

    made = make()
    ref = weakref.ref(made)
    del made
    gc.collect()
    assert ref() is None


def test_string_hints_naming_function_local_types_resolve() -> None:
    class LocalQuery(BaseModel):
        text: str

    @tool
    def ask(q: LocalQuery) -> str:
        return q.text

    assert _props(ask)["q"]["properties"] == {"text": {"type": "string"}}
    assert isinstance(ask.validate({"q": {"text": "hi"}})["q"], LocalQuery)


# -- validation ----------------------------------------------------------------------------------


def test_validate_coerces_lax_values_and_fills_defaults() -> None:
    @tool
    def book(room: int, nights: int = 1, vip: bool = False, price: float = 0.0) -> None:
        return None

    assert book.validate({"room": "21", "vip": "true", "price": "9.5"}) == {
        "room": 21,
        "nights": 1,
        "vip": True,
        "price": 9.5,
    }


def test_validate_rejects_missing_wrong_and_unknown_arguments() -> None:
    with pytest.raises(ValidationError) as info:
        get_weather.validate({"unit": "K", "country": "PT"})
    errors = {(e["loc"], e["type"]) for e in info.value.errors()}
    assert errors == {(("city",), "missing"), (("unit",), "literal_error"), (("country",), "extra_forbidden")}


def test_validate_rejects_the_internal_field_names() -> None:
    with pytest.raises(ValidationError):
        get_weather.validate({"city": "x", "f0": "y"})


def test_validate_rejects_a_non_mapping() -> None:
    with pytest.raises(ValidationError):
        get_weather.validate(["Lisbon"])  # type: ignore[arg-type]


def test_format_validation_error_is_compact_and_points_at_the_parameter() -> None:
    @tool
    def place_order(order: Order) -> None:
        return None

    with pytest.raises(ValidationError) as info:
        place_order.validate({"order": {"items": [{"name": "tea", "qty": "lots"}]}, "rush": True})
    text = format_validation_error(place_order, info.value)
    head, tail = text.split("\n")
    assert head.startswith("Invalid arguments for tool 'place_order': ")
    assert tail == "Fix the arguments and call the tool again."
    problems = json.loads(head.split(": ", 1)[1])
    assert problems == [
        {
            "loc": "order.items.0.qty",
            "msg": "Input should be a valid integer, unable to parse string as an integer",
            "input": "lots",
        },
        {"loc": "rush", "msg": "Extra inputs are not permitted", "input": True},
    ]


def test_format_validation_error_omits_long_inputs_and_missing_inputs() -> None:
    with pytest.raises(ValidationError) as info:
        get_weather.validate({"unit": "K" * 200})
    problems = json.loads(format_validation_error(get_weather, info.value).split("\n")[0].split(": ", 1)[1])
    assert problems == [
        {"loc": "city", "msg": "Field required"},
        {"loc": "unit", "msg": "Input should be 'C' or 'F'"},
    ]


def test_format_validation_error_accepts_other_exceptions_and_names() -> None:
    text = format_validation_error("get_weather", ValueError("arguments are not valid JSON"))
    assert text == (
        "Invalid arguments for tool 'get_weather': arguments are not valid JSON\n"
        "Fix the arguments and call the tool again."
    )


# -- results as text -----------------------------------------------------------------------------


class Forecast(BaseModel):
    city: str
    high: float


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("Zürich: ☀", "Zürich: ☀"),
        ("", ""),
        (Forecast(city="Zürich", high=21.5), '{"city":"Zürich","high":21.5}'),
        ({"city": "Zürich", "ok": True}, '{"city": "Zürich", "ok": true}'),
        ([1, 2.5, None], "[1, 2.5, null]"),
        (42, "42"),
        (1.5, "1.5"),
        (True, "true"),
        (None, "null"),
        ((1, "a"), '[1, "a"]'),
        (Box(2, 3), '{"width": 2, "height": 3}'),
        (Color.RED, '"red"'),
        (datetime.date(2026, 11, 25), '"2026-11-25"'),
        ({"nested": Forecast(city="Oslo", high=1)}, '{"nested": {"city": "Oslo", "high": 1.0}}'),
    ],
)
def test_result_to_text(value: object, text: str) -> None:
    assert result_to_text(value) == text
    assert get_weather.result_to_text(value) == text


def test_result_to_text_falls_back_to_str() -> None:
    class Opaque:
        def __str__(self) -> str:
            return "opaque thing"

    assert result_to_text({"x": Opaque()}) == '{"x": "opaque thing"}'


# -- definition errors ---------------------------------------------------------------------------


def _star_args(*values: int) -> int:
    return 0


def _star_kwargs(a: int, **options: str) -> int:
    return 0


def _no_hint(a: int, b) -> int:  # type: ignore[no-untyped-def]
    return 0


def _positional_only(a: int, /, b: int) -> int:
    return 0


def _unsupported(callback: Callable[[int], int]) -> int:
    return 0


class _Opaque:
    pass


def _opaque(thing: _Opaque) -> int:
    return 0


def _bad_forward_ref(thing: DoesNotExist) -> int:  # type: ignore[name-defined]  # noqa: F821
    return 0


def _invalid_schema(x: Annotated[int, Field(json_schema_extra={"type": "not-a-type"})]) -> int:
    return 0


def _generator(n: int) -> Iterator[int]:
    yield n


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (_star_args, r"tool '_star_args', parameter 'values': \*values cannot be described"),
        (_star_kwargs, r"tool '_star_kwargs', parameter 'options': \*\*options cannot be described"),
        (_no_hint, r"tool '_no_hint', parameter 'b': add a type hint"),
        (_positional_only, r"tool '_positional_only', parameter 'a': positional-only"),
        (_unsupported, r"tool '_unsupported', parameter 'callback': pydantic cannot validate or describe"),
        (
            _opaque,
            r"tool '_opaque', parameter 'thing': pydantic cannot validate or describe the type _Opaque",
        ),
        (
            _bad_forward_ref,
            r"tool '_bad_forward_ref': cannot resolve the type hint 'DoesNotExist' of parameter",
        ),
        (_invalid_schema, r"tool '_invalid_schema': the argument schema is not valid JSON Schema"),
        (_generator, r"tool '_generator' is a generator function"),
        (lambda x: x, r"tool name '<lambda>' is invalid"),
    ],
    ids=lambda v: v if isinstance(v, str) else getattr(v, "__name__", "?"),
)
def test_bad_definitions_raise_naming_tool_and_parameter(fn: Callable[..., Any], message: str) -> None:
    with pytest.raises(ToolDefinitionError, match=message):
        tool(fn)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "has space"}, r"tool name 'has space' is invalid"),
        ({"name": "x" * 65}, r"tool name 'x{65}' is invalid"),
        ({"name": ""}, r"tool name '' is invalid"),
        ({"timeout": -1}, r"tool 'f': timeout must be a positive number"),
        ({"timeout": 0}, r"tool 'f': timeout must be a positive number"),
        ({"timeout": float("nan")}, r"tool 'f': timeout must be a positive number"),
        ({"timeout": "5"}, r"tool 'f': timeout must be a positive number"),
        ({"retries": -1}, r"tool 'f': retries must be an int >= 0"),
        ({"retries": 1.5}, r"tool 'f': retries must be an int >= 0"),
        ({"retry_on": (ValueError, 3)}, r"tool 'f': retry_on must be an exception class"),
        ({"retry_on": int}, r"tool 'f': retry_on must be an exception class"),
        ({"description": 3}, r"tool 'f': description must be a str"),
    ],
)
def test_bad_options_raise(options: dict[str, Any], message: str) -> None:
    def f(x: int) -> int:
        return x

    with pytest.raises(ToolDefinitionError, match=message):
        tool(**options)(f)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="typing.TypedDict is accepted from Python 3.12")
def test_typing_typeddict_before_312_raises_with_pydantic_advice() -> None:
    import typing

    class Legacy(typing.TypedDict):
        x: int

    def uses_legacy(p: Legacy) -> int:
        return 0

    with pytest.raises(ToolDefinitionError, match=r"parameter 'p'.*typing_extensions.TypedDict"):
        tool(uses_legacy)


def test_non_callable_and_double_decoration_raise() -> None:
    with pytest.raises(ToolDefinitionError, match="@tool needs a function, not int"):
        tool(3)  # type: ignore[call-overload]
    with pytest.raises(ToolDefinitionError, match="'get_weather' is already a tool"):
        tool(get_weather)


def test_definition_error_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        tool(_no_hint)


def test_callable_without_name_needs_name_option() -> None:
    def add(a: int, b: int) -> int:
        return a + b

    with pytest.raises(ToolDefinitionError, match="pass name="):
        tool(functools.partial(add, b=1))
    add_one = tool(name="add_one")(functools.partial(add, b=1))
    assert add_one.parameters["required"] == ["a"]
    assert add_one.description == ""  # not functools.partial's own class documentation
    assert add_one.fn(**add_one.validate({"a": 1})) == 2
