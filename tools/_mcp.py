"""Tools from MCP (Model Context Protocol) servers, as ordinary hermitcrab :class:`Tool` objects.

:class:`MCPTools` connects to a server (a subprocess over stdio, a streamable-HTTP URL, or a client
session you already hold), lists its tools and wraps each one as an :class:`MCPTool`: the server's
input schema is the tool's parameters, arguments are validated against it (jsonschema) before the
call, and the call goes to the server. The official ``mcp`` SDK (``pip install "hermitcrab[mcp]"``,
2.x) is imported only when a connection is made, so this module imports without it.

A round never hangs on a server and never fails because of one: every call has a timeout (60 s by
default), and an error result from the server, a server that crashes or closes the connection during
a call, and a broken transport all raise :class:`~hermitcrab.errors.MCPServerError` inside the tool,
which the conversation shows to the model as an error result (or re-raises, with
``tool_errors="raise"``, as for any tool). Owned connections (``stdio``, ``http``) run in a task of
their own, so a transport that breaks cannot cancel the code inside ``async with``; calls in flight are
cancelled at once when the connection is lost. Non-text contents (images, audio, binary resources,
resource links) are described in the result text, never dropped silently.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack
from types import TracebackType
from typing import Any, TextIO, overload

import anyio
import jsonschema
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from hermitcrab.errors import ConfigurationError, MCPServerError, MissingDependencyError, ToolDefinitionError
from hermitcrab.tools._schema import NAME_PATTERN, check_name, clean_schema, validator_class
from hermitcrab.tools._tool import Tool, _check_retries, _check_retry_on, _check_timeout

if sys.version_info < (3, 11):  # pragma: no cover - built in from 3.11 (anyio brings the backport)
    from exceptiongroup import BaseExceptionGroup

__all__ = ("MCPTool", "MCPTools", "describe_mcp_content")

MCP_EXTRA = "pip install 'hermitcrab[mcp]'"
DEFAULT_TIMEOUT = 60.0
"""Seconds an MCP call may take unless ``timeout=`` says otherwise."""
_MAX_PAGES = 100
"""Pages of ``tools/list`` read at most (a server whose cursor never ends cannot hang a connect)."""


def _import_mcp() -> Any:
    try:
        import mcp
    except ImportError as exc:
        raise MissingDependencyError(
            f"MCP tools need the 'mcp' package (2.x), which is not installed: {MCP_EXTRA}"
        ) from exc
    return mcp


class MCPTools(Sequence[Tool[..., Any]]):
    """The tools of one MCP server: a sequence of :class:`Tool` objects, one per server tool.

    Open it with ``async with``; inside, use the tools anywhere a ``@tool`` goes::

        async with MCPTools.stdio("python", ["server.py"]) as tools:
            conv = Conversation(engine, tools=[*tools, get_weather])

    Make one with :meth:`stdio` (start a server subprocess), :meth:`http` (streamable HTTP), or
    ``MCPTools(session)`` for an ``mcp.Client`` or ``mcp.ClientSession`` that you already hold and
    that stays open (and yours to close) after the block.

    Args:
        session: A connected ``mcp.Client`` or ``mcp.ClientSession``.
        prefix: Put before every tool name (``prefix="fs_"`` makes ``read`` ``fs_read``), to avoid
            clashes between servers. Names that hermitcrab cannot use (characters other than letters,
            digits, ``_`` and ``-``, or longer than 64) have the others replaced by ``_`` and are cut.
        include: Only these server tools (by their server name); a name the server lacks raises
            :class:`~hermitcrab.errors.ConfigurationError`.
        exclude: Leave these server tools out.
        timeout: Seconds one call may take (``None``: no limit); a call that takes longer gives the
            model an error result and the round goes on.
        retries: Extra attempts for a call that raises one of ``retry_on`` (as ``@tool(retries=...)``).
        retry_on: Exception types worth retrying, e.g. ``MCPServerError`` for a flaky server.

    Raises (on entering):
        MissingDependencyError: the ``mcp`` package is not installed.
        MCPServerError: the server could not be started or reached, or failed to list its tools.
        ToolDefinitionError: a tool's input schema is not valid JSON Schema, or two tools end up with
            one name (use ``exclude=`` or ``prefix=``).
    """

    def __init__(
        self,
        session: Any,
        *,
        prefix: str = "",
        include: Iterable[str] | None = None,
        exclude: Iterable[str] = (),
        timeout: float | None = DEFAULT_TIMEOUT,
        retries: int = 0,
        retry_on: type[BaseException] | tuple[type[BaseException], ...] = (),
    ) -> None:
        if session is not None and not (hasattr(session, "call_tool") and hasattr(session, "list_tools")):
            raise ConfigurationError(
                f"MCPTools takes a connected mcp.Client or mcp.ClientSession, not {type(session).__name__}; "
                "use MCPTools.stdio(...) or MCPTools.http(...) to connect to a server"
            )
        if not isinstance(prefix, str) or (prefix and not NAME_PATTERN.match(prefix)):
            raise ConfigurationError(f"prefix must be letters, digits, '_' or '-', not {prefix!r}")
        if isinstance(include, str) or isinstance(exclude, str):
            raise ConfigurationError("include= and exclude= take a list of tool names, not one string")
        self._session = session
        self._connect: Callable[[], AbstractAsyncContextManager[Any]] | None = None
        self.label = _server_name(session) or "MCP server"
        """How messages name the server: its command line, URL, or the name it reports."""
        self.prefix = prefix
        self.include = None if include is None else tuple(include)
        self.exclude = frozenset(exclude)
        self.timeout = _check_timeout("MCP tools", timeout)
        self.retries = _check_retries("MCP tools", retries)
        self.retry_on = _check_retry_on("MCP tools", retry_on)
        self._tools: tuple[MCPTool, ...] | None = None
        self._stack: AsyncExitStack | None = None
        self._closing: anyio.Event | None = None
        self._lost: BaseException | None = None
        self._calls: set[anyio.CancelScope] = set()

    # -- making one ---------------------------------------------------------------------------------
    @classmethod
    def stdio(
        cls,
        command: str,
        args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        *,
        stderr: TextIO | None = None,
        **options: Any,
    ) -> MCPTools:
        """Tools of a server started as a subprocess, spoken to over its stdin and stdout.

        ``env`` is added to the default environment the SDK gives servers; ``stderr`` receives the
        server's log (default: this process's stderr). The server stops when the block ends.
        Other keyword arguments are those of :class:`MCPTools`.
        """
        if not isinstance(command, str) or not command:
            raise ConfigurationError(f"command must name the server's executable, not {command!r}")
        if isinstance(args, str):
            raise ConfigurationError("args takes a list of arguments (e.g. ['server.py']), not one string")
        arguments = [str(a) for a in args]
        environment = dict(env) if env is not None else None
        directory = str(cwd) if cwd is not None else None

        def connect() -> AbstractAsyncContextManager[Any]:
            mcp = _import_mcp()
            from mcp.client.stdio import stdio_client

            params = mcp.StdioServerParameters(
                command=command, args=arguments, env=environment, cwd=directory
            )
            client: AbstractAsyncContextManager[Any] = mcp.Client(
                stdio_client(params, errlog=stderr or sys.stderr)
            )
            return client

        tools = cls(None, **options)
        tools._connect = connect
        tools.label = " ".join([command, *arguments])
        return tools

    @classmethod
    def http(cls, url: str, headers: Mapping[str, str] | None = None, **options: Any) -> MCPTools:
        """Tools of a server at a streamable-HTTP endpoint (``"http://127.0.0.1:8000/mcp"``).

        ``headers`` go with every request (e.g. ``{"Authorization": "Bearer ..."}``). Other keyword
        arguments are those of :class:`MCPTools`.
        """
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"url must be an http(s) URL such as 'http://127.0.0.1:8000/mcp', not {url!r}"
            )
        extra = dict(headers or {})

        def connect() -> AbstractAsyncContextManager[Any]:
            return _http_client(url, extra)

        tools = cls(None, **options)
        tools._connect = connect
        tools.label = url
        return tools

    # -- lifetime -----------------------------------------------------------------------------------
    async def __aenter__(self) -> MCPTools:
        if self._tools is not None or self._stack is not None:
            raise ConfigurationError(f"these MCPTools ({self.label}) are already open; open them once")
        _import_mcp()
        stack = AsyncExitStack()
        await stack.__aenter__()
        try:
            if self._connect is not None:
                self._closing = anyio.Event()
                group = await stack.enter_async_context(anyio.create_task_group())
                stack.callback(self._closing.set)  # runs before the task group waits for the connection
                await group.start(self._hold_connection, self._connect)
            self._tools = await self._list_tools()
        except BaseException as exc:
            await _close(stack, exc)
            raise
        self._stack = stack
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        stack, self._stack = self._stack, None
        if stack is not None:
            await _close(stack, exc)

    async def _hold_connection(
        self,
        connect: Callable[[], AbstractAsyncContextManager[Any]],
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Own the connection in this task until the block ends (or the connection is lost)."""
        assert self._closing is not None
        started = False
        try:
            async with connect() as client:
                self._session = client
                started = True
                task_status.started()
                await self._closing.wait()
        except Exception as exc:
            if not started:
                raise MCPServerError(
                    f"could not connect to the MCP server {self.label}: {_describe(exc)}"
                ) from exc
            self._lost = exc
        finally:
            if self._lost is None:
                self._lost = MCPServerError(f"the MCP server {self.label} was closed")
            for scope in list(self._calls):
                scope.cancel()

    # -- the sequence of tools ----------------------------------------------------------------------
    @property
    def tools(self) -> tuple[MCPTool, ...]:
        """The tools, in the server's order (after ``include``/``exclude``)."""
        if self._tools is None:
            raise ConfigurationError(
                f"MCPTools for {self.label} are not open: use `async with MCPTools.stdio(...) as tools:` "
                "(or MCPTools.http / MCPTools(session)) and use the tools inside the block"
            )
        return self._tools

    @overload
    def __getitem__(self, index: int) -> MCPTool: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[MCPTool, ...]: ...

    def __getitem__(self, index: int | slice) -> MCPTool | tuple[MCPTool, ...]:
        return self.tools[index]

    def __len__(self) -> int:
        return len(self.tools)

    def __iter__(self) -> Iterator[MCPTool]:
        return iter(self.tools)

    def __repr__(self) -> str:
        names = [t.name for t in self._tools] if self._tools is not None else "not open"
        return f"<MCPTools {self.label} tools={names}>"

    # -- talking to the server ----------------------------------------------------------------------
    async def _list_tools(self) -> tuple[MCPTool, ...]:
        specs: list[Any] = []
        cursor: str | None = None
        try:
            for _ in range(_MAX_PAGES):
                page = await self._list_page(cursor)
                specs.extend(page.tools)
                cursor = page.next_cursor
                if cursor is None:
                    break
        except Exception as exc:
            raise MCPServerError(
                f"the MCP server {self.label} could not list its tools: {_describe(exc)}"
            ) from exc
        server_names = [spec.name for spec in specs]
        if self.include is not None:
            missing = [name for name in self.include if name not in server_names]
            if missing:
                raise ConfigurationError(
                    f"include= names tools that {self.label} does not have: {', '.join(missing)} "
                    f"(it has: {', '.join(server_names) or 'none'})"
                )
        chosen = [
            spec
            for spec in specs
            if (self.include is None or spec.name in self.include) and spec.name not in self.exclude
        ]
        tools: dict[str, MCPTool] = {}
        for spec in chosen:
            made = MCPTool(self, spec)
            if made.name in tools:
                raise ToolDefinitionError(
                    f"two tools of {self.label} are both named {made.name!r} for the model; "
                    "leave one out with exclude=[...]"
                )
            tools[made.name] = made
        return tuple(tools.values())

    async def _list_page(self, cursor: str | None) -> Any:
        mcp = _import_mcp()
        if isinstance(self._session, mcp.Client):
            return await self._session.list_tools(cursor=cursor)
        if cursor is None:
            return await self._session.list_tools()
        return await self._session.list_tools(params=mcp.types.PaginatedRequestParams(cursor=cursor))

    async def call(self, server_name: str, arguments: Mapping[str, Any]) -> Any:
        """Call the server's tool ``server_name`` and return its ``CallToolResult``.

        Raises :class:`~hermitcrab.errors.MCPServerError` for an error result, a lost connection or a
        failed request (what the model then reads as the error).
        """
        if self._lost is not None:
            lost = _describe(self._lost)
            raise MCPServerError(f"the MCP server {self.label} is no longer connected ({lost})")
        if self._session is None or self._tools is None:
            raise MCPServerError(f"the MCP server {self.label} is not connected (use `async with`)")
        with anyio.CancelScope() as scope:
            self._calls.add(scope)
            try:
                result = await self._session.call_tool(server_name, dict(arguments))
            except Exception as exc:
                raise MCPServerError(f"the MCP server {self.label} failed: {_describe(exc)}") from exc
            finally:
                self._calls.discard(scope)
        if scope.cancelled_caught:
            reason = _describe(self._lost) if self._lost is not None else "the connection was closed"
            raise MCPServerError(
                f"the MCP server {self.label} closed the connection during the call ({reason})"
            )
        if getattr(result, "is_error", False):
            text = describe_mcp_content(result)
            raise MCPServerError(text or "the tool reported an error without a message")
        return result


class MCPTool(Tool[..., Any]):
    """One tool of an MCP server (made by :class:`MCPTools`): calling it calls the server.

    ``parameters`` is the server's input schema (tidied like ``@tool`` schemas: no titles, ``$defs``
    inlined); :meth:`validate` checks arguments against it with jsonschema; :attr:`server_name` is the
    name the server knows the tool by. Awaiting ``tool(**arguments)`` returns the server's
    ``CallToolResult`` (and raises :class:`~hermitcrab.errors.MCPServerError` for an error result).
    """

    server_name: str
    """The tool's name on the server (``name`` is what the model sees, with ``prefix``)."""

    def __init__(self, owner: MCPTools, spec: Any) -> None:
        self.server_name = str(spec.name)
        self.name = check_name(_usable_name(owner.prefix + self.server_name))
        self.description = spec.description or spec.title or ""
        schema = spec.input_schema if isinstance(spec.input_schema, dict) else {"type": "object"}
        try:
            self.parameters = clean_schema(schema)
            validator = validator_class(self.parameters)
            validator.check_schema(self.parameters)
        except jsonschema.SchemaError as exc:
            raise ToolDefinitionError(
                f"tool {self.name!r} of {owner.label}: the input schema is not valid JSON Schema "
                f"({exc.message}); leave it out with exclude=[{self.server_name!r}]"
            ) from exc
        self._validator = validator(self.parameters)
        self.timeout = owner.timeout
        self.retries = owner.retries
        self.retry_on = owner.retry_on
        self.is_async = True
        self._owner = owner
        self._kind = "function"
        self.__name__ = self.__qualname__ = self.name
        self.__doc__ = self.description

        async def call(**arguments: Any) -> Any:
            return await owner.call(self.server_name, arguments)

        self.fn: Callable[..., Awaitable[Any]] = call
        self.__wrapped__ = call

    def validate(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """Check the model's arguments against the server's input schema and return them.

        Raises:
            pydantic_core.ValidationError: one line per jsonschema error, so the conversation tells the
                model exactly what to fix (as for ``@tool`` arguments).
        """
        value = dict(arguments) if isinstance(arguments, Mapping) else arguments
        errors = sorted(self._validator.iter_errors(value), key=lambda e: list(e.absolute_path))
        if errors:
            details = [
                InitErrorDetails(
                    type=PydanticCustomError("json_schema", "{message}", {"message": error.message}),
                    loc=tuple(error.absolute_path),
                    input=error.instance,
                )
                for error in errors
            ]
            raise ValidationError.from_exception_data(self.name, details)
        return value

    def result_to_text(self, value: object) -> str:
        """The text the model reads for a ``CallToolResult``: its contents, non-text parts described."""
        if hasattr(value, "content"):
            return describe_mcp_content(value)
        return super().result_to_text(value)

    def __repr__(self) -> str:
        params = ", ".join(self.parameters.get("properties", {}))
        return f"<MCPTool {self.name}({params}) of {self._owner.label}>"


def describe_mcp_content(result: Any) -> str:
    """The text of an MCP tool result: text parts as they are, text resources with their URI, and a
    description of each image, audio clip, binary resource and resource link (never dropped
    silently). A result with no content but ``structured_content`` gives that as JSON."""
    parts: list[str] = []
    for block in getattr(result, "content", None) or ():
        kind = getattr(block, "type", None)
        if kind == "text":
            parts.append(block.text)
        elif kind in ("image", "audio"):
            size = _base64_size(block.data)
            parts.append(f"[{kind} content: {block.mime_type}, {size}; not shown, this model reads text]")
        elif kind == "resource":
            resource = block.resource
            mime = f" ({resource.mime_type})" if getattr(resource, "mime_type", None) else ""
            text = getattr(resource, "text", None)
            if text is not None:
                parts.append(f"[resource {resource.uri}{mime}]\n{text}")
            else:
                size = _base64_size(getattr(resource, "blob", ""))
                parts.append(f"[binary resource {resource.uri}{mime}, {size}; not shown]")
        elif kind == "resource_link":
            mime = f" ({block.mime_type})" if block.mime_type else ""
            about = f": {block.description}" if block.description else ""
            parts.append(f"[resource link {block.name} <{block.uri}>{mime}{about}]")
        else:
            parts.append(f"[{kind or type(block).__name__} content; not shown]")
    structured = getattr(result, "structured_content", None)
    if not parts and structured is not None:
        return json.dumps(structured, ensure_ascii=False)
    return "\n".join(parts)


# -- helpers ---------------------------------------------------------------------------------------
def _http_client(url: str, headers: dict[str, str]) -> AbstractAsyncContextManager[Any]:
    """An ``mcp.Client`` on a streamable-HTTP transport whose HTTP client sends ``headers``."""
    mcp = _import_mcp()
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared._httpx_utils import create_mcp_http_client

    stack = AsyncExitStack()

    class _Connection:
        async def __aenter__(self) -> Any:
            await stack.__aenter__()
            try:
                # Building the HTTP client loads certificates (and, the first time, imports the
                # transport): blocking work, done in a worker thread.
                made = await anyio.to_thread.run_sync(lambda: create_mcp_http_client(headers=headers or None))
                http = await stack.enter_async_context(made)
                client = mcp.Client(streamable_http_client(url, http_client=http))
                return await stack.enter_async_context(client)
            except BaseException:
                await stack.__aexit__(*sys.exc_info())
                raise

        async def __aexit__(self, *exc_info: Any) -> bool | None:
            return await stack.__aexit__(*exc_info)

    return _Connection()


def _usable_name(name: str) -> str:
    """``name`` with characters a tool name cannot have replaced by ``_``, cut to 64 characters."""
    return re.sub(r"[^a-zA-Z0-9_-]", "_", name)[:64] or "_"


def _server_name(session: Any) -> str | None:
    """The name a connected server reports for itself, if any."""
    try:
        name = getattr(session.server_info, "name", None)
    except Exception:
        return None
    return f"MCP server {name!r}" if isinstance(name, str) and name else None


def _base64_size(data: str) -> str:
    size = len(data) * 3 // 4 - data[-2:].count("=") if data else 0
    return f"{size:,} bytes" if size < 10_000 else f"{size / 1024:,.0f} KiB"


async def _close(stack: AsyncExitStack, exc: BaseException | None) -> None:
    """Exit ``stack`` (the connection's task group) after ``exc`` (or none).

    A task group wraps the exception that ended the block in an exception group; when nothing else
    went wrong, return quietly so that the caller's own exception goes on exactly as it was raised.
    """
    try:
        await stack.__aexit__(type(exc) if exc is not None else None, exc, exc.__traceback__ if exc else None)
    except BaseExceptionGroup as group:
        if exc is None or any(leaf is not exc for leaf in _leaves(group)):
            raise


def _leaves(group: BaseExceptionGroup[Any]) -> Iterator[BaseException]:
    for item in group.exceptions:
        if isinstance(item, BaseExceptionGroup):
            yield from _leaves(item)
        else:
            yield item


def _describe(exc: BaseException) -> str:
    """A one-line account of an exception (the first leaf of an exception group)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
