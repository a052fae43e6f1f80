"""The :class:`Tool` object and the ``@tool`` decorator that makes one."""

from __future__ import annotations

import inspect
import math
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any, Generic, Literal, ParamSpec, TypeVar, cast, overload

from hermitcrab.errors import ToolDefinitionError
from hermitcrab.tools._schema import Signature, build_signature, check_name
from hermitcrab.tools._text import result_to_text

__all__ = ("Tool", "as_tool", "tool", "tools_of")

P = ParamSpec("P")
R = TypeVar("R")

_Kind = Literal["function", "method", "classmethod", "staticmethod", "bound"]


class Tool(Generic[P, R]):
    """A function the model may call, with its name, description and JSON schema.

    Made by :func:`tool` (or :func:`as_tool`). Calling a ``Tool`` calls the function directly, without
    validation, so decorating never changes how your own code uses it. The runtime instead validates the
    model's arguments with :meth:`validate` and then calls :attr:`fn` (sync functions in a worker thread).

    Attributes:
        name: The name the model calls the tool by (``^[a-zA-Z0-9_-]{1,64}$``).
        description: What the tool does, from ``description=`` or the docstring's text (the parameter,
            return and raises sections left out).
        parameters: JSON schema of the argument object: ``type``, ``properties``, ``required``,
            ``additionalProperties: false``. Shared, not copied: do not mutate it.
        timeout: Seconds one call may run before the runtime gives up on it, or ``None`` for no limit.
        retries: Extra attempts after a failure that :attr:`retry_on` allows (0: try once), made by the
            runtime without asking the model.
        retry_on: Exception types worth retrying (empty: retry nothing).
        max_retries: How many times per round the tool may raise
            :class:`~hermitcrab.errors.ToolRetry` to ask the *model* for another call; one more is a
            failure.
        is_async: Whether :attr:`fn` returns an awaitable.
        fn: The callable to run; for a tool read from an instance (``obj.method``) it is bound to it.

    Sync functions run in a worker thread, which cannot be killed: if the round is cancelled or
    :attr:`timeout` expires, the round goes on without the result but the function runs until it
    returns, possibly while the next round runs. Long sync tools should check
    :func:`~hermitcrab.tools.tool_cancelled` between steps and return early.

    In a class body ``@tool`` works like a method: ``obj.method`` is a bound ``Tool`` (no ``self`` in the
    schema) and ``Class.method`` stays the plain, unbound one. ``@tool`` above ``@classmethod`` or
    ``@staticmethod`` works too.
    """

    name: str
    description: str
    parameters: dict[str, Any]
    timeout: float | None
    retries: int
    retry_on: tuple[type[BaseException], ...]
    max_retries: int = 1
    is_async: bool
    fn: Callable[..., Any]

    def __init__(
        self,
        fn: Callable[P, R],
        *,
        name: str | None = None,
        description: str | None = None,
        timeout: float | None = None,
        retries: int = 0,
        retry_on: type[BaseException] | tuple[type[BaseException], ...] = (),
        max_retries: int = 1,
        _namespace: Mapping[str, Any] | None = None,
    ) -> None:
        kind: _Kind = "function"
        raw: object = fn  # @tool also takes classmethod and staticmethod objects
        if isinstance(raw, classmethod):
            kind, fn = "classmethod", cast("Callable[P, R]", raw.__func__)
        elif isinstance(raw, staticmethod):
            kind, fn = "staticmethod", raw.__func__
        given: object = fn  # a Tool is callable too
        if isinstance(given, Tool):
            raise ToolDefinitionError(f"{given.name!r} is already a tool; apply @tool once")
        if not callable(fn):
            raise ToolDefinitionError(f"@tool needs a function, not {type(fn).__name__} {fn!r}")
        label = name if name is not None else getattr(fn, "__name__", None)
        if label is None:
            raise ToolDefinitionError(f"{fn!r} has no __name__; pass name=... to @tool")
        self.name = check_name(label)
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise ToolDefinitionError(
                f"tool {self.name!r} is a generator function; a tool must return its result "
                "(collect the items into a list and return that)"
            )
        skip_first = kind == "classmethod"
        if kind == "function" and _defined_in_class_body(fn) and _first_is_self(fn):
            kind, skip_first = "method", True
        self.timeout = _check_timeout(self.name, timeout)
        self.retries = _check_retries(self.name, retries)
        self.retry_on = _check_retry_on(self.name, retry_on)
        self.max_retries = _check_retries(self.name, max_retries, "max_retries")
        if description is not None and not isinstance(description, str):
            raise ToolDefinitionError(f"tool {self.name!r}: description must be a str, not {description!r}")
        self._signature: Signature = build_signature(
            self.name, fn, skip_first=skip_first, description=description, localns=_namespace
        )
        self.description = self._signature.description
        self.parameters = self._signature.parameters
        self.fn = fn
        self.is_async = _is_async(fn)
        self._kind: _Kind = kind
        for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
            value = getattr(fn, attr, None)
            if value is not None:
                setattr(self, attr, value)
        self.__wrapped__ = fn

    # -- using it as a function and as a method ---------------------------------------------------

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call the function directly (no validation), exactly as if it were not decorated."""
        return self.fn(*args, **kwargs)  # type: ignore[no-any-return]

    def __get__(self, obj: object, objtype: type | None = None) -> Tool[..., R]:
        """Bind like a function in a class body: ``obj.method`` gives a bound tool without ``self``.

        A new bound tool is made on every access (as Python does for bound methods) and none is cached,
        so a tool never keeps an instance alive.
        """
        if self._kind == "method" and obj is not None:
            return self._bind(obj)
        if self._kind == "classmethod":
            return self._bind(objtype if objtype is not None else type(obj))
        return self

    def _bind(self, target: object) -> Tool[..., R]:
        """A copy of this tool whose :attr:`fn` is bound to ``target`` (instance or class)."""
        bound: Tool[..., R] = object.__new__(type(self))
        bound.__dict__.update(self.__dict__)
        bound.fn = types.MethodType(self.fn, target)
        bound._kind = "bound"
        return bound

    @property
    def needs_binding(self) -> bool:
        """True for a method read from its class (``Class.method``): it has no ``self`` to run with."""
        return self._kind == "method"

    # -- what the runtime uses --------------------------------------------------------------------

    def schema(self) -> dict[str, Any]:
        """The chat-template / OpenAI tool shape.

        ``{"type": "function", "function": {"name": ..., "description": ..., "parameters": ...}}``;
        the ``parameters`` dict inside is shared with :attr:`parameters`: do not mutate it.
        """
        return {
            "type": "function",
            "function": {"name": self.name, "description": self.description, "parameters": self.parameters},
        }

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Check a model's arguments and return the keyword arguments for :attr:`fn`.

        pydantic's lax mode coerces what is unambiguous (``"21"`` becomes ``21``), defaults are filled
        in, and nested models arrive as instances of the classes the hints name. Unknown keys are
        rejected rather than ignored, so a model that invents an argument learns that it did.

        Raises:
            pydantic.ValidationError: the arguments do not fit; :func:`format_validation_error` turns it
                into a message for the model.
        """
        instance = self._signature.model.model_validate(
            dict(arguments) if isinstance(arguments, Mapping) else arguments
        )
        return {name: getattr(instance, internal) for internal, name in self._signature.fields}

    def result_to_text(self, value: object) -> str:
        """The text the model reads for a return value; override in a subclass to change it.

        See :func:`hermitcrab.tools.result_to_text`.
        """
        return result_to_text(value)

    def __repr__(self) -> str:
        params = ", ".join(self.parameters.get("properties", {}))
        return f"<Tool {self.name}({params})>"


@overload
def tool(fn: Callable[P, R], /) -> Tool[P, R]: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    retries: int = 0,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = (),
    max_retries: int = 1,
) -> Callable[[Callable[P, R]], Tool[P, R]]: ...


def tool(
    fn: Callable[P, R] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    retries: int = 0,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = (),
    max_retries: int = 1,
) -> Tool[P, R] | Callable[[Callable[P, R]], Tool[P, R]]:
    """Turn a function (sync or async, plain or method) into a :class:`Tool` the model can call.

    Use it bare (``@tool``) or with options (``@tool(name=..., description=..., timeout=..., retries=...,
    retry_on=(...), max_retries=...)``). ``retries``/``retry_on`` retry an exception without the model;
    ``max_retries`` is how often per round the tool may raise :class:`~hermitcrab.errors.ToolRetry` to
    ask the model for a corrected call. Every parameter needs a type hint; its description comes from
    ``Annotated[T, Field(description=...)]`` or from the docstring's parameter section (Google, NumPy
    or reST). Problems are reported at once, as :class:`~hermitcrab.errors.ToolDefinitionError` naming
    the tool and the parameter.

    Example::

        @tool
        def get_weather(city: str, unit: Literal["C", "F"] = "C") -> str:
            '''Current weather for a city.

            Args:
                city: The city's name, e.g. "Lisbon".
                unit: Temperature unit.
            '''
    """
    # String type hints may name types local to the decorating scope (or the class body being built):
    # read them now, from the caller's frame, and keep no reference afterwards.
    frame = sys._getframe(1)
    namespace = dict(frame.f_locals) if frame.f_locals is not frame.f_globals else None
    del frame
    options: dict[str, Any] = {
        "name": name,
        "description": description,
        "timeout": timeout,
        "retries": retries,
        "retry_on": retry_on,
        "max_retries": max_retries,
    }
    if fn is not None:
        return Tool(fn, **options, _namespace=namespace)

    def decorate(fn: Callable[P, R]) -> Tool[P, R]:
        return Tool(fn, **options, _namespace=namespace)

    return decorate


def as_tool(obj: object) -> Tool[..., Any]:
    """Return ``obj`` if it is a :class:`Tool`, or wrap a plain function (or bound method) like ``@tool``.

    This is what a conversation does with each entry of ``tools=``. Anything else raises
    :class:`~hermitcrab.errors.ToolDefinitionError`, as does a method taken from its class
    (``Class.method``), which has no instance to run with.
    """
    if isinstance(obj, Tool):
        if obj.needs_binding:
            raise ToolDefinitionError(
                f"tool {obj.name!r} is a method read from its class; pass it from an instance "
                f"(obj.{obj.__dict__.get('__name__', obj.name)}) or use tools_of(obj)"
            )
        return obj
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        made: Tool[..., Any] = Tool(obj)
        return as_tool(made)
    raise ToolDefinitionError(
        f"{obj!r} ({type(obj).__name__}) is not a tool: pass a function, a bound method or a @tool object"
    )


def tools_of(obj: object) -> list[Tool[..., Any]]:
    """The tools of an instance, a class or a module, ready to run, in definition order.

    For an instance, methods decorated with ``@tool`` come back bound to it (base classes first; a
    subclass's override replaces its base's tool in place). For a class, only class and static method
    tools are returned (instance methods need an instance). For a module, its module-level tools.
    """
    if isinstance(obj, types.ModuleType):
        return [value for value in vars(obj).values() if isinstance(value, Tool) and not value.needs_binding]
    owner = obj if isinstance(obj, type) else type(obj)
    names: dict[str, None] = {}
    for klass in reversed(owner.__mro__):
        names.update(dict.fromkeys(vars(klass)))
    if not isinstance(obj, type):
        names.update(dict.fromkeys(getattr(obj, "__dict__", {})))
    found: list[Tool[..., Any]] = []
    for attr in names:
        static = inspect.getattr_static(obj, attr, None)
        if isinstance(static, (staticmethod, classmethod)):
            static = static.__func__
        if not isinstance(static, Tool):
            continue
        value = getattr(obj, attr)
        if isinstance(value, Tool) and not value.needs_binding:
            found.append(value)
    return found


def _defined_in_class_body(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` was written in a class body (its qualified name's parent is not ``<locals>``)."""
    if not inspect.isfunction(fn):
        return False
    parts = fn.__qualname__.split(".")
    return len(parts) > 1 and parts[-2] != "<locals>"


def _first_is_self(fn: Callable[..., Any]) -> bool:
    """Whether the first parameter looks like ``self``/``cls`` (that name, or no annotation)."""
    params = list(inspect.signature(fn).parameters.values())
    if not params or params[0].kind not in (params[0].POSITIONAL_ONLY, params[0].POSITIONAL_OR_KEYWORD):
        return False
    first = params[0]
    return first.name in ("self", "cls") or first.annotation is inspect.Parameter.empty


def _is_async(fn: Callable[..., Any]) -> bool:
    """Whether calling ``fn`` returns a coroutine (async functions, methods, callable objects)."""
    if inspect.iscoroutinefunction(fn):
        return True
    call = getattr(fn, "__call__", None)  # noqa: B004 - an object whose __call__ is async
    return call is not None and not inspect.isfunction(fn) and inspect.iscoroutinefunction(call)


def _check_timeout(name: str, timeout: object) -> float | None:
    """``timeout`` as float seconds, or ``None``; it must be a positive number."""
    if timeout is None:
        return None
    if (
        not isinstance(timeout, (int, float))
        or isinstance(timeout, bool)
        or math.isnan(timeout)
        or timeout <= 0
    ):
        raise ToolDefinitionError(
            f"tool {name!r}: timeout must be a positive number of seconds or None, not {timeout!r}"
        )
    return float(timeout)


def _check_retries(name: str, retries: object, label: str = "retries") -> int:
    """``retries`` (or ``max_retries``) as a non-negative int."""
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise ToolDefinitionError(f"tool {name!r}: {label} must be an int >= 0, not {retries!r}")
    return retries


def _check_retry_on(name: str, retry_on: object) -> tuple[type[BaseException], ...]:
    """``retry_on`` as a tuple of exception classes (a single class is accepted too)."""
    items = (retry_on,) if isinstance(retry_on, type) else retry_on
    if not isinstance(items, (tuple, list)) or not all(
        isinstance(t, type) and issubclass(t, BaseException) for t in items
    ):
        raise ToolDefinitionError(
            f"tool {name!r}: retry_on must be an exception class or a tuple of them, not {retry_on!r}"
        )
    return tuple(items)
