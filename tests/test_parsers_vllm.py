"""vLLM's tool-parser unit tests, replayed against hermitcrab's parsers.

The inputs are the model outputs in vLLM's ``tests/tool_parsers/`` (real markup of real model families:
facts about the models); the expectations are hermitcrab's. Where hermitcrab deliberately gives a
different answer than vLLM, the case says why in ``differs`` (docs/parsers.md groups these
differences and gives the reasons). Every case is checked parsing the whole reply and streamed one
character at a time, and no markup may reach the text.
"""

# ruff: noqa: RUF001, E501  (DeepSeek and Step markers use fullwidth bars; model outputs stay on one line)
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from hermitcrab.messages import Message
from hermitcrab.prompting import MarkupParser, assemble_message, get_parser


@dataclass(frozen=True)
class V:
    """One vLLM test input and what hermitcrab makes of it."""

    family: str
    reply: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    """Good calls, in order."""
    text: str = ""
    reasoning: str | None = None
    bad: list[str] = field(default_factory=list)
    """A fragment of each malformed call's error, in order."""
    differs: str = ""
    """Why hermitcrab's answer is not vLLM's (empty: the same calls, and the same text where vLLM keeps it)."""
    ids: list[str] | None = None
    prompt: str = ""
    """The prompt the reply continues (``parser.for_prompt``), when it matters."""
    prose: bool = False
    """The expected text holds a marker that is prose here, not markup."""


KEEPS_TEXT = "vLLM drops the text around the calls; the text the model wrote is kept here"
LEADING_SPACE = "whitespace at the very start of a reply is dropped here"
TRAILING_SPACE = "vLLM strips the whitespace before the call; the text is kept as written here"
UNTYPED = "vLLM keeps untyped values as strings without a schema; JSON literals are decoded here"

# -- shared inputs and expectations (vLLM's fixtures) ---------------------------------------------------
TOKYO = ("get_weather", {"city": "Tokyo"})
TOKYO_TIME = ("get_time", {"timezone": "Asia/Tokyo"})
DALLAS = ("get_current_weather", {"city": "Dallas", "state": "TX", "unit": "fahrenheit"})
ORLANDO = ("get_current_weather", {"city": "Orlando", "state": "FL", "unit": "fahrenheit"})
SF = ("get_weather", {"city": "San Francisco", "metric": "celsius"})
SF_CA = ("get_current_weather", {"city": "San Francisco", "state": "CA", "unit": "celsius"})
LA = ("get_weather", {"city": "LA", "metric": "C"})
DOE = ("register_user", {"name": "Doe", "age": 9})
ADD35 = ("add", {"a": 3.5, "b": 4})
ADD12 = ("add", {"a": 1, "b": 2})
VINEYARD = ("get_weather", {"city": "Martha's Vineyard", "metric": '"cool units"'})
BBOX = {"coordinates": [[23.54, 43.1], [-12.2, 54.3], [4, 5]], "coordinate_type": "latlong"}
TYPES = {
    "string_field": "hello",
    "int_field": 42,
    "float_field": 3.14,
    "bool_field": True,
    "null_field": None,
    "array_field": ["a", "b", "c"],
    "object_field": {"nested": "value"},
    "empty_array": [],
    "empty_object": {},
}
TYPES_JSON = json.dumps(TYPES, indent=4).replace("\n}", "\n  }")
TYPES_JSON_LINE = json.dumps(TYPES)
TYPES_JSON_LINE_NO_EMPTY = json.dumps({k: v for k, v in TYPES.items() if not k.startswith("empty")})
ESCAPED = {
    "quoted": 'He said "hello"',
    "path": "C:\\Users\\file.txt",
    "newline": "line1\nline2",
    "unicode": "emoji: 🎉",
}
ESCAPED_JSON = json.dumps(ESCAPED, indent=4, ensure_ascii=False).replace("\n}", "\n  }")
PY_MORE_TYPES = (
    "register_user(name='John Doe', age=37, address={'city': 'San Francisco', 'state': 'CA'}, role=None, "
    "passed_test=True, aliases=['John', 'Johnny'])"
)
MORE_TYPES = (
    "register_user",
    {
        "name": "John Doe",
        "age": 37,
        "address": {"city": "San Francisco", "state": "CA"},
        "role": None,
        "passed_test": True,
        "aliases": ["John", "Johnny"],
    },
)
DS_BEGIN, DS_END = "<｜tool▁calls▁begin｜>", "<｜tool▁calls▁end｜>"
DS_CALL, DS_CALL_END, DS_SEP = "<｜tool▁call▁begin｜>", "<｜tool▁call▁end｜>", "<｜tool▁sep｜>"
FC_START, FC_END = "<｜DSML｜function_calls>", "</｜DSML｜function_calls>"
TC4_START, TC4_END = "<｜DSML｜tool_calls>", "</｜DSML｜tool_calls>"
INV_START, INV_END = '<｜DSML｜invoke name="', "</｜DSML｜invoke>"
PARAM_START, PARAM_END = '<｜DSML｜parameter name="', "</｜DSML｜parameter>"


def dsml(name: str, params: dict[str, str], start: str = FC_START, end: str = FC_END, sep: str = "") -> str:
    """DeepSeek V3.2's call block, as vLLM's tests build it."""
    body = "".join(f'{PARAM_START}{k}" string="true">{v}{PARAM_END}{sep}' for k, v in params.items())
    if not sep:
        return f'{start}\n{INV_START}{name}">\n{body}\n{INV_END}\n{end}'
    return f'{start}\n{INV_START}{name}">\n{body}{INV_END}\n{end}'


def dsml4(name: str, params: dict[str, str]) -> str:
    """DeepSeek V4's call block, as vLLM's tests build it."""
    return dsml(name, params, TC4_START, TC4_END, sep="\n")


K_SB, K_SE = "<|tool_calls_section_begin|>", "<|tool_calls_section_end|>"
K_TB, K_TE, K_AB = "<|tool_call_begin|>", "<|tool_call_end|>", "<|tool_call_argument_begin|>"


def kimi(*calls: tuple[str, str]) -> str:
    """A Kimi K2 tool-call section."""
    return K_SB + "".join(f"{K_TB}{ident} {K_AB}{args}{K_TE}" for ident, args in calls) + K_SE


GLM_DALLAS = (
    "<tool_call>get_current_weather\n    <arg_key>city</arg_key>\n    <arg_value>Dallas</arg_value>\n"
    "    <arg_key>state</arg_key>\n    <arg_value>TX</arg_value>\n    <arg_key>unit</arg_key>\n"
    "    <arg_value>fahrenheit</arg_value>\n    </tool_call>"
)
GLM_BEIJING = (
    "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Beijing</arg_value>\n<arg_key>date</arg_key>\n"
    "<arg_value>2025-08-01</arg_value>\n</tool_call>"
)
BEIJING_DATE = ("get_weather", {"city": "Beijing", "date": "2025-08-01"})
BUBBLE = (
    '#!/usr/bin/env python3\n"""\nBubble Sort Implementation\n"""\ndef bubble_sort(arr):\n    n = len(arr)\n'
    "    for i in range(n):\n        swapped = False\n        for j in range(0, n - i - 1):\n"
    "            if arr[j] > arr[j + 1]:\n                arr[j], arr[j + 1] = arr[j + 1], arr[j]\n"
    "                swapped = True\n        if not swapped:\n            break\n    return arr\n"
    'if __name__ == "__main__":\n    test_arr = [64, 34, 25, 12, 22, 11, 90]\n    print(f"Original: {test_arr}")\n'
    '    sorted_arr = bubble_sort(test_arr.copy())\n    print(f"Sorted: {sorted_arr}")'
)
J_DALLAS = json.dumps({"name": DALLAS[0], "arguments": DALLAS[1]})
J_ORLANDO = json.dumps({"name": ORLANDO[0], "arguments": ORLANDO[1]})
SEATTLE_WA_C = ("get_current_weather", {"city": "Seattle", "state": "WA", "unit": "celsius"})
J_SEATTLE_WA_C = json.dumps({"name": SEATTLE_WA_C[0], "arguments": SEATTLE_WA_C[1]})
AREA = ("calculate_area", {"shape": "rectangle", "dimensions": {"width": 10, "height": 5}})
QC_DALLAS = (
    "<tool_call>\n<function=get_current_weather>\n<parameter=city>\nDallas\n</parameter>\n<parameter=state>\nTX\n"
    "</parameter>\n<parameter=unit>\nfahrenheit\n</parameter>\n</function>\n</tool_call>"
)
QC_DALLAS_TX = (
    "<tool_call>\n<function=get_current_weather>\n<parameter=city>\nDallas\n</parameter>\n<parameter=state>\nTX\n"
    "</parameter>\n</function>\n</tool_call>"
)
QC_AREA = (
    "<tool_call>\n<function=calculate_area>\n<parameter=shape>\nrectangle\n</parameter>\n<parameter=dimensions>\n"
    '{"width": 10, "height": 5}\n</parameter>\n</function>\n</tool_call>'
)
BARCELONA = ("get_weather", {"location": "Barcelona, Spain"})
SEED_THINK_512 = (
    "The user's current thinking budget is 512.</seed:cot_budget_reflect>\nLet me analyze the question. The user wants "
    "to know the weather in Barcelona, Spain. Looking at the functions available, there's a get_weather function that "
    "can retrieve the current temperature for a given location. \n\nFirst, check the parameters required by "
    'get_weather: location is mandatory (needs city and country), and unit is optional. The user provided "Barcelona '
    'Spain" as the location, which fits the required format (city, country). \n<seed:cot_budget_reflect>I have used '
    "131 tokens, and there are 381 tokens remaining for use.</seed:cot_budget_reflect>\n Since the unit isn't "
    "specified, the function will default to Celsius, which is fine. \n\nThere's no need to ask for more information "
    'because the location is clear. So I should call the get_weather function with location set to "Barcelona, '
    "Spain\" (adding a comma for clarity, though the user's input has a space, but the function might accept either; "
    "to be safe, using the standard format with a comma).\n<seed:cot_budget_reflect>I have used 257 tokens, and there "
    "are 255 tokens remaining for use.</seed:cot_budget_reflect>\n The unit parameter can be omitted since it's "
    "optional."
)
SEED_THINK_FREE = (
    "\nGot it, let's see. The user asked for the weather in Barcelona, Spain. First, I need to remember the function I "
    'can use: get_weather. The function requires a location (city and country) which is "Barcelona, Spain" here, and '
    "unit is optional. Since the user didn't specify the unit, the default in the function is Celsius, right? Wait, "
    "let me check the function docstring again. Oh, the function says unit is optional, and returns temperature in "
    'Celsius. So I should call get_weather with location "Barcelona, Spain" and maybe omit unit or set to Celsius. '
    "Let me format the function call correctly. The format is <seed:tool_call>\n<function=get_weather>\n"
    "<parameter=location>Barcelona, Spain</parameter>\n<parameter=unit>celsius</parameter>\n</function>\n"
    '</seed:tool_call>. Wait, but does the unit parameter accept "celsius"? The docstring says unit is the unit of '
    "temperature, but the return is in Celsius anyway. Maybe even if I don't pass unit, it's okay, but to be "
    'explicit, maybe pass "celsius". Let me go with that. So the function call should be as above. Then wait for '
    "the result to come back and tell the user the temperature in Celsius."
)
SEOUL = ("get_weather", {"city": "Seoul"})
SOLAR_SEOUL = "<|tool_call:start|>get_weather\n<|tool_arg:start|>city<|tool_arg:value|>Seoul<|tool_arg:end|>\n<|tool_call:end|>"
SOLAR_NO_ARG_END = (
    "vLLM takes a value without <|tool_arg:end|> to the end of the call; here the call is malformed"
)
SOLAR_NO_NAME_LINE = (
    "vLLM skips a call whose name line never ends; here it is a malformed call the model is told about"
)
SOLAR_NO_VALUE = "vLLM skips an argument without a value; here the call is malformed rather than losing it"

GC_START, GC_END = "<｜GCML｜tool_calls>", "</｜GCML｜tool_calls>"


def gcml(*calls: tuple[str, list[tuple[str, str, bool]]]) -> str:
    """A GigaChat 3.5 call block, as vLLM's tests build it."""
    body = "".join(
        f'<｜GCML｜invoke name="{name}">'
        + "".join(
            f'<｜GCML｜parameter name="{k}" string="{str(is_string).lower()}">{v}</｜GCML｜parameter>'
            for k, v, is_string in params
        )
        + "</｜GCML｜invoke>"
        for name, params in calls
    )
    return GC_START + body + GC_END


def g4(args: str) -> str:
    """A Gemma 4 call of ``f`` with the given argument text."""
    return "<|tool_call>call:f{" + args + "}<tool_call|>"


def fg(args: str) -> str:
    """A FunctionGemma call of ``f`` with the given argument text."""
    return "<start_function_call>call:f{" + args + "}<end_function_call>"


LFM_START, LFM_END = "<|tool_call_start|>", "<|tool_call_end|>"


def lfm(calls: str) -> str:
    """An LFM2 call block around a pythonic call list."""
    return f"{LFM_START}[{calls}]{LFM_END}"


CANDIDATE = ("get_candidate_status", {"candidate_id": "12345"})
PY_GROCERY = (
    "grocery.orderIngredients(ingredientList=[{'name': 'Lasagna noodles', 'amount': 250, 'unit': 'g'}], "
    "deliveryAddress='845 Willow Lane, Springfield, IL 62704')"
)
GROCERY = (
    "grocery.orderIngredients",
    {
        "ingredientList": [{"name": "Lasagna noodles", "amount": 250, "unit": "g"}],
        "deliveryAddress": "845 Willow Lane, Springfield, IL 62704",
    },
)
ECHO = "[grocery.orderIngredients(ingredientList=[{'name': 'apple', 'quantity': '2'}], deliveryAddress='123 Main St')]"
ERNIE_TWO = (
    '<tool_call>\n{"name": "get_current_temperature", "arguments": {"location": "Beijing"}}\n</tool_call>\n'
    '<tool_call>\n{"name": "get_temperature_unit", "arguments": {"location": "Guangzhou", "unit": "c"}}\n</tool_call>\n'
)
ERNIE_TWO_CALLS = [
    ("get_current_temperature", {"location": "Beijing"}),
    ("get_temperature_unit", {"location": "Guangzhou", "unit": "c"}),
]
S3_BEGIN, S3_END = "<｜tool_calls_begin｜>", "<｜tool_calls_end｜>"
S3_CALL, S3_CALL_END, S3_SEP = "<｜tool_call_begin｜>", "<｜tool_call_end｜>", "<｜tool_sep｜>"
GIGA3 = "<|message_sep|>\n\nfunction call<|role_sep|>\n"
GIGA31 = "<|function_call|>"
GIGA_SIMPLE_CALL = ("manage_user_memory", {"action": "create", "id": "preferences"})
GIGA_COMPLEX_CALL = (
    "manage_user_memory",
    {
        "action": "create",
        "id": "preferences",
        "content": {
            "short_answers": True,
            "hate_emojis": True,
            "english_ui": False,
            "russian_math_explanations": True,
        },
    },
)
GIGA_SIMPLE = json.dumps({"name": GIGA_SIMPLE_CALL[0], "arguments": GIGA_SIMPLE_CALL[1]}, ensure_ascii=False)
GIGA_EMPTY = json.dumps({"name": "manage_user_memory", "arguments": {}})
GIGA_COMPLEX = json.dumps(
    {"name": GIGA_COMPLEX_CALL[0], "arguments": GIGA_COMPLEX_CALL[1]}, ensure_ascii=False
)

SCHEMA = "vLLM converts the value to the type the request's schema gives; parsers here see no schema"
UNKNOWN_TOOL = (
    "vLLM drops a call of a tool the request does not list; parsers here see no tool list (the "
    "conversation answers an unknown tool with an error)"
)


CUT_AT_FINISH = (
    "vLLM closes the arguments of a stream that stopped before the closing tag; the call is reported as "
    "cut off here"
)
LITERAL_TAGS = (
    "vLLM tells a value's literal tags from the markup with the tool schema and lookahead; without a schema "
    "the call is malformed here rather than silently wrong"
)
GEMMA_BARE = "vLLM's offline fallback reads a bare call:NAME{...}; here only <|tool_call> opens a call"
NONE_TEXT = (
    "vLLM reads Python's None as null for a nullable parameter of the schema; None is no JSON literal and "
    "stays text here"
)
QC_PARIS_LONDON = (
    "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>\n"
    "<tool_call>\n<function=get_weather>\n<parameter=city>\nLondon\n</parameter>\n</function>\n</tool_call>"
)
PARIS, LONDON = ("get_weather", {"city": "Paris"}), ("get_weather", {"city": "London"})


def write_file(path: str, content: str) -> str:
    """A Qwen3-Coder write_file call, as vLLM's shared Qwen3 tests build it."""
    return (
        f"<tool_call>\n<function=write_file>\n<parameter=path>\n{path}\n</parameter>\n"
        f"<parameter=content>\n{content}</parameter>\n</function>\n</tool_call>"
    )


def dsml4_typed(name: str, params: list[tuple[str, str, bool]]) -> str:
    """A DeepSeek V4 invoke with string="true|false" parameters on their own lines (vLLM's Rust parser test)."""
    body = "\n".join(f'{PARAM_START}{k}" string="{str(t).lower()}">{v}{PARAM_END}' for k, v, t in params)
    return f'{INV_START}{name}">\n{body}\n{INV_END}\n'


HY3_ARGS = "<arg_key>city</arg_key>\n<arg_value>Beijing</arg_value>"
HY3_OPEN = "<tool_calls>\n<tool_call>get_weather<tool_sep>\n"


def dots(*bodies: str) -> str:
    """dots call blocks, one per body."""
    return "".join(f"<dots_function_call>{body}</dots_function_call>" for body in bodies)


def dots_invoke(name: str, **params: str) -> str:
    """A dots ``<invoke>`` element."""
    return (
        f'<invoke name="{name}">'
        + "".join(f'<parameter name="{k}">{v}</parameter>' for k, v in params.items())
        + "</invoke>"
    )


IQ_START, IQ_END = "<iquestcoder_tool_call>", "</iquestcoder_tool_call>"


def iq(name: str, *pairs: tuple[str, str]) -> str:
    """An IQuest-Coder V2 call, as vLLM's tests build it."""
    return (
        IQ_START
        + name
        + "".join(f"<arg_key>{k}</arg_key><arg_value>{v}</arg_value>" for k, v in pairs)
        + IQ_END
    )


PLAMO_REQS, PLAMO_REQS_END = "<|plamo:begin_tool_requests:plamo|>", "<|plamo:end_tool_requests:plamo|>"
PLAMO_REQ, PLAMO_REQ_END = "<|plamo:begin_tool_request:plamo|>", "<|plamo:end_tool_request:plamo|>"
PLAMO_NAME, PLAMO_NAME_END = "<|plamo:begin_tool_name:plamo|>", "<|plamo:end_tool_name:plamo|>"
PLAMO_ARGS = "<|plamo:begin_tool_arguments:plamo|><|plamo:constrain|>json<|plamo:msg|>"
PLAMO_ARGS_END, PLAMO_EOT = "<|plamo:end_tool_arguments:plamo|>", "<|plamo:tag|>"


def plamo_call(name: str, arguments: str) -> str:
    """One PLaMo 3 tool request, as vLLM's tests build it."""
    return (
        f"{PLAMO_REQ}{PLAMO_NAME}{name}{PLAMO_NAME_END}{PLAMO_ARGS}{arguments}{PLAMO_ARGS_END}{PLAMO_REQ_END}"
    )


def plamo_requests(*calls: str) -> str:
    """PLaMo 3's tool requests and the end of the turn."""
    return f"{PLAMO_REQS}{''.join(calls)}{PLAMO_REQS_END}{PLAMO_EOT}"


PLAMO_NAMED = PLAMO_REQ + PLAMO_NAME + "broken" + PLAMO_NAME_END
PLAMO_ARGS_OPEN = PLAMO_NAMED + PLAMO_ARGS + '{"a": 1}'


def ifm(*calls: str, prefix: str = "", suffix: str = "") -> str:
    """K2 Horizon's call group, as vLLM's tests build it."""
    return prefix + "<ifm|tool_calls>" + "\n".join(calls) + "</ifm|tool_calls>" + suffix


def ifm_json(name: str, arguments: dict[str, Any]) -> str:
    """A K2 Horizon JSON call."""
    return "<ifm|tool_call>" + json.dumps({"name": name, "arguments": arguments}) + "</ifm|tool_call>"


def ifm_xml(name: str, arguments: list[tuple[str, str]], typed: bool = False) -> str:
    """A K2 Horizon XML call (``typed``: with ``<ifm|arg_type>``, integer for ``limit``)."""
    parts = [f"<ifm|tool_call>{name}"]
    for key, value in arguments:
        parts.append(f"<ifm|arg_key>{key}</ifm|arg_key>")
        if typed:
            parts.append(f"<ifm|arg_type>{'integer' if key == 'limit' else 'string'}</ifm|arg_type>")
        parts.append(f"<ifm|arg_value>{value}</ifm|arg_value>")
    return "".join(parts) + "</ifm|tool_call>"


HCX_HEADER, HCX_END = " -> tool/function_call\n", "<|im_end|>"
HCX_SEOUL = '<tool_call>get_current_weather\n<arg_key>location</arg_key>\n<arg_value>"Seoul"</arg_value>\n</tool_call>'
HCX_BARE_JSON = (
    "vLLM reads a bare JSON list (what its tool_choice=required grammar makes the model write); here only "
    "the family's markup opens a call, and text that merely looks like JSON stays text"
)


CASES: tuple[V, ...] = (
    # -- hermes (vLLM test_hermes_tool_parser.py) ------------------------------------------------
    V(
        "hermes",
        "This is some prior text that has nothing to do with tool calling.",
        text="This is some prior text that has nothing to do with tool calling.",
    ),
    V(
        "hermes",
        '<tool_call>\n{"name": "final_answer", "arguments": {"trigger": true}}\n</tool_call>',
        calls=[("final_answer", {"trigger": True})],
    ),
    V(
        "hermes",
        '<tool_call>{"name": "get_current_temperature","arguments": {"location":'
        '"San Francisco, California, United States", "unit": "celsius"}}</tool_call>',
        calls=[
            (
                "get_current_temperature",
                {"location": "San Francisco, California, United States", "unit": "celsius"},
            )
        ],
    ),
    V(
        "hermes",
        'Sure, let me check the weather.<tool_call>{"name": "get_weather", "arguments": {"city": "NYC"}}</tool_call>',
        calls=[("get_weather", {"city": "NYC"})],
        text="Sure, let me check the weather.",
    ),
    V(
        "hermes",
        '<tool_call>{"name": "search", "arguments": {"q": "cats"}}</tool_call>'
        '<tool_call>{"name": "search", "arguments": {"q": "dogs"}}</tool_call>',
        calls=[("search", {"q": "cats"}), ("search", {"q": "dogs"})],
    ),
    V("hermes", "This is not a tool call.", text="This is not a tool call."),
    V(
        "hermes",
        '<tool_call>\n{"name": "final_answer", "arguments": {"trigger": true}}',
        calls=[("final_answer", {"trigger": True})],
    ),
    V(
        "hermes",
        '<tool_call>\n{"name": "final_answer", "arguments": {"trigger": true}',
        bad=["cut off"],
        differs="vLLM drops the broken call; a call is never dropped here",
    ),
    V(
        "hermes",
        'Hi!<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>',
        calls=[("f", {"x": 1})],
        text="Hi!",
    ),
    # (vLLM test_format_conformance.py)
    V(
        "hermes",
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "SF"}}\n</tool_call>',
        calls=[("get_weather", {"city": "SF"})],
    ),
    # -- granite4: Hermes markup (vLLM test_granite4_tool_parser.py, test_hermes_tool_parser.py) ---
    V(
        "granite4",
        "Here goes the bbox call: \n<tool_call> "
        '{"name": "find_bbox", "arguments": "{\\"coordinates\\": [[23.54, 43.1], [-12.2, 54.3], [4, 5]], '
        '\\"coordinate_type\\": \\"latlong\\"}"} </tool_call> Now the stock price call: \n <tool_call> '
        '{"name": "get_stock_price", "arguments": {"symbol": "AAPL", "start_date": "2021-01-01", '
        '"end_date": "2021-12-31"}} </tool_call> Now another bbox call: \n <tool_call> '
        '{"name": "find_bbox", "arguments": "{\\"coordinates\\": [[23.54, 43.1], [-12.2, 54.3], [4, 5]], '
        '\\"coordinate_type\\": \\"latlong\\"}"} </tool_call> See? I\'m a helpful assistant.',
        calls=[
            ("find_bbox", BBOX),
            ("get_stock_price", {"symbol": "AAPL", "start_date": "2021-01-01", "end_date": "2021-12-31"}),
            ("find_bbox", BBOX),
        ],
        text="Here goes the bbox call: \n Now the stock price call: \n  Now another bbox call: \n  See? I'm a helpful assistant.",
    ),
    V(
        "granite4",
        '<tool_call>\n{"name": "final_answer", "arguments": {"trigger": true}}\n</tool_call>',
        calls=[("final_answer", {"trigger": True})],
    ),
    V("granite4", "This is not a tool call.", text="This is not a tool call."),
    # -- granite 3.x (vLLM test_granite_tool_parser.py) -------------------------------------------
    V(
        "granite",
        "This is a regular response without any tool calls.",
        text="This is a regular response without any tool calls.",
    ),
    V("granite", '<|tool_call|> [{"name": "get_weather", "arguments": {"city": "Tokyo"}}]', calls=[TOKYO]),
    V(
        "granite",
        '<|tool_call|> [\n  {"name": "get_weather", "arguments": {"city": "Tokyo"}},\n'
        '  {"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}\n]',
        calls=[TOKYO, TOKYO_TIME],
    ),
    V(
        "granite",
        '<tool_call> [{\n  "name": "test_function",\n  "arguments": ' + TYPES_JSON + "\n}]",
        calls=[("test_function", TYPES)],
    ),
    V("granite", '<|tool_call|> [{"name": "refresh", "arguments": {}}]', calls=[("refresh", {})]),
    V(
        "granite",
        "Let me check the weather for you.\n"
        '<|tool_call|> [{"name": "get_weather", "arguments": {"city": "Tokyo"}}]\nI\'ll get that information.',
        calls=[TOKYO],
        text="Let me check the weather for you.\n\nI'll get that information.",
    ),
    V(
        "granite",
        '<tool_call> [{\n  "name": "test_function",\n  "arguments": ' + ESCAPED_JSON + "\n}]",
        calls=[("test_function", ESCAPED)],
    ),
    V("granite", '<|tool_call|> [{"name": "func", "arguments": {', bad=["cut off"]),
    V(
        "granite",
        '<|tool_call|> {"name": "func", "arguments": {}}',
        calls=[("func", {})],
        differs="vLLM wants a list; one object is accepted here",
    ),
    V(
        "granite",
        '[{"name": "func", "arguments": "not a dict"}]',
        text='[{"name": "func", "arguments": "not a dict"}]',
    ),
    V("granite", 'Some text [{"name": "func"}]', text='Some text [{"name": "func"}]'),
    V("granite", '<tool_call> [{"name": "get_weather", "arguments": {"city": "Tokyo"}}]', calls=[TOKYO]),
    # -- granite 20B FC (vLLM test_granite_20b_fc_tool_parser.py) ---------------------------------
    V(
        "granite_20b_fc",
        "This is a regular response without any tool calls.",
        text="This is a regular response without any tool calls.",
    ),
    V(
        "granite_20b_fc",
        '<function_call> {"name": "get_weather", "arguments": {"city": "Tokyo"}}',
        calls=[TOKYO],
    ),
    V(
        "granite_20b_fc",
        '<function_call> {"name": "get_weather", "arguments": {"city": "Tokyo"}}\n'
        '<function_call> {"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}',
        calls=[TOKYO, TOKYO_TIME],
    ),
    V(
        "granite_20b_fc",
        '<function_call> {\n  "name": "test_function",\n  "arguments": ' + TYPES_JSON + "\n}",
        calls=[("test_function", TYPES)],
    ),
    V("granite_20b_fc", '<function_call> {"name": "refresh", "arguments": {}}', calls=[("refresh", {})]),
    V(
        "granite_20b_fc",
        'Let me check the weather for you.\n<function_call> {"name": "get_weather", "arguments": {"city": "Tokyo"}}',
        calls=[TOKYO],
        text="Let me check the weather for you.\n",
    ),
    V(
        "granite_20b_fc",
        '<function_call> {\n  "name": "test_function",\n  "arguments": ' + ESCAPED_JSON + "\n}",
        calls=[("test_function", ESCAPED)],
    ),
    V("granite_20b_fc", '<function_call> {"name": "func", "arguments": {', bad=["cut off"]),
    V("granite_20b_fc", '<function_call> [{"name": "func", "arguments": {}}]', calls=[("func", {})]),
    V("granite_20b_fc", '{"name": "func", "arguments": {}}', text='{"name": "func", "arguments": {}}'),
    V("granite_20b_fc", '<function_call> {"name": 123}', bad=['no "name"']),
    # -- InternLM2 (vLLM test_internlm2_tool_parser.py) ------------------------------------------
    V(
        "internlm2",
        "This is a regular response without any tool calls.",
        text="This is a regular response without any tool calls.",
    ),
    V(
        "internlm2",
        '<|action_start|><|plugin|>{"name": "get_weather", "parameters": {"city": "Tokyo"}}<|action_end|>',
        calls=[TOKYO],
    ),
    V(
        "internlm2",
        '<|action_start|><|plugin|>{\n  "name": "test_function",\n  "parameters": '
        + TYPES_JSON
        + "\n}<|action_end|>",
        calls=[("test_function", TYPES)],
    ),
    V(
        "internlm2",
        '<|action_start|><|plugin|>{"name": "refresh", "parameters": {}}<|action_end|>',
        calls=[("refresh", {})],
    ),
    V(
        "internlm2",
        'Let me check the weather for you. <|action_start|><|plugin|>{"name": "get_weather", '
        '"parameters": {"city": "Tokyo"}}<|action_end|>',
        calls=[TOKYO],
        text="Let me check the weather for you. ",
    ),
    V(
        "internlm2",
        '<|action_start|><|plugin|>{\n  "name": "test_function",\n  "parameters": '
        + ESCAPED_JSON
        + "\n}<|action_end|>",
        calls=[("test_function", ESCAPED)],
    ),
    V("internlm2", '<|action_start|><|plugin|>{"name": "func", "parameters": {', bad=["cut off"]),
    V(
        "internlm2",
        '<|action_start|><|plugin|>{"name": "func", "parameters": "not a dict"}<|action_end|>',
        bad=["not a JSON object"],
    ),
    V("internlm2", "<|action_start|><|plugin|>not json<|action_end|>", bad=["invalid JSON"]),
    V("internlm2", "<|action_start|><|plugin|>", bad=["cut off"]),
    V(
        "internlm2",
        '<|action_start|>{"name": "func"}',
        text='{"name": "func"}',
        differs="a lone <|action_start|> without <|plugin|> is not a call; the marker is dropped",
    ),
    # -- Jamba: Hunyuan's markup (vLLM test_jamba_tool_parser.py) ---------------------------------
    V("jamba", "This is a test", text="This is a test"),
    V(
        "jamba",
        ' <tool_calls>[\n    {"name": "get_current_weather", "arguments": {"city": "Dallas", "state": "TX", '
        '"unit": "fahrenheit"}}\n]</tool_calls>',
        calls=[DALLAS],
    ),
    V(
        "jamba",
        ' Sure! let me call the tool for you.<tool_calls>[\n    {"name": "get_current_weather", "arguments": '
        '{"city": "Dallas", "state": "TX", "unit": "fahrenheit"}}\n]</tool_calls>',
        calls=[DALLAS],
        text="Sure! let me call the tool for you.",
        differs=LEADING_SPACE,
    ),
    V(
        "jamba",
        ' <tool_calls>[\n    {"name": "get_current_weather", "arguments": {"city": "Dallas", "state": "TX", '
        '"unit": "fahrenheit"}},\n    {"name": "get_current_weather", "arguments": {"city": "Orlando", "state": "FL", '
        '"unit": "fahrenheit"}}\n]</tool_calls>',
        calls=[DALLAS, ORLANDO],
    ),
    # -- Hunyuan A13B (vLLM test_hunyuan_a13b_tool_parser.py) ------------------------------------
    V("hunyuan", "How can I help you today?", text="How can I help you today?"),
    V(
        "hunyuan",
        '<tool_calls>[{"name": "get_weather", "arguments": {"city": "San Francisco", "metric": "celsius"}}]</tool_calls>',
        calls=[SF],
    ),
    V(
        "hunyuan",
        '<tool_calls>[{"name": "get_weather", "arguments": {"city": "San Francisco", "metric": "celsius"}}, '
        '{"name": "register_user", "arguments": {"name": "John Doe", "age": 37, "address": {"city": "San Francisco", '
        '"state": "CA"}, "role": null, "passed_test": true, "aliases": ["John", "Johnny"]}}]</tool_calls>',
        calls=[
            SF,
            (
                "register_user",
                {
                    "name": "John Doe",
                    "age": 37,
                    "address": {"city": "San Francisco", "state": "CA"},
                    "role": None,
                    "passed_test": True,
                    "aliases": ["John", "Johnny"],
                },
            ),
        ],
    ),
    V(
        "hunyuan",
        'I will call the tool now. <tool_calls>[{"name": "get_weather", "arguments": {"city": "Boston"}}]</tool_calls>',
        calls=[("get_weather", {"city": "Boston"})],
        text="I will call the tool now. ",
    ),
    V(
        "hunyuan",
        '<tool_calls>[{"name": "get_weather", "arguments": {"city": "Seattle"}}]</tool_calls>\nThank you!',
        calls=[("get_weather", {"city": "Seattle"})],
        text="Thank you!",
        differs=KEEPS_TEXT,
    ),
    V(
        "hunyuan",
        '<tool_calls>[{"name": "complex_tool", "arguments": {"level1": {"level2": {"level3": {"value": 123}}}}}]</tool_calls>',
        calls=[("complex_tool", {"level1": {"level2": {"level3": {"value": 123}}}})],
    ),
    V(
        "hunyuan",
        '<tool_calls>[{"name": "get_weather", "arguments": {"city": "Boston"}}]</tool_calls>\n</answer>',
        calls=[("get_weather", {"city": "Boston"})],
    ),
    # -- Llama 3 JSON (vLLM test_llama3_json_tool_parser.py) -------------------------------------
    V(
        "llama3_json",
        'Here is the result: {"name": "getOpenIncidentsTool", "parameters": {}} Would you like to know more?',
        calls=[("getOpenIncidentsTool", {})],
        text="Here is the result:  Would you like to know more?",
        differs=KEEPS_TEXT,
    ),
    V(
        "llama3_json",
        '{"name": "searchTool", "parameters": {"query": "test query", "limit": 10}}',
        calls=[("searchTool", {"query": "test query", "limit": 10})],
    ),
    V(
        "llama3_json",
        "This is just some text without any tool calls",
        text="This is just some text without any tool calls",
    ),
    V(
        "llama3_json",
        '{"name": "invalidTool", "parameters": {invalid json}',
        bad=["cut off"],
        differs="vLLM gives the text back and no call; a call-shaped block is never dropped here",
    ),
    V(
        "llama3_json",
        '{"name": "searchTool", "arguments": {"query": "test"}}',
        calls=[("searchTool", {"query": "test"})],
    ),
    V(
        "llama3_json",
        '{"name": "searchTool", "parameters": {"query": "test1"}}; {"name": "getOpenIncidentsTool", '
        '"parameters": {}}; {"name": "searchTool", "parameters": {"query": "test2"}}',
        calls=[
            ("searchTool", {"query": "test1"}),
            ("getOpenIncidentsTool", {}),
            ("searchTool", {"query": "test2"}),
        ],
    ),
    V(
        "llama3_json",
        '{"name": "searchTool", "parameters": {"query": "test1"}} ; {"name": "getOpenIncidentsTool", '
        '"parameters": {}} ; {"name": "searchTool", "parameters": {"query": "test2"}}',
        calls=[
            ("searchTool", {"query": "test1"}),
            ("getOpenIncidentsTool", {}),
            ("searchTool", {"query": "test2"}),
        ],
    ),
    V(
        "llama3_json",
        'Here are the results: {"name": "searchTool", "parameters": {"query": "test1"}}; '
        '{"name": "getOpenIncidentsTool", "parameters": {}}; {"name": "searchTool", "parameters": {"query": "test2"}} '
        "Would you like to know more?",
        calls=[
            ("searchTool", {"query": "test1"}),
            ("getOpenIncidentsTool", {}),
            ("searchTool", {"query": "test2"}),
        ],
        text="Here are the results:  Would you like to know more?",
        differs=KEEPS_TEXT,
    ),
    V(
        "llama3_json",
        '{"name": "complexTool", "parameters": {"level1": {"level2": {"level3": {"level4": {"value": "deep"}}}}}}',
        calls=[("complexTool", {"level1": {"level2": {"level3": {"level4": {"value": "deep"}}}}})],
    ),
    V(
        "llama3_json",
        '{"name": "simpleTool", "parameters": {"value": "test"}}; {"name": "complexTool", "parameters": '
        '{"config": {"database": {"connection": {"pool": {"size": 10}}}}}}',
        calls=[
            ("simpleTool", {"value": "test"}),
            ("complexTool", {"config": {"database": {"connection": {"pool": {"size": 10}}}}}),
        ],
    ),
    V(
        "llama3_json",
        '{"name": "searchTool", "parameters": {"query": "test {value} [complex]","nested": {"inner": "more {brackets}"}}}',
        calls=[("searchTool", {"query": "test {value} [complex]", "nested": {"inner": "more {brackets}"}})],
    ),
    V(
        "llama3_json",
        '{"name": "parserTool", "parameters": {"text": "He said \\"Hello {world}\\""}}',
        calls=[("parserTool", {"text": 'He said "Hello {world}"'})],
    ),
    V("llama3_json", '{"parameters": {}}', text='{"parameters": {}}'),
    V("llama3_json", '{"name": "toolWithoutParams"}', text='{"name": "toolWithoutParams"}'),
    V("llama3_json", "{hello world[A(A=\t)A(A=,\t\t)A(A=,\t", text="{hello world[A(A=\t)A(A=,\t\t)A(A=,\t"),
    # -- pythonic (vLLM test_pythonic_tool_parser.py) --------------------------------------------
    V("pythonic", "How can I help you today?", text="How can I help you today?"),
    V("pythonic", "[get_weather(city='San Francisco', metric='celsius')]", calls=[SF]),
    V("pythonic", "[" + PY_MORE_TYPES + "]", calls=[MORE_TYPES]),
    V("pythonic", "[get_weather()]", calls=[("get_weather", {})]),
    V(
        "pythonic",
        "[do_something_cool(additional_data={})]",
        calls=[("do_something_cool", {"additional_data": {}})],
    ),
    V("pythonic", "[do_something_cool(steps=[])]", calls=[("do_something_cool", {"steps": []})]),
    V("pythonic", r"""[get_weather(city='Martha\'s Vineyard', metric='\"cool units\"')]""", calls=[VINEYARD]),
    V(
        "pythonic",
        "[get_weather(city='San Francisco', metric='celsius'), " + PY_MORE_TYPES + "]",
        calls=[SF, MORE_TYPES],
    ),
    V(
        "pythonic",
        "[get_weather(city='San Francisco', metric='celsius'), get_weather(), do_something_cool(steps=[])]",
        calls=[SF, ("get_weather", {}), ("do_something_cool", {"steps": []})],
    ),
    V(
        "pythonic",
        "hello world[A(A=\t)A(A=,\t\t)A(A=,\t",
        text="hello world",
        bad=["cut off"],
        differs="vLLM gives the text back; a call-shaped block is never dropped here",
    ),
    # (vLLM test_format_conformance.py)
    V(
        "pythonic",
        '[get_weather(city="SF", units="metric")]',
        calls=[("get_weather", {"city": "SF", "units": "metric"})],
    ),
    # -- Llama 4 pythonic (vLLM test_llama4_pythonic_tool_parser.py) -----------------------------
    V("llama4", "How can I help you today?", text="How can I help you today?"),
    V("llama4", "[get_weather(city='LA', metric='C')]", calls=[LA]),
    V(
        "llama4",
        "[register_user(name='Doe', age=9, address={'city': 'LA', 'state': 'CA'}, role=None, passed_test=True, "
        "aliases=['John', 'Johnny'])]",
        calls=[
            (
                "register_user",
                {
                    "name": "Doe",
                    "age": 9,
                    "address": {"city": "LA", "state": "CA"},
                    "role": None,
                    "passed_test": True,
                    "aliases": ["John", "Johnny"],
                },
            )
        ],
    ),
    V("llama4", "[get_weather()]", calls=[("get_weather", {})]),
    V(
        "llama4",
        "[do_something_cool(additional_data={})]",
        calls=[("do_something_cool", {"additional_data": {}})],
    ),
    V("llama4", "[do_something_cool(steps=[])]", calls=[("do_something_cool", {"steps": []})]),
    V("llama4", r"""[get_weather(city='Martha\'s Vineyard', metric='\"cool units\"')]""", calls=[VINEYARD]),
    V("llama4", "[get_weather(city='LA',metric='C'),register_user(name='Doe',age=9)]", calls=[LA, DOE]),
    V("llama4", "<|python_start|>[get_weather(city='LA', metric='C')]<|python_end|>", calls=[LA]),
    V(
        "llama4",
        "<|python_start|>[get_weather(city='LA', metric='C'),register_user(name='Doe', age=9)]",
        calls=[LA, DOE],
    ),
    V(
        "llama4",
        "<|python_start|>[get_weather(city='LA', metric='C'), register_user(name='Doe', age=9)]",
        calls=[LA, DOE],
    ),
    V(
        "llama4",
        "<|python_start|>[get_weather(city='LA', metric='C'), get_weather(), do_something_cool(steps=[])]<|python_end|>",
        calls=[LA, ("get_weather", {}), ("do_something_cool", {"steps": []})],
    ),
    V(
        "llama4",
        "hello world[A(A=\t)A(A=,\t\t)A(A=,\t",
        text="hello world",
        bad=["cut off"],
        differs="vLLM gives the text back; a call-shaped block is never dropped here",
    ),
    # -- Phi-4-mini functools (vLLM test_phi4mini_tool_parser.py) ---------------------------------
    V(
        "phi4_mini",
        "This is a regular response without any tool calls.",
        text="This is a regular response without any tool calls.",
    ),
    V("phi4_mini", 'functools[{"name": "get_weather", "arguments": {"city": "Tokyo"}}]', calls=[TOKYO]),
    V(
        "phi4_mini",
        'functools[\n  {"name": "get_weather", "arguments": {"city": "Tokyo"}},\n'
        '  {"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}\n]',
        calls=[TOKYO, TOKYO_TIME],
    ),
    V(
        "phi4_mini",
        'functools[{\n  "name": "test_function",\n  "arguments": ' + TYPES_JSON + "\n}]",
        calls=[("test_function", TYPES)],
    ),
    V("phi4_mini", 'functools[{"name": "refresh", "arguments": {}}]', calls=[("refresh", {})]),
    V(
        "phi4_mini",
        'Let me check the weather for you.\nfunctools[{"name": "get_weather", "arguments": {"city": "Tokyo"}}]\n'
        "Would you like to know more?",
        calls=[TOKYO],
        text="Let me check the weather for you.\n\nWould you like to know more?",
        differs=KEEPS_TEXT,
    ),
    V(
        "phi4_mini",
        'functools[{\n  "name": "test_function",\n  "arguments": ' + ESCAPED_JSON + "\n}]",
        calls=[("test_function", ESCAPED)],
    ),
    V("phi4_mini", 'functools[{"name": "func", "arguments": {', bad=["cut off"]),
    V("phi4_mini", 'functools[{"name": "func", "arguments": "not a dict"}]', bad=["not a JSON object"]),
    V("phi4_mini", 'functools{"name": "func"}', text='functools{"name": "func"}'),
    V("phi4_mini", 'functools[{"name": "func"}]', calls=[("func", {})]),
    V("phi4_mini", "functools[] This is just text", text="This is just text"),
    V(
        "phi4_mini",
        "functools[ This is just text ]",
        bad=["invalid JSON"],
        differs="vLLM gives no call and no error; the model is told its functools[ list was not JSON",
    ),
    # -- xLAM (vLLM test_xlam_tool_parser.py) ------------------------------------------------------
    V("xlam", "This is a test", text="This is a test"),
    V(
        "xlam",
        '[{"name": "get_current_weather", "arguments": {"city": "Dallas", "state": "TX", "unit": "fahrenheit"}}, '
        '{"name": "get_current_weather", "arguments": {"city": "Orlando", "state": "FL", "unit": "fahrenheit"}}]',
        calls=[DALLAS, ORLANDO],
    ),
    V(
        "xlam",
        '<think>I\'ll help you with that.</think>[{"name": "get_current_weather", "arguments": {"city": "Dallas", '
        '"state": "TX", "unit": "fahrenheit"}}]',
        calls=[DALLAS],
        reasoning="I'll help you with that.",
        differs="vLLM returns the <think> block as content; here it is reasoning",
    ),
    V(
        "xlam",
        'I\'ll help you with that.\n```json\n[{"name": "get_current_weather", "arguments": {"city": "Dallas", '
        '"state": "TX", "unit": "fahrenheit"}}]\n```',
        calls=[DALLAS],
        text="I'll help you with that.\n",
    ),
    V(
        "xlam",
        'I\'ll check the weather for you.[TOOL_CALLS][{"name": "get_current_weather", "arguments": {"city": "Dallas", '
        '"state": "TX", "unit": "fahrenheit"}}]',
        calls=[DALLAS],
        text="I'll check the weather for you.",
    ),
    V(
        "xlam",
        'I\'ll help you check the weather.<tool_call>[{"name": "get_current_weather", "arguments": {"city": "Dallas", '
        '"state": "TX", "unit": "fahrenheit"}}]</tool_call>',
        calls=[DALLAS],
        text="I'll help you check the weather.",
    ),
    V(
        "xlam",
        '[{"name": "get_current_weather", "arguments": {"city": "Seattle", "state": "WA", "unit": "celsius"}}]',
        calls=[("get_current_weather", {"city": "Seattle", "state": "WA", "unit": "celsius"})],
    ),
    V(
        "xlam",
        '<think>I\'ll help you with that.</think>[{"name": "get_current_weather", "arguments": {"city": "Seattle"}}]',
        calls=[("get_current_weather", {"city": "Seattle"})],
        reasoning="I'll help you with that.",
        differs="vLLM returns the <think> block as content; here it is reasoning",
    ),
    V(
        "xlam",
        'I\'ll help you with that.\n```json\n[{"name": "get_current_weather", "arguments": {"city": "Seattle"}}]\n```',
        calls=[("get_current_weather", {"city": "Seattle"})],
        text="I'll help you with that.\n",
    ),
    V("xlam", "I'll help you with that.", text="I'll help you with that."),
    V(
        "xlam",
        '```json\n[{"name": "get_current_weather", "arguments": {"city": "Dallas", "state": "TX", "unit": "fahrenheit"}}]\n```',
        calls=[DALLAS],
    ),
    V(
        "xlam",
        '[TOOL_CALLS][{"name": "get_current_weather", "arguments": {"city": "Dallas", "state": "TX", "unit": "fahrenheit"}}]',
        calls=[DALLAS],
    ),
    V(
        "xlam",
        'I can help with that.<tool_call>[{"name": "get_current_weather", "arguments": {"city": "Dallas", '
        '"state": "TX", "unit": "fahrenheit"}}]</tool_call>',
        calls=[DALLAS],
        text="I can help with that.",
    ),
    # -- Mistral (vLLM test_mistral_tool_parser.py) ------------------------------------------------
    V("mistral", "This is a test", text="This is a test"),
    V("mistral", '[TOOL_CALLS][{"name": "add", "arguments":{"a": 3.5, "b": 4}}]', calls=[ADD35]),
    V(
        "mistral",
        '[TOOL_CALLS] [{"name": "get_current_weather", "arguments":{"city": "San Francisco", "state": "CA", '
        '"unit": "celsius"}}]',
        calls=[SF_CA],
    ),
    V(
        "mistral",
        '[TOOL_CALLS] [{"arguments":{"city": "San Francisco", "state": "CA", "unit": "celsius"}, '
        '"name": "get_current_weather"}]',
        calls=[SF_CA],
    ),
    V(
        "mistral",
        '[TOOL_CALLS] [{"arguments":{"name": "John Doe"}, "name": "get_age"}]',
        calls=[("get_age", {"name": "John Doe"})],
    ),
    V(
        "mistral",
        '[TOOL_CALLS] [{"name": "add", "arguments": {"a": 3.5, "b": 4}}, {"name": "get_current_weather", '
        '"arguments":{"city": "San Francisco", "state": "CA", "unit": "celsius"}}]',
        calls=[ADD35, SF_CA],
    ),
    V(
        "mistral",
        'Hello[TOOL_CALLS] [{"name": "add", "arguments":{"a": 1, "b": 2}}]',
        calls=[ADD12],
        text="Hello",
    ),
    V(
        "mistral",
        '[TOOL_CALLS] [{"name": "get_current_weather", "arguments":{"city": "Dallas", "state": "TX", '
        '"unit": "fahrenheit"}}]\nextra trailing data',
        calls=[DALLAS],
        text="extra trailing data",
        differs=KEEPS_TEXT,
    ),
    V(
        "mistral",
        '[TOOL_CALLS] [{"name": "add", "arguments":{"a": 1}}][TOOL_CALLS] [{"name": "sub", "arguments":{"b": 2}}]',
        calls=[("add", {"a": 1}), ("sub", {"b": 2})],
        differs="vLLM raises on a second [TOOL_CALLS]; both calls are kept here",
    ),
    V(
        "mistral",
        '[TOOL_CALLS]  junk [{"name": "add", "arguments":{"a": 1, "b": 2}}] trail',
        bad=["[ARGS]"],
        text="] trail",
        differs="vLLM digs the JSON out of the junk with a regex; the model is told what it wrote is not a call",
    ),
    V(
        "mistral",
        "[TOOL_CALLS] not json at all",
        bad=["cut off"],
        differs="vLLM gives the words back as text; a [TOOL_CALLS] block is never dropped here",
    ),
    V(
        "mistral",
        '[TOOL_CALLS]  [ {"name":"add" , "arguments" : {"a": 3, "b": 4} } ]',
        calls=[("add", {"a": 3, "b": 4})],
    ),
    V(
        "mistral",
        '[TOOL_CALLS] [{"name": "add", "arguments":{"a": "3", "b": "4"}}]',
        calls=[("add", {"a": "3", "b": "4"})],
    ),
    V(
        "mistral",
        '[TOOL_CALLS] [{"arguments": {"a": 3.5, "b": 4}, "name": "add"}, {"arguments":{"city": "San Francisco", '
        '"state": "CA", "unit": "celsius"}, "name": "get_current_weather"}]',
        calls=[ADD35, SF_CA],
    ),
    V(
        "mistral",
        'Some text[TOOL_CALLS] [{"name": "add", "arguments":{"a": 1, "b": 2}}]',
        calls=[ADD12],
        text="Some text",
    ),
    # (vLLM test_format_conformance.py)
    V(
        "mistral",
        '[TOOL_CALLS][{"name": "get_weather", "arguments": {"city": "SF"}}]',
        calls=[("get_weather", {"city": "SF"})],
    ),
    # v11 and later, as vLLM decodes them (it strips the [ARGS] special token; hermitcrab reads both forms)
    V(
        "mistral_v11",
        '[TOOL_CALLS]add_this_and_that{"a": 3.5, "b": 4}',
        calls=[("add_this_and_that", {"a": 3.5, "b": 4})],
    ),
    V(
        "mistral_v11",
        '[TOOL_CALLS]get_current_weather{"city": "San Francisco", "state": "CA", "unit": "celsius"}',
        calls=[SF_CA],
    ),
    V(
        "mistral_v11",
        '[TOOL_CALLS]add{"a": 3.5, "b": 4}[TOOL_CALLS]multiply{"a": 3, "b": 6}',
        calls=[ADD35, ("multiply", {"a": 3, "b": 6})],
    ),
    V(
        "mistral_v11",
        'hi{hi[TOOL_CALLS]bash{"command": "print(\\"hello world!\\")\\nre.compile(r\'{}\')',
        text="hi{hi",
        bad=["cut off"],
        differs="vLLM streams the partial arguments; an unfinished call is reported as cut off here",
    ),
    V(
        "mistral_v11",
        'hi{hi[TOOL_CALLS]bash{"command": "print(\\"hello world!\\")\\nre.compile(r\'{}\')"}',
        text="hi{hi",
        calls=[("bash", {"command": "print(\"hello world!\")\nre.compile(r'{}')"})],
    ),
    V(
        "mistral_v11",
        "[TOOL_CALLS]toolname_no_args",
        bad=["cut off"],
        differs="vLLM reports tools_called with no call; the model is told its call was cut off",
    ),
    V(
        "mistral_v11",
        'bla[TOOL_CALLS]add_this_and_that{"a": 3.5, "b": 4}',
        calls=[("add_this_and_that", {"a": 3.5, "b": 4})],
        text="bla",
    ),
    V("mistral_v11", '[TOOL_CALLS]add{"a": 1, "b": 2}', calls=[ADD12]),
    V("mistral_v11", "[TOOL_CALLS]add{}", calls=[("add", {})]),
    V(
        "mistral_v11", '[TOOL_CALLS]get_weather{"city": "SF"}', calls=[("get_weather", {"city": "SF"})]
    ),  # (test_format_conformance.py)
    # the same calls as the model writes them with its special tokens
    V(
        "mistral_v11",
        '[TOOL_CALLS]add[ARGS]{"a": 3.5, "b": 4}[TOOL_CALLS]multiply[ARGS]{"a": 3, "b": 6}',
        calls=[ADD35, ("multiply", {"a": 3, "b": 6})],
    ),
    # -- DeepSeek V3 (vLLM test_deepseekv3_tool_parser.py) ----------------------------------------
    V(
        "deepseek_v3",
        "How can I help you today? I can check weather for you.",
        text="How can I help you today? I can check weather for you.",
    ),
    V(
        "deepseek_v3",
        DS_BEGIN
        + DS_CALL
        + "function"
        + DS_SEP
        + 'get_weather\n```json\n{"city": "Tokyo", "unit": "celsius"}\n```'
        + DS_CALL_END
        + DS_END,
        calls=[("get_weather", {"city": "Tokyo", "unit": "celsius"})],
    ),
    V(
        "deepseek_v3",
        DS_BEGIN
        + DS_CALL
        + "function"
        + DS_SEP
        + 'get_weather\n```json\n{"city": "Tokyo", "unit": "celsius"}\n```'
        + DS_CALL_END
        + DS_CALL
        + "function"
        + DS_SEP
        + 'search_hotels\n```json\n{"location": "Tokyo", "check_in": "2025-01-15"}\n```'
        + DS_CALL_END
        + DS_END,
        calls=[
            ("get_weather", {"city": "Tokyo", "unit": "celsius"}),
            ("search_hotels", {"location": "Tokyo", "check_in": "2025-01-15"}),
        ],
    ),
    V(
        "deepseek_v3",
        DS_BEGIN
        + DS_CALL
        + "function"
        + DS_SEP
        + "test_function\n```json\n"
        + TYPES_JSON_LINE
        + "\n```"
        + DS_CALL_END
        + DS_END,
        calls=[("test_function", TYPES)],
    ),
    V(
        "deepseek_v3",
        DS_BEGIN
        + DS_CALL
        + "function"
        + DS_SEP
        + "get_current_time\n```json\n{}\n```"
        + DS_CALL_END
        + DS_END,
        calls=[("get_current_time", {})],
    ),
    V(
        "deepseek_v3",
        "Let me check the weather for you."
        + DS_BEGIN
        + DS_CALL
        + "function"
        + DS_SEP
        + 'get_weather\n```json\n{"city": "Paris"}\n```'
        + DS_CALL_END
        + DS_END,
        calls=[("get_weather", {"city": "Paris"})],
        text="Let me check the weather for you.",
    ),
    V(
        "deepseek_v3",
        DS_BEGIN + DS_CALL + "function" + DS_SEP + 'send_message\n```json\n{"text": "He said \\"hello\\"", '
        '"path": "C:\\\\Users\\\\file", "newline": "line1\\nline2"}\n```' + DS_CALL_END + DS_END,
        calls=[
            (
                "send_message",
                {"text": 'He said "hello"', "path": "C:\\Users\\file", "newline": "line1\nline2"},
            )
        ],
    ),
    V(
        "deepseek_v3",
        DS_BEGIN
        + DS_CALL
        + "function"
        + DS_SEP
        + 'get_weather\n```json\n{"city": "Tokyo"\n```'
        + DS_CALL_END
        + DS_END,
        bad=["invalid JSON"],
    ),
    V(
        "deepseek_v3",
        DS_BEGIN + "function" + DS_SEP + 'get_weather\n```json\n{"city": "Tokyo"}\n```' + DS_END,
        calls=[("get_weather", {"city": "Tokyo"})],
        differs="vLLM finds no call without <｜tool▁call▁begin｜>; the call inside the section is read here",
    ),
    # (vLLM test_format_conformance.py)
    V(
        "deepseek_v3",
        DS_BEGIN
        + DS_CALL
        + "function"
        + DS_SEP
        + 'get_weather\n```json\n{"city": "SF"}\n```'
        + DS_CALL_END
        + DS_END,
        calls=[("get_weather", {"city": "SF"})],
    ),
    # -- DeepSeek V3.1 (vLLM test_deepseekv31_tool_parser.py) -------------------------------------
    V(
        "deepseek_v31",
        "normal text" + DS_BEGIN + DS_CALL + "foo" + DS_SEP + '{"x":1}' + DS_CALL_END + DS_END,
        calls=[("foo", {"x": 1})],
        text="normal text",
    ),
    V(
        "deepseek_v31",
        "some prefix text"
        + DS_BEGIN
        + DS_CALL
        + "foo"
        + DS_SEP
        + '{"x":1}'
        + DS_CALL_END
        + DS_CALL
        + "bar"
        + DS_SEP
        + '{"y":2}'
        + DS_CALL_END
        + DS_END
        + " some suffix text",
        calls=[("foo", {"x": 1}), ("bar", {"y": 2})],
        text="some prefix text some suffix text",
        differs=KEEPS_TEXT,
    ),
    # -- DeepSeek V3.2 DSML (vLLM test_deepseekv32_tool_parser.py) --------------------------------
    V("deepseek_v32", "just some text", text="just some text"),
    V(
        "deepseek_v32",
        FC_START + "\n" + INV_START + 'get_time">\n' + INV_END + "\n" + FC_END,
        calls=[("get_time", {})],
    ),
    V(
        "deepseek_v32",
        dsml("get_weather", {"location": "SF", "date": "2024-01-16"}),
        calls=[("get_weather", {"location": "SF", "date": "2024-01-16"})],
    ),
    V(
        "deepseek_v32",
        "Sure, let me check! " + dsml("get_weather", {"location": "NYC"}),
        calls=[("get_weather", {"location": "NYC"})],
        text="Sure, let me check! ",
    ),
    V(
        "deepseek_v32",
        FC_START
        + "\n"
        + INV_START
        + 'get_weather">\n'
        + PARAM_START
        + 'location" string="true">SF'
        + PARAM_END
        + "\n"
        + INV_END
        + "\n"
        + INV_START
        + 'get_weather">\n'
        + PARAM_START
        + 'location" string="true">NYC'
        + PARAM_END
        + "\n"
        + INV_END
        + "\n"
        + FC_END,
        calls=[("get_weather", {"location": "SF"}), ("get_weather", {"location": "NYC"})],
    ),
    V(
        "deepseek_v32",
        FC_START
        + "\n"
        + INV_START
        + 'toggle">\n'
        + PARAM_START
        + 'enabled" string="false">true'
        + PARAM_END
        + "\n"
        + PARAM_START
        + 'count" string="false">42'
        + PARAM_END
        + "\n"
        + INV_END
        + "\n"
        + FC_END,
        calls=[("toggle", {"enabled": True, "count": 42})],
    ),
    V(
        "deepseek_v32",
        FC_START
        + "\n"
        + INV_START
        + 'score">\n'
        + PARAM_START
        + 'value" string="true">42'
        + PARAM_END
        + "\n"
        + INV_END
        + "\n"
        + FC_END,
        calls=[("score", {"value": "42"})],
    ),
    V(
        "deepseek_v32",
        FC_START + "\n" + INV_START + 'get_weather">\n' + PARAM_START + 'arguments" string="false">'
        '{"location":"Beijing"}' + PARAM_END + "\n" + INV_END + "\n" + FC_END,
        calls=[("get_weather", {"arguments": {"location": "Beijing"}})],
        differs="vLLM unwraps a lone 'arguments' parameter by looking at the tool schema; parsers here have no schema",
    ),
    V(
        "deepseek_v32",
        FC_START + "\n" + INV_START + 'get_weather">\n' + PARAM_START + 'input" string="true">'
        '{"location":"Beijing"}' + PARAM_END + "\n" + INV_END + "\n" + FC_END,
        calls=[("get_weather", {"input": '{"location":"Beijing"}'})],
        differs="vLLM unwraps a lone 'input' parameter by looking at the tool schema; parsers here have no schema",
    ),
    V("deepseek_v32", "Hello, world!", text="Hello, world!"),
    V(
        "deepseek_v32",
        "Thinking... " + dsml("fn", {"a": "b"}),
        calls=[("fn", {"a": "b"})],
        text="Thinking... ",
    ),
    V(
        "deepseek_v32",
        FC_START
        + "\n"
        + INV_START
        + 'add">\n'
        + PARAM_START
        + 'x" string="false">3'
        + PARAM_END
        + "\n"
        + PARAM_START
        + 'y" string="false">4'
        + PARAM_END
        + "\n"
        + INV_END
        + "\n"
        + FC_END,
        calls=[("add", {"x": 3, "y": 4})],
    ),
    V(
        "deepseek_v32",
        FC_START
        + "\n"
        + INV_START
        + 'func_a">\n'
        + PARAM_START
        + 'p" string="true">v1'
        + PARAM_END
        + "\n"
        + INV_END
        + "\n"
        + INV_START
        + 'func_b">\n'
        + PARAM_START
        + 'q" string="true">v2'
        + PARAM_END
        + "\n"
        + INV_END
        + "\n"
        + FC_END,
        calls=[("func_a", {"p": "v1"}), ("func_b", {"q": "v2"})],
    ),
    V(
        "deepseek_v32",
        FC_START + "\n" + INV_START + 'fn">\n' + PARAM_START + 'k" string="true">val' + PARAM_END + "\n",
        bad=["cut off"],
    ),
    V("deepseek_v32", "Hello!" + dsml("fn", {"a": "b"}), calls=[("fn", {"a": "b"})], text="Hello!"),
    V("deepseek_v32", "<｜DSM some regular text", text="<｜DSM some regular text"),
    V(
        "deepseek_v32",
        "Here is the weather: " + dsml("get_weather", {"location": "Tokyo"}),
        calls=[("get_weather", {"location": "Tokyo"})],
        text="Here is the weather: ",
    ),
    V(
        "deepseek_v32",
        dsml("search", {"query": "vllm documentation"}),
        calls=[("search", {"query": "vllm documentation"})],
    ),
    # -- DeepSeek V4 DSML tool_calls (vLLM test_deepseekv4_tool_parser.py) ------------------------
    V(
        "deepseek_v4",
        "Let me check. " + dsml4("get_weather", {"location": "Beijing", "unit": "celsius"}),
        calls=[("get_weather", {"location": "Beijing", "unit": "celsius"})],
        text="Let me check. ",
    ),
    V(
        "deepseek_v4",
        dsml4("search", {"query": "vllm"}).replace("tool_calls", "function_calls"),
        calls=[("search", {"query": "vllm"})],
        differs="vLLM's V4 parser leaves a V3.2 function_calls block as text; both DSML blocks are read here",
    ),
    V("deepseek_v4", dsml4("search", {"query": "deepseek v4"}), calls=[("search", {"query": "deepseek v4"})]),
    V(
        "deepseek_v4",
        TC4_START
        + INV_START
        + 'get_weather">'
        + PARAM_START
        + 'arguments" string="false">{"location":"Beijing"}'
        + PARAM_END
        + INV_END
        + TC4_END,
        calls=[("get_weather", {"arguments": {"location": "Beijing"}})],
        differs="vLLM unwraps a lone 'arguments' parameter by looking at the tool schema; parsers here have no schema",
    ),
    # (vLLM test_rust_tool_parser.py: the Rust parser's DeepSeek V4 inputs)
    V(
        "deepseek_v4",
        "Let me create it. "
        + TC4_START
        + "\n"
        + dsml4_typed("get_weather", [("location", "SF", True), ("date", "2024-01-16", True)])
        + dsml4_typed("add", [("x", "3", False), ("y", "5", False)])
        + TC4_END,
        calls=[("get_weather", {"location": "SF", "date": "2024-01-16"}), ("add", {"x": 3, "y": 5})],
        text="Let me create it. ",
    ),
    # (vLLM test_format_conformance.py)
    V(
        "deepseek_v4",
        TC4_START + "\n" + dsml4_typed("get_weather", [("city", "SF", True)]) + TC4_END,
        calls=[("get_weather", {"city": "SF"})],
    ),
    # -- Kimi K2 (vLLM test_kimi_k2_tool_parser.py) ------------------------------------------------
    V("kimi_k2", "This is a test", text="This is a test"),
    V(
        "kimi_k2",
        "I'll check. " + kimi(("functions.get_weather:0", '{"city": "Beijing"}')),
        calls=[("get_weather", {"city": "Beijing"})],
        text="I'll check. ",
        ids=["functions.get_weather:0"],
    ),
    V(
        "kimi_k2",
        "Compare weather. "
        + kimi(
            ("functions.get_weather:0", '{"city": "Beijing"}'),
            ("functions.get_weather:1", '{"city": "Shanghai"}'),
        ),
        calls=[("get_weather", {"city": "Beijing"}), ("get_weather", {"city": "Shanghai"})],
        text="Compare weather. ",
    ),
    V(
        "kimi_k2",
        "Multiple tasks. "
        + kimi(
            ("functions.get_weather:0", '{"city": "New York"}'),
            ("functions.get_news:1", '{"topic": "technology"}'),
            ("functions.send_email:2", '{"to": "user@example.com", "subject": "Daily Update"}'),
        ),
        calls=[
            ("get_weather", {"city": "New York"}),
            ("get_news", {"topic": "technology"}),
            ("send_email", {"to": "user@example.com", "subject": "Daily Update"}),
        ],
        text="Multiple tasks. ",
    ),
    V(
        "kimi_k2",
        "Process HTML. " + kimi(("functions.process_html:0", '{"html": "<div>content</div>"}')),
        calls=[("process_html", {"html": "<div>content</div>"})],
        text="Process HTML. ",
    ),
    V(
        "kimi_k2",
        "Formatted. " + kimi(("functions.process_data:0", '{\n  "name": "test",\n  "value": 123\n}')),
        calls=[("process_data", {"name": "test", "value": 123})],
        text="Formatted. ",
    ),
    V(
        "kimi_k2",
        "No prefix. " + kimi(("get_weather:0", '{"city": "Tokyo"}')),
        calls=[("get_weather", {"city": "Tokyo"})],
        text="No prefix. ",
        ids=["get_weather:0"],
    ),
    V(
        "kimi_k2",
        "Empty args. " + kimi(("functions.test:0", "{}")),
        calls=[("test", {})],
        text="Empty args. ",
    ),
    V(
        "kimi_k2",
        "Help. "
        + kimi(("functions.bad:0", '{"city": "Beijing"'), ("functions.good:1", '{"city": "Shanghai"}')),
        calls=[("good", {"city": "Shanghai"})],
        bad=["invalid JSON"],
        text="Help. ",
        differs="vLLM passes the broken arguments on as they are; here that call is malformed, with an error",
    ),
    V(
        "kimi_k2",
        "Help. "
        + kimi(("functions.invalid.0", '{"city": "Beijing"}'), ("functions.valid:1", '{"city": "Shanghai"}')),
        calls=[("invalid.0", {"city": "Beijing"}), ("valid", {"city": "Shanghai"})],
        text="Help. ",
        differs="vLLM skips a call whose id lacks ':N'; it is kept here (an unknown tool then gets an error result)",
    ),
    V(
        "kimi_k2",
        "Checking weather. " + kimi(("functions.get_weather:0", '{"city": "Tokyo"}')),
        calls=[("get_weather", {"city": "Tokyo"})],
        text="Checking weather. ",
        ids=["functions.get_weather:0"],
    ),
    V(
        "kimi_k2",
        "Reasoning. "
        + K_SB
        + " spurious noise "
        + K_TB
        + "functions.test:0 "
        + K_AB
        + '{"k": "v"} '
        + K_TE
        + K_SE,
        calls=[("test", {"k": "v"})],
        bad=["functions.NAME"],
        text="Reasoning. ",
        differs="vLLM hides text inside the tool-call section; here it is a malformed call the model is told about",
    ),
    V("kimi_k2", "Reasoning. " + K_SB + K_SE, text="Reasoning. "),
    V(
        "kimi_k2",
        "I'll check. " + K_SB + K_TB + "functions.get_weather:0 " + K_AB + '{"city": "Bei',
        text="I'll check. ",
        bad=["cut off"],
        differs="vLLM streams the partial arguments; an unfinished call is reported as cut off here",
    ),
    V(
        "kimi_k2",
        "Before. "
        + K_SB
        + K_TB
        + "functions.get_weather:0 "
        + K_AB
        + '{"city": "Tokyo"} '
        + K_TE
        + K_SE
        + " After tools.",
        calls=[("get_weather", {"city": "Tokyo"})],
        text="Before.  After tools.",
        differs=KEEPS_TEXT,
    ),
    V(
        "kimi_k2",
        "Hi! " + kimi(("functions.get_weather:0", '{"city": "Beijing"}')),
        calls=[("get_weather", {"city": "Beijing"})],
        text="Hi! ",
    ),
    # (vLLM main's newer test_kimi_k2_tool_parser.py)
    V(
        "kimi_k2",
        "Let me check. " + kimi(("0", '{"city": "Tokyo", "unit": "celsius"}')),
        calls=[("0", {"city": "Tokyo", "unit": "celsius"})],
        text="Let me check. ",
        differs="vLLM picks the tool for a bare counter id ('0') from the request's tool list; parsers here see "
        "no tool list (the conversation answers the unknown tool '0' with an error)",
    ),
    V(
        "kimi_k2",
        "Let me check. " + kimi(("0", '{"city": "Tokyo"')),
        bad=["invalid JSON"],
        text="Let me check. ",
        differs="vLLM picks the tool from the request's tool list and passes the broken arguments on; here the "
        "call is malformed, with an error",
    ),
    V(
        "kimi_k2",
        "Now let me get news. " + kimi(("functions.get_news:0", '{"topic": "weather in Beijing"}')),
        calls=[("get_news", {"topic": "weather in Beijing"})],
        text="Now let me get news. ",
        ids=["functions.get_news:0"],
    ),
    V(
        "kimi_k2",
        "Compare. " + kimi(("functions.search:0", '{"q": "cats"}'), ("functions.search:1", '{"q": "dogs"}')),
        calls=[("search", {"q": "cats"}), ("search", {"q": "dogs"})],
        text="Compare. ",
    ),
    V(
        "kimi_k2",
        "Before. " + kimi(("functions.get_weather:0", '{"city": "Tokyo"} ')) + " After tools.",
        calls=[("get_weather", {"city": "Tokyo"})],
        text="Before.  After tools.",
        differs=KEEPS_TEXT,
    ),
    # (vLLM test_rust_tool_parser.py: the Rust parser's Kimi K2 inputs)
    V(
        "kimi_k2",
        "Let me check. "
        + kimi(
            ("functions.get_weather:0", '{"location": "SF", "date": "2024-01-16"}'),
            ("functions.add:1", '{"x": 3, "y": 5}'),
        ),
        calls=[("get_weather", {"location": "SF", "date": "2024-01-16"}), ("add", {"x": 3, "y": 5})],
        text="Let me check. ",
        ids=["functions.get_weather:0", "functions.add:1"],
    ),
    V(
        "kimi_k2",
        K_SB
        + K_TB
        + 'functions.get_weather:0<|tool_call_argument_begin|>{"location": "SF"}'
        + K_TE
        + K_TB
        + "invalid<|tool_call_argument_begin|>{}",
        calls=[("get_weather", {"location": "SF"}), ("invalid", {})],
        differs="vLLM streams an unfinished call whose id lacks ':N' as text; the complete-looking call is "
        "kept here (Kimi's calls often lack <|tool_call_end|>; an unknown tool gets an error result)",
    ),
    # (vLLM test_format_conformance.py)
    V(
        "kimi_k2",
        K_SB + K_TB + 'functions.get_weather:0\n<|tool_call_argument_begin|>{"city": "SF"}' + K_TE + K_SE,
        calls=[("get_weather", {"city": "SF"})],
    ),
    # -- GLM-4.5/4.6 (vLLM test_glm4_moe_tool_parser.py) -------------------------------------------
    V("glm4", "This is a test", text="This is a test"),
    V("glm4", GLM_DALLAS, calls=[DALLAS]),
    V(
        "glm4",
        GLM_DALLAS + "\n    " + GLM_DALLAS.replace("Dallas", "Orlando").replace("TX", "FL"),
        calls=[DALLAS, ORLANDO],
    ),
    V(
        "glm4",
        "I'll help you check the weather. "
        + GLM_DALLAS.replace("Dallas", "Seattle").replace("TX", "WA").replace("fahrenheit", "celsius"),
        calls=[("get_current_weather", {"city": "Seattle", "state": "WA", "unit": "celsius"})],
        text="I'll help you check the weather. ",
    ),
    V(
        "glm4",
        GLM_DALLAS.replace("Dallas", "New York").replace("TX", "NY").replace("fahrenheit", "celsius"),
        calls=[("get_current_weather", {"city": "New York", "state": "NY", "unit": "celsius"})],
    ),
    V(
        "glm4",
        "I will help you get the weather.<tool_call>get_weather\n    <arg_key>city</arg_key>\n    <arg_value>Beijing"
        "</arg_value>\n    <arg_key>date</arg_key>\n    <arg_value>2025-08-01</arg_value>\n    </tool_call>",
        calls=[BEIJING_DATE],
        text="I will help you get the weather.",
    ),
    V(
        "glm4",
        "<think>I want to get the weather.</think>\nI will help you get the weather.\n" + GLM_BEIJING,
        calls=[BEIJING_DATE],
        reasoning="I want to get the weather.",
        text="I will help you get the weather.\n",
        differs="vLLM returns the <think> block as content; here it is reasoning",
    ),
    V(
        "glm4",
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Seattle</arg_value>\n<arg_key>incomplete_arg\n"
        "<arg_value>value</arg_value>\n</tool_call>",
        bad=["<arg_key>"],
    ),
    V("glm4", "<tool_call>get_current_time\n</tool_call>", calls=[("get_current_time", {})]),
    V(
        "glm4",
        "I will help you get the weather info.\n"
        + GLM_BEIJING
        + "\nmeaningwhile, I will also check the weather in "
        "Shanghai.\n" + GLM_BEIJING.replace("Beijing", "Shanghai"),
        calls=[BEIJING_DATE, ("get_weather", {"city": "Shanghai", "date": "2025-08-01"})],
        text="I will help you get the weather info.\n\nmeaningwhile, I will also check the weather in Shanghai.\n",
        differs=KEEPS_TEXT,
    ),
    V(
        "glm4",
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Beijing</arg_value>\n</tool_call>",
        calls=[("get_weather", {"city": "Beijing"})],
    ),
    V(
        "glm4",
        "This is just regular text without any tool calls.",
        text="This is just regular text without any tool calls.",
    ),
    V(
        "glm4",
        "I will help you get the weather.<tool_call>",
        text="I will help you get the weather.",
        bad=["cut off"],
    ),
    V(
        "glm4",
        "<tool_call>send_message\n<arg_key>recipient</arg_key>\n<arg_value>Amy</arg_value>\n<arg_key>message</arg_key>\n"
        "<arg_value>It is a nice day</arg_value>\n<arg_key>priority</arg_key>\n<arg_value>high</arg_value>\n</tool_call>",
        calls=[("send_message", {"recipient": "Amy", "message": "It is a nice day", "priority": "high"})],
    ),
    V(
        "glm4",
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Beijing</arg_value>\n<arg_key>date</arg_key>\n"
        "<arg_value>2025-08-01</arg_value>",
        bad=["cut off"],
        differs="vLLM gives the text back; an unclosed call is reported as cut off here",
    ),
    V(
        "glm4",
        "<tool_call>get_weather\n<arg_key>city</arg_key><arg_value>Beijing</arg_value></tool_call>"
        "<tool_call>get_weather\n<arg_key>city</arg_key><arg_value>Shanghai</arg_value></tool_call>",
        calls=[("get_weather", {"city": "Beijing"}), ("get_weather", {"city": "Shanghai"})],
    ),
    V(
        "glm4",
        '<tool_call>send_message\n<arg_key>message</arg_key><arg_value>Hello "world"\nNew line</arg_value></tool_call>',
        calls=[("send_message", {"message": 'Hello "world"\nNew line'})],
    ),
    V(
        "glm4",
        "<tool_call>write_to_file\n<arg_key>file_path</arg_key><arg_value>/tmp/bubble_sort.py</arg_value>"
        "<arg_key>content</arg_key><arg_value>" + BUBBLE + "\n</arg_value></tool_call>",
        calls=[("write_to_file", {"file_path": "/tmp/bubble_sort.py", "content": BUBBLE + "\n"})],
    ),
    V(
        "glm4",
        "<tool_call>calculate\n<arg_key>operation</arg_key>\n<arg_value>add</arg_value>\n<arg_key>a</arg_key>\n"
        "<arg_value>42</arg_value>\n<arg_key>b</arg_key>\n<arg_value>3.14</arg_value>\n<arg_key>enabled</arg_key>\n"
        "<arg_value>true</arg_value>\n</tool_call>",
        calls=[("calculate", {"operation": "add", "a": 42, "b": 3.14, "enabled": True})],
    ),
    V(
        "glm4",
        "<tool_call>apply_diff\n<arg_key>s</arg_key>\n<arg_value>    indented code    </arg_value>\n</tool_call>",
        calls=[("apply_diff", {"s": "    indented code    "})],
    ),
    V(
        "glm4",
        "<tool_call>   </tool_call>",
        bad=["function name"],
        differs="vLLM finds no call; an empty call block is reported to the model here",
    ),
    V(
        "glm4",
        "<tool_call>send_message\n<arg_key>greeting</arg_key>\n<arg_value>你好世界</arg_value>\n<arg_key>emoji</arg_key>\n"
        "<arg_value>🎉</arg_value>\n</tool_call>",
        calls=[("send_message", {"greeting": "你好世界", "emoji": "🎉"})],
    ),
    V(
        "glm4",
        "I will check.\n<tool_call>get_weather\n<arg_key>city</arg_key><arg_value>Beijing</arg_value></tool_call>"
        "\nAlso Shanghai.\n<tool_call>get_weather\n<arg_key>city</arg_key><arg_value>Shanghai</arg_value></tool_call>",
        calls=[("get_weather", {"city": "Beijing"}), ("get_weather", {"city": "Shanghai"})],
        text="I will check.\n\nAlso Shanghai.\n",
    ),
    V(
        "glm4",
        "<tool_call>calculate\n<arg_key>operation</arg_key><arg_value>add</arg_value><arg_key>a</arg_key>"
        "<arg_value>42</arg_value><arg_key>b</arg_key><arg_value>3.14</arg_value></tool_call>",
        calls=[("calculate", {"operation": "add", "a": 42, "b": 3.14})],
    ),
    # -- GLM-4.7 (vLLM test_glm47_moe_tool_parser.py) ----------------------------------------------
    V("glm47", "This is a plain response.", text="This is a plain response."),
    V("glm47", "<tool_call>get_current_date</tool_call>", calls=[("get_current_date", {})]),
    V("glm47", "<tool_call>get_current_date\n</tool_call>", calls=[("get_current_date", {})]),
    V(
        "glm47",
        "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Beijing</arg_value></tool_call>",
        calls=[("get_weather", {"city": "Beijing"})],
    ),
    V(
        "glm47",
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Beijing</arg_value>\n</tool_call>",
        calls=[("get_weather", {"city": "Beijing"})],
    ),
    V(
        "glm47",
        "<tool_call>get_weather<arg_key>city</arg_key><arg_value>  Beijing  </arg_value></tool_call>",
        calls=[("get_weather", {"city": "  Beijing  "})],
    ),
    V(
        "glm47",
        "Checking.<tool_call>get_current_date</tool_call>",
        calls=[("get_current_date", {})],
        text="Checking.",
    ),
    V(
        "glm47",
        "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Beijing</arg_value></tool_call>"
        "<tool_call>get_weather<arg_key>city</arg_key><arg_value>Shanghai</arg_value></tool_call>",
        calls=[("get_weather", {"city": "Beijing"}), ("get_weather", {"city": "Shanghai"})],
    ),
    V("glm47", "  \n  <tool_call>get_current_date</tool_call>", calls=[("get_current_date", {})]),
    # (vLLM test_glm47_final_delta_bug.py: the whole reply its streamed stages build)
    V(
        "glm47",
        "<tool_call>get_weather\n<arg_key>city</arg_key><arg_value>Beijing</arg_value><arg_key>date</arg_key>"
        "<arg_value>2025-08-01</arg_value></tool_call>",
        calls=[BEIJING_DATE],
    ),
    # (vLLM test_format_conformance.py: registered as glm45)
    V(
        "glm45",
        "<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>SF</arg_value>\n</tool_call>",
        calls=[("get_weather", {"city": "SF"})],
    ),
    # -- MiniMax-M1 (vLLM test_minimax_tool_parser.py) ---------------------------------------------
    V("minimax_m1", "This is a test", text="This is a test"),
    V("minimax_m1", "<tool_calls>\n" + J_DALLAS + "\n</tool_calls>", calls=[DALLAS]),
    V(
        "minimax_m1",
        "<tool_calls>\n" + J_DALLAS + "\n" + J_ORLANDO + "\n</tool_calls>",
        calls=[DALLAS, ORLANDO],
    ),
    V(
        "minimax_m1",
        "I'll help you check the weather. <tool_calls>\n" + J_SEATTLE_WA_C + "\n</tool_calls>",
        calls=[SEATTLE_WA_C],
        text="I'll help you check the weather. ",
        differs=TRAILING_SPACE,
    ),
    V(
        "minimax_m1",
        '<tool_calls>\n{"name": "get_current_weather", "arguments": {"city": "New York", "state": "NY", '
        '"unit": "celsius"}}\n</tool_calls>',
        calls=[("get_current_weather", {"city": "New York", "state": "NY", "unit": "celsius"})],
    ),
    V(
        "minimax_m1",
        '<tool_calls>\n{"name": "get_current_weather", "arguments": {"city": "Boston", "state": "MA"}}',
        calls=[("get_current_weather", {"city": "Boston", "state": "MA"})],
    ),
    V(
        "minimax_m1",
        '<think>I should use a tool. <tool_calls>\n{"name": "ignored_tool", "arguments": {"should": "ignore"}}\n'
        '</tool_calls></think>\nLet me help you with the weather. <tool_calls>\n{"name": "get_current_weather", "arguments": '
        '{"city": "Miami", "state": "FL", "unit": "fahrenheit"}}\n</tool_calls>',
        calls=[("get_current_weather", {"city": "Miami", "state": "FL", "unit": "fahrenheit"})],
        reasoning='I should use a tool. <tool_calls>\n{"name": "ignored_tool", "arguments": {"should": "ignore"}}\n</tool_calls>',
        text="Let me help you with the weather. ",
        differs="vLLM returns the <think> block as content; here it is reasoning",
    ),
    V(
        "minimax_m1",
        '<tool_calls>\n{"name": "valid_tool", "arguments": {"city": "Seattle"}}\n{invalid json here}\n'
        '{"name": "another_valid_tool", "arguments": {"param": "value"}}\n</tool_calls>',
        calls=[("valid_tool", {"city": "Seattle"}), ("another_valid_tool", {"param": "value"})],
        bad=["invalid JSON"],
        differs="vLLM skips the broken line silently; here it is a malformed call between the two good ones",
    ),
    V(
        "minimax_m1",
        '<tool_calls>\n{"name": "valid_tool", "arguments": {"city": "Seattle"}}\n{"name": "missing_args"}\n'
        '{"arguments": {"city": "Portland"}}\n{"name": "another_valid_tool", "arguments": {"param": "value"}}\n</tool_calls>',
        calls=[
            ("valid_tool", {"city": "Seattle"}),
            ("missing_args", {}),
            ("another_valid_tool", {"param": "value"}),
        ],
        bad=['no "name"'],
        differs="vLLM drops calls without a name or arguments; here a call without arguments has none, "
        "and one without a name is malformed",
    ),
    V(
        "minimax_m1",
        '<tool_calls>\n{"name": "get_current_weather", "arguments": {"city": "Seattle"}}\n</tool_calls>',
        calls=[("get_current_weather", {"city": "Seattle"})],
    ),
    V(
        "minimax_m1",
        "This is just regular text without any tool calls.",
        text="This is just regular text without any tool calls.",
    ),
    V(
        "minimax_m1",
        '<think><tool_calls>{"name": "ignored", "arguments": {}}</tool_calls></think><tool_calls>'
        '{"name": "real_tool", "arguments": {"param": "value"}}</tool_calls>',
        calls=[("real_tool", {"param": "value"})],
        reasoning='<tool_calls>{"name": "ignored", "arguments": {}}</tool_calls>',
    ),
    V(
        "minimax_m1",
        '<tool_calls>\n{\n  "name": "get_current_weather",\n  "arguments": {\n    "city": "New York",\n'
        '    "state": "NY",\n    "unit": "celsius"\n  }\n}\n</tool_calls>',
        calls=[("get_current_weather", {"city": "New York", "state": "NY", "unit": "celsius"})],
        differs="vLLM does not read a call spread over several lines; it is read here",
    ),
    V("minimax_m1", "<tool_calls>\n" + J_SEATTLE_WA_C + "\n</tool_calls>", calls=[SEATTLE_WA_C]),
    V(
        "minimax_m1",
        '<tool_calls>\n{"name": "test_tool", "arguments": {"param1": "value1", "param2": "value2"}}',
        calls=[("test_tool", {"param1": "value1", "param2": "value2"})],
    ),
    V(
        "minimax_m1",
        "Let me help you with this task.<think>I need to analyze this situation first.<tool_calls>\n"
        '{"name": "internal_analysis", "arguments": {"query": "analyze situation"}}\n</tool_calls></think>\nNow I need to get '
        "weather information and calculate area.<tool_calls>\n"
        + J_SEATTLE_WA_C
        + '\n{"name": "calculate_area", "arguments": '
        '{"shape": "rectangle", "dimensions": {"width": 10, "height": 5}}}</tool_calls>',
        calls=[SEATTLE_WA_C, AREA],
        text="Let me help you with this task.Now I need to get weather information and calculate area.",
        reasoning='I need to analyze this situation first.<tool_calls>\n{"name": "internal_analysis", "arguments": '
        '{"query": "analyze situation"}}\n</tool_calls>',
    ),
    V(
        "minimax_m1",
        "I'll help you with the weather analysis. <think>Let me think about this. <tool_calls>\n"
        '{"name": "internal_analysis", "arguments": {"type": "thinking"}}\n</tool_calls>This tool should be ignored.</think>\n'
        "Now I'll get the weather information for you. <tool_calls>\n"
        + J_SEATTLE_WA_C
        + '\n{"name": "calculate_area", '
        '"arguments": {"shape": "rectangle", "dimensions": {"width": 10, "height": 5}}}\n</tool_calls>Here are the results.',
        calls=[SEATTLE_WA_C, AREA],
        text="I'll help you with the weather analysis. Now I'll get the weather information for you. Here are the results.",
        reasoning='Let me think about this. <tool_calls>\n{"name": "internal_analysis", "arguments": {"type": "thinking"}}\n'
        "</tool_calls>This tool should be ignored.",
    ),
    V(
        "minimax_m1",
        'Let me check the weather. <tool_calls>\n{"name": "get_weather", "arguments": {"city": "NYC"}}\n</tool_calls>',
        calls=[("get_weather", {"city": "NYC"})],
        text="Let me check the weather. ",
    ),
    V(
        "minimax_m1",
        'Hello world<tool_calls>\n{"name": "test"}\n</tool_calls>done',
        calls=[("test", {})],
        text="Hello worlddone",
    ),
    # -- MiniMax-M2 (vLLM test_minimax_m2_tool_parser.py) ------------------------------------------
    V("minimax_m2", "Hello world", text="Hello world"),
    V(
        "minimax_m2",
        'Let me check. <minimax:tool_call><invoke name="get_weather"><parameter name="city">Seattle</parameter>'
        "</invoke></minimax:tool_call>",
        calls=[("get_weather", {"city": "Seattle"})],
        text="Let me check. ",
    ),
    V(
        "minimax_m2",
        '<minimax:tool_call><invoke name="get_weather"><parameter name="city">Seattle</parameter>'
        '<parameter name="days">5</parameter></invoke></minimax:tool_call>',
        calls=[("get_weather", {"city": "Seattle", "days": 5})],
        differs=UNTYPED,
    ),
    V(
        "minimax_m2",
        '<minimax:tool_call><invoke name="search_web"><parameter name="query">OpenAI</parameter></invoke>'
        '<invoke name="search_web"><parameter name="query">Gemini</parameter></invoke></minimax:tool_call>',
        calls=[("search_web", {"query": "OpenAI"}), ("search_web", {"query": "Gemini"})],
    ),
    V(
        "minimax_m2",
        '<minimax:tool_call><invoke name="fn_a"><parameter name="x">1</parameter></invoke>'
        '<invoke name="fn_b"><parameter name="y">2</parameter></invoke></minimax:tool_call>',
        calls=[("fn_a", {"x": 1}), ("fn_b", {"y": 2})],
        differs=UNTYPED,
    ),
    V(
        "minimax_m2",
        '<minimax:tool_call><invoke name="get_weather"><parameter name="city">NYC</parameter></invoke>'
        '<invoke name="get_stock"><parameter name="ticker">AAPL</parameter></invoke></minimax:tool_call>',
        calls=[("get_weather", {"city": "NYC"}), ("get_stock", {"ticker": "AAPL"})],
    ),
    V(
        "minimax_m2",
        '<minimax:tool_call><invoke name="fn"><parameter name="k">v</parameter></invoke></minimax:tool_call>',
        calls=[("fn", {"k": "v"})],
    ),
    V(
        "minimax_m2",
        '<minimax:tool_call><invoke name="fn"><parameter name="k">v</parameter></invoke>',
        calls=[("fn", {"k": "v"})],
    ),
    V(
        "minimax_m2",
        '<minimax:tool_call><invoke name="update_profile"><parameter name="nickname">Alice</parameter>'
        "</invoke></minimax:tool_call>",
        calls=[("update_profile", {"nickname": "Alice"})],
    ),
    V(
        "minimax_m2",
        '<minimax:tool_call><invoke name="update_profile"><parameter name="nickname">null</parameter>'
        "</invoke></minimax:tool_call>",
        calls=[("update_profile", {"nickname": None})],
    ),
    V(
        "minimax_m2",
        '<minimax:tool_call><invoke name="update_settings"><parameter name="config">{"theme": "dark", '
        '"fontSize": 14}</parameter></invoke></minimax:tool_call>',
        calls=[("update_settings", {"config": {"theme": "dark", "fontSize": 14}})],
    ),
    V(
        "minimax_m2",
        '<minimax:tool_call><invoke name="set_theme"><parameter name="theme">none</parameter>'
        "</invoke></minimax:tool_call>",
        calls=[("set_theme", {"theme": "none"})],
    ),
    V(
        "minimax_m2",
        '<minimax:tool_call><invoke name="echo"><parameter name="value">nil</parameter>'
        "</invoke></minimax:tool_call>",
        calls=[("echo", {"value": "nil"})],
    ),
    # (vLLM test_minimax_m2_sanitized_tool_parser.py: a real reply with a stray space in a file name)
    V(
        "minimax_m2",
        '<minimax:tool_call><invoke name="read_file"><parameter name="path">scripts/monkey_character. gd</parameter>'
        "</invoke></minimax:tool_call>",
        calls=[("read_file", {"path": "scripts/monkey_character. gd"})],
        differs="vLLM's sanitized variant rewrites '. gd' to '.gd'; what the model wrote is kept here",
    ),
    V(
        "minimax_m2",
        'Reading scripts/monkey_character. gd\n<minimax:tool_call><invoke name="read_file"><parameter name="path">'
        "scripts/monkey_character. gd</parameter></invoke></minimax:tool_call>",
        calls=[("read_file", {"path": "scripts/monkey_character. gd"})],
        text="Reading scripts/monkey_character. gd\n",
        differs="vLLM's sanitized variant rewrites '. gd' to '.gd'; what the model wrote is kept here",
    ),
    # (vLLM test_format_conformance.py)
    V(
        "minimax_m2",
        '<minimax:tool_call>\n<invoke name="get_weather">\n<parameter name="city">SF</parameter>\n</invoke>\n'
        "</minimax:tool_call>",
        calls=[("get_weather", {"city": "SF"})],
    ),
    # -- Qwen3-Coder (vLLM test_qwen3coder_tool_parser.py, test_qwen3xml_tool_parser.py) -----------
    V(
        "qwen3_coder",
        "This is a test response without any tool calls",
        text="This is a test response without any tool calls",
    ),
    V("qwen3_coder", QC_DALLAS, calls=[DALLAS]),
    V(
        "qwen3_coder",
        "Sure! Let me check the weather for you." + QC_DALLAS,
        calls=[DALLAS],
        text="Sure! Let me check the weather for you.",
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=calculate_area>\n<parameter=shape>\nrectangle\n</parameter>\n<parameter=dimensions>\n"
        '{"width": 10, \n "height": 20}\n</parameter>\n<parameter=precision>\n2\n</parameter>\n</function>\n</tool_call>',
        calls=[
            (
                "calculate_area",
                {"shape": "rectangle", "dimensions": {"width": 10, "height": 20}, "precision": 2},
            )
        ],
    ),
    V(
        "qwen3_coder",
        QC_DALLAS + "\n" + QC_DALLAS.replace("Dallas", "Orlando").replace("TX", "FL"),
        calls=[DALLAS, ORLANDO],
    ),
    V(
        "qwen3_coder",
        "Let me calculate that area for you.<tool_call>\n<function=calculate_area>\n<parameter=shape>\ncircle\n"
        '</parameter>\n<parameter=dimensions>\n{"radius": 15.5}\n</parameter>\n<parameter=precision>\n3\n</parameter>\n</function>\n'
        "</tool_call>",
        calls=[("calculate_area", {"shape": "circle", "dimensions": {"radius": 15.5}, "precision": 3})],
        text="Let me calculate that area for you.",
    ),
    V(
        "qwen3_coder",
        "<function=get_current_weather>\n<parameter=city>\nDallas\n</parameter>\n<parameter=state>\nTX\n</parameter>\n"
        "</function>",
        calls=[("get_current_weather", {"city": "Dallas", "state": "TX"})],
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=test_types>\n<parameter=int_param>\n42\n</parameter>\n<parameter=float_param>\n3.14\n"
        "</parameter>\n<parameter=bool_param>\ntrue\n</parameter>\n<parameter=str_param>\nhello world\n</parameter>\n"
        '<parameter=obj_param>\n{"key": "value"}\n</parameter>\n</function>\n</tool_call>',
        calls=[
            (
                "test_types",
                {
                    "int_param": 42,
                    "float_param": 3.14,
                    "bool_param": True,
                    "str_param": "hello world",
                    "obj_param": {"key": "value"},
                },
            )
        ],
    ),
    V(
        "qwen3_coder",
        QC_DALLAS
        + "\n"
        + QC_DALLAS.replace("Dallas", "Orlando").replace("TX", "FL").replace("fahrenheit", "celsius"),
        calls=[DALLAS, ("get_current_weather", {"city": "Orlando", "state": "FL", "unit": "celsius"})],
    ),
    V(
        "qwen3_coder",
        "Let me check the weather for you:\n<tool_call>\n<function=get_current_weather>\n<parameter=city>\nDallas\n"
        "<parameter=state>\nTX\n</parameter>\n<parameter=unit>\nfahrenheit\n</parameter>\n</function>\n</tool_call>",
        calls=[DALLAS],
        text="Let me check the weather for you:\n",
    ),
    V(
        "qwen3_coder",
        "I'll check the weather.<tool_call>\n<function=get_current_weather>\n<parameter=city>\nDallas\n</parameter>\n"
        "<parameter=state>\nTX\n</parameter>\n</function>\n</tool_call>",
        calls=[("get_current_weather", {"city": "Dallas", "state": "TX"})],
        text="I'll check the weather.",
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=test_types>\n<parameter=obj_param>\n{'key': 'value'}\n</parameter>\n</function>\n"
        "</tool_call>",
        calls=[("test_types", {"obj_param": "{'key': 'value'}"})],
        differs=UNTYPED,
    ),
    V(
        "qwen3_coder",
        "I'll check the weather for you.\n<function=get_current_weather>\n<parameter=city>\nDallas\n</parameter>\n"
        "<parameter=state>\nTX\n</parameter>\n<parameter=unit>\nfahrenheit\n</parameter>\n</function>\n</tool_call>",
        calls=[DALLAS],
        text="I'll check the weather for you.\n",
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=get_current_weather\n<parameter=city>Dallas</parameter>\n</function>\n</tool_call>",
        bad=["<function=NAME>"],
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=bad_func_no_gt\n</function>\n</tool_call>\n<tool_call>\n<function=get_current_weather>\n"
        "<parameter=city>Dallas</parameter>\n<parameter=state>TX</parameter>\n</function>\n</tool_call>",
        calls=[("get_current_weather", {"city": "Dallas", "state": "TX"})],
        bad=["<function=NAME>"],
        differs="vLLM drops the unreadable call; here it is a malformed call the model is told about",
    ),
    V(
        "qwen3_coder",
        '<tool_call>\n<function=update_record>\n<parameter=data>{"key": "value", "count": 42}</parameter>\n'
        "</function>\n</tool_call>",
        calls=[("update_record", {"data": {"key": "value", "count": 42}})],
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=greet>\n<parameter=message>hello world</parameter>\n</function>\n</tool_call>",
        calls=[("greet", {"message": "hello world"})],
    ),
    V(
        "qwen3_xml",
        "This is a regular response without any tool calls.",
        text="This is a regular response without any tool calls.",
    ),
    V(
        "qwen3_xml",
        "<tool_call>\n<function=get_weather>\n<parameter=city>Tokyo</parameter>\n</function>\n</tool_call>",
        calls=[TOKYO],
    ),
    V(
        "qwen3_xml",
        "<tool_call>\n<function=get_weather>\n<parameter=city>Tokyo</parameter>\n</function>\n</tool_call><tool_call>\n"
        "<function=get_time>\n<parameter=timezone>Asia/Tokyo</parameter>\n</function>\n</tool_call>",
        calls=[TOKYO, TOKYO_TIME],
    ),
    V(
        "qwen3_xml",
        "<tool_call>\n<function=test_function>\n<parameter=string_field>hello</parameter>\n<parameter=int_field>42"
        "</parameter>\n<parameter=float_field>3.14</parameter>\n<parameter=bool_field>true</parameter>\n<parameter=null_field>null"
        '</parameter>\n<parameter=array_field>["a", "b", "c"]</parameter>\n<parameter=object_field>{"nested": "value"}</parameter>\n'
        "</function>\n</tool_call>",
        calls=[("test_function", {k: v for k, v in TYPES.items() if not k.startswith("empty")})],
    ),
    V("qwen3_xml", "<tool_call>\n<function=refresh>\n</function>\n</tool_call>", calls=[("refresh", {})]),
    V(
        "qwen3_xml",
        "Let me check the weather for you.\n\n<tool_call>\n<function=get_weather>\n<parameter=city>Tokyo</parameter>\n"
        "</function>\n</tool_call>\n\nI will get that information.",
        calls=[TOKYO],
        text="Let me check the weather for you.\n\n\n\nI will get that information.",
    ),
    V(
        "qwen3_xml",
        '<tool_call>\n<function=test_function>\n<parameter=quoted>He said "hello"</parameter>\n<parameter=path>'
        "C:\\Users\\file.txt</parameter>\n<parameter=newline>line1\nline2</parameter>\n</function>\n</tool_call>",
        calls=[
            (
                "test_function",
                {"quoted": 'He said "hello"', "path": "C:\\Users\\file.txt", "newline": "line1\nline2"},
            )
        ],
    ),
    V("qwen3_xml", "<tool_call><function=func>", bad=["cut off"]),
    V("qwen3_xml", "<tool_call><function=></function></tool_call>", bad=["no function name"]),
    # (vLLM main's newer test_qwen3coder_tool_parser.py: anyOf-typed parameters; no schema is needed here)
    V(
        "qwen3_coder",
        "<tool_call>\n<function=test_anyof>\n<parameter=anyof_int>\n5\n</parameter>\n<parameter=anyof_str>\nhello\n"
        '</parameter>\n<parameter=anyof_array>\n["a", "b", "c"]\n</parameter>\n<parameter=anyof_obj>\n{"key": "value"}\n'
        "</parameter>\n<parameter=type_as_array>\n42\n</parameter>\n<parameter=multi_non_null>\nsome text\n</parameter>\n"
        "</function>\n</tool_call>",
        calls=[
            (
                "test_anyof",
                {
                    "anyof_int": 5,
                    "anyof_str": "hello",
                    "anyof_array": ["a", "b", "c"],
                    "anyof_obj": {"key": "value"},
                    "type_as_array": 42,
                    "multi_non_null": "some text",
                },
            )
        ],
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=search_web>\n<parameter=query>\nvllm tool parser\n</parameter>\n<parameter=count>\n10\n"
        "</parameter>\n<parameter=verbose>\ntrue\n</parameter>\n</function>\n</tool_call>",
        calls=[("search_web", {"query": "vllm tool parser", "count": 10, "verbose": True})],
    ),
    # (vLLM test_qwen36_bugs.py and test_qwen3_xml_coder_shared.py: regressions, several from real agent output)
    V(
        "qwen3_xml",
        '<tool_call>\n<function=pick>\n<parameter=items>\n["a", "b", 1, true]\n</parameter>\n</function>\n</tool_call>',
        calls=[("pick", {"items": ["a", "b", 1, True]})],
    ),
    V("qwen3_coder", QC_PARIS_LONDON, calls=[PARIS, LONDON]),
    V("qwen3_coder", QC_PARIS_LONDON + "\nAll done!", calls=[PARIS, LONDON], text="All done!"),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=get_weather>\n<parameter=city>Paris</parameter>\n</function>\n</tool_call>\n"
        "I hope this helps!",
        calls=[PARIS],
        text="I hope this helps!",
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=search>\n<parameter=query>null</parameter>\n</function>\n</tool_call>",
        calls=[("search", {"query": None})],
        differs=SCHEMA,
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=set_code>\n<parameter=code>42</parameter>\n</function>\n</tool_call>",
        calls=[("set_code", {"code": 42})],
        differs=SCHEMA,
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=set_count>\n<parameter=count>42</parameter>\n</function>\n</tool_call>",
        calls=[("set_count", {"count": 42})],
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=set_count>\n<parameter=count>None</parameter>\n</function>\n</tool_call>",
        calls=[("set_count", {"count": "None"})],
        differs=NONE_TEXT,
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=set_value>\n<parameter=optional>None</parameter>\n</function>\n</tool_call>",
        calls=[("set_value", {"optional": "None"})],
        differs=NONE_TEXT,
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=set_value>\n<parameter=optional>null</parameter>\n</function>\n</tool_call>",
        calls=[("set_value", {"optional": None})],
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=process>\n<parameter=name>\nhello\n</parameter>\n<parameter=data>\n"
        "\"{'key': 'value', 'n': 1}\"\n</parameter>\n</function>\n</tool_call>\n",
        calls=[("process", {"name": "hello", "data": "{'key': 'value', 'n': 1}"})],
        differs="vLLM decodes the JSON string once more, as Python, because the schema says object; a JSON "
        "string stays a string here",
    ),
    V(
        "qwen3_coder",
        write_file(
            "test.py",
            'char_deltas = [\n    "<tool_call>\\n",\n    "<parameter=query>\\n",\n    "\\n</parameter>\\n",\n'
            '    "</function>\\n",\n]\n',
        )
        + "\n",
        bad=["closing tags follow"],
        differs=LITERAL_TAGS,
    ),
    V(
        "qwen3_coder",
        write_file(
            "test_template.py",
            'TOOL_CALL_TEMPLATE = """\n</parameter>\n<parameter=new_string>\n#!/usr/bin/env python3\n</parameter>\n"""\n',
        )
        + "\n",
        bad=["outside every parameter"],
        differs=LITERAL_TAGS,
    ),
    V(
        "qwen3_coder",
        write_file("fixture.py", 'doc = """\n<parameter=path>\nliteral/value\n</parameter>\n"""\n'),
        bad=["'path' is given twice"],
        differs=LITERAL_TAGS,
    ),
    V(
        "qwen3_coder",
        write_file(
            "fixture.py",
            'doc = """\n<tool_call>\n<function=write_file>\n<parameter=path>\nliteral/value.txt\n</parameter>\n'
            '<parameter=content>\nhello\n</parameter>\n</function>\n</tool_call>\n"""\n',
        ),
        bad=["'path' is given twice"],
        text='"""\n\n\n',
        differs=LITERAL_TAGS + " (the call ends at the literal </tool_call>; the rest of the value is text)",
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=foo>\n<parameter=bar>baz</parameter>\n</function>\n</tool_call>\n\n"
        + write_file(
            "fixture.py",
            'template = """\n<tool_call>\n<function=foo>\n<parameter=bar>baz</parameter>\n</function>\n'
            '</tool_call>\n"""\n',
        ),
        calls=[("foo", {"bar": "baz"})],
        bad=["another <function="],
        text='"""\n\n\n',
        differs=LITERAL_TAGS + " (the call ends at the literal </tool_call>; the rest of the value is text)",
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function={{ tc.name }}>\n<parameter={{ k }}>\n{{ v }}\n</parameter>\n</function>\n"
        "</tool_call>\n\n"
        "<tool_call>\n<function=write_file>\n<parameter=path>\nout.txt\n</parameter>\n<parameter=content>\nhello\n"
        "</parameter>\n</function>\n</tool_call>",
        calls=[
            ("{{ tc.name }}", {"{{ k }}": "{{ v }}"}),
            ("write_file", {"path": "out.txt", "content": "hello"}),
        ],
        differs="vLLM drops a call whose name is an unrendered template; it is kept here (the conversation "
        "answers an unknown tool with an error)",
    ),
    V(
        "qwen3_coder",
        "I'll show: <tool_call>example</tool_call>. Now real:\n<tool_call>\n<function=log>\n<parameter=msg>\nhi\n"
        "</parameter>\n</function>\n</tool_call>",
        calls=[("log", {"msg": "hi"})],
        bad=["<function=NAME>"],
        text="I'll show: . Now real:\n",
        differs="vLLM keeps a <tool_call> without <function=...> in the content; here it is a malformed call",
    ),
    # (vLLM test_format_conformance.py: each parser's documented format)
    V(
        "qwen3_xml",
        "<tool_call>\n<function=get_weather>\n<parameter=city>\nSF\n</parameter>\n</function>\n</tool_call>",
        calls=[("get_weather", {"city": "SF"})],
    ),
    V(
        "qwen3_coder",
        "<tool_call>\n<function=get_weather>\n<parameter=city>\nSF\n</parameter>\n</function>\n</tool_call>",
        calls=[("get_weather", {"city": "SF"})],
    ),
    # -- Seed-OSS (vLLM test_seed_oss_tool_parser.py) ----------------------------------------------
    V(
        "seed_oss",
        "This is a test response without any tool calls",
        text="This is a test response without any tool calls",
    ),
    V(
        "seed_oss",
        "<seed:tool_call>\n<function=get_weather>\n<parameter=location>Barcelona, Spain</parameter>\n</function>\n"
        "</seed:tool_call>",
        calls=[BARCELONA],
    ),
    V(
        "seed_oss",
        "<seed:think>"
        + SEED_THINK_512
        + "</seed:think>\n<seed:tool_call>\n<function=get_weather>\n<parameter=location>"
        "Barcelona, Spain</parameter>\n</function>\n</seed:tool_call>",
        calls=[BARCELONA],
        reasoning=SEED_THINK_512,
        differs="vLLM returns the <seed:think> block as content; here it is reasoning",
    ),
    V(
        "seed_oss",
        "<seed:think>"
        + SEED_THINK_FREE
        + "</seed:think><seed:tool_call>\n<function=get_weather>\n<parameter=location>"
        "Barcelona, Spain</parameter>\n<parameter=unit>celsius</parameter>\n</function>\n</seed:tool_call>",
        calls=[("get_weather", {"location": "Barcelona, Spain", "unit": "celsius"})],
        reasoning=SEED_THINK_FREE.lstrip(),
        differs="vLLM returns the <seed:think> block as content; here it is reasoning",
    ),
    V(
        "seed_oss",
        "<seed:think>\n</seed:cot_budget_reflect>\n</seed:cot_budget_reflect>\nThe current thinking budget is 0, so I "
        "will directly start answering the question.\n</seed:think>\n<seed:tool_call>\n<function=get_weather>\n"
        "<parameter=location>Barcelona, Spain</parameter>\n</function>\n</seed:tool_call>",
        calls=[BARCELONA],
        reasoning="</seed:cot_budget_reflect>\n</seed:cot_budget_reflect>\nThe current thinking budget is 0, so I will directly "
        "start answering the question.\n",
        differs="vLLM returns the <seed:think> block as content; here it is reasoning",
    ),
    # -- gpt-oss harmony (vLLM test_openai_tool_parser.py: the assistant's side of each rendered conversation) --
    V("harmony", "<|channel|>final<|message|>This is a test<|return|>", text="This is a test"),
    V(
        "harmony",
        '<|channel|>analysis<|message|>User asks: "What is the weather in Tokyo?" We need to use get_current_weather '
        "tool.<|end|><|start|>assistant to=functions.get_current_weather<|channel|>commentary <|constrain|>json<|message|>"
        '{"location": "Tokyo"}<|call|>',
        calls=[("get_current_weather", {"location": "Tokyo"})],
        reasoning='User asks: "What is the weather in Tokyo?" We need to use get_current_weather tool.',
    ),
    V(
        "harmony",
        '<|channel|>analysis<|message|>User asks: "What is the weather in Tokyo?" We need to use get_current_weather '
        "tool.<|end|><|start|>assistant to=functions.get_current_weather<|channel|>commentary <|constrain|>json<|message|>"
        '{\n"location": "Tokyo"\n}<|call|>',
        calls=[("get_current_weather", {"location": "Tokyo"})],
        reasoning='User asks: "What is the weather in Tokyo?" We need to use get_current_weather tool.',
    ),
    V(
        "harmony",
        "<|channel|>analysis<|message|>We need to use get_current_weather tool.<|end|><|start|>assistant "
        'to=get_current_weather<|channel|>commentary <|constrain|>json<|message|>{"location": "Tokyo"}<|call|>',
        calls=[("get_current_weather", {"location": "Tokyo"})],
        reasoning="We need to use get_current_weather tool.",
    ),
    V(
        "harmony",
        ' to=math.sum<|channel|>commentary <|constrain|>json<|message|>{"a": 2, "b": 3}<|call|>',
        calls=[("math.sum", {"a": 2, "b": 3})],
        prompt="<|start|>user<|message|>Compute 2+3<|end|><|start|>assistant",
    ),
    V(
        "harmony",
        "<|channel|>commentary to=assistant<|message|>Some tool response<|end|><|start|>assistant<|channel|>final"
        "<|message|>Here is the answer<|return|>",
        text="Some tool responseHere is the answer",
        differs="vLLM drops a commentary message addressed to the assistant; here commentary is text the user sees",
    ),
    V(
        "harmony",
        " to=functions.no_args<|channel|>commentary <|constrain|>json<|message|><|call|>",
        calls=[("no_args", {})],
        prompt="<|start|>assistant",
    ),
    V(
        "harmony",
        " to=functions.not_json_no_content_type<|channel|>commentary<|message|>foo<|call|>",
        bad=["invalid JSON"],
        prompt="<|start|>assistant",
        differs="vLLM passes 'foo' on as the arguments; here the call is malformed",
    ),
    # -- Gemma 4 (vLLM test_gemma4_tool_parser.py; the argument-parser cases as whole calls) -------
    V("gemma4", g4(""), calls=[("f", {})]),
    V("gemma4", g4("   "), calls=[("f", {})]),
    V("gemma4", g4('location:<|"|>Paris<|"|>'), calls=[("f", {"location": "Paris"})]),
    V("gemma4", g4('location:<|"|>Paris, France<|"|>'), calls=[("f", {"location": "Paris, France"})]),
    V(
        "gemma4",
        g4('location:<|"|>San Francisco<|"|>,unit:<|"|>celsius<|"|>'),
        calls=[("f", {"location": "San Francisco", "unit": "celsius"})],
    ),
    V("gemma4", g4("count:42"), calls=[("f", {"count": 42})]),
    V("gemma4", g4("score:3.14"), calls=[("f", {"score": 3.14})]),
    V("gemma4", g4("flag:true"), calls=[("f", {"flag": True})]),
    V("gemma4", g4("flag:false"), calls=[("f", {"flag": False})]),
    V("gemma4", g4("param:null"), calls=[("f", {"param": None})]),
    V(
        "gemma4",
        g4('name:<|"|>test<|"|>,count:42,active:true,score:3.14'),
        calls=[("f", {"name": "test", "count": 42, "active": True, "score": 3.14})],
    ),
    V("gemma4", g4('nested:{inner:<|"|>value<|"|>}'), calls=[("f", {"nested": {"inner": "value"}})]),
    V("gemma4", g4('items:[<|"|>a<|"|>,<|"|>b<|"|>]'), calls=[("f", {"items": ["a", "b"]})]),
    V(
        "gemma4",
        g4('key:<|"|>unterminated'),
        bad=["arguments of 'f'"],
        differs="vLLM takes an unterminated string to the end; here the call is malformed",
    ),
    V(
        "gemma4",
        g4("key:"),
        bad=["arguments of 'f'"],
        differs="vLLM reads a key without a value as an empty string; here the call is malformed",
    ),
    V("gemma4", g4("left:108.,right:22.8"), calls=[("f", {"left": 108.0, "right": 22.8})]),
    V(
        "gemma4",
        g4('items:[[<|"|>a]b<|"|>,<|"|>c<|"|>],<|"|>tail<|"|>]'),
        calls=[("f", {"items": [["a]b", "c"], "tail"]})],
    ),
    V("gemma4", g4("items:[42,true,3.14]"), calls=[("f", {"items": [42, True, 3.14]})]),
    V("gemma4", "Hello, how can I help you today?", text="Hello, how can I help you today?"),
    V(
        "gemma4",
        '<|tool_call>call:get_weather{location:<|"|>London<|"|>}<tool_call|>',
        calls=[("get_weather", {"location": "London"})],
    ),
    V(
        "gemma4",
        '<|tool_call>call:get_weather{location:<|"|>San Francisco<|"|>,unit:<|"|>celsius<|"|>}<tool_call|>',
        calls=[("get_weather", {"location": "San Francisco", "unit": "celsius"})],
    ),
    V(
        "gemma4",
        'Let me check the weather for you. <|tool_call>call:get_weather{location:<|"|>Paris<|"|>}<tool_call|>',
        calls=[("get_weather", {"location": "Paris"})],
        text="Let me check the weather for you. ",
        differs=TRAILING_SPACE,
    ),
    V(
        "gemma4",
        '<|tool_call>call:get_weather{location:<|"|>London<|"|>}<tool_call|><|tool_call>call:get_time{location:'
        '<|"|>London<|"|>}<tool_call|>',
        calls=[("get_weather", {"location": "London"}), ("get_time", {"location": "London"})],
    ),
    V(
        "gemma4",
        '<|tool_call>call:complex_function{nested:{inner:<|"|>value<|"|>},list:[<|"|>a<|"|>,<|"|>b<|"|>]}<tool_call|>',
        calls=[("complex_function", {"nested": {"inner": "value"}, "list": ["a", "b"]})],
    ),
    V(
        "gemma4",
        "<|tool_call>call:set_status{is_active:true,count:42,score:3.14}<tool_call|>",
        calls=[("set_status", {"is_active": True, "count": 42, "score": 3.14})],
    ),
    V(
        "gemma4",
        '<|tool_call>call:get_weather{location:<|"|>London',
        bad=["cut off"],
        differs="vLLM gives the text back; an unclosed call is reported as cut off here",
    ),
    V(
        "gemma4",
        '<|tool_call>call:get-weather{location:<|"|>London<|"|>}<tool_call|>',
        calls=[("get-weather", {"location": "London"})],
    ),
    V(
        "gemma4",
        '<|tool_call>call:weather.get{location:<|"|>London<|"|>}<tool_call|>',
        calls=[("weather.get", {"location": "London"})],
    ),
    V("gemma4", "<|tool_call>call:get_status{}<tool_call|>", calls=[("get_status", {})]),
    V(
        "gemma4",
        '<|tool_call>call:get_weather{location:<|"|>Paris, France<|"|>}<tool_call|>',
        calls=[("get_weather", {"location": "Paris, France"})],
    ),
    V(
        "gemma4",
        'Let me check the weather. <|tool_call>call:get_weather{location:<|"|>London<|"|>}<tool_call|>',
        calls=[("get_weather", {"location": "London"})],
        text="Let me check the weather. ",
    ),
    V(
        "gemma4",
        "<|tool_call>call:set_config{count:42,active:true}<tool_call|>",
        calls=[("set_config", {"count": 42, "active": True})],
    ),
    V(
        "gemma4",
        "<|tool_call>call:search{input:{all:true}}<tool_call|>",
        calls=[("search", {"input": {"all": True}})],
    ),
    V(
        "gemma4",
        '<|tool_call>call:todowrite{content:<|"|>Buy milk<|"|>}<tool_call|>',
        calls=[("todowrite", {"content": "Buy milk"})],
    ),
    V(
        "gemma4",
        '<|tool_call>call:get_weather{location:<|"|>Paris<|"|>}<tool_call|><div>',
        calls=[("get_weather", {"location": "Paris"})],
        text="<div>",
    ),
    V(
        "gemma4",
        '<|tool_call>call:write_file{path:<|"|>index.html<|"|>,content:<|"|><!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n'
        '    <meta charset="UTF-8">\n    <meta name="viewport" content="width=device-width">\n<|"|>}<tool_call|>',
        calls=[
            (
                "write_file",
                {
                    "path": "index.html",
                    "content": '<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n    <meta '
                    'charset="UTF-8">\n    <meta name="viewport" content="width=device-width">\n',
                },
            )
        ],
    ),
    V(
        "gemma4",
        '<|tool_call>call:Edit{file_path:<|"|>src/env.py<|"|>,old_string:<|"|>old_val<|"|>,new_string:<|"|>new_val<|"|>,'
        "replace_all:false}<tool_call|>",
        calls=[
            (
                "Edit",
                {
                    "file_path": "src/env.py",
                    "old_string": "old_val",
                    "new_string": "new_val",
                    "replace_all": False,
                },
            )
        ],
    ),
    # (vLLM main's newer test_gemma4_tool_parser.py: the whole replies its streaming tests split)
    V(
        "gemma4",
        '<|tool_call>call:get_weather{location:<|"|>Tokyo<|"|>,unit:<|"|>celsius<|"|>}<tool_call|>',
        calls=[("get_weather", {"location": "Tokyo", "unit": "celsius"})],
    ),
    V("gemma4", "<|tool_call>call:set{flag:false}<tool_call|>", calls=[("set", {"flag": False})]),
    V("gemma4", "<|tool_call>call:set{count:42}<tool_call|>", calls=[("set", {"count": 42})]),
    # (vLLM test_gemma4_regex_and_bare_calls.py, test_gemma4_utils.py: the offline parser's real output variations)
    V(
        "gemma4",
        '<|tool_call>call:bash{command:<|"|>ls -la /work<|"|>}<tool_call|>',
        calls=[("bash", {"command": "ls -la /work"})],
    ),
    V(
        "gemma4",
        '<|tool_call>call:gdb{args:<|"|>-batch -ex run /tmp/poc<|"|>}<turn|>',
        calls=[("gdb", {"args": "-batch -ex run /tmp/poc"})],
    ),
    V(
        "gemma4",
        '<|tool_call>call:read_file{path:<|"|>/work/Makefile<|"|>}<tool_call|>\n'
        '<|tool_call>call:bash{command:<|"|>make -j8<|"|>}<tool_call|>',
        calls=[("read_file", {"path": "/work/Makefile"}), ("bash", {"command": "make -j8"})],
    ),
    V(
        "gemma4",
        '<channel|>call:bash{command:<|"|>ls<|"|>}',
        text='call:bash{command:<|"|>ls<|"|>}',
        differs=GEMMA_BARE,
    ),
    V(
        "gemma4",
        "<|channel>thought\nI need to read the entry source file to inspect the crash point.\n<channel|>"
        'call:bash{command:<|"|>cat /work/src/entry.c<|"|>}',
        text='call:bash{command:<|"|>cat /work/src/entry.c<|"|>}',
        reasoning="I need to read the entry source file to inspect the crash point.\n",
        differs=GEMMA_BARE,
    ),
    V(
        "gemma4",
        '<|channel>thought\nListing directory files.\n<channel|>call:bash{command:<|"|>ls -la /work<|"|>}',
        text='call:bash{command:<|"|>ls -la /work<|"|>}',
        reasoning="Listing directory files.\n",
        differs=GEMMA_BARE,
    ),
    V(
        "gemma4",
        '<|tool_call>:call:bash{command:<|"|>pytest<|"|>}',
        bad=["cut off"],
        differs="vLLM skips the stray ':' and reads the call without <tool_call|>; here it is cut off",
    ),
    V(
        "gemma4",
        'some prose\ncall:bash{command:<|"|>make -j8<|"|>}',
        text='some prose\ncall:bash{command:<|"|>make -j8<|"|>}',
        differs=GEMMA_BARE,
    ),
    V(
        "gemma4",
        '<call>get_weather{city:<|"|>Paris<|"|>}',
        text='<call>get_weather{city:<|"|>Paris<|"|>}',
        differs="vLLM reads <call> (a special token split by multimodal input) as <|tool_call>call:; not here",
    ),
    V(
        "gemma4",
        'call:web-search{query:<|"|>gemma 4 release<|"|>}',
        text='call:web-search{query:<|"|>gemma 4 release<|"|>}',
        differs=GEMMA_BARE,
    ),
    V(
        "gemma4",
        'call:fs.read_file{path:<|"|>/work/Makefile<|"|>}',
        text='call:fs.read_file{path:<|"|>/work/Makefile<|"|>}',
        differs=GEMMA_BARE,
    ),
    V(
        "gemma4",
        "call:get_weather{location:Tokyo}",
        text="call:get_weather{location:Tokyo}",
        differs=GEMMA_BARE,
    ),
    V(
        "gemma4",
        "Just some reasoning text with no call in it.",
        text="Just some reasoning text with no call in it.",
    ),
    V(
        "gemma4",
        g4('content:<|"|>She said "hello" loudly<|"|>'),
        calls=[("f", {"content": 'She said "hello" loudly'})],
    ),
    V(
        "gemma4",
        g4('path:<|"|>out.html<|"|>,content:<|"|><div class="main">hello</div><|"|>'),
        calls=[("f", {"path": "out.html", "content": '<div class="main">hello</div>'})],
    ),
    V(
        "gemma4",
        g4('content:<|"|><html><div>{test}</div></html><|"|>'),
        calls=[("f", {"content": "<html><div>{test}</div></html>"})],
    ),
    V(
        "gemma4",
        g4('code:<|"|>function() { return "ok"; }<|"|>'),
        calls=[("f", {"code": 'function() { return "ok"; }'})],
    ),
    V(
        "gemma4",
        g4('content:<|"|>line1\nline2\nline3<|"|>'),
        calls=[("f", {"content": "line1\nline2\nline3"})],
    ),
    V(
        "gemma4",
        '<|tool_call>call:write_file{path:<|"|>index.html<|"|>,content:<|"|><div class="app">Hello</div><|"|>}'
        "<tool_call|>",
        calls=[("write_file", {"path": "index.html", "content": '<div class="app">Hello</div>'})],
    ),
    V(
        "gemma4",
        '<|tool_call>call:read_file{path:<|"|>a.txt<|"|>}<tool_call|><|tool_call>call:read_file{path:<|"|>b.txt<|"|>}'
        "<tool_call|>",
        calls=[("read_file", {"path": "a.txt"}), ("read_file", {"path": "b.txt"})],
    ),
    # (vLLM's tests/tool_parsers/gemma4_tool_parser.py: the fallback format its docstring shows)
    V(
        "gemma4",
        "<tool_call>hangup_call{}</tool_call>",
        text="<tool_call>hangup_call{}</tool_call>",
        differs="vLLM's parser variant reads Hermes-style <tool_call>NAME{...}</tool_call>; here only "
        "<|tool_call> opens a call",
    ),
    # (vLLM test_gemma4_required_enforcement.py: prose where tool_choice="required" wanted a call)
    V(
        "gemma4",
        "I cannot call a tool right now, so here is a plain answer.",
        text="I cannot call a tool right now, so here is a plain answer.",
        differs='vLLM raises when tool_choice="required" gets prose; parsers here see no request (the '
        "conversation enforces tool_choice)",
    ),
    # -- Apertus (vLLM test_apertus_tool_parser.py) ------------------------------------------------
    V("apertus", "Hello, how can I help you today?", text="Hello, how can I help you today?"),
    V(
        "apertus",
        '<|tools_prefix|>[{"get_weather": {"location": "London"}}]<|tools_suffix|>',
        calls=[("get_weather", {"location": "London"})],
    ),
    V(
        "apertus",
        '<|tools_prefix|>[{"get_weather": {"location": "San Francisco", "unit": "celsius"}}]<|tools_suffix|>',
        calls=[("get_weather", {"location": "San Francisco", "unit": "celsius"})],
    ),
    V(
        "apertus",
        'Let me check the weather for you. <|tools_prefix|>[{"get_weather": {"location": "Paris"}}]<|tools_suffix|>',
        calls=[("get_weather", {"location": "Paris"})],
        text="Let me check the weather for you. ",
        differs=TRAILING_SPACE,
    ),
    V(
        "apertus",
        '<|tools_prefix|>[{"get_weather": {"location": "London"}}, {"get_time": {"location": "London"}}]<|tools_suffix|>',
        calls=[("get_weather", {"location": "London"}), ("get_time", {"location": "London"})],
    ),
    V(
        "apertus",
        '<|tools_prefix|>[{"complex_function": {"nested": {"inner": "value"}, "list": ["a", "b"]}}]<|tools_suffix|>',
        calls=[("complex_function", {"nested": {"inner": "value"}, "list": ["a", "b"]})],
    ),
    V(
        "apertus",
        '<|tools_prefix|>[{"get_weather": {"location": "London"}',
        bad=["cut off"],
        differs="vLLM completes the unfinished JSON; an unfinished call is reported as cut off here",
    ),
    V(
        "apertus",
        '<|tools_prefix|>[{"get_weather": {"location": "San Francisco", "unit": "celsius"}}]',
        calls=[("get_weather", {"location": "San Francisco", "unit": "celsius"})],
    ),
    V(
        "apertus",
        '<|tools_prefix|>[{"get_weather": {"location": "Paris, France"}}]<|tools_suffix|>',
        calls=[("get_weather", {"location": "Paris, France"})],
    ),
    V(
        "apertus",
        '<|tools_prefix|>[{"get_weather": {"location": "Paris, France"}}]',
        calls=[("get_weather", {"location": "Paris, France"})],
    ),
    V("apertus", 'Content<|tools_prefix|>[{"f": {"a": 1}}]', calls=[("f", {"a": 1})], text="Content"),
    V(
        "apertus",
        '<|tools_prefix|>[{"get_weather": {"location": "Tokyo"}}, {"get_time": {"location": "Tokyo"}}]<|tools_suffix|>',
        calls=[("get_weather", {"location": "Tokyo"}), ("get_time", {"location": "Tokyo"})],
    ),
    V(
        "apertus",
        'Let me check the weather. <|tools_prefix|>[{"get_weather": {"location": "London"}}]<|tools_suffix|>',
        calls=[("get_weather", {"location": "London"})],
        text="Let me check the weather. ",
    ),
    V(
        "apertus",
        'Content<|tools_prefix|>[{"f": {"a": 1}}]<|tools_suffix|>',
        calls=[("f", {"a": 1})],
        text="Content",
    ),
    V(
        "apertus",
        'Sure! <|tools_prefix|>[{"get_weather": {"location": "London"}}]<|tools_suffix|>',
        calls=[("get_weather", {"location": "London"})],
        text="Sure! ",
    ),
    V(
        "apertus",
        '<|tools_prefix|>[{"get_weather": {"location": "London"}}, {"get_time": {"location": "Paris"}}]<|tools_suffix|>',
        calls=[("get_weather", {"location": "London"}), ("get_time", {"location": "Paris"})],
    ),
    V(
        "apertus",
        '<|tools_prefix|>[{"t1": {"a": 1}}, {"t2": {"b": 2}}, {"t3": {"c": 3}}]<|tools_suffix|>',
        calls=[("t1", {"a": 1}), ("t2", {"b": 2}), ("t3", {"c": 3})],
    ),
    V(
        "apertus",
        'Hi <|tools_prefix|>[{"get_weather": {"location": "London"}}]<|tools_suffix|> ',
        calls=[("get_weather", {"location": "London"})],
        text="Hi ",
    ),
    V(
        "apertus",
        'Wait<|tools_prefix|>[{"get_weather": {"location": "London"}}]<|tools_suffix|>',
        calls=[("get_weather", {"location": "London"})],
        text="Wait",
    ),
    # -- LFM2 (vLLM test_lfm2_tool_parser.py) ------------------------------------------------------
    V("lfm2", "How can I help you today?", text="How can I help you today?"),
    V("lfm2", lfm("get_candidate_status(candidate_id='12345')"), calls=[CANDIDATE]),
    V("lfm2", lfm(PY_MORE_TYPES), calls=[MORE_TYPES]),
    V("lfm2", lfm("get_weather()"), calls=[("get_weather", {})]),
    V(
        "lfm2",
        lfm("do_something_cool(additional_data={})"),
        calls=[("do_something_cool", {"additional_data": {}})],
    ),
    V("lfm2", lfm("do_something_cool(steps=[])"), calls=[("do_something_cool", {"steps": []})]),
    V("lfm2", lfm(r"""get_weather(city='Martha\'s Vineyard', metric='\"cool units\"')"""), calls=[VINEYARD]),
    V(
        "lfm2",
        lfm("get_candidate_status(candidate_id='12345'), " + PY_MORE_TYPES),
        calls=[CANDIDATE, MORE_TYPES],
    ),
    V(
        "lfm2",
        lfm("get_candidate_status(candidate_id='12345')")
        + "\nChecking the current status of candidate ID 12345.",
        calls=[CANDIDATE],
        text="Checking the current status of candidate ID 12345.",
    ),
    V("lfm2", lfm(PY_GROCERY), calls=[GROCERY]),
    V(
        "lfm2",
        lfm("get_candidate_status(candidate_id='12345'), get_weather(), do_something_cool(steps=[])"),
        calls=[CANDIDATE, ("get_weather", {}), ("do_something_cool", {"steps": []})],
    ),
    V("lfm2", lfm("get_candidate_status(candidate_id='12345')") + "\nDone.", calls=[CANDIDATE], text="Done."),
    V(
        "lfm2",
        "Let me check. " + lfm("get_candidate_status(candidate_id='12345')"),
        calls=[CANDIDATE],
        text="Let me check. ",
    ),
    V(
        "lfm2",
        "Let me check. " + lfm("get_candidate_status(candidate_id='12345')") + "\nDone.",
        calls=[CANDIDATE],
        text="Let me check. \nDone.",
    ),
    V(
        "lfm2",
        LFM_START + ECHO + LFM_END + ECHO + LFM_END,
        calls=[
            (
                "grocery.orderIngredients",
                {"ingredientList": [{"name": "apple", "quantity": "2"}], "deliveryAddress": "123 Main St"},
            )
        ],
    ),
    V(
        "lfm2",
        LFM_START
        + '[grocery.orderIngredients(ingredientList=[{"name": "apple", "quantity": "2"}, {"name": "bread", '
        '"quantity": "1"}])]' + LFM_END,
        calls=[
            (
                "grocery.orderIngredients",
                {"ingredientList": [{"name": "apple", "quantity": "2"}, {"name": "bread", "quantity": "1"}]},
            )
        ],
    ),
    V(
        "lfm2",
        LFM_START + "[A(A=\t)A(A=,\t\t)A(A=,\t]" + LFM_END,
        bad=["not a valid Python call list"],
        differs="vLLM gives the text back; a call block is never dropped here",
    ),
    # (vLLM main's newer LFM2 cases: real agent output)
    V(
        "lfm2",
        lfm("exec(command='grep -F \"]\" log.txt')"),
        calls=[("exec", {"command": 'grep -F "]" log.txt'})],
    ),
    V(
        "lfm2",
        lfm("exec(command='cat > f.py << EOF\nimport csv\nprint(1)\nEOF')"),
        calls=[("exec", {"command": "cat > f.py << EOF\nimport csv\nprint(1)\nEOF"})],
    ),
    V("lfm2", lfm("label(tags={'urgent', 'bug'})"), calls=[("label", {"tags": ["urgent", "bug"]})]),
    V(
        "lfm2",
        lfm("bash(command='sed -n '360,450p' /testbed/sympy/matrices/common.py')"),
        calls=[("bash", {"command": "sed -n '360,450p' /testbed/sympy/matrices/common.py"})],
    ),
    V(
        "lfm2",
        lfm(
            "bash(command='cd /testbed && python3 -c \"from sympy import latex\nprint(latex(3*x, mul_symbol='\\,'))\"')"
        ),
        calls=[
            (
                "bash",
                {
                    "command": "cd /testbed && python3 -c \"from sympy import latex\nprint(latex(3*x, mul_symbol='\\,'))\""
                },
            )
        ],
    ),
    V("lfm2", lfm("set_date(month=07, day=05)"), calls=[("set_date", {"month": 7, "day": 5})]),
    V("lfm2", lfm("exec(command='printf a\x00b')"), calls=[("exec", {"command": "printf a\x00b"})]),
    V("lfm2", LFM_START + "[]" + LFM_END, text=""),
    V("lfm2", LFM_START + "[ ]" + LFM_END, text=""),
    V(
        "lfm2",
        lfm("get_candidate_status(candidate_id='12345'), bad(x=b'z')"),
        calls=[CANDIDATE],
        bad=["bytes"],
        differs="vLLM drops the unconvertible call; here it is malformed, with an error the model can read",
    ),
    V("lfm2", LFM_START + " [get_candidate_status(candidate_id='12345')]" + LFM_END, calls=[CANDIDATE]),
    # -- OLMo 3 (vLLM test_olmo3_tool_parser.py) ---------------------------------------------------
    V("olmo3", "How can I help you today?", text="How can I help you today?"),
    V(
        "olmo3",
        "<function_calls>get_weather(city='San Francisco', metric='celsius')</function_calls>",
        calls=[SF],
    ),
    V("olmo3", "<function_calls>" + PY_MORE_TYPES + "</function_calls>", calls=[MORE_TYPES]),
    V(
        "olmo3",
        "<function_calls>"
        + PY_MORE_TYPES.replace("None", "null").replace("True", "true")
        + "</function_calls>",
        calls=[MORE_TYPES],
    ),
    V("olmo3", "<function_calls>get_weather()</function_calls>", calls=[("get_weather", {})]),
    V(
        "olmo3",
        "<function_calls>do_something_cool(additional_data={})</function_calls>",
        calls=[("do_something_cool", {"additional_data": {}})],
    ),
    V(
        "olmo3",
        "<function_calls>do_something_cool(steps=[])</function_calls>",
        calls=[("do_something_cool", {"steps": []})],
    ),
    V(
        "olmo3",
        r"""<function_calls>get_weather(city='Martha\'s Vineyard', metric='\"cool units\"')</function_calls>""",
        calls=[VINEYARD],
    ),
    V(
        "olmo3",
        "<function_calls>get_weather(city='San Francisco', metric='celsius')\n"
        + PY_MORE_TYPES
        + "</function_calls>",
        calls=[SF, MORE_TYPES],
    ),
    V(
        "olmo3",
        "<function_calls>get_weather(city='San Francisco', metric='celsius')\nget_weather()\n"
        "do_something_cool(steps=[])</function_calls>",
        calls=[SF, ("get_weather", {}), ("do_something_cool", {"steps": []})],
    ),
    V("olmo3", "hello world[A(A=\t)A(A=,\t\t)A(A=,\t", text="hello world[A(A=\t)A(A=,\t\t)A(A=,\t"),
    # -- ERNIE 4.5: Hermes markup (vLLM test_ernie45_moe_tool_parser.py) ---------------------------
    V("ernie45", "This is a test", text="This is a test"),
    V(
        "ernie45",
        '<tool_call>\n{"name": "get_current_temperature", "arguments": {"location": "Beijing"}}\n</tool_call>\n',
        calls=[("get_current_temperature", {"location": "Beijing"})],
    ),
    V("ernie45", ERNIE_TWO, calls=ERNIE_TWO_CALLS),
    V(
        "ernie45",
        "I need to call two tools to handle these two issues separately.\n</think>\n" + ERNIE_TWO,
        calls=ERNIE_TWO_CALLS,
        reasoning="I need to call two tools to handle these two issues separately.\n",
        prompt="<|im_start|>assistant\n<think>\n",
        differs="vLLM returns the reasoning and </think> as content; here it is reasoning (the prompt opened <think>)",
    ),
    # -- FunctionGemma (vLLM test_functiongemma_tool_parser.py) ------------------------------------
    V("functiongemma", "Hello, how can I help you today?", text="Hello, how can I help you today?"),
    V(
        "functiongemma",
        "<start_function_call>call:get_weather{location:<escape>London<escape>}<end_function_call>",
        calls=[("get_weather", {"location": "London"})],
    ),
    V(
        "functiongemma",
        "<start_function_call>call:get_weather{location:<escape>San Francisco<escape>,unit:<escape>celsius"
        "<escape>}<end_function_call>",
        calls=[("get_weather", {"location": "San Francisco", "unit": "celsius"})],
    ),
    V(
        "functiongemma",
        "Let me check the weather for you. <start_function_call>call:get_weather{location:<escape>Paris<escape>}"
        "<end_function_call>",
        calls=[("get_weather", {"location": "Paris"})],
        text="Let me check the weather for you. ",
        differs=TRAILING_SPACE,
    ),
    V(
        "functiongemma",
        "<start_function_call>call:get_weather{location:<escape>London<escape>}<end_function_call>"
        "<start_function_call>call:get_time{timezone:<escape>UTC<escape>}<end_function_call>",
        calls=[("get_weather", {"location": "London"}), ("get_time", {"timezone": "UTC"})],
    ),
    V("functiongemma", fg(""), calls=[("f", {})]),
    V("functiongemma", fg("city:<escape>Tokyo<escape>"), calls=[("f", {"city": "Tokyo"})]),
    V(
        "functiongemma",
        fg("city:<escape>Tokyo<escape>,country:<escape>Japan<escape>"),
        calls=[("f", {"city": "Tokyo", "country": "Japan"})],
    ),
    V(
        "functiongemma",
        fg("count:<escape>42<escape>"),
        calls=[("f", {"count": 42})],
    ),
    V(
        "functiongemma",
        fg("enabled:<escape>true<escape>"),
        calls=[("f", {"enabled": True})],
    ),
    V("functiongemma", fg("message:<escape>Hello World<escape>"), calls=[("f", {"message": "Hello World"})]),
    # -- Step 3 (vLLM test_step3_tool_parser.py) ----------------------------------------------------
    V(
        "step3",
        "This is a regular response without any tool calls.",
        text="This is a regular response without any tool calls.",
    ),
    V(
        "step3",
        S3_BEGIN
        + S3_CALL
        + '<steptml:invoke name="get_weather"><steptml:parameter name="city">Tokyo</steptml:parameter>'
        "</steptml:invoke>" + S3_CALL_END + S3_END,
        calls=[TOKYO],
    ),
    V(
        "step3",
        S3_BEGIN
        + S3_CALL
        + '<steptml:invoke name="get_weather"><steptml:parameter name="city">Tokyo</steptml:parameter>'
        "</steptml:invoke>"
        + S3_CALL_END
        + S3_SEP
        + S3_CALL
        + '<steptml:invoke name="get_time"><steptml:parameter name="timezone">'
        "Asia/Tokyo</steptml:parameter></steptml:invoke>" + S3_CALL_END + S3_END,
        calls=[TOKYO, TOKYO_TIME],
    ),
    V(
        "step3",
        S3_BEGIN
        + S3_CALL
        + '<steptml:invoke name="test_function"><steptml:parameter name="string_field">hello'
        '</steptml:parameter><steptml:parameter name="int_field">42</steptml:parameter><steptml:parameter name="float_field">3.14'
        '</steptml:parameter><steptml:parameter name="bool_field">true</steptml:parameter><steptml:parameter name="null_field">null'
        '</steptml:parameter><steptml:parameter name="array_field">["a", "b", "c"]</steptml:parameter><steptml:parameter '
        'name="object_field">{"nested": "value"}</steptml:parameter></steptml:invoke>' + S3_CALL_END + S3_END,
        calls=[("test_function", {k: v for k, v in TYPES.items() if not k.startswith("empty")})],
    ),
    V(
        "step3",
        S3_BEGIN + S3_CALL + '<steptml:invoke name="refresh"></steptml:invoke>' + S3_CALL_END + S3_END,
        calls=[("refresh", {})],
    ),
    V(
        "step3",
        "Let me check the weather for you.\n\n" + S3_BEGIN + S3_CALL + '<steptml:invoke name="get_weather">'
        '<steptml:parameter name="city">Tokyo</steptml:parameter></steptml:invoke>'
        + S3_CALL_END
        + S3_END
        + "\n\nI'll get that information.",
        calls=[TOKYO],
        text="Let me check the weather for you.\n\n\n\nI'll get that information.",
    ),
    V(
        "step3",
        S3_BEGIN
        + S3_CALL
        + '<steptml:invoke name="test_function"><steptml:parameter name="quoted">He said "hello"'
        '</steptml:parameter><steptml:parameter name="path">C:\\Users\\file.txt</steptml:parameter><steptml:parameter '
        'name="newline">line1\nline2</steptml:parameter></steptml:invoke>' + S3_CALL_END + S3_END,
        calls=[
            (
                "test_function",
                {"quoted": 'He said "hello"', "path": "C:\\Users\\file.txt", "newline": "line1\nline2"},
            )
        ],
    ),
    V("step3", S3_BEGIN + S3_CALL + '<steptml:invoke name="func">', bad=["cut off"]),
    V("step3", S3_CALL + '<steptml:invoke name="func"></steptml:invoke>' + S3_CALL_END, calls=[("func", {})]),
    V(
        "step3",
        S3_BEGIN
        + S3_CALL
        + "function"
        + S3_SEP
        + '<steptml:invoke name="get_weather"><steptml:parameter name="city">'
        "Tokyo</steptml:parameter></steptml:invoke>" + S3_CALL_END + S3_END,
        calls=[TOKYO],
    ),
    # -- Step 3.5: Qwen3-Coder markup (vLLM test_step3p5_tool_parser.py) ---------------------------
    V(
        "step3p5",
        "This is a test response without any tool calls",
        text="This is a test response without any tool calls",
    ),
    V(
        "step3p5",
        "hello" + QC_DALLAS_TX + "hi" + QC_AREA,
        calls=[
            ("get_current_weather", {"city": "Dallas", "state": "TX"}),
            ("calculate_area", {"shape": "rectangle", "dimensions": {"width": 10, "height": 5}}),
        ],
        text="hellohi",
    ),
    V(
        "step3p5",
        "hello" + QC_DALLAS_TX + QC_AREA,
        calls=[
            ("get_current_weather", {"city": "Dallas", "state": "TX"}),
            ("calculate_area", {"shape": "rectangle", "dimensions": {"width": 10, "height": 5}}),
        ],
        text="hello",
    ),
    V(
        "step3p5",
        QC_DALLAS
        + "\n"
        + QC_DALLAS.replace("Dallas", "Orlando").replace("TX", "FL").replace("fahrenheit", "celsius"),
        calls=[DALLAS, ("get_current_weather", {"city": "Orlando", "state": "FL", "unit": "celsius"})],
    ),
    # -- LongCat (vLLM test_longcat_tool_parser.py) -------------------------------------------------
    V(
        "longcat",
        "This is a regular response without any tool calls.",
        text="This is a regular response without any tool calls.",
    ),
    V(
        "longcat",
        '<longcat_tool_call>{"name": "get_weather", "arguments": {"city": "Tokyo"}}</longcat_tool_call>',
        calls=[TOKYO],
    ),
    V(
        "longcat",
        '<longcat_tool_call>{"name": "get_weather", "arguments": {"city": "Tokyo"}}</longcat_tool_call>\n'
        '<longcat_tool_call>{"name": "get_time", "arguments": {"timezone": "Asia/Tokyo"}}</longcat_tool_call>',
        calls=[TOKYO, TOKYO_TIME],
    ),
    V(
        "longcat",
        '<longcat_tool_call>{\n  "name": "test_function",\n  "arguments": '
        + TYPES_JSON
        + "\n}</longcat_tool_call>",
        calls=[("test_function", TYPES)],
    ),
    V(
        "longcat",
        '<longcat_tool_call>{"name": "refresh", "arguments": {}}</longcat_tool_call>',
        calls=[("refresh", {})],
    ),
    V(
        "longcat",
        'Let me check the weather for you.\n<longcat_tool_call>{"name": "get_weather", "arguments": {"city": "Tokyo"}}'
        "</longcat_tool_call>\nHere is the result.",
        calls=[TOKYO],
        text="Let me check the weather for you.\n\nHere is the result.",
    ),
    V(
        "longcat",
        '<longcat_tool_call>{\n  "name": "test_function",\n  "arguments": '
        + ESCAPED_JSON
        + "\n}</longcat_tool_call>",
        calls=[("test_function", ESCAPED)],
    ),
    V("longcat", '<longcat_tool_call>{"name": "func", "arguments": {', bad=["cut off"]),
    V(
        "longcat",
        '<longcat_tool_call>{"name": "func", "arguments": "not a dict"}</longcat_tool_call>',
        bad=["not a JSON object"],
    ),
    V("longcat", "Some text with <longcat_tool_call>invalid json", text="Some text with ", bad=["cut off"]),
    # -- GigaChat 3 / 3.1 (vLLM test_gigachat3_tool_parser.py) --------------------------------------
    V("gigachat3", "How can I help you today?", text="How can I help you today?"),
    V("gigachat3", GIGA3 + GIGA_SIMPLE, calls=[GIGA_SIMPLE_CALL]),
    V("gigachat3", GIGA3 + GIGA_EMPTY, calls=[("manage_user_memory", {})]),
    V("gigachat3", GIGA3 + GIGA_COMPLEX, calls=[GIGA_COMPLEX_CALL]),
    V(
        "gigachat3",
        "I'll check that for you." + GIGA3 + GIGA_SIMPLE,
        calls=[GIGA_SIMPLE_CALL],
        text="I'll check that for you.",
    ),
    V(
        "gigachat3",
        "I'll check that for you." + GIGA3 + GIGA_SIMPLE + "</s>",
        calls=[GIGA_SIMPLE_CALL],
        text="I'll check that for you.",
    ),
    V("gigachat3", GIGA31 + GIGA_SIMPLE, calls=[GIGA_SIMPLE_CALL]),
    V("gigachat3", GIGA31 + GIGA_EMPTY, calls=[("manage_user_memory", {})]),
    V("gigachat3", GIGA31 + GIGA_COMPLEX, calls=[GIGA_COMPLEX_CALL]),
    V(
        "gigachat3",
        "I'll check that for you." + GIGA31 + GIGA_SIMPLE,
        calls=[GIGA_SIMPLE_CALL],
        text="I'll check that for you.",
    ),
    V(
        "gigachat3",
        "I'll check that for you." + GIGA31 + GIGA_SIMPLE + "</s>",
        calls=[GIGA_SIMPLE_CALL],
        text="I'll check that for you.",
    ),
    # -- Hunyuan 3 (vLLM test_hy_v3_tool_parser.py) --------------------------------------------------
    V("hy_v3", "This is a plain response.", text="This is a plain response."),
    V(
        "hy_v3",
        "<tool_calls><tool_call>get_current_date<tool_sep></tool_call></tool_calls>",
        calls=[("get_current_date", {})],
    ),
    V(
        "hy_v3",
        "<tool_calls>\n<tool_call>get_current_date<tool_sep>\n</tool_call>\n</tool_calls>",
        calls=[("get_current_date", {})],
    ),
    V(
        "hy_v3",
        "<tool_calls><tool_call>get_weather<tool_sep><arg_key>city</arg_key><arg_value>Beijing</arg_value><arg_key>date"
        "</arg_key><arg_value>2026-03-30</arg_value></tool_call></tool_calls>",
        calls=[("get_weather", {"city": "Beijing", "date": "2026-03-30"})],
    ),
    V(
        "hy_v3",
        "<tool_calls>\n<tool_call>get_weather<tool_sep>\n<arg_key>city</arg_key>\n<arg_value>Beijing</arg_value>\n"
        "<arg_key>date</arg_key>\n<arg_value>2026-03-30</arg_value>\n</tool_call>\n</tool_calls>",
        calls=[("get_weather", {"city": "Beijing", "date": "2026-03-30"})],
    ),
    V(
        "hy_v3",
        "Checking.<tool_calls>\n<tool_call>get_current_date<tool_sep>\n</tool_call>\n</tool_calls>",
        calls=[("get_current_date", {})],
        text="Checking.",
    ),
    V(
        "hy_v3",
        "<tool_calls>\n<tool_call>get_weather<tool_sep>\n<arg_key>city</arg_key>\n<arg_value>Beijing</arg_value>\n"
        "<arg_key>date</arg_key>\n<arg_value>2026-03-30</arg_value>\n</tool_call>\n<tool_call>get_weather<tool_sep>\n"
        "<arg_key>city</arg_key>\n<arg_value>Hangzhou</arg_value>\n<arg_key>date</arg_key>\n<arg_value>2026-03-30</arg_value>\n"
        "</tool_call>\n</tool_calls>",
        calls=[
            ("get_weather", {"city": "Beijing", "date": "2026-03-30"}),
            ("get_weather", {"city": "Hangzhou", "date": "2026-03-30"}),
        ],
    ),
    # (vLLM test_hy_truncated_stream.py: Hy3-preview replies, complete and stopped early)
    V(
        "hy_v3",
        HY3_OPEN + HY3_ARGS + "\n</tool_call>\n</tool_calls>",
        calls=[("get_weather", {"city": "Beijing"})],
    ),
    V("hy_v3", HY3_OPEN + HY3_ARGS, bad=["cut off"], differs=CUT_AT_FINISH),
    V("hy_v3", HY3_OPEN + HY3_ARGS + "\n", bad=["cut off"], differs=CUT_AT_FINISH),
    V("hy_v3", HY3_OPEN + HY3_ARGS + "\n\n", bad=["cut off"], differs=CUT_AT_FINISH),
    V(
        "hy_v3",
        HY3_OPEN + HY3_ARGS + "\n<arg_key>date</arg_key>\n<arg_value>2026",
        bad=["cut off"],
        differs=CUT_AT_FINISH,
    ),
    V("hy_v3", HY3_OPEN + "<arg_key>city</arg_key>", bad=["cut off"], differs=CUT_AT_FINISH),
    V(
        "hy_v3",
        HY3_OPEN + HY3_ARGS + "\n</tool_call>\n<tool_call>get_weather<tool_sep>\n<arg_key>date</arg_key>\n"
        "<arg_value>2026",
        calls=[("get_weather", {"city": "Beijing"})],
        bad=["cut off"],
        differs=CUT_AT_FINISH,
    ),
    # -- Granite pythonic: bare calls on their own lines (vLLM test_granite_pythonic_tool_parser.py) --
    V(
        "granite_pythonic",
        'get_weather(location="San Francisco", unit="celsius")',
        calls=[("get_weather", {"location": "San Francisco", "unit": "celsius"})],
    ),
    V(
        "granite_pythonic",
        'get_weather(location="Paris")\nsearch_web(query="vLLM release notes")',
        calls=[("get_weather", {"location": "Paris"}), ("search_web", {"query": "vLLM release notes"})],
    ),
    V("granite_pythonic", "list_files()", calls=[("list_files", {})]),
    V(
        "granite_pythonic",
        "I don't need to call any tools to answer this.",
        text="I don't need to call any tools to answer this.",
    ),
    V(
        "granite_pythonic",
        'Sure, let me check the weather.\nget_weather(location="London")',
        calls=[("get_weather", {"location": "London"})],
        text="Sure, let me check the weather.",
    ),
    V(
        "granite_pythonic",
        'get_weather(location="Berlin")\n',
        calls=[("get_weather", {"location": "Berlin"})],
    ),
    V("granite_pythonic", "Hello, how can I help you today?\n", text="Hello, how can I help you today?\n"),
    # -- Qwen2.5-Coder: <tools> blocks (vLLM test_qwen2_5_coder_tool_parser.py) ----------------------
    V(
        "qwen2_5_coder",
        "This is a regular response without any tool calls.",
        text="This is a regular response without any tool calls.",
    ),
    V(
        "qwen2_5_coder",
        '<tools>{"name": "get_weather", "arguments": {"city": "Tokyo"}}</tools>',
        calls=[TOKYO],
    ),
    V(
        "qwen2_5_coder",
        '<tools>{"name": "get_weather", "arguments": {"city": "Tokyo"}}</tools><tools>{"name": "get_time", '
        '"arguments": {"timezone": "Asia/Tokyo"}}</tools>',
        calls=[TOKYO, TOKYO_TIME],
    ),
    V(
        "qwen2_5_coder",
        '<tools>{"name": "test_function", "arguments": ' + TYPES_JSON_LINE_NO_EMPTY + "}</tools>",
        calls=[("test_function", {k: v for k, v in TYPES.items() if not k.startswith("empty")})],
    ),
    V("qwen2_5_coder", '<tools>{"name": "refresh", "arguments": {}}</tools>', calls=[("refresh", {})]),
    V(
        "qwen2_5_coder",
        'Let me check the weather for you.\n\n<tools>{"name": "get_weather", "arguments": {"city": "Tokyo"}}'
        "</tools>\n\nI will get that information.",
        calls=[TOKYO],
        text="Let me check the weather for you.\n\n\n\nI will get that information.",
    ),
    V(
        "qwen2_5_coder",
        '<tools>{"name": "test_function", "arguments": {"quoted": "He said \\"hello\\"", "path": '
        '"C:\\\\Users\\\\file.txt", "newline": "line1\\nline2"}}</tools>',
        calls=[
            (
                "test_function",
                {"quoted": 'He said "hello"', "path": "C:\\Users\\file.txt", "newline": "line1\nline2"},
            )
        ],
    ),
    V(
        "qwen2_5_coder",
        "<tools>not valid json</tools>",
        text="<tools>not valid json</tools>",
        prose=True,
        differs="<tools> also appears in prose about the tool list; it opens calls only when JSON follows",
    ),
    V("qwen2_5_coder", '<tools>{"name": "no_close",', bad=["cut off"]),
    V("qwen2_5_coder", "<tools></tools>", text=""),
    V(
        "qwen2_5_coder",
        'Hello <tools>{"name": "f", "arguments": {}}</tools>',
        calls=[("f", {})],
        text="Hello ",
    ),
    V(
        "qwen2_5_coder",
        '<tools>{"name": "foo", "arguments": {"a": 1}}</tools> Done!',
        calls=[("foo", {"a": 1})],
        text="Done!",
        differs=KEEPS_TEXT,
    ),
    # (vLLM test_qwen25_coder_tool_parser.py: the same format with newlines inside <tools>)
    V(
        "qwen2_5_coder",
        '<tools>\n{"name": "get_current_weather", "arguments": {"location": "San Francisco, CA", "unit": "celsius"}}\n'
        "</tools>",
        calls=[("get_current_weather", {"location": "San Francisco, CA", "unit": "celsius"})],
    ),
    V(
        "qwen2_5_coder",
        'Let me check the weather for you.\n<tools>\n{"name": "get_current_weather", "arguments": {"location": '
        '"Tokyo, Japan"}}\n</tools>',
        calls=[("get_current_weather", {"location": "Tokyo, Japan"})],
        text="Let me check the weather for you.\n",
        differs=TRAILING_SPACE,
    ),
    V(
        "qwen2_5_coder",
        '<tools>\n[\n    {"name": "get_current_weather", "arguments": {"location": "Paris, France"}},\n'
        '    {"name": "search_web", "arguments": {"query": "Paris attractions", "num_results": 5}}\n]\n</tools>',
        calls=[
            ("get_current_weather", {"location": "Paris, France"}),
            ("search_web", {"query": "Paris attractions", "num_results": 5}),
        ],
    ),
    V(
        "qwen2_5_coder",
        '<tools>\n{"name": "get_current_weather", "arguments": {"location": "London, UK"}}\n</tools>\n<tools>\n'
        '{"name": "search_web", "arguments": {"query": "London events"}}\n</tools>',
        calls=[
            ("get_current_weather", {"location": "London, UK"}),
            ("search_web", {"query": "London events"}),
        ],
    ),
    V(
        "qwen2_5_coder",
        '<tools>\n{"name": "get_current_weather", "parameters": {"location": "Berlin, Germany"}}\n</tools>',
        calls=[("get_current_weather", {"location": "Berlin, Germany"})],
    ),
    V(
        "qwen2_5_coder",
        '<tools>\n{"name": "complex_function", "arguments": {"config": {"nested": {"deep": true}}, "items": [1, 2, '
        '{"key": "value"}]}}\n</tools>',
        calls=[
            ("complex_function", {"config": {"nested": {"deep": True}}, "items": [1, 2, {"key": "value"}]})
        ],
    ),
    V(
        "qwen2_5_coder",
        '<tools>\n{"name": "no_args_function", "arguments": {}}\n</tools>',
        calls=[("no_args_function", {})],
    ),
    V(
        "qwen2_5_coder",
        '<tools>\n{"name": "broken", "arguments": {invalid json\n</tools>',
        bad=["invalid JSON"],
        differs="vLLM gives the text back; here it is a malformed call the model is told about",
    ),
    V(
        "qwen2_5_coder",
        '<tools>\n{"name": "get_current_weather", "arguments": {"location": "NYC"}}\n</tools>',
        calls=[("get_current_weather", {"location": "NYC"})],
    ),
    V(
        "qwen2_5_coder",
        'Let me check that for you.\n<tools>\n{"name": "get_current_weather", "arguments": {"location": "LA"}}\n'
        "</tools>",
        calls=[("get_current_weather", {"location": "LA"})],
        text="Let me check that for you.\n",
    ),
    V("qwen2_5_coder", '<tools>\n{"name": "test", "arguments": {}}', calls=[("test", {})]),
    V(
        "qwen2_5_coder",
        '<tools>\n\n  {  "name"  :  "get_current_weather"  ,  "arguments"  :  {  "location"  :  "Chicago"  }  }'
        "\n\n</tools>",
        calls=[("get_current_weather", {"location": "Chicago"})],
    ),
    V(
        "qwen2_5_coder",
        '<tools>\n{"name": "search_web", "arguments": {"query": "What\'s the weather? <tag> & stuff"}}\n</tools>',
        calls=[("search_web", {"query": "What's the weather? <tag> & stuff"})],
    ),
    V(
        "qwen2_5_coder",
        '<tools>{"name": "func1", "arguments": {"a": 1}}</tools>',
        calls=[("func1", {"a": 1})],
    ),
    V(
        "qwen2_5_coder",
        '<tools>{"name": "func2", "parameters": {"b": "test"}}</tools>',
        calls=[("func2", {"b": "test"})],
    ),
    V("qwen2_5_coder", '<tools>\n{"name": "func3", "arguments": {}}\n</tools>', calls=[("func3", {})]),
    # -- Kimi K3 XTML (vLLM test_kimi_k3_tool_parser.py and the parser's documented format) ----------
    V("kimi_k3", "Hello<|close|>message<|sep|>", text="Hello"),
    V("kimi_k3", "<|open|>response<|sep|>Hello<|close|>response<|sep|><|close|>message<|sep|>", text="Hello"),
    V(
        "kimi_k3",
        '<|open|>response<|sep|>Let me run it.<|close|>response<|sep|><|open|>tools<|sep|><|open|>call tool="python" '
        'index="1"<|sep|><|open|>argument key="code" type="string"<|sep|>print(1)<|close|>argument<|sep|><|open|>argument key="opts" '
        'type="object"<|sep|>{"a":1}<|close|>argument<|sep|><|close|>call<|sep|><|close|>tools<|sep|><|close|>message<|sep|>',
        calls=[("python", {"code": "print(1)", "opts": {"a": 1}})],
        text="Let me run it.",
    ),
    # -- Cohere Command A / R7B (vLLM test_cohere_command_tool_parser.py) ----------------------------
    V(
        "command_r7b",
        "<|START_THINKING|> i will call foo with query1<|END_THINKING|><|START_ACTION|>\n[\n    "
        '{"tool_call_id": "0", "tool_name": "foo", "parameters": {"query": "query1"}}\n]\n<|END_ACTION|>',
        calls=[("foo", {"query": "query1"})],
        reasoning="i will call foo with query1",
        ids=["0"],
    ),
    V(
        "command_r7b",
        "<|START_THINKING|>This is a rainbow <co>emoji: 🌈</co: 0:[1]><|END_THINKING|>\n<|START_RESPONSE|>foo "
        "<co>bar</co: 0:[1,2],1:[3,4]><|END_RESPONSE|>",
        reasoning="This is a rainbow emoji: 🌈",
        text="foo bar",
    ),
    V(
        "command_r7b",
        '<|START_THINKING|>first I think about foo<|END_THINKING|><|START_ACTION|>\n[\n    {"tool_call_id": "0", '
        '"tool_name": "foo", "parameters": {"query": "query1"}},\n    {"tool_call_id": "1", "tool_name": "bar", "parameters": '
        '{"x": 42}}\n]\n<|END_ACTION|>',
        calls=[("foo", {"query": "query1"}), ("bar", {"x": 42})],
        reasoning="first I think about foo",
        ids=["0", "1"],
    ),
    V(
        "command_r7b",
        "<|START_THINKING|>just think, no response<|END_THINKING|>",
        reasoning="just think, no response",
    ),
    # -- MiMo-V2-Flash: Qwen3-Coder markup (vLLM test_mimov2_flash_tool_parser.py) -----------------------
    V(
        "mimo",
        "Here is the result:\n<tool_call>\n<function=execute_bash>\n<parameter=command>pwd && ls</parameter>\n"
        "</function>\n</tool_call>",
        calls=[("execute_bash", {"command": "pwd && ls"})],
        text="Here is the result:\n",
        differs=TRAILING_SPACE,
    ),
    V(
        "mimo",
        "Here is the result:\n<tool_call>\n<function=execute_bash>\n<parameter=command>pwd</parameter>\n</function>\n"
        "</tool_call>\n<tool_call>\n<parameter=command>ls -la</parameter>\n<function=list_files>\n</function>\n"
        "</tool_call>",
        calls=[("execute_bash", {"command": "pwd"}), ("list_files", {"command": "ls -la"})],
        text="Here is the result:\n",
        differs=TRAILING_SPACE,
    ),
    V(
        "mimo",
        "<tool_call>\n<function=execute_code>\n<parameter=language>python</parameter>\n"
        '<parameter=code>print("hello")</parameter>\n</function>\n</tool_call>',
        calls=[("execute_code", {"language": "python", "code": 'print("hello")'})],
    ),
    V(
        "mimo",
        "This is just regular text without any tool calls.",
        text="This is just regular text without any tool calls.",
    ),
    V(
        "mimo",
        "Let me execute that command for you.\n<tool_call>\n<function=execute_bash>\n"
        "<parameter=command>echo hello</parameter>\n</function>\n</tool_call>",
        calls=[("execute_bash", {"command": "echo hello"})],
        text="Let me execute that command for you.\n",
        differs=TRAILING_SPACE,
    ),
    V("mimo", "<tool_call>\n<function=noop>\n</function>\n</tool_call>", calls=[("noop", {})]),
    V(
        "mimo",
        "<tool_call>\n<function=example_function_name>\n<parameter=example_parameter_1>value_1</parameter>\n"
        "<parameter=example_parameter_2>This is the value for the second parameter\nthat can span\n"
        "multiple lines</parameter>\n</function>\n</tool_call>",
        calls=[
            (
                "example_function_name",
                {
                    "example_parameter_1": "value_1",
                    "example_parameter_2": "This is the value for the second parameter\nthat can span\nmultiple lines",
                },
            )
        ],
    ),
    V(
        "mimo",
        "Hello <tool_call>\n<function=execute_bash>\n<parameter=command>ls</parameter>\n</function>\n</tool_call>",
        calls=[("execute_bash", {"command": "ls"})],
        text="Hello ",
    ),
    V(
        "mimo",
        "Say hello <tool_call>\n<function=greet>\n</function>",
        calls=[("greet", {})],
        text="Say hello ",
    ),
    V(
        "mimo",
        "<tool_call>\n<function=test>\n<parameter=arg1>value1</parameter>\n</function>\n</tool_call>",
        calls=[("test", {"arg1": "value1"})],
    ),
    # -- Intern-S1: InternLM2 markup (vLLM test_intern_s1_tool_parser.py) ----------------------------------
    V(
        "intern_s1",
        '<|action_start|> <|plugin|>\n{"name": "get_weather", "parameters": {"city": "Tokyo"}}\n<|action_end|>',
        calls=[TOKYO],
    ),
    V(
        "intern_s1",
        '<|action_start|><|plugin|>{"name": "get_weather", "parameters": {"city": "Tokyo"}}<|action_end|>\n'
        '<|action_start|><|plugin|>{"name": "get_time", "parameters": {"timezone": "Asia/Tokyo"}}<|action_end|>\n'
        "Visible answer.",
        calls=[TOKYO, TOKYO_TIME],
        text="Visible answer.",
    ),
    V(
        "intern_s1",
        '<|action_start|><|plugin|>{"name": "get_weather", "parameters": {<|action_end|>',
        bad=["invalid JSON"],
        differs="vLLM gives the text back; a call-shaped block is never dropped here",
    ),
    # -- Solar Open 2 (vLLM test_solar_open2_tool_parser.py; the schema-typed cases are not reproduced) ------
    V("solar_open2", "This is a regular response.", text="This is a regular response."),
    V("solar_open2", SOLAR_SEOUL, calls=[SEOUL]),
    V(
        "solar_open2",
        "Let me check the weather." + SOLAR_SEOUL,
        calls=[SEOUL],
        text="Let me check the weather.",
    ),
    V(
        "solar_open2",
        "I'll check both." + SOLAR_SEOUL + "\n" + SOLAR_SEOUL.replace("Seoul", "Tokyo"),
        calls=[SEOUL, TOKYO],
        text="I'll check both.",
    ),
    V(
        "solar_open2",
        "<|tool_call:start|>search\n<|tool_arg:start|>query<|tool_arg:value|>vLLM tutorial<|tool_arg:end|>\n"
        "<|tool_arg:start|>max_results<|tool_arg:value|>5<|tool_arg:end|>\n<|tool_call:end|>",
        calls=[("search", {"query": "vLLM tutorial", "max_results": 5})],
        differs=UNTYPED,
    ),
    V("solar_open2", "<|tool_call:start|>get_time\n<|tool_call:end|>", calls=[("get_time", {})]),
    V(
        "solar_open2",
        '<|tool_call:start|>process_data\n<|tool_arg:start|>data<|tool_arg:value|>{"key": "value"}<|tool_arg:end|>\n'
        "<|tool_call:end|>",
        calls=[("process_data", {"data": {"key": "value"}})],
        differs=UNTYPED,
    ),
    V(
        "solar_open2",
        "<|think:start|>I should use a tool<|think:end|>Sure, let me help." + SOLAR_SEOUL,
        calls=[SEOUL],
        reasoning="I should use a tool",
        text="Sure, let me help.",
        differs="vLLM returns the <|think:start|> block as content; here it is reasoning",
    ),
    V("solar_open2", "  \n\n" + SOLAR_SEOUL, calls=[SEOUL]),
    V("solar_open2", "pre" + SOLAR_SEOUL + "post", calls=[SEOUL], text="prepost", differs=KEEPS_TEXT),
    V(
        "solar_open2",
        "Let me check.<|tool_call:start|>search\n<|tool_arg:start|>query<|tool_arg:value|>Seo",
        text="Let me check.",
        bad=["cut off"],
        differs="vLLM gives the text back; an unclosed call is reported as cut off here",
    ),
    V(
        "solar_open2",
        "Writing the file.<|tool_call:start|>write_file\n<|tool_arg:start|>path<|tool_arg:value|>/tmp/a.py"
        "<|tool_arg:end|>\n<|tool_arg:start|>content<|tool_arg:value|>"
        + "".join(f"line {i}\n" for i in range(200)),
        text="Writing the file.",
        bad=["cut off"],
        differs="vLLM gives the text back; an unclosed call is reported as cut off here",
    ),
    V(
        "solar_open2",
        "<|tool_call:start|>broken\n<|tool_arg:start|>a<|tool_arg:value|>oops<|tool_call:end|>" + SOLAR_SEOUL,
        calls=[SEOUL],
        bad=["<|tool_arg:end|>"],
        differs=SOLAR_NO_ARG_END,
    ),
    V(
        "solar_open2",
        "<|tool_call:start|>search\n<|tool_arg:start|>query<|tool_arg:value|>vLLM<|tool_arg:end|>\n"
        + SOLAR_SEOUL,
        calls=[("search", {"query": "vLLM"}), SEOUL],
    ),
    V(
        "solar_open2",
        "<|tool_call:start|>search\n<|tool_arg:start|>query<|tool_arg:value|>vLLM" + SOLAR_SEOUL,
        calls=[SEOUL],
        bad=["<|tool_arg:end|>"],
        differs=SOLAR_NO_ARG_END,
    ),
    V(
        "solar_open2",
        "<|tool_call:start|>get_weat" + SOLAR_SEOUL,
        calls=[SEOUL],
        bad=["followed by a newline"],
        differs=SOLAR_NO_NAME_LINE,
    ),
    V(
        "solar_open2",
        "Hmm. <|tool_call:start|>oops" + SOLAR_SEOUL,
        calls=[SEOUL],
        text="Hmm. ",
        bad=["followed by a newline"],
        differs=SOLAR_NO_NAME_LINE,
    ),
    V(
        "solar_open2",
        "<|tool_call:start|>oops<|tool_call:end|>" + SOLAR_SEOUL,
        calls=[SEOUL],
        bad=["followed by a newline"],
        differs=SOLAR_NO_NAME_LINE,
    ),
    V(
        "solar_open2",
        "<|tool_call:start|>\n<|tool_arg:start|>city<|tool_arg:value|>Seoul<|tool_arg:end|>\n<|tool_call:end|>",
        bad=["function name"],
        differs="vLLM reads an empty function name; here the call is malformed",
    ),
    V(
        "solar_open2",
        "<|tool_call:start|>get_time\n<|tool_arg:start|>ci<|tool_call:end|>" + SOLAR_SEOUL,
        calls=[SEOUL],
        bad=["<|tool_arg:value|>"],
        differs=SOLAR_NO_VALUE,
    ),
    V(
        "solar_open2",
        "<|tool_call:start|>get_time\n<|tool_arg:start|>ci" + SOLAR_SEOUL,
        calls=[SEOUL],
        bad=["<|tool_arg:value|>"],
        differs=SOLAR_NO_VALUE,
    ),
    V(
        "solar_open2",
        "<|tool_call:start|>get_weather\n<|tool_arg:start|>ci<|tool_arg:start|>city<|tool_arg:value|>Seoul"
        "<|tool_arg:end|>\n<|tool_call:end|>",
        bad=["<|tool_arg:value|>"],
        differs=SOLAR_NO_VALUE,
    ),
    V(
        "solar_open2",
        "<|tool_call:start|>get_time\n<|tool_arg:start|><|tool_call:end|>" + SOLAR_SEOUL,
        calls=[SEOUL],
        bad=["<|tool_arg:value|>"],
        differs=SOLAR_NO_VALUE,
    ),
    V(
        "solar_open2",
        "<|tool_call:start|>search\n<|tool_arg:start|>query<|tool_arg:value|>what does <|tool_call: mean"
        "<|tool_arg:end|>\n<|tool_call:end|>",
        calls=[("search", {"query": "what does <|tool_call: mean"})],
    ),
    V(
        "solar_open2",
        "<|tool_call:start|>search\n<|tool_arg:start|>query<|tool_arg:value|>first<|tool_arg:end|>\n"
        "<|tool_arg:start|>query<|tool_arg:value|>second<|tool_arg:end|>\n<|tool_call:end|>",
        bad=["given twice"],
        differs="vLLM keeps the first of two values for one argument; which one was meant is not clear, and "
        "the model is told",
    ),
    V("solar_open2", "\n" + SOLAR_SEOUL, calls=[SEOUL]),
    V("solar_open2", "Let me check.\n" + SOLAR_SEOUL, calls=[SEOUL], text="Let me check.\n"),
    V(
        "solar_open2",
        SOLAR_SEOUL + "After the call.",
        calls=[SEOUL],
        text="After the call.",
        differs=KEEPS_TEXT,
    ),
    V(
        "solar_open2",
        "pre" + SOLAR_SEOUL + "mid" + SOLAR_SEOUL + "post",
        calls=[SEOUL, SEOUL],
        text="premidpost",
        differs=KEEPS_TEXT,
    ),
    V("solar_open2", SOLAR_SEOUL + "\n\n" + SOLAR_SEOUL, calls=[SEOUL, SEOUL]),
    V("solar_open2", SOLAR_SEOUL + SOLAR_SEOUL, calls=[SEOUL, SEOUL]),
    V(
        "solar_open2",
        "<|tool_call:start|>do_all_types\n<|tool_arg:start|>i<|tool_arg:value|>42<|tool_arg:end|>\n"
        "<|tool_arg:start|>n<|tool_arg:value|>7.0<|tool_arg:end|>\n<|tool_arg:start|>b<|tool_arg:value|>true"
        "<|tool_arg:end|>\n<|tool_arg:start|>arr<|tool_arg:value|>[1, 2]<|tool_arg:end|>\n"
        '<|tool_arg:start|>obj<|tool_arg:value|>{"k": "v"}<|tool_arg:end|>\n'
        "<|tool_arg:start|>s<|tool_arg:value|>hello<|tool_arg:end|>\n<|tool_call:end|>",
        calls=[
            ("do_all_types", {"i": 42, "n": 7.0, "b": True, "arr": [1, 2], "obj": {"k": "v"}, "s": "hello"})
        ],
    ),
    V("solar_open2", "see <|to", text="see <|to"),
    V("solar_open2", "Hello world.\n\n", text="Hello world.\n\n"),
    # -- GigaChat 3.5: DSML markup with a GCML prefix (vLLM test_gigachat35_tool_parser.py) ------------------
    V("gigachat35", "Plain answer without a tool call.", text="Plain answer without a tool call."),
    V("gigachat35", gcml(("get_weather", [("city", "Tokyo", True)])), calls=[TOKYO]),
    V(
        "gigachat35",
        gcml(("get_weather", [("city", "Tokyo", True)]), ("get_time", [("timezone", "Asia/Tokyo", True)])),
        calls=[TOKYO, TOKYO_TIME],
    ),
    V(
        "gigachat35",
        gcml(
            (
                "typed_args",
                [
                    ("string_field", '"hello"', False),
                    ("int_field", "7", False),
                    ("float_field", "3.5", False),
                    ("bool_field", "true", False),
                    ("null_field", "null", False),
                    ("array_field", "[1, 2, 3]", False),
                    ("object_field", '{"nested": true}', False),
                ],
            )
        ),
        calls=[
            (
                "typed_args",
                {
                    "string_field": "hello",
                    "int_field": 7,
                    "float_field": 3.5,
                    "bool_field": True,
                    "null_field": None,
                    "array_field": [1, 2, 3],
                    "object_field": {"nested": True},
                },
            )
        ],
    ),
    V("gigachat35", gcml(("empty_args", [])), calls=[("empty_args", {})]),
    V(
        "gigachat35",
        "I will check." + gcml(("get_weather", [("city", "Tokyo", True)])),
        calls=[TOKYO],
        text="I will check.",
    ),
    V(
        "gigachat35",
        gcml(("escaped", [("text", 'line 1\\n"quoted"', True)])),
        calls=[("escaped", {"text": 'line 1\\n"quoted"'})],
    ),
    V(
        "gigachat35",
        GC_START + '<｜GCML｜invoke name="broken">',
        bad=["cut off"],
        differs="vLLM gives the text back; an unclosed call is reported as cut off here",
    ),
    V(
        "gigachat35",
        GC_START + '<｜GCML｜parameter name="x">1</｜GCML｜parameter>',
        bad=["cut off"],
        differs="vLLM gives the text back; an unclosed call is reported as cut off here",
    ),
    V(
        "gigachat35",
        GC_START + GC_END,
        bad=["invoke"],
        differs="vLLM finds no call; an empty call block is reported to the model here",
    ),
    V("gigachat35", gcml(("lookup", [("query", "vLLM", True)])), calls=[("lookup", {"query": "vLLM"})]),
    V(
        "gigachat35",
        gcml(("store", [("payload", '{"a": 1}', False)])),
        calls=[("store", {"payload": {"a": 1}})],
    ),
    # -- Nemotron Nano v2 / Nemotron JSON: <TOOLCALL> (vLLM test_nemotron_nano_v2_tool_parser.py and
    # test_nemotron_json_tool_parser.py, which hold the same inputs) -------------------------------------
    V("nemotron_nano_v2", "No tool call here.", text="No tool call here."),
    V(
        "nemotron_nano_v2",
        'Let me check that.<TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Tokyo", "unit": "celsius"}}]'
        "</TOOLCALL>",
        calls=[("get_weather", {"city": "Tokyo", "unit": "celsius"})],
        text="Let me check that.",
    ),
    V(
        "nemotron_json",
        '<TOOLCALL>{"name": "lookup", "arguments": {"query": "vllm"}}</TOOLCALL>',
        calls=[("lookup", {"query": "vllm"})],
    ),
    V(
        "nemotron_json",
        '<TOOLCALL>[{"name": "run_query", "arguments": "{\\"sql\\": \\"select 1\\"}"}]</TOOLCALL>',
        calls=[("run_query", {"sql": "select 1"})],
    ),
    V(
        "nemotron_nano_v2",
        '<TOOLCALL>[{"name": "broken", "arguments": {}</TOOLCALL>',
        bad=["invalid JSON"],
        differs="vLLM gives the text back; a call-shaped block is never dropped here",
    ),
    V(
        "nemotron_json",
        '<TOOLCALL>[{"name": "search", "arguments": {"filters": {"city": "Tokyo"}, "items": [{"name": "rain", '
        '"value": true}]}}]</TOOLCALL>',
        calls=[("search", {"filters": {"city": "Tokyo"}, "items": [{"name": "rain", "value": True}]})],
    ),
    V(
        "nemotron_nano_v2",
        '<think>\nI need the weather for Tokyo.\n</think>\n<TOOLCALL>[{"name": "get_weather", "arguments": '
        '{"city": "Tokyo"}}]</TOOLCALL>',
        calls=[TOKYO],
        reasoning="I need the weather for Tokyo.\n",
        differs="vLLM returns the <think> block as content; here it is reasoning",
    ),
    V(
        "nemotron_json",
        '<TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Tokyo"}}, {"name": "lookup_timezone", '
        '"arguments": {"city": "Tokyo"}}]</TOOLCALL>',
        calls=[TOKYO, ("lookup_timezone", {"city": "Tokyo"})],
    ),
    V(
        "nemotron",
        'Let me check.<TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Tokyo"}}]</TOOLCALL>',
        calls=[TOKYO],
        text="Let me check.",
    ),
    # -- openPangu: LFM2's <|tool_call_start|> tokens around a JSON list (vLLM test_pangu_tool_parser.py and
    # test_openpanguv2_tool_parser.py) ----------------------------------------------------------------------
    V("pangu", "How can I help you today?", text="How can I help you today?"),
    V(
        "pangu",
        '<|tool_call_start|>[{"name": "get_weather", "arguments": {"city": "San Francisco", "metric": "celsius"}}]'
        "<|tool_call_end|>",
        calls=[SF],
    ),
    V(
        "pangu",
        '<|tool_call_start|>[{"name": "get_weather", "arguments": {"city": "San Francisco", "metric": "celsius"}}, '
        '{"name": "register_user", "arguments": {"name": "John Doe", "age": 37, "address": {"city": "San Francisco", '
        '"state": "CA"}, "role": null, "passed_test": true, "aliases": ["John", "Johnny"]}}]<|tool_call_end|>',
        calls=[SF, MORE_TYPES],
    ),
    V(
        "pangu",
        'I will call the tool now. <|tool_call_start|>[{"name": "get_weather", "arguments": {"city": "Boston"}}]'
        "<|tool_call_end|>",
        calls=[("get_weather", {"city": "Boston"})],
        text="I will call the tool now. ",
    ),
    V(
        "pangu",
        '<|tool_call_start|>[{"name": "get_weather", "arguments": {"city": "Seattle"}}]<|tool_call_end|>\nThank you!',
        calls=[("get_weather", {"city": "Seattle"})],
        text="Thank you!",
        differs=KEEPS_TEXT,
    ),
    V(
        "pangu",
        '<|tool_call_start|>[{"name": "complex_tool", "arguments": {"level1": {"level2": {"level3": {"value": 123}}}}}]'
        "<|tool_call_end|>",
        calls=[("complex_tool", {"level1": {"level2": {"level3": {"value": 123}}}})],
    ),
    V(
        "pangu",
        '<|tool_call_start|>[{"name": "get_weather", "arguments": {}}]<|tool_call_end|>',
        calls=[("get_weather", {})],
    ),
    V(
        "pangu",
        '<|tool_call_start|>[{"name": "get_weather", "arguments": {}}, {"name": "register_user", "arguments": '
        '{"name": "John Doe", "age": 37, "address": {"city": "San Francisco", "state": "CA"}, "role": null, '
        '"passed_test": true, "aliases": ["John", "Johnny"]}}]<|tool_call_end|>',
        calls=[("get_weather", {}), MORE_TYPES],
    ),
    V(
        "pangu",
        '<|tool_call_start|>[{"name": "get_weather", "arguments": {"city": "Boston"}}]<|tool_call_end|>\n</answer>',
        calls=[("get_weather", {"city": "Boston"})],
        text="</answer>",
        prose=True,
    ),
    V(
        "pangu",
        '<|tool_call_start|>[{"name": "get_weather","arguments": {"city": "San Francisco", "metric": "celsius"}}, '
        '{"name": "register_user", "arguments": {}}]<|tool_call_end|>',
        calls=[SF, ("register_user", {})],
    ),
    V(
        "pangu",
        'some content\n<|tool_call_start|>\n[{"name": "device_control_a", "arguments": {}}]\n<|tool_call_end|>',
        calls=[("device_control_a", {})],
        text="some content\n",
    ),
    V("openpangu_v2", "Hello, I am an AI assistant.", text="Hello, I am an AI assistant."),
    V(
        "openpangu_v2",
        'Thought: I need to check weather.<|tool_call_start|>[{"name": "get_weather", "arguments": {"city": "Beijing"}}]'
        "<|tool_call_end|>",
        calls=[("get_weather", {"city": "Beijing"})],
        text="Thought: I need to check weather.",
    ),
    V(
        "openpangu_v2",
        'Let me help you.<|tool_call_start|>[{"name": "get_weather", "arguments": {"city": "Beijing"}}, {"name": '
        '"search", "arguments": {"query": "weather forecast"}}]<|tool_call_end|>',
        calls=[("get_weather", {"city": "Beijing"}), ("search", {"query": "weather forecast"})],
        text="Let me help you.",
    ),
    V(
        "openpangu_v2",
        'Thought: I need to check weather.<|tool_call_start|>{"name": "get_weather", "arguments": {"city": "Beijing"}}'
        "<|tool_call_end|>",
        calls=[("get_weather", {"city": "Beijing"})],
        text="Thought: I need to check weather.",
        differs="vLLM wants a list and gives the text back; a single call object is read here, as LFM2's is",
    ),
    V(
        "openpangu_v2",
        '<|tool_call_start|>[{"name": "send_email", "arguments": {"user": "ALAN"}}<|tool_call_end|>',
        bad=["JSON"],
        differs="vLLM gives the text back; a call-shaped block is never dropped here",
    ),
    V(
        "openpangu_v2",
        '<|tool_call_start|>[{"name":: "error"}]<|tool_call_end|>',
        bad=["JSON"],
        differs="vLLM gives the text back; a call-shaped block is never dropped here",
    ),
    V(
        "openpangu_v2",
        '<|tool_call_start|>[{"name": "incomplete"}',
        bad=["cut off"],
        differs="vLLM gives the text back; an unfinished call is reported as cut off here",
    ),
    V(
        "openpangu_v2",
        '<|tool_call_start|>[{"name": "get_weather", "arguments": {}} ]<|tool_call_end|>',
        calls=[("get_weather", {})],
    ),
    # -- IQuest-Coder: Qwen3-Coder markup (vLLM test_iquest_coder_tool_parser.py) -----------------------------
    V(
        "iquest_coder",
        "<tool_call>\n<function=get_current_weather>\n<parameter=city>\nDallas\n</parameter>\n<parameter=state>\nTX\n"
        "</parameter>\n<parameter=unit>\nfahrenheit\n</parameter>\n</function>\n</tool_call>\n<tool_call>\n"
        "<function=get_current_weather>\n<parameter=city>\nOrlando\n</parameter>\n<parameter=state>\nFL\n"
        "</parameter>\n<parameter=unit>\ncelsius\n</parameter>\n</function>\n</tool_call>",
        calls=[DALLAS, ("get_current_weather", {"city": "Orlando", "state": "FL", "unit": "celsius"})],
    ),
    V(
        "iquest_coder",
        "Let me check the weather.<tool_call>\n<function=get_current_weather>\n<parameter=city>\nDallas\n</parameter>\n"
        "<parameter=state>\nTX\n</parameter>\n<parameter=unit>\nfahrenheit\n</parameter>\n</function>\n</tool_call>",
        calls=[DALLAS],
        text="Let me check the weather.",
    ),
    V(
        "iquest_coder",
        "<tool_call>\n<function=shell_command>\n<parameter=command>\napt-get update\n</parameter>\n"
        "<parameter=timeout_ms>\n300000\n</parameter>\n</function>\n</tool_call>",
        calls=[("shell_command", {"command": "apt-get update", "timeout_ms": 300000})],
    ),
    V(
        "iquest_coder",
        "<tool_call>\n<function=shell_command>\n<parameter=command>\n12345\n</parameter>\n</function>\n</tool_call>",
        calls=[("shell_command", {"command": 12345})],
        differs=UNTYPED,
    ),
    V(
        "iquest_coder",
        "<tool_call>\n<function=do_it>\n<parameter=text>\nhello\n</parameter>\n<parameter=count>\n42\n</parameter>\n"
        "<parameter=ratio>\n3.14\n</parameter>\n<parameter=flag>\ntrue\n</parameter>\n<parameter=tags>\n"
        '["a", "b"]\n</parameter>\n<parameter=opts>\n{"k": 1, "nested": [1, 2, 3]}\n</parameter>\n'
        "<parameter=numeric_str>\n007\n</parameter>\n</function>\n</tool_call>",
        calls=[
            (
                "do_it",
                {
                    "text": "hello",
                    "count": 42,
                    "ratio": 3.14,
                    "flag": True,
                    "tags": ["a", "b"],
                    "opts": {"k": 1, "nested": [1, 2, 3]},
                    "numeric_str": "007",
                },
            )
        ],
    ),
    # -- dots: MiniMax-M2's <invoke> elements in <dots_function_call> (vLLM test_dots_tool_parser.py) --------
    V(
        "dots",
        "ok"
        + dots(
            dots_invoke("set_location", location='{"city": "Shanghai"}', days="3", include_weather="true")
        ),
        calls=[("set_location", {"location": {"city": "Shanghai"}, "days": 3, "include_weather": True})],
        text="ok",
    ),
    V(
        "dots",
        dots(dots_invoke("search", query="chairs") + dots_invoke("open", id="7"))
        + dots('{"name":"search","arguments":{"query":"tables"}}'),
        calls=[("search", {"query": "chairs"}), ("open", {"id": 7}), ("search", {"query": "tables"})],
    ),
    V(
        "dots",
        dots(dots_invoke("ghost", query="chairs")),
        calls=[("ghost", {"query": "chairs"})],
        differs=UNKNOWN_TOOL,
    ),
    V(
        "dots",
        "visible" + dots(dots_invoke("search", query="chairs"), dots_invoke("search", query="tables")),
        calls=[("search", {"query": "chairs"}), ("search", {"query": "tables"})],
        text="visible",
    ),
    V(
        "dots",
        dots("garbage", dots_invoke("search", query="chairs")),
        calls=[("search", {"query": "chairs"})],
        bad=["invoke"],
        differs="vLLM shows an unreadable call block as text; here it is a malformed call",
    ),
    V("dots", "some text </dots_function_call>", text="some text "),
    V("dots", "answer <dots_func", text="answer <dots_func"),
    V(
        "dots",
        dots('{"name":"search","arguments":{"query":"chairs"}}'),
        calls=[("search", {"query": "chairs"})],
    ),
    V("dots", dots(dots_invoke("search", query="table")), calls=[("search", {"query": "table"})]),
    # -- IQuest-Coder V2: GLM's <arg_key> pairs in <iquestcoder_tool_call> (vLLM
    # test_iquest_coder_v2_tool_parser.py) -----------------------------------------------------------------
    V(
        "iquest_coder_v2",
        "Just a plain assistant reply with no tool call.",
        text="Just a plain assistant reply with no tool call.",
    ),
    V(
        "iquest_coder_v2",
        iq("get_current_weather", ("city", "Dallas"), ("state", "TX"), ("days", "3")),
        calls=[("get_current_weather", {"city": "Dallas", "state": "TX", "days": 3})],
    ),
    V(
        "iquest_coder_v2",
        iq("get_current_weather", ("city", "12345")),
        calls=[("get_current_weather", {"city": 12345})],
        differs=UNTYPED,
    ),
    V("iquest_coder_v2", iq("get_current_weather"), calls=[("get_current_weather", {})]),
    V(
        "iquest_coder_v2",
        "Let me look that up for you.\n" + iq("get_current_weather", ("city", "Dallas")),
        calls=[("get_current_weather", {"city": "Dallas"})],
        text="Let me look that up for you.\n",
    ),
    V(
        "iquest_coder_v2",
        iq("get_current_weather", ("city", "Dallas")) + iq("get_current_weather", ("city", "Orlando")),
        calls=[("get_current_weather", {"city": "Dallas"}), ("get_current_weather", {"city": "Orlando"})],
    ),
    V(
        "iquest_coder_v2",
        f"{IQ_START}get_current_weather\n<arg_key>city</arg_key>\n<arg_value>Dallas</arg_value>\n{IQ_END}",
        calls=[("get_current_weather", {"city": "Dallas"})],
    ),
    V(
        "iquest_coder_v2",
        f"{IQ_START}get_current_weather<arg_key>city</arg_key><arg_value>Dallas{IQ_END}",
        bad=["not closed"],
        differs="vLLM drops the call; here it is malformed, so the model can write it again",
    ),
    V(
        "iquest_coder_v2",
        "Checking the weather." + iq("get_current_weather", ("city", "Dallas")),
        calls=[("get_current_weather", {"city": "Dallas"})],
        text="Checking the weather.",
    ),
    # -- PLaMo 3: <|plamo:...|> tool requests (vLLM test_plamo3_tool_parser.py) -----------------------------
    V("plamo3", "Regular response", text="Regular response"),
    V("plamo3", f"Regular response{PLAMO_EOT}ignored", text="Regular response"),
    V(
        "plamo3",
        "Answer<|plamo:begin_",
        text="Answer<|plamo:begin_",
        differs="vLLM removes an unfinished tag at the very end of the reply; the text is kept as written here",
    ),
    V(
        "plamo3",
        "Checking the weather." + plamo_requests(plamo_call("get_weather", '{"city": "Tokyo"}')),
        calls=[TOKYO],
        text="Checking the weather.",
    ),
    V(
        "plamo3",
        plamo_requests(plamo_call("echo", '{"text": "hi"}'), plamo_call("sum", '{"a": 1, "b": 2}')),
        calls=[("echo", {"text": "hi"}), ("sum", {"a": 1, "b": 2})],
    ),
    *(
        V(
            "plamo3",
            "Before tools." + PLAMO_REQS + unfinished,
            text="Before tools.",
            bad=["cut off"],
            differs="vLLM drops an unfinished request; here it is reported as cut off",
        )
        for unfinished in (
            "",
            PLAMO_REQ,
            PLAMO_REQ + PLAMO_NAME + "broken",
            PLAMO_NAMED,
            PLAMO_ARGS_OPEN,
        )
    ),
    *(
        V(
            "plamo3",
            "Before tools." + PLAMO_REQS + complete,
            calls=[("broken", {"a": 1})],
            text="Before tools.",
            differs="vLLM drops a request whose closing tags never came; a complete call is a call here",
        )
        for complete in (PLAMO_ARGS_OPEN + PLAMO_ARGS_END, plamo_call("broken", '{"a": 1}'))
    ),
    V(
        "plamo3",
        "Before tools." + plamo_requests(plamo_call("sum", '{"a": 1}')),
        calls=[("sum", {"a": 1})],
        text="Before tools.",
    ),
    # -- K2 Horizon: IFM <ifm|tool_call> groups (vLLM test_k2_horizon_tool_parser.py) -----------------------
    V(
        "k2_horizon",
        ifm(
            ifm_xml("lookup", [("query", "123"), ("limit", "3")]),
            ifm_xml("ping", []),
            prefix="Before ",
            suffix=" after.",
        ),
        calls=[("lookup", {"query": 123, "limit": 3}), ("ping", {})],
        text="Before  after.",
        differs=UNTYPED,
    ),
    V(
        "k2_horizon",
        ifm(ifm_json("lookup", {"limit": "2"})),
        calls=[("lookup", {"limit": "2"})],
        differs=SCHEMA,
    ),
    V(
        "k2_horizon",
        ifm(ifm_xml("lookup", [("query", "weather"), ("limit", "2")], typed=True)),
        calls=[("lookup", {"query": "weather", "limit": 2})],
    ),
    V(
        "k2_horizon",
        ifm(ifm_json("ping", {})),
        calls=[("ping", {})],
        differs="vLLM reads only the format the request chose (a chat-template argument); all three are read here",
    ),
    V(
        "k2_horizon",
        ifm(ifm_xml("lookup", [("query", "x")], typed=True)),
        calls=[("lookup", {"query": "x"})],
        differs="vLLM reads only the format the request chose (a chat-template argument); all three are read here",
    ),
    V(
        "k2_horizon",
        ifm(ifm_json("lookup", {"enabled": "true"})),
        calls=[("lookup", {"enabled": "true"})],
        differs=SCHEMA,
    ),
    V("k2_horizon", ifm(ifm_json("missing", {})), calls=[("missing", {})], differs=UNKNOWN_TOOL),
    V(
        "k2_horizon",
        "<ifm|tool_calls><ifm|tool_call>ping",
        bad=["cut off"],
        differs="vLLM gives the text back; an unfinished call is reported as cut off here",
    ),
    V(
        "k2_horizon",
        "<ifm|tool_calls><ifm|tool_call>ping</ifm|tool_call>",
        calls=[("ping", {})],
        differs="vLLM gives the text back without </ifm|tool_calls>; a complete call is a call here",
    ),
    V(
        "k2_horizon",
        ifm("junk"),
        calls=[("junk", {})],
        differs=(
            "vLLM gives the text back; here a group's content is a call whose <ifm|tool_call> is missing, as "
            "in Hunyuan 3 (an unknown tool then gets an error result)"
        ),
    ),
    V(
        "k2_horizon",
        ifm(ifm_xml("lookup", [("limit", "2")]), prefix="Before", suffix="after"),
        calls=[("lookup", {"limit": 2})],
        text="Beforeafter",
    ),
    V("k2_horizon", ifm(ifm_xml("ping", []), prefix=" \n", suffix="\t "), calls=[("ping", {})]),
    # -- HyperCLOVA X SEED Think: GLM's <arg_key> pairs, ChatML end of turn (vLLM
    # test_hyperclovax_seed_think_tool_parser.py) -----------------------------------------------------------
    V("hyperclovax_seed_think", "Just a regular response.", text="Just a regular response."),
    V(
        "hyperclovax_seed_think",
        '<tool_call>get_current_weather\n<arg_key>location</arg_key>\n<arg_value>"Seoul"</arg_value>\n'
        '<arg_key>unit</arg_key>\n<arg_value>"celsius"</arg_value>\n</tool_call>',
        calls=[("get_current_weather", {"location": "Seoul", "unit": "celsius"})],
    ),
    V(
        "hyperclovax_seed_think",
        "<tool_call>get_current_weather\n<arg_key>location</arg_key>\n<arg_value>Seoul</arg_value>\n</tool_call>",
        calls=[("get_current_weather", {"location": "Seoul"})],
    ),
    V(
        "hyperclovax_seed_think",
        "I'll check that for you." + HCX_SEOUL,
        calls=[("get_current_weather", {"location": "Seoul"})],
        text="I'll check that for you.",
    ),
    V(
        "hyperclovax_seed_think",
        "thinking aloud</think>\n\nokay, calling:" + HCX_SEOUL,
        calls=[("get_current_weather", {"location": "Seoul"})],
        text="okay, calling:",
        reasoning="thinking aloud",
        prompt="<|im_start|>assistant\n<think>\n",
    ),
    V(
        "hyperclovax_seed_think",
        HCX_SEOUL + "\n" + HCX_SEOUL.replace("Seoul", "Busan"),
        calls=[
            ("get_current_weather", {"location": "Seoul"}),
            ("get_current_weather", {"location": "Busan"}),
        ],
    ),
    V(
        "hyperclovax_seed_think",
        "<tool_call>\n</tool_call>",
        bad=["function name"],
        differs="vLLM gives the text back; a call-shaped block is never dropped here",
    ),
    V(
        "hyperclovax_seed_think",
        '[{"name": "get_current_weather", "parameters": {"location": "Seoul"}}]',
        text='[{"name": "get_current_weather", "parameters": {"location": "Seoul"}}]',
        differs=HCX_BARE_JSON,
    ),
    V(
        "hyperclovax_seed_think",
        '{"name": "get_current_weather", "parameters": {"location": "Busan"}}',
        text='{"name": "get_current_weather", "parameters": {"location": "Busan"}}',
        differs=HCX_BARE_JSON,
    ),
    V("hyperclovax_seed_think", "[not, valid, json", text="[not, valid, json"),
    V(
        "hyperclovax_seed_think",
        "Let me check." + HCX_SEOUL,
        calls=[("get_current_weather", {"location": "Seoul"})],
        text="Let me check.",
    ),
    V("hyperclovax_seed_think", "answer<|im_end|>", text="answer"),
    # -- HyperCLOVA X SEED Think 14B: "-> tool/function_call" and a JSON list (vLLM
    # test_hyperclovax_seed_think_14b_tool_parser.py) -------------------------------------------------------
    V(
        "hyperclovax_seed_think_14b",
        HCX_HEADER + '[{"name": "get_weather", "arguments": {"city": "Seoul"}}]' + HCX_END,
        calls=[("get_weather", {"city": "Seoul"})],
    ),
    V(
        "hyperclovax_seed_think_14b",
        HCX_HEADER + '[{"name": "get_weather", "parameters": {"a": 1}}]' + HCX_END,
        calls=[("get_weather", {"a": 1})],
    ),
    V(
        "hyperclovax_seed_think_14b",
        '[{"name": "get_weather", "parameters": {"city": "Busan"}}]',
        text='[{"name": "get_weather", "parameters": {"city": "Busan"}}]',
        differs="vLLM reads a bare JSON list when the request lists tools (its reasoning parser may strip the "
        "header); without the header it is text here, as parsers here see no tool list",
    ),
    V(
        "hyperclovax_seed_think_14b",
        HCX_HEADER + '[{"name": "a", "arguments": {"x": 1}}, {"name": "b", "arguments": {"y": 2}}]' + HCX_END,
        calls=[("a", {"x": 1}), ("b", {"y": 2})],
    ),
    V(
        "hyperclovax_seed_think_14b",
        '-> tool/get_current_weather\n{"city": "Seoul"}',
        text='-> tool/get_current_weather\n{"city": "Seoul"}',
    ),
    V(
        "hyperclovax_seed_think_14b",
        "I cannot find the weather right now.",
        text="I cannot find the weather right now.",
    ),
)


def _parse_whole(case: V) -> Message:
    parser = get_parser(case.family)
    if case.prompt:
        parser = parser.for_prompt(case.prompt)
    return parser.parse(case.reply)


def _parse_streamed(case: V) -> Message:
    parser = get_parser(case.family)
    if case.prompt:
        parser = parser.for_prompt(case.prompt)
    events = []
    for ch in case.reply:
        events.extend(parser.feed(ch))
    events.extend(parser.finish())
    return assemble_message(events)


def _check(case: V, message: Message) -> None:
    good = [(c.name, c.arguments) for c in message.tool_calls if c.error is None]
    bad = [c for c in message.tool_calls if c.error is not None]
    assert good == case.calls
    assert len(bad) == len(case.bad), [c.error for c in bad]
    for call, fragment in zip(bad, case.bad, strict=True):
        assert fragment in (call.error or ""), call.error
    assert all(call.raw for call in bad)
    assert message.text == case.text
    assert message.reasoning == case.reasoning
    if case.ids is not None:
        assert [c.id for c in message.tool_calls] == case.ids
    for call in message.tool_calls:
        json.dumps(call.arguments, allow_nan=False)  # every argument value is plain JSON


def _markup(family: str) -> set[str]:
    """The markers of a family that must never reach the text (implicit starts and one-character
    markers such as ``[`` are ordinary characters too)."""
    parser = get_parser(family)
    assert isinstance(parser, MarkupParser)
    markers = set(parser.stop_markers)
    for block in parser.blocks:
        if not block.implicit:
            markers.add(block.start)
        markers.update(block.end)
    return {m for m in markers if len(m.strip()) > 2}


def _case_id(case: V, seen: Counter[str] = Counter()) -> str:  # noqa: B006  (numbering across calls)
    seen[case.family] += 1
    return f"{case.family}-{seen[case.family]}"


IDS = [_case_id(case) for case in CASES]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vllm_case_parsed_whole(case: V) -> None:
    _check(case, _parse_whole(case))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vllm_case_streamed_one_character_at_a_time(case: V) -> None:
    _check(case, _parse_streamed(case))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_vllm_case_text_holds_no_markup(case: V) -> None:
    """The expected text (which both runs must produce) carries none of the family's markers."""
    assert case.prose or not [m for m in _markup(case.family) if m in case.text]
