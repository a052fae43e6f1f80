# ruff: noqa: RUF001, RUF002  (DeepSeek markers really use fullwidth bars)
"""Body decoders shared by the parser families: JSON calls, pythonic calls, XML-ish parameters.

Each decoder takes the text between a block's markers and returns tool calls, raising
:class:`~hermitcrab.prompting._markup.MalformedCall` with a message the model can act on when the text
cannot be read. Nothing here uses ``eval``: pythonic calls are read with :mod:`ast`.
"""

from __future__ import annotations

import ast
import json
import math
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from hermitcrab.messages import ToolCall, new_call_id
from hermitcrab.prompting._markup import MalformedCall, guess_name

__all__: tuple[str, ...] = ()

_WS_SEP = re.compile(r"[\s,;]*")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} is out of range for JSON")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


_DECODER = json.JSONDecoder(parse_float=_finite, parse_constant=_no_constant)
"""Strict JSON: ``NaN``, ``Infinity`` and numbers that overflow to infinity are errors, not floats that
``json.dumps`` would later write out as non-JSON."""


def loads(text: str) -> Any:
    """Decode one JSON value strictly (see ``_DECODER``); raises ``ValueError``."""
    return _DECODER.decode(text)


def json_error(exc: ValueError, text: str) -> str:
    """A short description of a JSON error, with the text around it."""
    if not isinstance(exc, json.JSONDecodeError):
        return f"invalid JSON ({exc})"
    around = text[max(0, exc.pos - 20) : exc.pos + 20]
    return f"invalid JSON ({exc.msg} at char {exc.pos}, near {around!r})"


def load_json(text: str) -> Any:
    """:func:`loads` that reports errors as :class:`MalformedCall`."""
    try:
        return loads(text)
    except ValueError as exc:
        raise MalformedCall(json_error(exc, text), name=guess_name(text)) from None


def _value_end(text: str, pos: int) -> int:
    """Where an unreadable value starting at ``pos`` ends: after its matching bracket when it opens
    one (strings of either quote skipped), else at the end of its line."""
    if text[pos] not in "{[":
        newline = text.find("\n", pos)
        return len(text) if newline < 0 else newline
    depth, quote, i = 0, "", pos
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == "\\":
                i += 1
            elif ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    return len(text)


def json_values(text: str) -> Iterator[tuple[Any, str, str | None]]:
    """Each value in ``text``, JSON values written one after another and separated by whitespace,
    commas or semicolons: ``(value, its text, None)``, or ``(None, its text, error)`` for a part that
    cannot be read. Reading goes on after a bad part, so the calls around it are not lost.
    Python-literal dicts and lists (``{'name': 'f', 'arguments': {'a': True}}``, which Hermes-2-Pro-style
    models write) are read as well."""
    pos = _WS_SEP.match(text).end()  # type: ignore[union-attr]
    while pos < len(text):
        try:
            value, end = _DECODER.raw_decode(text, pos)
            yield value, text[pos:end], None
        except ValueError as exc:
            end = max(_value_end(text, pos), pos + 1)
            segment = text[pos:end]
            try:
                yield _python_literal(segment), segment, None
            except MalformedCall:
                items = _list_items(segment)
                if items is None:
                    yield None, segment, json_error(exc, text)
                else:  # a list with a bad item: the other items are still calls
                    yield from json_values(",".join(items))
        pos = _WS_SEP.match(text, end).end()  # type: ignore[union-attr]


def _list_items(segment: str) -> list[str] | None:
    """The top-level items of a bracket-balanced list ``[a, b, ...]`` (``None`` if it is not one)."""
    if not (segment.startswith("[") and segment.endswith("]")) or _value_end(segment, 0) != len(segment):
        return None
    items, depth, quote, start = [], 0, "", 1
    for i in range(1, len(segment) - 1):
        ch = segment[i]
        if quote:
            if ch == quote and segment[i - 1] != "\\":
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "{[(":
            depth += 1
        elif ch in "}])":
            depth -= 1
            if depth < 0:
                return None
        elif ch == "," and depth == 0:
            items.append(segment[start:i])
            start = i + 1
    if depth or quote:
        return None
    items.append(segment[start:-1])
    items = [item for item in items if item.strip()]
    return items if len(items) > 1 else None


def _arguments(value: Any, name: str, raw: str) -> dict[str, Any] | ToolCall:
    if value is None:
        return {}
    if isinstance(value, str):
        stripped = value.strip()
        if not stripped:
            return {}
        try:
            value = loads(stripped)
        except ValueError as exc:
            return ToolCall(
                name=name,
                error=f'"arguments" is a string but not a JSON object: {json_error(exc, stripped)}',
                raw=raw,
            )
    if not isinstance(value, dict):
        return ToolCall(
            name=name, error=f'"arguments" must be a JSON object, not {type(value).__name__}', raw=raw
        )
    return value


def call_from_object(obj: Any, *, raw: str | None = None, call_id: str | None = None) -> ToolCall:
    """Turn one decoded JSON call object into a :class:`ToolCall` (malformed ones carry ``error``).

    Accepts the shapes real models write: ``{"name", "arguments"}`` (Hermes, Qwen), ``{"name",
    "parameters"}`` (Llama 3), ``{"tool_name", "parameters"}`` (Command R), ``{"function": {"name",
    "arguments"}}`` (OpenAI-shaped) and ``{"type": "function", "name", ...}``. Arguments may be an
    object or a JSON string. A string ``"id"`` (or ``"tool_call_id"``) is kept as the call id.
    """
    if raw is None:
        raw = json.dumps(obj, ensure_ascii=False)
    if not isinstance(obj, dict):
        return ToolCall(
            name="",
            error='a tool call must be a JSON object like {"name": ..., "arguments": {...}}, '
            f"not {type(obj).__name__}",
            raw=raw,
        )
    fn = obj.get("function")
    if isinstance(fn, dict) and "name" not in obj:
        obj = {**fn, **{k: v for k, v in obj.items() if k in ("id", "tool_call_id")}}
    name = obj.get("name", obj.get("tool_name", fn if isinstance(fn, str) else None))
    ident = call_id or obj.get("id") or obj.get("tool_call_id")
    ident = str(ident) if isinstance(ident, (str, int)) and str(ident) else new_call_id()
    if not isinstance(name, str) or not name.strip():
        return ToolCall(id=ident, name="", error='the tool call has no "name" string', raw=raw)
    name = name.strip()
    for key in ("arguments", "parameters", "args", "input"):
        if key in obj:
            args = _arguments(obj[key], name, raw)
            break
    else:
        args = {}
    if isinstance(args, ToolCall):
        return args.model_copy(update={"id": ident})
    return ToolCall(id=ident, name=name, arguments=args)


def json_calls(body: str) -> list[ToolCall]:
    """Decode one or several JSON call objects (or lists of them) written one after another.

    A part that is not a call object, or not JSON at all, becomes a call with ``error`` in its place:
    the calls before and after it are kept. An explicitly empty list (``[]``) is no call.
    """
    calls: list[ToolCall] = []
    values = 0
    for value, raw, error in json_values(body):
        values += 1
        if error is not None:
            if raw.strip() == body.strip():  # the whole body: the block's markup is the raw text
                raise MalformedCall(error, name=guess_name(raw))
            calls.append(ToolCall(name=guess_name(raw), error=error, raw=raw.strip()))
            continue
        items = value if isinstance(value, list) else [value]
        many = len(items) > 1 or isinstance(value, list)
        for item in items:
            item_raw = json.dumps(item, ensure_ascii=False) if many else raw.strip()
            calls.append(call_from_object(item, raw=item_raw))
    if not calls and not values:
        raise MalformedCall("the tool call is empty: expected a JSON object with a name and arguments")
    return calls


def untyped_arguments(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, Any], dict[str, str]]:
    """Arguments of a format without types: each value through :func:`json_value_or_text`, and the
    text of those that were decoded into something else than a string (see ``ToolCall.texts``)."""
    args: dict[str, Any] = {}
    texts: dict[str, str] = {}
    for key, text in pairs:
        value = json_value_or_text(text)
        args[key] = value
        if not isinstance(value, str):
            texts[key] = text.strip()
        else:
            texts.pop(key, None)
    return args, texts


def json_value_or_text(text: str) -> Any:
    """A parameter value written as text: JSON literals (numbers, true/false/null, objects, lists)
    are decoded; anything else stays a string. Used by the XML-ish formats, which carry no types."""
    stripped = text.strip()
    if not stripped:
        return text
    head = stripped[0]
    if head in '{["' or head == "-" or head.isdigit() or stripped in ("true", "false", "null"):
        try:
            return loads(stripped)
        except ValueError:
            return text
    return text


# -- pythonic calls -------------------------------------------------------------------------------
_PY_NAMES = {
    "true": True,
    "false": False,
    "null": None,
    "none": None,
    "True": True,
    "False": False,
    "None": None,
}


def _python_literal(body: str) -> Any:
    """A Python dict/list literal (strict: no bare names); raises :class:`MalformedCall` otherwise."""
    text = body.strip()
    if text[:1] not in ("{", "["):
        raise MalformedCall("not a Python literal")
    try:
        node = ast.parse(_normalize_python(text) or text, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        raise MalformedCall("not a Python literal") from None
    if not isinstance(node, (ast.Dict, ast.List)):
        raise MalformedCall("not a Python literal")
    return _literal(node, bare_names=False)


def _literal(node: ast.AST, bare_names: bool = True) -> Any:
    """The JSON value a Python literal stands for; anything JSON cannot carry is malformed."""
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, (bytes, complex)) or value is Ellipsis:
            kind = {bytes: "a bytes literal", complex: "a complex number"}.get(type(value), "Ellipsis")
            raise MalformedCall(
                f"{ast.unparse(node)} is {kind}, not a JSON value: write text as a string in quotes"
            )
        if isinstance(value, float) and not math.isfinite(value):
            raise MalformedCall("a number in the arguments is too large for JSON (it would be infinite)")
        return value
    if isinstance(node, (ast.List, ast.Tuple, ast.Set)):
        return [_literal(item, bare_names) for item in node.elts]
    if isinstance(node, ast.Dict):
        out: dict[Any, Any] = {}
        for key, item in zip(node.keys, node.values, strict=True):
            if key is None:
                raise MalformedCall("dict unpacking (**) is not allowed in tool-call arguments")
            k = _literal(key, bare_names)
            if not isinstance(k, (str, int, float, bool)) and k is not None:
                raise MalformedCall("dictionary keys in tool-call arguments must be strings or numbers")
            out[k] = _literal(item, bare_names)
        return out
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _literal(node.operand, bare_names)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.Name) and (bare_names or node.id in _PY_NAMES):
        # No variables exist in a tool call: a bare name is a JSON-ish literal or an unquoted string
        # (``city=Paris``, which small models and some templates write).
        return _PY_NAMES.get(node.id, node.id)
    raise MalformedCall(
        "tool-call arguments must be literal values (strings, numbers, lists, dicts), "
        f"not {ast.unparse(node)!r}"
    )


# Python as small models write it, made readable without guessing (see _normalize_python).
_KWARG_BEFORE = re.compile(r"[(,]\s*[A-Za-z_]\w*\s*=\s*\Z")
_KWARG_VALUE_END = re.compile(r"\s*(?:,\s*[A-Za-z_]\w*\s*=|,?\s*\)\s*(?:[,\]\n;]|\Z))")
_PY_ESCAPES = frozenset("\n\\'\"abfnrtvxNuU01234567")
_NUMBER = re.compile(r"\d+")


def _normalize_python(text: str) -> str | None:
    """``text`` with the slips real models make in pythonic calls repaired, where the repair is
    unambiguous; ``None`` when a string never ends.

    Within string literals: raw newlines, carriage returns and NUL characters become escapes, a
    backslash before a character that is no escape is kept as a backslash (as Python reads it, but
    without the warning), and in a keyword argument's value a quote of the string's own kind that is
    not followed by the next argument or the end of the call is taken as part of the text
    (``bash(command='sed -n '1,5p' f.py')``). Outside strings, integers written with leading zeros
    (``month=07``) lose them. Well-formed Python reads exactly as before.
    """
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"":
            prefix = re.search(r"[A-Za-z]*\Z", text[max(0, i - 3) : i]).group()  # type: ignore[union-attr]
            if text.startswith(ch * 3, i) or prefix.lower() not in ("", "u"):
                end = _plain_string_end(text, i)  # triple-quoted or prefixed (r'', b''): as written
                if end < 0:
                    return None
                out.append(text[i : end + 1])
                i = end + 1
                continue
            kwarg = _KWARG_BEFORE.search(text[max(0, i - 200) : i]) is not None
            end = _string_end(text, i, kwarg)
            if end < 0:
                return None
            out.append(ch + _escape(text[i + 1 : end], ch) + ch)
            i = end + 1
            continue
        if ch.isdigit() and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] in "_.")):
            digits = _NUMBER.match(text, i).group()  # type: ignore[union-attr]
            after = text[i + len(digits) : i + len(digits) + 1]
            if len(digits) > 1 and digits[0] == "0" and after not in tuple(".eEjJxXoObB_"):
                out.append(str(int(digits)))
            else:
                out.append(digits)
            i += len(digits)
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _plain_string_end(text: str, start: int) -> int:
    quote = text[start] * 3 if text.startswith(text[start] * 3, start) else text[start]
    i = start + len(quote)
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(quote, i):
            return i + len(quote) - 1
        i += 1
    return -1


def _string_end(text: str, start: int, kwarg: bool) -> int:
    """The index of the quote that ends the string opened at ``start`` (-1: none)."""
    quote = text[start]
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == quote and (not kwarg or _KWARG_VALUE_END.match(text, i + 1)):
            return i
        i += 1
    return -1


def _escape(content: str, quote: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(content):
        ch = content[i]
        if ch == "\\" and i + 1 < len(content):
            nxt = content[i + 1]
            out.append(ch + nxt if nxt in _PY_ESCAPES else "\\\\" + nxt)
            i += 2
            continue
        if ch == "\\":
            out.append("\\\\")
        elif ch == quote:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\r":
            out.append("\\r")
        elif ch == "\x00":
            out.append("\\x00")
        else:
            out.append(ch)
        i += 1
    return "".join(out)


def _callee(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_callee(node.value)}.{node.attr}"
    raise MalformedCall(f"a tool call must name a function, not {ast.unparse(node)!r}")


def _python_call(node: ast.AST, source: str) -> ToolCall:
    raw = ast.get_source_segment(source, node) or ast.unparse(node)
    if not isinstance(node, ast.Call):
        return ToolCall(name="", error=f"expected a call like name(arg=value), found {raw!r}", raw=raw)
    try:
        name = _callee(node.func)
        if node.args:
            raise MalformedCall(f"{name}(...) must use keyword arguments only (name=value)", name=name)
        args: dict[str, Any] = {}
        for kw in node.keywords:
            if kw.arg is None:
                raise MalformedCall(f"{name}(...) cannot use ** in a tool call", name=name)
            args[kw.arg] = _literal(kw.value)
    except MalformedCall as exc:
        return ToolCall(name=exc.name or _safe_callee(node), error=str(exc), raw=raw)
    return ToolCall(name=name, arguments=args)


def _safe_callee(node: ast.Call) -> str:
    try:
        return _callee(node.func)
    except MalformedCall:
        return ""


def python_calls(body: str) -> list[ToolCall]:
    """Decode pythonic calls with :mod:`ast` (never ``eval``): a list ``[f(a=1), g(b="x")]``, a single
    call, or calls on separate lines (OLMo 3). Slips that can be repaired unambiguously are repaired
    first (see :func:`_normalize_python`); every call that cannot be read is malformed on its own."""
    text = body.strip()
    source = _normalize_python(text) or text
    try:
        tree = ast.parse(source, mode="exec")
    except (SyntaxError, ValueError) as exc:
        parts = _list_items(text) or _top_level_lines(text)
        if parts is not None:  # one bad call among several: the others are still calls
            return [call for part in parts for call in _each_python_call(part)]
        where = f", line {exc.lineno} column {exc.offset}" if isinstance(exc, SyntaxError) else ""
        reason = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        raise MalformedCall(
            f'not a valid Python call list ({reason}{where}); write calls as [name(arg="value"), ...]',
            name=guess_python_name(text),
        ) from None
    nodes = [stmt.value if isinstance(stmt, ast.Expr) else stmt for stmt in tree.body]
    if len(nodes) == 1 and isinstance(nodes[0], (ast.List, ast.Tuple)):
        nodes = list(nodes[0].elts)
    return [_python_call(node, source) for node in nodes]


def _each_python_call(part: str) -> list[ToolCall]:
    try:
        return python_calls(part)
    except MalformedCall as exc:
        return [ToolCall(name=exc.name or guess_python_name(part), error=str(exc), raw=part.strip())]


def _top_level_lines(text: str) -> list[str] | None:
    """Lines of ``text`` outside brackets and strings, when there are several (calls one per line)."""
    lines, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and text[i - 1] != "\\":
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "\n" and depth == 0:
            lines.append(text[start:i])
            start = i + 1
    lines.append(text[start:])
    lines = [line for line in lines if line.strip()]
    return lines if len(lines) > 1 else None


_PY_NAME_RE = re.compile(r"([A-Za-z_][\w.]*)\s*\(")


def guess_python_name(text: str) -> str:
    """The first ``name(`` in text, for errors."""
    match = _PY_NAME_RE.search(text)
    return match.group(1) if match else ""


# -- XML-ish parameter formats ----------------------------------------------------------------------
_QWEN_FUNCTION = re.compile(r"<function=([^>\n]*)>(.*?)(?:</function>|\Z)", re.S)
_QWEN_PARAM = re.compile(r"<parameter=([^>\n]*)>(.*?)(?:</parameter>|(?=<parameter=)|\Z)", re.S)


def _strip_one_newline(value: str) -> str:
    if value.startswith("\n"):
        value = value[1:]
    if value.endswith("\n"):
        value = value[:-1]
    return value


def _qwen_literal_tags(name: str, problem: str) -> str:
    return (
        f"the call to {name!r} cannot be read: {problem} (a value that holds this format's own tags as text "
        "cannot be told apart from the markup)"
    )


def qwen_xml_calls(body: str) -> list[ToolCall]:
    """Qwen3-Coder / Seed-OSS ``<function=name><parameter=k>v</parameter></function>`` bodies.

    Values carry no types: JSON literals (numbers, booleans, null, objects, lists) are decoded, the
    rest stay strings (one leading and one trailing newline are removed, as the template adds them).
    """
    calls: list[ToolCall] = []
    functions = list(_QWEN_FUNCTION.finditer(body))
    # MiMo-V2-Flash sometimes writes a parameter before the <function=...> it belongs to, inside the same
    # <tool_call>: with one function in the block the parameter is that call's; with several it is not
    # clear whose it is, and the block is malformed.
    outside = _QWEN_FUNCTION.sub("", body)
    stray = list(_QWEN_PARAM.finditer(outside))
    if functions and ("</function>" in outside or "</parameter>" in _QWEN_PARAM.sub("", outside)):
        name = functions[0].group(1).strip()
        raise MalformedCall(_qwen_literal_tags(name, "closing tags follow its </function>"), name=name)
    if stray and len(functions) != 1:
        raise MalformedCall(
            f"<parameter={stray[0].group(1).strip()}> is outside every <function=...> element; write each "
            "parameter inside the <function=NAME>...</function> of its call",
            name=guess_name(body),
        )
    for match in functions:
        name = match.group(1).strip()
        raw = match.group(0)
        if not name:
            calls.append(ToolCall(name="", error="<function=...> has no function name", raw=raw))
            continue
        params = [*stray, *_QWEN_PARAM.finditer(match.group(2))]
        if not match.group(0).rstrip().endswith("</function>"):
            calls.append(ToolCall(name=name, error="the <function=...> element is not closed", raw=raw))
            continue
        # A value holding this format's own tags as literal text (a file that is a parser fixture or a chat
        # template) cannot be told apart from the markup without the tool's schema: the first </parameter>
        # ends the value, and what follows would silently become other arguments, or be lost. An argument
        # named twice, a <function=...> inside the call or a </parameter> outside every parameter shows it.
        names = [p.group(1).strip() for p in params]
        twice = next((key for i, key in enumerate(names) if key in names[:i]), None)
        if twice is not None:
            problem = f"the parameter {twice!r} is given twice"
        elif "<function=" in match.group(2):
            problem = "it holds another <function="
        elif "</parameter>" in _QWEN_PARAM.sub("", match.group(2)):
            problem = "a </parameter> is outside every parameter"
        else:
            problem = ""
        if problem:
            calls.append(ToolCall(name=name, error=_qwen_literal_tags(name, problem), raw=raw))
            continue
        args, texts = untyped_arguments(
            (key, _strip_one_newline(p.group(2))) for key, p in zip(names, params, strict=True)
        )
        calls.append(ToolCall(name=name, arguments=args, texts=texts))
    if not calls:
        raise MalformedCall(
            "expected <function=NAME><parameter=KEY>VALUE</parameter></function> inside the tool call",
            name=guess_name(body),
        )
    return calls


def invoke_xml_calls(body: str, prefix: str = "") -> list[ToolCall]:
    """MiniMax-M2 ``<invoke name="x"><parameter name="k">v</parameter></invoke>`` bodies, DeepSeek
    V3.2/V4's DSML (the same tags with a ``｜DSML｜`` prefix and a ``string="true|false"`` attribute)
    and Step 3's ``steptml:`` tags. ``string="true"`` values stay text; others are decoded when they
    read as JSON."""
    p = re.escape(prefix)
    invoke = re.compile(rf'<{p}invoke\s+name="([^"]*)"\s*>(.*?)(?:</{p}invoke>|\Z)', re.S)
    param = re.compile(
        rf'<{p}parameter\s+name="([^"]*)"(?:\s+string="(true|false)")?\s*>(.*?)</{p}parameter>', re.S
    )
    calls: list[ToolCall] = []
    for match in invoke.finditer(body):
        name = match.group(1).strip()
        raw = match.group(0)
        if not name:
            calls.append(ToolCall(name="", error="<invoke> has no name", raw=raw))
            continue
        if not raw.rstrip().endswith("invoke>"):
            calls.append(ToolCall(name=name, error="the <invoke> element is not closed", raw=raw))
            continue
        args: dict[str, Any] = {}
        texts: dict[str, str] = {}
        for par in param.finditer(match.group(2)):
            value = par.group(3)
            texts.pop(par.group(1), None)
            if par.group(2) == "true":
                args[par.group(1)] = value
            elif par.group(2) == "false":
                # "not a string": a JSON value; text that is not JSON is kept as the model wrote it
                # (``string="false">hello``), as a string parameter would be.
                try:
                    args[par.group(1)] = loads(value)
                except ValueError:
                    args[par.group(1)] = value
            else:
                decoded, text = untyped_arguments([(par.group(1), value.strip("\n"))])
                args.update(decoded)
                texts.update(text)
        calls.append(ToolCall(name=name, arguments=args, texts=texts))
    if not calls:
        raise MalformedCall(
            f'expected <{prefix}invoke name="NAME"> elements inside the tool call', name=guess_name(body)
        )
    return calls


_GLM_PAIR = re.compile(r"<arg_key>(.*?)</arg_key>\s*<arg_value>(.*?)(?:</arg_value>|\Z)", re.S)


def glm_calls(body: str, sep: str = "") -> list[ToolCall]:
    """GLM-4.5/4.6/4.7 ``name\\n<arg_key>k</arg_key>\\n<arg_value>v</arg_value>`` bodies (or a JSON
    call), and Hunyuan 3's ``name<tool_sep><arg_key>...`` with ``sep="<tool_sep>"``. An ``<arg_key>``
    without its ``<arg_value>`` makes the call malformed rather than losing that argument."""
    text = body.strip()
    if text.startswith("{"):
        return json_calls(text)
    if sep and sep in text:
        name, _, rest = text.partition(sep)
    else:
        name, key, rest = text.partition("<arg_key>")
        rest = key + rest
    name = name.strip()
    if not name:
        raise MalformedCall("the tool call must start with the function name", name="")
    if "\n" in name or len(name) > 200:
        raise MalformedCall(
            "the function name must be on the first line, followed by <arg_key> pairs", name=""
        )
    pairs = list(_GLM_PAIR.finditer(rest))
    if len(pairs) != rest.count("<arg_key>"):
        raise MalformedCall(
            f"an <arg_key> of {name!r} is not followed by </arg_key><arg_value>VALUE</arg_value>", name=name
        )
    args, texts = untyped_arguments((m.group(1).strip(), m.group(2)) for m in pairs)
    return [ToolCall(name=name, arguments=args, texts=texts)]


# -- special-token formats --------------------------------------------------------------------------
_FENCE = re.compile(r"^\s*```(?:json)?\s*|\s*```\s*$")


def _strip_fence(text: str) -> str:
    return _FENCE.sub("", text)


def _args_object(text: str, name: str) -> dict[str, Any]:
    text = _strip_fence(text).strip()
    if not text:
        return {}
    try:
        value = loads(text)
    except ValueError as exc:
        raise MalformedCall(f"arguments of {name!r}: {json_error(exc, text)}", name=name) from None
    if not isinstance(value, dict):
        raise MalformedCall(
            f"arguments of {name!r} must be a JSON object, not {type(value).__name__}", name=name
        )
    return value


DEEPSEEK_SEP = "<｜tool▁sep｜>"


def deepseek_calls(body: str) -> list[ToolCall]:
    """DeepSeek V3/R1 ``function<｜tool▁sep｜>name\\n```json\\n{..}\\n````, and V3.1
    ``name<｜tool▁sep｜>{..}``."""
    head, sep, rest = body.partition(DEEPSEEK_SEP)
    if not sep:
        raise MalformedCall(
            f"expected NAME{DEEPSEEK_SEP}ARGUMENTS inside the tool call", name=body.strip()[:100]
        )
    head = head.strip()
    if head == "function" or (not head and "\n" in rest.lstrip()):
        name, _, args = rest.lstrip().partition("\n")
        name = name.strip()
    else:
        name, args = head, rest
    if not name:
        raise MalformedCall("the tool call has no function name")
    return [ToolCall(name=name, arguments=_args_object(args, name))]


def kimi_calls(body: str) -> list[ToolCall]:
    """Kimi K2 ``functions.NAME:IDX<|tool_call_argument_begin|>{..}``; the id is ``functions.NAME:IDX``."""
    head, sep, args = body.partition("<|tool_call_argument_begin|>")
    ident = head.strip()
    name = ident.split(":", 1)[0]
    name = name[len("functions.") :] if name.startswith("functions.") else name
    if not sep or not name:
        raise MalformedCall("expected functions.NAME:INDEX<|tool_call_argument_begin|>{arguments}", name=name)
    return [ToolCall(id=ident or new_call_id(), name=name, arguments=_args_object(args, name))]


def named_json_calls(body: str) -> list[ToolCall]:
    """Apertus ``[{"NAME": {args}}, ...]``: each call an object with the tool name as its only key."""
    calls: list[ToolCall] = []
    values = 0
    for value, raw_value, error in json_values(body):
        values += 1
        if error is not None:
            calls.append(ToolCall(name=guess_name(raw_value), error=error, raw=raw_value.strip()))
            continue
        for item in value if isinstance(value, list) else [value]:
            raw = json.dumps(item, ensure_ascii=False)
            if isinstance(item, dict) and "name" in item and ("arguments" in item or "parameters" in item):
                calls.append(call_from_object(item, raw=raw))
            elif isinstance(item, dict) and len(item) == 1:
                ((name, args),) = item.items()
                if isinstance(args, dict):
                    calls.append(ToolCall(name=str(name), arguments=args))
                else:
                    calls.append(
                        ToolCall(name=str(name), error="the arguments must be a JSON object", raw=raw)
                    )
            else:
                calls.append(
                    ToolCall(name="", error='each call must look like {"NAME": {arguments}}', raw=raw)
                )
    if not values:
        raise MalformedCall('expected a JSON list like [{"NAME": {arguments}}]')
    return calls


_GEMMA_KEY = re.compile(r"([{,]\s*)([A-Za-z_][\w\-.]*)\s*:")
_TRAILING_DOT = re.compile(r"(\d)\.(?=\s*[,}\]])")


def gemma4_calls(body: str, quote: str = '<|"|>', typed_strings: bool = False) -> list[ToolCall]:
    """Gemma 4 ``call:NAME{key:value,...}`` with strings quoted as ``<|"|>..<|"|>`` and bare keys; also
    FunctionGemma (``quote="<escape>"``, whose template quotes every value: ``typed_strings`` reads a
    quoted ``42`` or ``true`` as the JSON literal it spells). A number written ``108.`` is ``108.0``."""
    text = body.strip()
    if not text.startswith("call:"):
        raise MalformedCall("expected call:NAME{arguments} inside the tool call", name=guess_name(text))
    name, brace, rest = text[len("call:") :].partition("{")
    name = name.strip()
    if not name or not brace:
        raise MalformedCall("expected call:NAME{arguments} inside the tool call", name=name)
    strings: list[str] = []

    def keep(match: re.Match[str]) -> str:
        strings.append(match.group(1))
        return f"\x00{len(strings) - 1}\x00"

    def put_back(match: re.Match[str]) -> str:
        value = strings[int(match.group(1))]
        return json.dumps(json_value_or_text(value) if typed_strings else value, ensure_ascii=False)

    q = re.escape(quote)
    masked = re.sub(rf"{q}(.*?){q}", keep, "{" + rest, flags=re.S)
    masked = _GEMMA_KEY.sub(lambda m: f'{m.group(1)}"{m.group(2)}":', masked)
    masked = _TRAILING_DOT.sub(r"\1.0", masked)
    masked = re.sub(r"\x00(\d+)\x00", put_back, masked)
    return [ToolCall(name=name, arguments=_args_object(masked, name))]


def named_args_calls(name: str) -> Callable[[str], list[ToolCall]]:
    """A decoder for bodies that are only the arguments object of a call named by the header."""

    def decode(body: str) -> list[ToolCall]:
        return [ToolCall(name=name, arguments=_args_object(body, name))]

    return decode


# -- Kimi K3 XTML ------------------------------------------------------------------------------------
_XTML_ATTR = re.compile(r'(\w+)="([^"]*)"')
_XTML_JSON = re.compile(r"<\|open\|>json[^<]*<\|sep\|>(.*?)<\|close\|>json<\|sep\|>", re.S)
_XTML_ARG = re.compile(r"<\|open\|>argument\s+(.*?)<\|sep\|>(.*?)<\|close\|>argument<\|sep\|>", re.S)


def _xtml_attrs(text: str) -> dict[str, str]:
    return {k: v.replace("&quot;", '"').replace("&amp;", "&") for k, v in _XTML_ATTR.findall(text)}


def xtml_calls(body: str) -> list[ToolCall]:
    """Kimi K3's ``tool="NAME" index="1"<|sep|><|open|>argument key="k" type="string"<|sep|>v
    <|close|>argument<|sep|>...`` (the text after ``<|open|>call``), or one
    ``<|open|>json type="object"<|sep|>{..}<|close|>json<|sep|>``. ``type="string"`` values are the raw
    text; other types are JSON."""
    head, sep, rest = body.partition("<|sep|>")
    name = _xtml_attrs(head).get("tool", "").strip()
    if not sep or not name:
        raise MalformedCall('expected <|open|>call tool="NAME"<|sep|> and its arguments', name=name)
    json_block = _XTML_JSON.search(rest)
    if json_block is not None:  # the arguments as one JSON object
        return [ToolCall(name=name, arguments=_args_object(json_block.group(1), name))]
    args: dict[str, Any] = {}
    arguments = list(_XTML_ARG.finditer(rest))
    if len(arguments) != rest.count("<|open|>argument"):
        raise MalformedCall(f"an argument of {name!r} is not closed with <|close|>argument<|sep|>", name=name)
    for match in arguments:
        attrs = _xtml_attrs(match.group(1))
        key, kind, value = attrs.get("key", ""), attrs.get("type", "string"), match.group(2)
        if not key:
            raise MalformedCall(f'an argument of {name!r} has no key="..."', name=name)
        if kind == "string":
            args[key] = value
            continue
        try:
            args[key] = loads(value)
        except ValueError as exc:
            error = f"argument {key!r} of {name!r} ({kind}): {json_error(exc, value)}"
            raise MalformedCall(error, name=name) from None
    return [ToolCall(name=name, arguments=args)]
