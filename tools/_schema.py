"""From a Python signature to a pydantic argument model and a clean JSON schema.

Private: :class:`hermitcrab.tools.Tool` is the public face. Everything here runs once, at decoration
time, and keeps no cache (a cache keyed by function would keep every decorated object alive).

How a parameter becomes a property:

- its type hint is resolved (string hints too, against the function's module and the decorating frame);
- the pydantic field gets an internal name (``f0``, ``f1``, ...) and the parameter name as its alias, so a
  parameter may be called ``json``, ``copy`` or ``schema`` without shadowing a ``BaseModel`` attribute,
  and validation errors still name the parameter;
- its description comes from an explicit ``Field(description=...)`` (in ``Annotated`` or as the default)
  or else from the docstring's parameter section (Google, NumPy or reST).

The schema is then cleaned for small models and chat templates: no ``title`` noise, ``$defs`` inlined
unless a model is recursive, ``properties`` and ``required`` always present, and it is checked against the
JSON Schema 2020-12 metaschema.
"""

from __future__ import annotations

import copy
import inspect
import re
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import docstring_parser
import jsonschema
from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model
from pydantic.fields import FieldInfo
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaWarningKind
from pydantic_core import PydanticUndefined

from hermitcrab.errors import ToolDefinitionError

__all__ = ("NAME_PATTERN", "Signature", "build_signature", "check_name", "clean_schema", "validator_class")

NAME_PATTERN = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
"""What OpenAI-style APIs and most chat templates accept as a function name."""

_SCHEMA_KEYS = frozenset(
    {"items", "additionalProperties", "not", "if", "then", "else", "contains", "propertyNames"}
    | {"unevaluatedItems", "unevaluatedProperties", "contentSchema"}
)
_SCHEMA_LIST_KEYS = frozenset({"anyOf", "oneOf", "allOf", "prefixItems"})
_FIRST_KEYS = ("type", "description")
_SCHEMA_MAP_KEYS = frozenset({"properties", "$defs", "definitions", "patternProperties", "dependentSchemas"})


@dataclass(frozen=True)
class Signature:
    """What a tool needs from its function: description, argument model, schema and field mapping."""

    description: str
    model: type[BaseModel]
    parameters: dict[str, Any]
    fields: tuple[tuple[str, str], ...]
    """(internal pydantic field name, parameter name) in signature order."""


class _QuietJsonSchema(GenerateJsonSchema):
    """pydantic's generator without warnings: a default that is not JSON-serializable is just left out."""

    def emit_warning(self, kind: JsonSchemaWarningKind, detail: str) -> None:
        """Drop the warning; the schema simply omits what cannot be described."""


def validator_class(parameters: Mapping[str, Any]) -> Any:
    """The jsonschema validator class for a tool's ``parameters``: the dialect its ``$schema`` names,
    else JSON Schema 2020-12 (what ``@tool`` schemas are checked against)."""
    return jsonschema.validators.validator_for(parameters, jsonschema.Draft202012Validator)


def check_name(name: object, *, what: str = "tool name") -> str:
    """Return ``name`` if it is a valid tool name, else raise :class:`ToolDefinitionError`."""
    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ToolDefinitionError(
            f"{what} {name!r} is invalid: use 1-64 letters, digits, '_' or '-' "
            "(pass name=... to @tool to choose another)"
        )
    return name


def _docstring(fn: Callable[..., Any]) -> tuple[str, dict[str, str]]:
    """The description text and the per-parameter descriptions of ``fn``'s docstring."""
    doc = inspect.getdoc(fn)
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)) and doc == inspect.getdoc(type(fn)):
        doc = None  # a callable object (e.g. functools.partial) showing its class's documentation
    if not doc:
        return "", {}
    try:
        parsed = docstring_parser.parse(doc)
    except docstring_parser.ParseError:
        return doc.strip(), {}  # an unusual layout: keep it all as the description
    text = "\n\n".join(p.strip() for p in (parsed.short_description, parsed.long_description) if p)
    params = {p.arg_name: " ".join(p.description.split()) for p in parsed.params if p.description}
    return text, params


def _user_description(annotation: Any, default: Any) -> bool:
    """Whether the user set ``Field(description=...)`` in ``Annotated`` metadata or as the default."""
    infos: list[Any] = [default]
    if typing.get_origin(annotation) is typing.Annotated:
        infos.extend(typing.get_args(annotation)[1:])
    return any(isinstance(i, FieldInfo) and i.description is not None for i in infos)


def _resolve_hint(
    tool_name: str, fn: Callable[..., Any], param: inspect.Parameter, localns: Mapping[str, Any] | None
) -> Any:
    """The evaluated type hint of one parameter (string annotations included)."""
    annotation = param.annotation
    if not isinstance(annotation, str):
        return annotation
    holder = type("_Hint", (), {"__annotations__": {param.name: annotation}})
    globalns = getattr(inspect.unwrap(fn), "__globals__", {})
    try:
        return typing.get_type_hints(
            holder, globalns=globalns, localns=dict(localns or {}), include_extras=True
        )[param.name]
    except Exception as exc:
        raise ToolDefinitionError(
            f"tool {tool_name!r}: cannot resolve the type hint {annotation!r} of parameter "
            f"{param.name!r} ({exc}); define the type at module level or before the function"
        ) from exc


def build_signature(
    tool_name: str,
    fn: Callable[..., Any],
    *,
    skip_first: bool,
    description: str | None,
    localns: Mapping[str, Any] | None = None,
) -> Signature:
    """Describe ``fn``'s parameters (all but the first when ``skip_first``) as a validated model and schema.

    Raises :class:`ToolDefinitionError` naming the tool and the parameter for anything that cannot be
    described: ``*args``/``**kwargs``, positional-only or un-annotated parameters, types pydantic cannot
    validate or describe.
    """
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        raise ToolDefinitionError(f"tool {tool_name!r}: cannot read the signature of {fn!r} ({exc})") from exc
    doc_text, doc_params = _docstring(fn)
    params = list(sig.parameters.values())
    positional = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    if skip_first and params and params[0].kind in positional:
        params = params[1:]

    field_defs: dict[str, Any] = {}
    fields: list[tuple[str, str]] = []
    for index, param in enumerate(params):
        where = f"tool {tool_name!r}, parameter {param.name!r}"
        if param.kind is param.VAR_POSITIONAL or param.kind is param.VAR_KEYWORD:
            star = "*" if param.kind is param.VAR_POSITIONAL else "**"
            raise ToolDefinitionError(
                f"{where}: {star}{param.name} cannot be described to a model; list the parameters explicitly"
            )
        if param.kind is param.POSITIONAL_ONLY:
            raise ToolDefinitionError(
                f"{where}: positional-only parameters cannot be passed by name; remove the '/'"
            )
        if param.annotation is inspect.Parameter.empty:
            raise ToolDefinitionError(f"{where}: add a type hint (e.g. '{param.name}: str')")
        annotation = _resolve_hint(tool_name, fn, param, localns)
        default = param.default
        has_user_description = _user_description(annotation, default)
        if isinstance(default, FieldInfo):
            annotation = typing.Annotated[annotation, default]
            default = PydanticUndefined
        elif default is inspect.Parameter.empty:
            default = PydanticUndefined
        extra: dict[str, Any] = {}
        if not has_user_description and param.name in doc_params:
            extra["description"] = doc_params[param.name]
        internal = f"f{index}"
        field_defs[internal] = (annotation, Field(default, alias=param.name, **extra))
        fields.append((internal, param.name))

    model = _create_model(tool_name, fn, field_defs, fields)
    _check_defaults(tool_name, model, fields)
    try:
        raw = model.model_json_schema(schema_generator=_QuietJsonSchema)
    except Exception as exc:
        _blame_parameter(tool_name, field_defs, fields, exc)
        raise ToolDefinitionError(f"tool {tool_name!r}: cannot describe the arguments ({exc})") from exc
    parameters = clean_schema(raw)
    try:
        jsonschema.Draft202012Validator.check_schema(parameters)
    except jsonschema.SchemaError as exc:
        raise ToolDefinitionError(
            f"tool {tool_name!r}: the argument schema is not valid JSON Schema ({exc.message})"
        ) from exc
    text = description if description is not None else doc_text
    return Signature(description=text, model=model, parameters=parameters, fields=tuple(fields))


def _create_model(
    tool_name: str, fn: Callable[..., Any], field_defs: dict[str, Any], fields: list[tuple[str, str]]
) -> type[BaseModel]:
    """The argument model: extra keys forbidden, so a model that invents an argument is told so."""
    try:
        return create_model(
            f"{tool_name}_arguments",
            __config__=ConfigDict(extra="forbid", validate_by_alias=True, validate_by_name=False),
            __module__=getattr(fn, "__module__", None) or __name__,
            **field_defs,
        )
    except Exception as exc:
        _blame_parameter(tool_name, field_defs, fields, exc)
        raise ToolDefinitionError(f"tool {tool_name!r}: cannot build the argument model ({exc})") from exc


def _check_defaults(tool_name: str, model: type[BaseModel], fields: list[tuple[str, str]]) -> None:
    """Refuse a default that its own type hint rejects (``x: int = "abc"``): the schema would advertise
    it and the tool would receive it unvalidated whenever the model leaves the argument out."""
    for internal, name in fields:
        info = model.model_fields[internal]
        if info.is_required() or info.default_factory is not None:
            continue
        probe = create_model(  # type: ignore[call-overload]
            "probe", __config__=ConfigDict(validate_default=True), **{internal: (info.annotation, info)}
        )
        try:
            probe.model_validate({})
        except ValidationError as exc:
            reason = exc.errors(include_url=False)[0]["msg"]
            hint = _type_name(info.annotation)
            advice = f" (e.g. '{name}: {hint} | None = None')" if info.default is None else ""
            raise ToolDefinitionError(
                f"tool {tool_name!r}, parameter {name!r}: the default {info.default!r} does not match the "
                f"type hint {hint} ({reason}); change the default or the hint{advice}"
            ) from None


def _blame_parameter(
    tool_name: str, field_defs: dict[str, Any], fields: list[tuple[str, str]], exc: Exception
) -> None:
    """Raise a :class:`ToolDefinitionError` naming the first parameter whose type cannot be described."""
    for internal, name in fields:
        annotation, info = field_defs[internal]
        try:
            probe = create_model("probe", **{internal: (annotation, info)})  # type: ignore[call-overload]
            probe.model_json_schema(schema_generator=_QuietJsonSchema)
        except Exception as inner:
            reason = str(inner).strip().splitlines()[0] if str(inner).strip() else type(inner).__name__
            raise ToolDefinitionError(
                f"tool {tool_name!r}, parameter {name!r}: pydantic cannot validate or describe the type "
                f"{_type_name(annotation)} ({reason}); use a JSON-friendly type "
                "(str, int, float, bool, list, dict, Literal, Enum, a BaseModel, ...)"
            ) from exc


def _type_name(annotation: Any) -> str:
    """A short readable name of a type hint for error messages."""
    if isinstance(annotation, type):
        return annotation.__qualname__
    return repr(annotation).replace("typing.", "")


def clean_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of a pydantic object schema tidied for models and chat templates.

    Drops the ``title`` of every schema node (never a property that happens to be called ``title``),
    inlines ``$defs`` references that are not recursive, puts ``type`` and ``description`` first in each
    node (pydantic sorts keys alphabetically; a model reads ``type`` before ``description`` better), and
    makes sure the top level has ``type``, ``properties`` and ``required``.
    """
    schema = copy.deepcopy(schema)
    defs: dict[str, Any] = schema.pop("$defs", {})
    for sub in defs.values():
        _drop_titles(sub)
    _drop_titles(schema)
    recursive = _recursive_defs(defs)
    inline = {name: body for name, body in defs.items() if name not in recursive}
    schema = _order(_inline(schema, inline, ()))
    kept = {name: _order(_inline(defs[name], inline, ())) for name in defs if name in recursive}
    out: dict[str, Any] = {"type": "object", "properties": schema.pop("properties", {})}
    out["required"] = schema.pop("required", [])
    schema.pop("type", None)
    out.update(schema)
    if kept:
        out["$defs"] = kept
    return out


def _drop_titles(node: Any) -> None:
    """Remove ``title`` from every schema node under ``node``, in place."""
    if not isinstance(node, dict):
        return
    if isinstance(node.get("title"), str):
        del node["title"]
    for key, value in node.items():
        if key in _SCHEMA_MAP_KEYS and isinstance(value, dict):
            for sub in value.values():
                _drop_titles(sub)
        elif key in _SCHEMA_LIST_KEYS and isinstance(value, list):
            for sub in value:
                _drop_titles(sub)
        elif key in _SCHEMA_KEYS:
            _drop_titles(value)


def _order(node: Any) -> Any:
    """A copy of ``node`` with ``type`` and ``description`` first in every schema node."""
    if not isinstance(node, dict):
        return node
    out = {key: node[key] for key in _FIRST_KEYS if key in node}
    out.update(node)
    for key, value in out.items():
        if key in _SCHEMA_MAP_KEYS and isinstance(value, dict):
            out[key] = {k: _order(v) for k, v in value.items()}
        elif key in _SCHEMA_LIST_KEYS and isinstance(value, list):
            out[key] = [_order(v) for v in value]
        elif key in _SCHEMA_KEYS:
            out[key] = _order(value)
    return out


def _ref_name(node: dict[str, Any]) -> str | None:
    """The ``$defs`` name a ``{"$ref": "#/$defs/Name"}`` node points at, if any."""
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return ref[len("#/$defs/") :]
    return None


def _refs(node: Any) -> set[str]:
    """Every ``$defs`` name referenced anywhere under ``node``."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            name = _ref_name(item)
            if name is not None:
                found.add(name)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def _recursive_defs(defs: dict[str, Any]) -> set[str]:
    """The definitions that can reach themselves through references (these stay as ``$ref``)."""
    direct = {name: _refs(body) & defs.keys() for name, body in defs.items()}
    recursive: set[str] = set()
    for start in defs:
        seen: set[str] = set()
        stack = list(direct[start])
        while stack:
            name = stack.pop()
            if name == start:
                recursive.add(start)
                break
            if name not in seen:
                seen.add(name)
                stack.extend(direct[name])
    return recursive


def _inline(node: Any, defs: dict[str, Any], path: tuple[str, ...]) -> Any:
    """``node`` with references to non-recursive ``defs`` replaced by their bodies (sibling keys win)."""
    if not isinstance(node, dict):
        return node
    name = _ref_name(node)
    if name is not None and name in defs and name not in path:
        body = _inline(copy.deepcopy(defs[name]), defs, (*path, name))
        siblings = _inline({k: v for k, v in node.items() if k != "$ref"}, defs, path)
        return {**body, **siblings}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _SCHEMA_MAP_KEYS and isinstance(value, dict):
            out[key] = {k: _inline(v, defs, path) for k, v in value.items()}
        elif key in _SCHEMA_LIST_KEYS and isinstance(value, list):
            out[key] = [_inline(v, defs, path) for v in value]
        elif key in _SCHEMA_KEYS:
            out[key] = _inline(value, defs, path)
        else:
            out[key] = value
    return out
