"""Hand-written real outputs per model family: several calls, text around them, nested JSON,
unicode, reasoning, and malformed cases; each also checked one character at a time."""

# ruff: noqa: RUF001, E501  (DeepSeek markers use fullwidth bars; some model outputs stay on one line)
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from hermitcrab.messages import Message, ToolCall
from hermitcrab.prompting import assemble_message, get_parser


@dataclass(frozen=True)
class Case:
    parser: str
    reply: str
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    text: str = ""
    reasoning: str | None = None
    malformed: list[str] = field(default_factory=list)
    """Fragments expected in the errors of malformed calls, in order."""
    ids: list[str] | None = None


def _good(message: Message) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, c.arguments) for c in message.tool_calls if c.error is None]


def _bad(message: Message) -> list[ToolCall]:
    return [c for c in message.tool_calls if c.error is not None]


WEATHER = ("get_weather", {"city": "Paris"})
NESTED = {"filter": {"tags": ["a", "b]"], "range": {"min": -1.5, "max": None}}, "note": "naïve café 東京 🦀"}

NESTED_JSON = json.dumps(NESTED, ensure_ascii=False)

CASES = {
    # -- Hermes / Qwen ---------------------------------------------------------------------------------
    "qwen3-think-two-calls": Case(
        "qwen3",
        "<think>\nTwo things to do.\n</think>\n\nChecking both.\n"
        '<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "search", "arguments": ' + NESTED_JSON + "}\n</tool_call>",
        calls=[WEATHER, ("search", NESTED)],
        text="Checking both.\n",
        reasoning="Two things to do.\n",
    ),
    "hermes-text-after-call-and-malformed": Case(
        "hermes",
        'Sure!\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}\n</tool_call>\nOne moment.',
        text="Sure!\n\nOne moment.",
        malformed=["invalid JSON"],
    ),
    "hermes-2-pro-python-dict": Case(
        "nous",
        "<tool_call>\n{'arguments': {'symbol': 'TSLA', 'limit': -1, 'extended': True}, 'name': 'get_stock'}\n"
        "</tool_call>",
        calls=[("get_stock", {"symbol": "TSLA", "limit": -1, "extended": True})],
    ),
    # -- Qwen3-Coder / Seed-OSS --------------------------------------------------------------------------
    "qwen3-coder-two-functions": Case(
        "qwen3_coder",
        "I'll look that up.\n<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n"
        "</function>\n</tool_call>\n<tool_call>\n<function=write_file>\n<parameter=path>\nsrc/main.py\n"
        "</parameter>\n<parameter=content>\ndef main():\n    print('héllo <b>')\n</parameter>\n"
        '<parameter=mode>\n420\n</parameter>\n<parameter=opts>\n{"force": true}\n</parameter>\n</function>\n'
        "</tool_call>",
        calls=[
            WEATHER,
            (
                "write_file",
                {
                    "path": "src/main.py",
                    "content": "def main():\n    print('héllo <b>')",
                    "mode": 420,
                    "opts": {"force": True},
                },
            ),
        ],
        text="I'll look that up.\n",
    ),
    "qwen3-coder-unclosed-function": Case(
        "qwen3_coder",
        "<tool_call>\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</tool_call>",
        malformed=["not closed"],
    ),
    "seed-oss": Case(
        "seed_oss",
        "<seed:think>User wants weather.</seed:think>Let me check.<seed:tool_call>\n<function=get_weather>\n"
        "<parameter=city>Paris</parameter>\n</function>\n</seed:tool_call>",
        calls=[WEATHER],
        text="Let me check.",
        reasoning="User wants weather.",
    ),
    # -- Llama 3 JSON --------------------------------------------------------------------------------------
    "llama3-bare-json": Case(
        "llama3_json",
        '{"name": "get_weather", "parameters": {"city": "Paris"}}',
        calls=[WEATHER],
    ),
    "llama3-python-tag-two-calls": Case(
        "llama3_json",
        '<|python_tag|>{"name": "get_weather", "parameters": {"city": "Paris"}}; '
        '{"name": "search", "parameters": ' + NESTED_JSON + "}<|eom_id|>",
        calls=[WEATHER, ("search", NESTED)],
    ),
    "llama3-inside-text": Case(
        "llama3_json",
        'To answer, I will call {"name": "get_weather", "parameters": {"city": "Paris"}} and then '
        '{"type": "function", "name": "get_time", "parameters": {}} — a config like {"debug": true} stays text.',
        calls=[WEATHER, ("get_time", {})],
        text='To answer, I will call  and then  — a config like {"debug": true} stays text.',
    ),
    "llama3-name-object-without-parameters-is-text": Case(
        "llama3_json",
        'The user is {"name": "Zoë", "age": 7}.',
        text='The user is {"name": "Zoë", "age": 7}.',
    ),
    "llama3-builtin-tool": Case(
        "llama3_json",
        '<|python_tag|>brave_search.call(query="weather in Paris")<|eom_id|>',
        calls=[("brave_search", {"query": "weather in Paris"})],
    ),
    "llama3-truncated": Case(
        "llama3_json",
        'Calling {"name": "get_weather", "parameters": {"city": "Par',
        text="Calling ",
        malformed=["cut off"],
    ),
    # -- pythonic --------------------------------------------------------------------------------------------
    "pythonic-list": Case(
        "pythonic",
        '[get_weather(city="Paris"), search(filter={"tags": ["a", "b]"], "range": {"min": -1.5, "max": None}}, '
        'note="naïve café 東京 🦀")]',
        calls=[WEATHER, ("search", NESTED)],
    ),
    "pythonic-llama4-tags-and-text": Case(
        "llama4",
        "Let me check. <|python_start|>[get_weather(city=\"Paris\"), get_time(tz='UTC', dst=true)]<|python_end|>",
        calls=[WEATHER, ("get_time", {"tz": "UTC", "dst": True})],
        text="Let me check. ",
    ),
    "pythonic-gemma-tool-code": Case(
        "gemma3",
        '```tool_code\n[get_weather(city="Paris")]\n```',
        calls=[WEATHER],
    ),
    "pythonic-positional-args-are-malformed": Case(
        "pythonic",
        '[get_weather("Paris")]',
        malformed=["keyword arguments"],
    ),
    "pythonic-no-eval": Case(
        "pythonic",
        "[run(cmd=__import__('os').system('echo pwned'))]",
        malformed=["literal values"],
    ),
    "pythonic-plain-list-is-text": Case(
        "pythonic",
        "Options: [1, 2, 3] and [a, b].",
        text="Options: [1, 2, 3] and [a, b].",
    ),
    # -- Mistral -----------------------------------------------------------------------------------------------
    "mistral-pre-v11": Case(
        "mistral",
        '[TOOL_CALLS] [{"name": "get_weather", "arguments": {"city": "Paris"}, "id": "a1b2c3d4e"}, '
        '{"name": "search", "arguments": ' + NESTED_JSON + ', "id": "f5g6h7i8j"}]</s>',
        calls=[WEATHER, ("search", NESTED)],
        ids=["a1b2c3d4e", "f5g6h7i8j"],
    ),
    "mistral-v11-with-call-ids": Case(
        "mistral_v11",
        '[TOOL_CALLS]get_weather[CALL_ID]a1b2c3d4e[ARGS]{"city": "Paris"}'
        "[TOOL_CALLS]search[CALL_ID]f5g6h7i8j[ARGS]" + NESTED_JSON,
        calls=[WEATHER, ("search", NESTED)],
        ids=["a1b2c3d4e", "f5g6h7i8j"],
    ),
    "mistral-v11-think-and-text": Case(
        "mistral",
        '[THINK]Need the weather.[/THINK]Checking now.[TOOL_CALLS]get_weather[ARGS]{"city": "Paris"}',
        calls=[WEATHER],
        text="Checking now.",
        reasoning="Need the weather.",
    ),
    "mistral-bad-json": Case(
        "mistral",
        "[TOOL_CALLS]get_weather[ARGS]{'city': 'Paris'}",
        malformed=["invalid JSON"],
    ),
    # -- DeepSeek ----------------------------------------------------------------------------------------------
    "deepseek-r1-no-end-tokens": Case(
        "deepseek_r1",
        "<think>\nThe user wants weather.\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function"
        '<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris"}\n```<｜tool▁call▁end｜>\n<｜tool▁call▁begin｜>'
        "function<｜tool▁sep｜>search\n```json\n" + NESTED_JSON + "\n```",
        calls=[WEATHER, ("search", NESTED)],
        reasoning="The user wants weather.\n",
    ),
    "deepseek-v31": Case(
        "deepseek_v31",
        'Let me check.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"}'
        "<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜>",
        calls=[WEATHER],
        text="Let me check.",
    ),
    "deepseek-truncated-arguments": Case(
        "deepseek_v31",
        '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Pa',
        malformed=["cut off"],
    ),
    "deepseek-v32-dsml": Case(
        "deepseek_v32",
        '<think>plan</think>Sure.\n\n<｜DSML｜function_calls>\n<｜DSML｜invoke name="get_weather">\n'
        '<｜DSML｜parameter name="city" string="true">Paris</｜DSML｜parameter>\n</｜DSML｜invoke>\n'
        '<｜DSML｜invoke name="search">\n<｜DSML｜parameter name="filter" string="false">'
        '{"tags": ["a", "b]"], "range": {"min": -1.5, "max": null}}</｜DSML｜parameter>\n'
        '<｜DSML｜parameter name="note" string="true">naïve café 東京 🦀</｜DSML｜parameter>\n'
        "</｜DSML｜invoke>\n</｜DSML｜function_calls>",
        calls=[WEATHER, ("search", NESTED)],
        text="Sure.\n\n",
        reasoning="plan",
    ),
    # -- harmony -------------------------------------------------------------------------------------------------
    "harmony-analysis-then-call": Case(
        "harmony",
        "<|channel|>analysis<|message|>Need to call get_weather.<|end|><|start|>assistant<|channel|>commentary "
        'to=functions.get_weather <|constrain|>json<|message|>{"city": "Paris"}<|call|>',
        calls=[WEATHER],
        reasoning="Need to call get_weather.",
    ),
    "harmony-final-answer": Case(
        "gpt-oss",
        "<|channel|>analysis<|message|>Simple.<|end|><|start|>assistant<|channel|>final<|message|>"
        "It is 18 °C in Paris.<|return|>",
        text="It is 18 °C in Paris.",
        reasoning="Simple.",
    ),
    "harmony-bad-arguments": Case(
        "harmony",
        "<|channel|>commentary to=functions.get_weather json<|message|>{city: Paris}<|call|>",
        malformed=["invalid JSON"],
    ),
    # -- functools / Granite / others ----------------------------------------------------------------------------
    "phi4-functools": Case(
        "phi4_mini",
        'functools[{"name": "get_weather", "arguments": {"city": "Paris"}}, '
        '{"name": "search", "arguments": ' + NESTED_JSON + "}]",
        calls=[WEATHER, ("search", NESTED)],
    ),
    "phi4-prose-mentioning-functools": Case(
        "phi4_mini",
        "Use functools.partial or import functools.",
        text="Use functools.partial or import functools.",
    ),
    "firefunction": Case(
        "firefunction",
        ' functools[{"name": "get_weather", "arguments": {"city": "Paris"}}]<|eot_id|>',
        calls=[WEATHER],
    ),
    "granite-3": Case(
        "granite",
        '<|tool_call|>[{"name": "get_weather", "arguments": {"city": "Paris"}}, '
        '{"name": "search", "arguments": ' + NESTED_JSON + "}]",
        calls=[WEATHER, ("search", NESTED)],
    ),
    "granite-3-not-json": Case(
        "granite",
        "<|tool_call|>get_weather(city=Paris)",
        malformed=["expected a JSON value"],
        text="get_weather(city=Paris)",
    ),
    "granite-20b-fc": Case(
        "granite_20b_fc",
        '<function_call> {"name": "get_weather", "arguments": {"city": "Paris"}} '
        '<function_call> {"name": "get_time", "arguments": {}}<|endoftext|>',
        calls=[WEATHER, ("get_time", {})],
    ),
    "kimi-k2": Case(
        "kimi_k2",
        "I will check.<|tool_calls_section_begin|><|tool_call_begin|>functions.get_weather:0"
        '<|tool_call_argument_begin|>{"city": "Paris"}<|tool_call_end|><|tool_call_begin|>functions.search:1'
        "<|tool_call_argument_begin|>" + NESTED_JSON + "<|tool_call_end|><|tool_calls_section_end|>",
        calls=[WEATHER, ("search", NESTED)],
        text="I will check.",
        ids=["functions.get_weather:0", "functions.search:1"],
    ),
    "glm4": Case(
        "glm4",
        "<think>Look it up.</think>\n<tool_call>get_weather\n<arg_key>city</arg_key>\n<arg_value>Paris"
        "</arg_value>\n</tool_call><tool_call>search\n<arg_key>filter</arg_key>\n<arg_value>"
        '{"tags": ["a", "b]"], "range": {"min": -1.5, "max": null}}</arg_value>\n<arg_key>note</arg_key>\n'
        "<arg_value>naïve café 東京 🦀</arg_value>\n</tool_call>",
        calls=[WEATHER, ("search", NESTED)],
        reasoning="Look it up.",
    ),
    "minimax-m2": Case(
        "minimax_m2",
        '<think>\nweather\n</think>\n\n<minimax:tool_call>\n<invoke name="get_weather">\n'
        '<parameter name="city">Paris</parameter>\n</invoke>\n</minimax:tool_call>',
        calls=[WEATHER],
        reasoning="weather\n",
    ),
    "minimax-m1-json-lines": Case(
        "minimax_m1",
        '<tool_calls>\n{"name": "get_weather", "arguments": {"city": "Paris"}}\n'
        '{"name": "search", "arguments": ' + NESTED_JSON + "}\n</tool_calls>",
        calls=[WEATHER, ("search", NESTED)],
    ),
    "hunyuan": Case(
        "hunyuan",
        '<think>\nok\n</think>\n<answer>\n<tool_calls>[{"name": "get_weather", "arguments": '
        '{"city": "Paris"}}]</tool_calls>\n</answer>',
        calls=[WEATHER],
        reasoning="ok\n",
    ),
    "nemotron": Case(
        "nemotron",
        '<TOOLCALL>[{"name": "get_weather", "arguments": {"city": "Paris"}}]</TOOLCALL>',
        calls=[WEATHER],
    ),
    "internlm2": Case(
        "internlm2",
        'Checking.<|action_start|><|plugin|>\n{"name": "get_weather", "parameters": {"city": "Paris"}}'
        "<|action_end|>",
        calls=[WEATHER],
        text="Checking.",
    ),
    "xlam": Case(
        "xlam",
        '[{"name": "get_weather", "arguments": {"city": "Paris"}}, {"name": "search", "arguments": '
        + NESTED_JSON
        + "}]",
        calls=[WEATHER, ("search", NESTED)],
    ),
    "apertus": Case(
        "apertus",
        '<|inner_prefix|>Think.<|inner_suffix|><|tools_prefix|>[{"get_weather": {"city": "Paris"}}]'
        "<|tools_suffix|>",
        calls=[WEATHER],
        reasoning="Think.",
    ),
    "command-r7b": Case(
        "command_r7b",
        "<|START_THINKING|>I will look up the weather.<|END_THINKING|><|START_ACTION|>[\n"
        '    {"tool_call_id": "0", "tool_name": "get_weather", "parameters": {"city": "Paris"}}\n'
        "]<|END_ACTION|>",
        calls=[WEATHER],
        reasoning="I will look up the weather.",
        ids=["0"],
    ),
    "command-r-plus": Case(
        "command_r",
        'Action: ```json\n[\n    {\n        "tool_name": "get_weather",\n        "parameters": '
        '{"city": "Paris"}\n    }\n]\n```',
        calls=[WEATHER],
    ),
    "functionary-v31": Case(
        "functionary_v31",
        'Let me check.<function=get_weather>{"city": "Paris"}</function><|eom_id|>',
        calls=[WEATHER],
        text="Let me check.",
    ),
    "functionary-v32": Case(
        "functionary_v32",
        'all\nLet me check the weather.>>>get_weather\n{"city": "Paris"}>>>search\n' + NESTED_JSON,
        calls=[WEATHER, ("search", NESTED)],
        text="Let me check the weather.",
    ),
    "gemma4": Case(
        "gemma4",
        '<|channel>thought\nNeed weather.<channel|><|tool_call>call:get_weather{city:<|"|>Paris<|"|>}'
        '<tool_call|><|tool_call>call:search{filter:{range:{max:null,min:-1.5},tags:[<|"|>a<|"|>,<|"|>b]<|"|>]},'
        'note:<|"|>naïve café 東京 🦀<|"|>}<tool_call|>',
        calls=[WEATHER, ("search", NESTED)],
        reasoning="Need weather.",
    ),
    "lfm2": Case(
        "lfm2",
        '<|tool_call_start|>[get_weather(city="Paris")]<|tool_call_end|>Checking the weather.',
        calls=[WEATHER],
        text="Checking the weather.",
    ),
    # -- issue 20: gaps and leaks found by replaying vLLM's tests --------------------------------------
    "dsml-string-false-that-is-not-json-stays-text": Case(
        "deepseek_v32",
        '<｜DSML｜function_calls><｜DSML｜invoke name="echo"><｜DSML｜parameter name="msg" string="false">hello'
        '</｜DSML｜parameter><｜DSML｜parameter name="n" string="false">3</｜DSML｜parameter></｜DSML｜invoke>'
        "</｜DSML｜function_calls>",
        calls=[("echo", {"msg": "hello", "n": 3})],
    ),
    "granite-3.1-plain-tool-call-prefix": Case(
        "granite",
        'Sure.<tool_call>[{"name": "get_weather", "arguments": {"city": "Paris"}}]</tool_call>',
        calls=[WEATHER],
        text="Sure.",
    ),
    "cohere-citations-in-text-and-reasoning": Case(
        "command_r7b",
        "<|START_THINKING|>The docs say <co>it rains</co: 0:[1]> today.<|END_THINKING|><|START_RESPONSE|>"
        "Bring <co>an umbrella</co: 0:[1,2],1:[3]>, and <code>x > 1</code>.<|END_RESPONSE|>",
        text="Bring an umbrella, and <code>x > 1</code>.",
        reasoning="The docs say it rains today.",
    ),
    "lfm2-echo-that-diverges-is-text": Case(
        "lfm2",
        '<|tool_call_start|>[get_weather(city="Paris")]<|tool_call_end|>[get_weather(city="Rome")] is what I ran.',
        calls=[WEATHER],
        text='[get_weather(city="Rome")] is what I ran.',
    ),
    "qwen3-coder-bare-function-then-stray-close": Case(
        "qwen3_coder",
        "On it.\n<function=get_weather>\n<parameter=city>\nParis\n</parameter>\n</function>\n</tool_call>\nDone.",
        calls=[WEATHER],
        text="On it.\n\nDone.",
    ),
    "granite-pythonic-bare-calls-between-lines": Case(
        "granite_pythonic",
        'Checking.\nget_weather(city="Paris")\nprint(x) is not a call\n',
        calls=[WEATHER],
        text="Checking.\nprint(x) is not a call\n",
    ),
    "hermes-complete-call-without-closing-tag": Case(
        "hermes",
        '<think>ok</think><tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris"}}',
        calls=[WEATHER],
        reasoning="ok",
    ),
    "kimi-k3-think-response-and-json-arguments": Case(
        "kimi_k3",
        "<|open|>think<|sep|>Weather, then time.<|close|>think<|sep|><|open|>response<|sep|>Checking.<|close|>response<|sep|>"
        '<|open|>tools<|sep|><|open|>call tool="get_weather" index="1"<|sep|><|open|>argument key="city" '
        'type="string"<|sep|>Paris<|close|>argument<|sep|><|close|>call<|sep|><|open|>call tool="search" index="2"'
        '<|sep|><|open|>json type="object"<|sep|>' + NESTED_JSON + "<|close|>json<|sep|><|close|>call<|sep|>"
        "<|close|>tools<|sep|><|close|>message<|sep|><|end_of_msg|>",
        calls=[WEATHER, ("search", NESTED)],
        text="Checking.",
        reasoning="Weather, then time.",
    ),
    "hermes-tools-tag-in-prose-is-text": Case(
        "qwen3",
        'Your prompt lists them in a <tools> tag; <tools>{"name": "get_weather", "arguments": '
        '{"city": "Paris"}}</tools> is how Qwen2.5-Coder calls one.',
        calls=[WEATHER],
        text="Your prompt lists them in a <tools> tag;  is how Qwen2.5-Coder calls one.",
    ),
    "xlam-fenced-code-that-is-not-a-call-is-text": Case(
        "xlam",
        'Example:\n```json\n{"debug": true}\n```\nand an unfinished one:\n```json\n{"a": 1',
        text='Example:\n```json\n{"debug": true}\n```\nand an unfinished one:\n```json\n{"a": 1',
    ),
    "qwen3-coder-parameter-before-its-function": Case(
        "mimo",
        "<tool_call>\n<parameter=city>Paris</parameter>\n<function=get_weather>\n</function>\n</tool_call>",
        calls=[WEATHER],
    ),
    "qwen3-coder-stray-parameter-between-two-functions-is-malformed": Case(
        "qwen3_coder",
        "<tool_call>\n<function=get_weather>\n</function>\n<parameter=city>Paris</parameter>\n"
        "<function=get_time>\n</function>\n</tool_call>",
        malformed=["outside every <function=...>"],
    ),
    "intern-s1-newline-between-opening-tokens": Case(
        "intern_s1",
        'Checking.<|action_start|>\n<|plugin|>\n{"name": "get_weather", "parameters": {"city": "Paris"}}'
        "<|action_end|>",
        calls=[WEATHER],
        text="Checking.",
    ),
    "plamo3-a bad request among good ones is malformed in its place": Case(
        "plamo3",
        "<|plamo:begin_think:plamo|>hmm<|plamo:end_think:plamo|>Sure."
        "<|plamo:begin_tool_requests:plamo|>"
        "<|plamo:begin_tool_request:plamo|><|plamo:begin_tool_name:plamo|>a<|plamo:end_tool_name:plamo|>"
        '<|plamo:begin_tool_arguments:plamo|>{"x": 1}<|plamo:end_tool_arguments:plamo|><|plamo:end_tool_request:plamo|>'
        "<|plamo:begin_tool_request:plamo|><|plamo:begin_tool_name:plamo|>b<|plamo:end_tool_name:plamo|>"
        "<|plamo:begin_tool_arguments:plamo|>{x: 1}<|plamo:end_tool_arguments:plamo|><|plamo:end_tool_request:plamo|>"
        "<|plamo:begin_tool_request:plamo|><|plamo:begin_tool_name:plamo|>c<|plamo:end_tool_name:plamo|>"
        "<|plamo:end_tool_request:plamo|>"
        "<|plamo:end_tool_requests:plamo|><|plamo:tag|>ignored",
        calls=[("a", {"x": 1})],
        text="Sure.",
        reasoning="hmm",
        malformed=["arguments of 'b'", "arguments of 'c'"],
    ),
    "k2-horizon-string-typed-value-stays-text": Case(
        "k2_horizon",
        "<ifm|tool_calls><ifm|tool_call>lookup<ifm|arg_key>query</ifm|arg_key><ifm|arg_type>string</ifm|arg_type>"
        "<ifm|arg_value>123</ifm|arg_value><ifm|arg_key>limit</ifm|arg_key><ifm|arg_type>integer</ifm|arg_type>"
        "<ifm|arg_value>3</ifm|arg_value></ifm|tool_call></ifm|tool_calls>",
        calls=[("lookup", {"query": "123", "limit": 3})],
    ),
    "k2-horizon-argument-given-twice-is-malformed": Case(
        "k2_horizon",
        "<ifm|tool_calls><ifm|tool_call>lookup<ifm|arg_key>q</ifm|arg_key><ifm|arg_value>a</ifm|arg_value>"
        "<ifm|arg_key>q</ifm|arg_key><ifm|arg_value>b</ifm|arg_value></ifm|tool_call></ifm|tool_calls>",
        malformed=["given twice"],
    ),
    "dots-reasoning-and-unclosed-invoke": Case(
        "dots",
        '<think>plan</think>Go.<dots_function_call><invoke name="a"><parameter name="x">1</parameter>'
        "</dots_function_call>",
        text="Go.",
        reasoning="plan",
        malformed=["not closed"],
    ),
    "qwen3-coder-value-with-its-own-tags-is-malformed": Case(
        "qwen3_coder",
        "<tool_call>\n<function=write_file>\n<parameter=path>\nfixture.py\n</parameter>\n<parameter=content>\n"
        'doc = """\n<parameter=path>\nliteral/value\n</parameter>\n"""\n</parameter>\n</function>\n</tool_call>\n'
        "<tool_call>\n<function=write_file>\n<parameter=path>\na.py\n</parameter>\n<parameter=content>\n"
        'T = """\n</parameter>\n<parameter=new_string>\nx\n</parameter>\n"""\n</parameter>\n</function>\n'
        "</tool_call>\n<tool_call>\n<function=write_file>\n<parameter=content>\n"
        '"</function>",\n</parameter>\n</function>\n</tool_call>',
        malformed=["'path' is given twice", "outside every parameter", "closing tags follow"],
    ),
    "qwen3-coder-nested-literal-call-leaves-no-closing-tags-in-text": Case(
        "qwen3_coder",
        "<tool_call>\n<function=write_file>\n<parameter=content>\n<tool_call>\n<function=f>\n<parameter=a>\n1\n"
        "</parameter>\n</function>\n</tool_call>\n</parameter>\n</function>\n</tool_call>",
        malformed=["another <function="],
    ),
    "gemma4-call-closed-by-end-of-turn": Case(
        "gemma4",
        '<|tool_call>call:gdb{args:<|"|>-batch<|"|>}<turn|>ignored',
        calls=[("gdb", {"args": "-batch"})],
    ),
    "gemma4-stray-end-of-thought-is-removed": Case(
        "gemma4",
        "<channel|>The answer is 4.",
        text="The answer is 4.",
    ),
    "reasoning-only": Case(
        "reasoning",
        "<think>hmm</think>Hello <tool_call>not parsed</tool_call>",
        text="Hello <tool_call>not parsed</tool_call>",
        reasoning="hmm",
    ),
}


def _check(case: Case, message: Message) -> None:
    assert _good(message) == case.calls
    assert message.text == case.text
    assert message.reasoning == case.reasoning
    bad = _bad(message)
    assert len(bad) == len(case.malformed), [c.error for c in bad]
    for call, fragment in zip(bad, case.malformed, strict=True):
        assert call.error is not None and fragment in call.error
        assert call.raw
        assert call.arguments == {}
    if case.ids is not None:
        assert [c.id for c in message.tool_calls] == case.ids
    else:
        ids = [c.id for c in message.tool_calls]
        assert len(set(ids)) == len(ids)


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_whole_reply(case: Case) -> None:
    _check(case, get_parser(case.parser).parse(case.reply))


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_one_character_at_a_time(case: Case) -> None:
    parser = get_parser(case.parser)
    events = []
    for ch in case.reply:
        events.extend(parser.feed(ch))
    events.extend(parser.finish())
    _check(case, assemble_message(events))


def test_each_call_is_emitted_when_it_completes_not_at_the_end() -> None:
    """DeepSeek: the first call arrives with its own end token, before the reply ends."""
    parser = get_parser("deepseek_v3")
    first = (
        "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n"
        '{"city": "Paris"}\n```<｜tool▁call▁end｜>'
    )
    events = parser.feed(first)
    assert [e.call.name for e in events if e.kind == "tool_call"] == ["get_weather"]


def test_mistral_v11_call_ids_are_kept_when_streamed_in_pieces() -> None:
    parser = get_parser("mistral")
    events = []
    for piece in ["[TOOL_", "CALLS]get_", "weather[CALL", "_ID]a1b2c3d4e[AR", 'GS]{"city"', ': "Paris"}']:
        events.extend(parser.feed(piece))
    events.extend(parser.finish())
    (call,) = assemble_message(events).tool_calls
    assert (call.id, call.name, call.arguments) == ("a1b2c3d4e", "get_weather", {"city": "Paris"})


def test_for_prompt_starts_deepseek_r1_in_reasoning() -> None:
    prompt = "<｜User｜>Weather?<｜Assistant｜><think>\n"
    message = get_parser("deepseek_r1").for_prompt(prompt).parse("Thinking...</think>It is sunny.")
    assert (message.reasoning, message.text) == ("Thinking...", "It is sunny.")


def test_harmony_for_prompt_continues_the_assistant_header() -> None:
    parser = get_parser("harmony").for_prompt("<|start|>user<|message|>hi<|end|><|start|>assistant")
    message = parser.parse(
        ' to=functions.get_weather<|channel|>commentary json<|message|>{"city": "Paris"}<|call|>'
    )
    assert _good(message) == [WEATHER]


def test_stop_markers_are_listed_for_engines() -> None:
    assert "<|im_end|>" in get_parser("hermes").stop_markers
    assert "<|eot_id|>" in get_parser("llama3_json").stop_markers
    assert "<｜end▁of▁sentence｜>" in get_parser("deepseek_v3").stop_markers
    assert "<|return|>" in get_parser("harmony").stop_markers
