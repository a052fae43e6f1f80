"""The parser registry: format names to parser classes, and :func:`resolve_parser` for engines.

``get_parser(name)`` always returns a *new* instance: parsers are stateful stream parsers, so every
generation needs its own. Names are case-insensitive and ``-``/``.``/``_`` are interchangeable
(``"qwen2.5"``, ``"Qwen2_5"`` and ``"qwen2-5"`` are the same name).
"""

from __future__ import annotations

import re

from hermitcrab.errors import ConfigurationError
from hermitcrab.prompting.base import ToolCallParser

__all__ = ("get_parser", "parser_names", "register_parser", "resolve_parser")

_REGISTRY: dict[str, type[ToolCallParser]] = {}
"""Normalised name -> parser class. Filled by :mod:`hermitcrab.prompting.parsers` at import and by
users through :func:`register_parser`."""


def _key(name: str) -> str:
    return re.sub(r"[-._\s]+", "_", name.strip().lower())


def register_parser(
    cls: type[ToolCallParser], *, names: tuple[str, ...] = (), replace: bool = False
) -> type[ToolCallParser]:
    """Register ``cls`` under its ``name`` and any extra ``names`` (aliases); returns ``cls``.

    Raises :class:`~hermitcrab.errors.ConfigurationError` when a name is already taken by another
    class, unless ``replace=True`` (use that to override a built-in format with your own parser).
    """
    if not (isinstance(cls, type) and issubclass(cls, ToolCallParser)):
        raise ConfigurationError(f"register_parser() needs a ToolCallParser subclass, got {cls!r}")
    all_names = tuple(n for n in (cls.name, *names) if n)
    if not all_names:
        raise ConfigurationError(f"{cls.__name__} has no `name`: set the class attribute or pass names=(...)")
    for name in all_names:
        key = _key(name)
        existing = _REGISTRY.get(key)
        if existing is not None and existing is not cls and not replace:
            raise ConfigurationError(
                f"parser name {name!r} is already registered to {existing.__name__}; "
                "pass replace=True to override it"
            )
    for name in all_names:
        _REGISTRY[_key(name)] = cls
    return cls


def parser_names() -> list[str]:
    """Every registered name (aliases included), sorted."""
    return sorted(_REGISTRY)


def get_parser(name: str) -> ToolCallParser:
    """A new parser instance for the format ``name`` (e.g. ``"hermes"``, ``"llama3_json"``)."""
    cls = _REGISTRY.get(_key(name)) if isinstance(name, str) else None
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
        from hermitcrab.prompting.detection import detect_parser

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
