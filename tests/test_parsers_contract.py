"""The parser contract, for every family: a call never vanishes.

For any reply made of calls, unreadable calls and text, every call-shaped block ends up as a call or as
a malformed call, in order; streaming one character at a time gives the same message; and no markup
reaches the text. Then the defects that broke the contract, one test each.
"""

# ruff: noqa: RUF001, E501  (DeepSeek and Step markers use fullwidth bars; markup stays on one line)
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hermitcrab.messages import Message
from hermitcrab.prompting import MarkupParser, assemble_message, get_parser, parser_names

ARGS: dict[str, Any] = {"city": "Paris", "n": 2}
ARGS_JSON = json.dumps(ARGS)
BAD_JSON = "{city: Paris Lyon}"


def _json_obj(name: str, key: str = "arguments", args: str = ARGS_JSON) -> str:
    return f'{{"name": "{name}", "{key}": {args}}}'


def _xml_params(name: str) -> str:
    return f"<function={name}>\n<parameter=city>\nParis\n</parameter>\n<parameter=n>\n2\n</parameter>\n</function>"


DS = "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>"
DSML = '<｜DSML｜{block}><｜DSML｜invoke name="{name}">{params}</｜DSML｜invoke></｜DSML｜{block}>'
DSML_PARAMS = (
    '<｜DSML｜parameter name="city" string="true">Paris</｜DSML｜parameter>'
    '<｜DSML｜parameter name="n" string="false">2</｜DSML｜parameter>'
)
KIMI = "<|tool_calls_section_begin|><|tool_call_begin|>functions.{}:0<|tool_call_argument_begin|>{}<|tool_call_end|><|tool_calls_section_end|>"
K3 = (
    '<|open|>tools<|sep|><|open|>call tool="{}" index="1"<|sep|><|open|>argument key="city" type="string"<|sep|>'
    'Paris<|close|>argument<|sep|><|open|>argument key="n" type="number"<|sep|>{}<|close|>argument<|sep|>'
    "<|close|>call<|sep|><|close|>tools<|sep|>"
)
STEP3 = (
    '<｜tool_calls_begin｜><｜tool_call_begin｜>function<｜tool_sep｜><steptml:invoke name="{}">'
    '<steptml:parameter name="city">Paris</steptml:parameter><steptml:parameter name="n">2</steptml:parameter>'
    "</steptml:invoke><｜tool_call_end｜><｜tool_calls_end｜>"
)
PLAMO = (
    "<|plamo:begin_tool_requests:plamo|><|plamo:begin_tool_request:plamo|><|plamo:begin_tool_name:plamo|>{}"
    "<|plamo:end_tool_name:plamo|><|plamo:begin_tool_arguments:plamo|><|plamo:constrain|>json<|plamo:msg|>{}"
    "<|plamo:end_tool_arguments:plamo|><|plamo:end_tool_request:plamo|><|plamo:end_tool_requests:plamo|>"
)

Writer = Callable[[str], str]
WRITERS: dict[str, tuple[Writer, Writer]] = {
    # family: (a call of `name` with ARGS, a call-shaped block of `name` that cannot be read)
    "apertus": (
        lambda n: f'<|tools_prefix|>[{{"{n}": {ARGS_JSON}}}]<|tools_suffix|>',
        lambda n: f'<|tools_prefix|>[{{"{n}": {BAD_JSON}}}]<|tools_suffix|>',
    ),
    "command_r": (
        lambda n: f'Action: ```json\n[{{"tool_name": "{n}", "parameters": {ARGS_JSON}}}]\n```',
        lambda n: f'Action: ```json\n[{{"tool_name": "{n}", "parameters": {BAD_JSON}}}]\n```',
    ),
    "command_r7b": (
        lambda n: f"<|START_ACTION|>[{_json_obj(n, 'parameters')}]<|END_ACTION|>",
        lambda n: f"<|START_ACTION|>[{_json_obj(n, 'parameters', BAD_JSON)}]<|END_ACTION|>",
    ),
    "deepseek_v3": (
        lambda n: DS.format(f"function<｜tool▁sep｜>{n}\n```json\n{ARGS_JSON}\n```"),
        lambda n: DS.format(f"function<｜tool▁sep｜>{n}\n```json\n{BAD_JSON}\n```"),
    ),
    "deepseek_v31": (
        lambda n: DS.format(f"{n}<｜tool▁sep｜>{ARGS_JSON}"),
        lambda n: DS.format(f"{n}<｜tool▁sep｜>{BAD_JSON}"),
    ),
    "deepseek_v32": (
        lambda n: DSML.format(block="function_calls", name=n, params=DSML_PARAMS),
        lambda n: (
            f'<｜DSML｜function_calls><｜DSML｜invoke name="{n}">{DSML_PARAMS}</｜DSML｜function_calls>'
        ),
    ),
    "deepseek_v4": (
        lambda n: DSML.format(block="tool_calls", name=n, params=DSML_PARAMS),
        lambda n: f'<｜DSML｜tool_calls><｜DSML｜invoke name="{n}">{DSML_PARAMS}</｜DSML｜tool_calls>',
    ),
    "firefunction": (
        lambda n: f" functools[{_json_obj(n)}]",
        lambda n: f" functools[{_json_obj(n, args=BAD_JSON)}]",
    ),
    "phi4_mini": (
        lambda n: f"functools[{_json_obj(n)}]",
        lambda n: f"functools[{_json_obj(n, args=BAD_JSON)}]",
    ),
    "functionary_v31": (
        lambda n: f"<function={n}>{ARGS_JSON}</function>",
        lambda n: f"<function={n}>{BAD_JSON}</function>",
    ),
    "functiongemma": (
        lambda n: f"<start_function_call>call:{n}{{city:<escape>Paris<escape>,n:2}}<end_function_call>",
        lambda n: f"<start_function_call>call:{n}{{city:<escape>Paris}}<end_function_call>",
    ),
    "gemma4": (
        lambda n: f'<|tool_call>call:{n}{{city:<|"|>Paris<|"|>,n:2}}<tool_call|>',
        lambda n: f'<|tool_call>call:{n}{{city:<|"|>Paris}}<tool_call|>',
    ),
    "gigachat3": (
        lambda n: f"<|function_call|>{_json_obj(n)}",
        lambda n: f"<|function_call|>{_json_obj(n, args=BAD_JSON)}",
    ),
    "glm4": (
        lambda n: (
            f"<tool_call>{n}\n<arg_key>city</arg_key>\n<arg_value>Paris</arg_value>\n<arg_key>n</arg_key>"
            "<arg_value>2</arg_value>\n</tool_call>"
        ),
        lambda n: f"<tool_call>{n}\n<arg_key>city\n<arg_value>Paris</arg_value>\n</tool_call>",
    ),
    "hyperclovax_seed_think": (
        lambda n: (
            f'<tool_call>{n}\n<arg_key>city</arg_key>\n<arg_value>"Paris"</arg_value>\n<arg_key>n</arg_key>\n'
            "<arg_value>2</arg_value>\n</tool_call>"
        ),
        lambda n: f"<tool_call>{n}\n<arg_key>city\n<arg_value>Paris</arg_value>\n</tool_call>",
    ),
    "hyperclovax_seed_think_14b": (
        lambda n: f"-> tool/function_call\n[{_json_obj(n, 'parameters')}]",
        lambda n: f"-> tool/function_call\n[{_json_obj(n, 'parameters', BAD_JSON)}]",
    ),
    "granite": (
        lambda n: f"<|tool_call|>[{_json_obj(n)}]",
        lambda n: f"<|tool_call|>[{_json_obj(n, args=BAD_JSON)}]",
    ),
    "granite_20b_fc": (
        lambda n: f"<function_call> {_json_obj(n)}",
        lambda n: f"<function_call> {_json_obj(n, args=BAD_JSON)}",
    ),
    "granite_pythonic": (lambda n: f'\n{n}(city="Paris", n=2)\n', lambda n: f"\n{n}(city=Paris Lyon)\n"),
    "harmony": (
        lambda n: (
            f"<|start|>assistant to=functions.{n}<|channel|>commentary <|constrain|>json<|message|>{ARGS_JSON}<|call|>"
        ),
        lambda n: (
            f"<|start|>assistant to=functions.{n}<|channel|>commentary <|constrain|>json<|message|>{BAD_JSON}<|call|>"
        ),
    ),
    "hermes": (
        lambda n: f"<tool_call>\n{_json_obj(n)}\n</tool_call>",
        lambda n: f"<tool_call>\n{_json_obj(n, args=BAD_JSON)}\n</tool_call>",
    ),
    "hunyuan": (
        lambda n: f"<tool_calls>[{_json_obj(n)}]</tool_calls>",
        lambda n: f"<tool_calls>[{_json_obj(n, args=BAD_JSON)}]</tool_calls>",
    ),
    "hy_v3": (
        lambda n: (
            f"<tool_calls><tool_call>{n}<tool_sep><arg_key>city</arg_key><arg_value>Paris</arg_value>"
            "<arg_key>n</arg_key><arg_value>2</arg_value></tool_call></tool_calls>"
        ),
        lambda n: (
            f"<tool_calls><tool_call>{n}<tool_sep><arg_key>city<arg_value>x</arg_value></tool_call></tool_calls>"
        ),
    ),
    "internlm2": (
        lambda n: f"<|action_start|><|plugin|>{_json_obj(n, 'parameters')}<|action_end|>",
        lambda n: f"<|action_start|><|plugin|>{_json_obj(n, 'parameters', BAD_JSON)}<|action_end|>",
    ),
    "kimi_k2": (lambda n: KIMI.format(n, ARGS_JSON), lambda n: KIMI.format(n, BAD_JSON)),
    "kimi_k3": (lambda n: K3.format(n, "2"), lambda n: K3.format(n, "two")),
    "lfm2": (
        lambda n: f'<|tool_call_start|>[{n}(city="Paris", n=2)]<|tool_call_end|>',
        lambda n: f"<|tool_call_start|>[{n}(city=Paris Lyon)]<|tool_call_end|>",
    ),
    "llama3_json": (lambda n: _json_obj(n, "parameters"), lambda n: _json_obj(n, "parameters", BAD_JSON)),
    "longcat": (
        lambda n: f"<longcat_tool_call>{_json_obj(n)}</longcat_tool_call>",
        lambda n: f"<longcat_tool_call>{_json_obj(n, args=BAD_JSON)}</longcat_tool_call>",
    ),
    "minimax_m1": (
        lambda n: f"<tool_calls>\n{_json_obj(n)}\n</tool_calls>",
        lambda n: f"<tool_calls>\n{_json_obj(n, args=BAD_JSON)}\n</tool_calls>",
    ),
    "minimax_m2": (
        lambda n: (
            f'<minimax:tool_call><invoke name="{n}"><parameter name="city">Paris</parameter>'
            '<parameter name="n">2</parameter></invoke></minimax:tool_call>'
        ),
        lambda n: (
            f'<minimax:tool_call><invoke name="{n}"><parameter name="city">Paris</parameter></minimax:tool_call>'
        ),
    ),
    "mistral": (
        lambda n: f"[TOOL_CALLS][{_json_obj(n)}]",
        lambda n: f"[TOOL_CALLS][{_json_obj(n, args=BAD_JSON)}]",
    ),
    "mistral_v11": (
        lambda n: f"[TOOL_CALLS]{n}[ARGS]{ARGS_JSON}",
        lambda n: f"[TOOL_CALLS]{n}[ARGS]{BAD_JSON}",
    ),
    "nemotron": (
        lambda n: f"<TOOLCALL>[{_json_obj(n)}]</TOOLCALL>",
        lambda n: f"<TOOLCALL>[{_json_obj(n, args=BAD_JSON)}]</TOOLCALL>",
    ),
    "olmo3": (
        lambda n: f'<function_calls>{n}(city="Paris", n=2)</function_calls>',
        lambda n: f"<function_calls>{n}(city=Paris Lyon)</function_calls>",
    ),
    "pythonic": (lambda n: f'[{n}(city="Paris", n=2)]', lambda n: f"[{n}(city=Paris Lyon)]"),
    "qwen3_coder": (
        lambda n: f"<tool_call>\n{_xml_params(n)}\n</tool_call>",
        lambda n: f"<tool_call>\n<function={n}>\n<parameter=city>\nParis\n</tool_call>",
    ),
    "seed_oss": (
        lambda n: f"<seed:tool_call>\n{_xml_params(n)}\n</seed:tool_call>",
        lambda n: f"<seed:tool_call>\n<function={n}>\n<parameter=city>\nParis\n</seed:tool_call>",
    ),
    "gigachat35": (
        lambda n: (
            f'<｜GCML｜tool_calls><｜GCML｜invoke name="{n}">{DSML_PARAMS.replace("DSML", "GCML")}'
            "</｜GCML｜invoke></｜GCML｜tool_calls>"
        ),
        lambda n: (
            f'<｜GCML｜tool_calls><｜GCML｜invoke name="{n}">{DSML_PARAMS.replace("DSML", "GCML")}'
            "</｜GCML｜tool_calls>"
        ),
    ),
    "solar_open2": (
        lambda n: (
            f"<|tool_call:start|>{n}\n<|tool_arg:start|>city<|tool_arg:value|>Paris<|tool_arg:end|>\n"
            "<|tool_arg:start|>n<|tool_arg:value|>2<|tool_arg:end|>\n<|tool_call:end|>"
        ),
        lambda n: f"<|tool_call:start|>{n}\n<|tool_arg:start|>city<|tool_arg:value|>Paris\n<|tool_call:end|>",
    ),
    "dots": (
        lambda n: (
            f'<dots_function_call><invoke name="{n}"><parameter name="city">Paris</parameter>'
            '<parameter name="n">2</parameter></invoke></dots_function_call>'
        ),
        lambda n: (
            f'<dots_function_call><invoke name="{n}"><parameter name="city">Paris</parameter></dots_function_call>'
        ),
    ),
    "iquest_coder_v2": (
        lambda n: (
            f"<iquestcoder_tool_call>{n}<arg_key>city</arg_key><arg_value>Paris</arg_value>"
            "<arg_key>n</arg_key><arg_value>2</arg_value></iquestcoder_tool_call>"
        ),
        lambda n: (
            f"<iquestcoder_tool_call>{n}<arg_key>city</arg_key><arg_value>Paris</iquestcoder_tool_call>"
        ),
    ),
    "k2_horizon": (
        lambda n: (
            f"<ifm|tool_calls><ifm|tool_call>{n}<ifm|arg_key>city</ifm|arg_key><ifm|arg_value>Paris</ifm|arg_value>"
            "<ifm|arg_key>n</ifm|arg_key><ifm|arg_value>2</ifm|arg_value></ifm|tool_call></ifm|tool_calls>"
        ),
        lambda n: (
            f"<ifm|tool_calls><ifm|tool_call>{n}<ifm|arg_key>city</ifm|arg_key>Paris</ifm|tool_call></ifm|tool_calls>"
        ),
    ),
    "plamo3": (lambda n: PLAMO.format(n, ARGS_JSON), lambda n: PLAMO.format(n, BAD_JSON)),
    "step3": (lambda n: STEP3.format(n), lambda n: STEP3.format(n).replace("</steptml:invoke>", "")),
    "xlam": (lambda n: f"[{_json_obj(n)}]", lambda n: f"[{_json_obj(n, args=BAD_JSON)}]"),
}
"""Families whose replies are not a free mix of text and calls are written by hand below."""
SECTIONED = {"functionary_v32"}
NO_CALLS = {"plain", "reasoning"}
ENDS_AT_CALL = {"harmony"}
"""A call ends the turn (``<|call|>`` is gpt-oss's stop token): one call, last."""

WORDS = ["Sure. ", "Let me check that", " and then ", "Voilà, 東京 ", "ok", "42 is the answer. "]


def test_every_family_with_calls_has_a_writer() -> None:
    families = {get_parser(n).name for n in parser_names() if not n.startswith("test_")}
    assert families - NO_CALLS - SECTIONED == set(WRITERS)


def _parse(family: str, reply: str) -> tuple[Message, Message]:
    whole = get_parser(family).parse(reply)
    parser = get_parser(family)
    events = [event for ch in reply for event in parser.feed(ch)]
    return whole, assemble_message([*events, *parser.finish()])


def _markup(family: str) -> set[str]:
    parser = get_parser(family)
    assert isinstance(parser, MarkupParser)
    markers = set(parser.stop_markers)
    for block in parser.blocks:
        if not block.implicit:
            markers.add(block.start)
        markers.update(block.end)
    return {m for m in markers if len(m.strip()) > 2}


def _shape(message: Message) -> list[tuple[Any, ...]]:
    return [
        ("call", c.name, c.arguments, c.error, c.raw) if hasattr(c, "arguments") else (c.type, c.text)  # type: ignore[union-attr]
        for c in message.parts
    ]


items = st.lists(st.one_of(st.just("call"), st.just("bad"), st.sampled_from(WORDS)), max_size=8)


@pytest.mark.parametrize("family", sorted(WRITERS))
@settings(max_examples=30, deadline=None)
@given(plan=items)
def test_every_call_shaped_block_ends_up_as_a_call_or_a_malformed_call(family: str, plan: list[str]) -> None:
    good, bad = WRITERS[family]
    if family in ENDS_AT_CALL:
        plan = [p for p in plan if p not in ("call", "bad")] + [p for p in plan if p in ("call", "bad")][:1]
    pieces, expected = [], []
    for i, item in enumerate(plan):
        if item in ("call", "bad"):
            name = f"tool_{i}"
            pieces.append((good if item == "call" else bad)(name))
            expected.append((item, name))
        else:
            pieces.append(item)
    whole, streamed = _parse(family, "".join(pieces))
    assert _shape(streamed) == _shape(whole)
    calls = whole.tool_calls
    assert [("call" if c.error is None else "bad") for c in calls] == [kind for kind, _ in expected]
    for call, (kind, name) in zip(calls, expected, strict=True):
        if kind == "call":
            assert (call.name, call.arguments) == (name, ARGS)
        else:
            assert call.raw and call.arguments == {}
    assert not [m for m in _markup(family) if m in whole.text]


def test_functionary_v32_sections_keep_every_call() -> None:
    reply = f"all\nChecking.>>>a\n{ARGS_JSON}>>>b\n{BAD_JSON}>>>c\n{ARGS_JSON}>>>all\nDone."
    whole, streamed = _parse("functionary_v32", reply)
    assert _shape(streamed) == _shape(whole)
    assert [(c.name, c.error is None) for c in whole.tool_calls] == [("a", True), ("b", False), ("c", True)]
    assert whole.text == "Checking.Done."


# -- defect: a bad call among several in one block took the rest of the block with it ---------------
def _objs(sep: str, key: str = "arguments") -> str:
    return sep.join([_json_obj("a", key), _json_obj("b", key, BAD_JSON), _json_obj("c", key)])


MANY_IN_ONE_BLOCK = {
    "minimax_m1": f"<tool_calls>\n{_objs(chr(10))}\n</tool_calls>",
    "hermes": f"<tool_call>\n{_objs(chr(10))}\n</tool_call>",
    "longcat": f"<longcat_tool_call>{_objs(chr(10))}</longcat_tool_call>",
    "hunyuan": f"<tool_calls>[{_objs(', ')}]</tool_calls>",
    "granite": f"<|tool_call|>[{_objs(', ')}]",
    "mistral": f"[TOOL_CALLS][{_objs(', ')}]",
    "xlam": f"[{_objs(', ')}]",
    "nemotron": f"<TOOLCALL>[{_objs(', ')}]</TOOLCALL>",
    "phi4_mini": f"functools[{_objs(', ')}]",
    "command_r7b": f"<|START_ACTION|>[{_objs(', ', 'parameters')}]<|END_ACTION|>",
    "llama3_json": f"<|python_tag|>{_objs('; ', 'parameters')}<|eom_id|>",
    "apertus": f'<|tools_prefix|>[{{"a": {ARGS_JSON}}}, {{"b": {BAD_JSON}}}, {{"c": {ARGS_JSON}}}]<|tools_suffix|>',
    "pythonic": '[a(city="Paris", n=2), b(x=b"z"), c(city="Paris", n=2)]',
    "llama4": '<|python_start|>[a(city="Paris", n=2), b(x=1 2), c(city="Paris", n=2)]<|python_end|>',
    "lfm2": '<|tool_call_start|>[a(city="Paris", n=2), b(x=1e999), c(city="Paris", n=2)]<|tool_call_end|>',
    "olmo3": '<function_calls>a(city="Paris", n=2)\nb(x=1 2)\nc(city="Paris", n=2)</function_calls>',
    "minimax_m2": '<minimax:tool_call><invoke name="a"><parameter name="city">Paris</parameter><parameter name="n">2'
    '</parameter></invoke><invoke name=""></invoke><invoke name="c"><parameter name="city">Paris</parameter>'
    '<parameter name="n">2</parameter></invoke></minimax:tool_call>',
    "deepseek_v32": f'<｜DSML｜function_calls><｜DSML｜invoke name="a">{DSML_PARAMS}</｜DSML｜invoke>'
    f'<｜DSML｜invoke name=""></｜DSML｜invoke><｜DSML｜invoke name="c">{DSML_PARAMS}</｜DSML｜invoke>'
    "</｜DSML｜function_calls>",
    "qwen3_coder": f"<tool_call>\n{_xml_params('a')}\n<function=>\n</function>\n{_xml_params('c')}\n</tool_call>",
}


@pytest.mark.parametrize("family", sorted(MANY_IN_ONE_BLOCK))
def test_a_bad_call_between_two_good_ones_in_one_block_is_malformed_in_its_place(family: str) -> None:
    whole, streamed = _parse(family, MANY_IN_ONE_BLOCK[family])
    assert _shape(streamed) == _shape(whole)
    assert [(c.name, c.arguments if c.error is None else "bad") for c in whole.tool_calls] == [
        ("a", ARGS),
        (whole.tool_calls[1].name, "bad"),
        ("c", ARGS),
    ]
    assert whole.tool_calls[1].raw


def test_minimax_invalid_line_does_not_swallow_the_next_call() -> None:
    """The report that opened issue 20, verbatim."""
    reply = (
        '<tool_calls>\n{"name": "valid_tool", "arguments": {"city": "Seattle"}}\n{invalid json here}\n'
        '{"name": "another_valid_tool", "arguments": {"param": "value"}}\n</tool_calls>'
    )
    calls = get_parser("minimax_m1").parse(reply).tool_calls
    assert [(c.name, c.error is None) for c in calls] == [
        ("valid_tool", True),
        ("", False),
        ("another_valid_tool", True),
    ]
    assert calls[1].raw == "{invalid json here}" and "invalid JSON" in (calls[1].error or "")


# -- defect: argument values that are not JSON ------------------------------------------------------
@pytest.mark.parametrize(
    ("family", "reply", "fragment"),
    [
        ("pythonic", "[f(x=b'z')]", "bytes"),
        ("llama4", "<|python_start|>[f(x=1e999)]<|python_end|>", "too large"),
        ("lfm2", "<|tool_call_start|>[f(x=-1e999)]<|tool_call_end|>", "too large"),
        ("pythonic", "[f(x=1j)]", "complex"),
        ("pythonic", "[f(x=...)]", "Ellipsis"),
        ("hermes", '<tool_call>{"name": "f", "arguments": {"x": NaN}}</tool_call>', "NaN"),
        ("hermes", '<tool_call>{"name": "f", "arguments": {"x": 1e999}}</tool_call>', "out of range"),
        ("mistral_v11", '[TOOL_CALLS]f[ARGS]{"x": -Infinity}', "Infinity"),
    ],
)
def test_a_value_json_cannot_carry_makes_the_call_malformed(family: str, reply: str, fragment: str) -> None:
    (call,) = get_parser(family).parse(reply).tool_calls
    assert call.error is not None and fragment in call.error, call.error
    assert call.arguments == {}


def test_every_parsed_call_can_be_sent_on_as_openai_json() -> None:
    """What broke before: a bytes argument made ``to_dict(style="openai")`` raise, inf became Infinity."""
    reply = "[f(a=b'z'), g(b=1e999), h(c='ok', d=[1, 2.5, None, True])]"
    for call in get_parser("pythonic").parse(reply).tool_calls:
        json.loads(json.dumps(call.to_dict(style="openai"), allow_nan=False))


# -- defect: whitespace after a call block glued words ----------------------------------------------
@pytest.mark.parametrize(
    ("family", "reply", "text"),
    [
        (
            "deepseek_v31",
            "some prefix text<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>foo<｜tool▁sep｜>{}<｜tool▁call▁end｜>"
            "<｜tool▁calls▁end｜> some suffix text",
            "some prefix text some suffix text",
        ),
        ("hermes", 'Look:<tool_call>{"name": "f", "arguments": {}}</tool_call> done.', "Look: done."),
        ("hermes", '<tool_call>{"name": "f", "arguments": {}}</tool_call>\n\nDone.', "Done."),
        (
            "hermes",
            'A\n<tool_call>{"name": "f", "arguments": {}}</tool_call>\n<tool_call>{"name": "g"}</tool_call>\n',
            "A\n",
        ),
    ],
)
def test_whitespace_after_a_call_separates_text_but_never_starts_or_ends_it(
    family: str, reply: str, text: str
) -> None:
    whole, streamed = _parse(family, reply)
    assert whole.text == streamed.text == text
