"""The parser registry: every model family hermitcrab knows, by format name.

A family is one :class:`~hermitcrab.prompting.ToolCallParser` subclass that declares its name,
aliases, template markers, stop markers and grammar as class attributes;
:func:`register_parser` (a class decorator) records it here. Everything that needs a family reads
this registry: :func:`get_parser`, format detection (:func:`~hermitcrab.prompting.detect_format`)
and constrained decoding (``HuggingEngine(constrained=True)``).

``get_parser(name)`` always returns a *new* instance: parsers are stateful stream parsers, so every
generation needs its own. Names are case-insensitive and ``-``/``.``/``_`` are interchangeable
(``"qwen2.5"``, ``"Qwen2_5"`` and ``"qwen2-5"`` are the same name).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar, overload

from hermitcrab.errors import ConfigurationError
from hermitcrab.prompting._base import ToolCallParser

__all__ = ("get_parser", "parser_names", "register_parser", "resolve_parser", "unregister_parser")

P = TypeVar("P", bound=type[ToolCallParser])


@dataclass(frozen=True)
class Family:
    """What the registry knows of one registered class (read from its class attributes)."""

    cls: type[ToolCallParser]
    name: str
    """The canonical format name: what detection returns for this family."""
    markers: tuple[tuple[str, ...], ...]
    """Template-marker alternatives, each a tuple of fragments that must all appear."""
    priority: int
    order: int
    """Registration order (a later registration is tried first among equal priorities)."""


_REGISTRY: dict[str, type[ToolCallParser]] = {}
"""Normalised name -> parser class."""
_FAMILIES: dict[type[ToolCallParser], Family] = {}
"""Registered class -> its declarations. Filled when :mod:`hermitcrab.prompting._families` is imported
and by users through :func:`register_parser`."""
_counter = 0


def normalise(name: str) -> str:
    """A format name as the registry keys it (``"Qwen2.5"`` -> ``"qwen2_5"``)."""
    return re.sub(r"[-._\s]+", "_", name.strip().lower())


def _own(cls: type[ToolCallParser], attr: str, default: object) -> object:
    """A declaration made on ``cls`` itself (family declarations are not inherited)."""
    return cls.__dict__.get(attr, default)


def _markers(cls: type[ToolCallParser]) -> tuple[tuple[str, ...], ...]:
    declared = _own(cls, "template_markers", ())
    if isinstance(declared, str) or not isinstance(declared, (tuple, list)):
        raise ConfigurationError(
            f"{cls.__name__}.template_markers must be a tuple of alternatives (each a string, or a tuple "
            f'of strings that must all appear), e.g. ("<tool_call>",); got {declared!r}'
        )
    alternatives: list[tuple[str, ...]] = []
    for alternative in declared:
        fragments = (alternative,) if isinstance(alternative, str) else alternative
        if (
            not isinstance(fragments, (tuple, list))
            or not fragments
            or not all(isinstance(f, str) and f for f in fragments)
        ):
            raise ConfigurationError(
                f"{cls.__name__}.template_markers: each alternative must be a non-empty string or a "
                f"tuple of them, not {alternative!r}"
            )
        alternatives.append(tuple(fragments))
    return tuple(alternatives)


@overload
def register_parser(cls: P, /, *, names: tuple[str, ...] = (), replace: bool = False) -> P: ...


@overload
def register_parser(*, names: tuple[str, ...] = (), replace: bool = False) -> Callable[[P], P]: ...


def register_parser(
    cls: P | None = None, /, *, names: tuple[str, ...] = (), replace: bool = False
) -> P | Callable[[P], P]:
    """Register a parser class as a family: under its ``name``, its ``aliases`` and any extra
    ``names``, with its ``template_markers`` for detection; returns ``cls``.

    Use it as a class decorator (``@register_parser`` or ``@register_parser(replace=True)``) or call
    it. Registering a class again updates what the registry knows of it.

    Raises :class:`~hermitcrab.errors.ConfigurationError` when a name is already taken by another
    class, unless ``replace=True`` (use that to override a built-in format with your own parser), or
    when a declaration has the wrong shape.
    """
    if cls is None:

        def decorate(cls: P) -> P:
            return register_parser(cls, names=names, replace=replace)

        return decorate
    if not (isinstance(cls, type) and issubclass(cls, ToolCallParser)):
        raise ConfigurationError(f"register_parser() needs a ToolCallParser subclass, got {cls!r}")
    aliases = _own(cls, "aliases", ())
    if isinstance(aliases, str) or not isinstance(aliases, (tuple, list)):
        raise ConfigurationError(f"{cls.__name__}.aliases must be a tuple of names, not {aliases!r}")
    all_names = tuple(n for n in (cls.name, *aliases, *names) if n)
    if not all_names:
        raise ConfigurationError(f"{cls.__name__} has no `name`: set the class attribute or pass names=(...)")
    priority = _own(cls, "detect_priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ConfigurationError(f"{cls.__name__}.detect_priority must be an int, not {priority!r}")
    grammar = cls.grammar
    if grammar is not None and not (isinstance(grammar, str) and grammar):
        raise ConfigurationError(f"{cls.__name__}.grammar must be a grammar name or None, not {grammar!r}")
    markers = _markers(cls)
    keys = tuple(dict.fromkeys(normalise(n) for n in all_names))
    for name in all_names:
        existing = _REGISTRY.get(normalise(name))
        if existing is not None and existing is not cls and not replace:
            raise ConfigurationError(
                f"parser name {name!r} is already registered to {existing.__name__}; "
                "pass replace=True to override it"
            )
    global _counter
    previous = _FAMILIES.get(cls)
    if previous is None:
        _counter += 1
    order = previous.order if previous is not None else _counter
    for key in keys:
        _REGISTRY[key] = cls
    _FAMILIES[cls] = Family(cls, all_names[0], markers, priority, order)
    return cls


def unregister_parser(cls: type[ToolCallParser]) -> None:
    """Forget a class registered with :func:`register_parser` (every name that still points at it,
    and its detection markers). Does nothing for a class that is not registered."""
    _FAMILIES.pop(cls, None)
    for key in [k for k, v in _REGISTRY.items() if v is cls]:
        del _REGISTRY[key]


def parser_names() -> list[str]:
    """Every registered name (aliases included), sorted."""
    return sorted(_REGISTRY)


def lookup(name: str) -> type[ToolCallParser] | None:
    """The class registered under ``name``, or ``None``."""
    return _REGISTRY.get(normalise(name)) if isinstance(name, str) else None


def families() -> list[Family]:
    """The registered families in detection order: higher ``detect_priority`` first, then the latest
    registration first."""
    return sorted(_FAMILIES.values(), key=lambda f: (-f.priority, -f.order))


def get_parser(name: str) -> ToolCallParser:
    """A new parser instance for the format ``name`` (e.g. ``"hermes"``, ``"llama3_json"``)."""
    cls = lookup(name)
    if cls is None:
        raise ConfigurationError(
            f"unknown tool-call parser {name!r}; known names: {', '.join(parser_names())} "
            "(or pass a ToolCallParser class or instance)"
        )
    return cls()


def resolve_parser(
    spec: str | ToolCallParser | type[ToolCallParser] | None = None, chat_template: str | None = None
) -> ToolCallParser:
    """The parser an engine should use, from what the user gave.

    ``spec`` may be a registered name, a parser instance (a fresh ``clone()`` is returned, so the
    caller's instance is never shared between generations), a parser class (instantiated with no
    arguments), or ``None``: detect the format from ``chat_template`` (falling back to ``"hermes"``
    when there is no template or nothing in it is recognised).
    """
    if spec is None:
        from hermitcrab.prompting._detection import detect_parser

        parser = detect_parser(chat_template) if chat_template else None
        return parser if parser is not None else get_parser("hermes")
    if isinstance(spec, str):
        return get_parser(spec)
    if isinstance(spec, ToolCallParser):
        return spec.clone()
    if isinstance(spec, type) and issubclass(spec, ToolCallParser):
        try:
            return spec()
        except TypeError as exc:
            raise ConfigurationError(
                f"could not create {spec.__name__}() with no arguments ({exc}); pass an instance instead"
            ) from exc
    raise ConfigurationError(
        f"a parser must be a name, a ToolCallParser class or instance, or None; got {spec!r}"
    )
