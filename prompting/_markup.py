"""Generic streaming machinery for marker-delimited model output: :class:`MarkupParser` and :class:`Block`.

Every tool-call format hermitcrab knows is described as a set of :class:`Block` s: a start marker
(``<tool_call>``, ``[TOOL_CALLS]``, ``<think>``, or an implicit one such as ``{``) and a way to find the
block's end (one of several end markers, or the end of a balanced JSON/Python value). Text outside
blocks is streamed as :class:`~hermitcrab.events.TextDelta`; reasoning blocks stream
:class:`~hermitcrab.events.ReasoningDelta`; call blocks are collected and decoded into
:class:`~hermitcrab.messages.ToolCall` s when they close.

Why one machine: every family then gets the same streaming guarantees for free.

- **Any chunking gives the same result.** Decisions depend only on the text, never on where a chunk
  ends: a possible marker prefix at the end of the buffer is held back until it is decided, an
  implicit start is confirmed by looking at a bounded prefix, and the bracket matcher keeps its state
  character by character.
- **Text goes out as soon as it cannot be part of a marker**: only the longest suffix of the buffer that
  is a proper prefix of some marker is held back.
- **Linear time.** Each chunk is searched once (plus a held-back suffix no longer than the longest
  marker); call bodies are collected as a list of pieces and joined once; nothing re-scans the whole
  buffer per chunk.
- **Never raises on model output, never drops a call.** Bad bodies, unclosed blocks and decoder
  failures become a ``ToolCall`` with ``error`` and ``raw`` set; a call whose closing marker never came
  is accepted when its block is ``lenient`` and its body is complete.
- **The text is the model's text.** Markers are removed and nothing else: whitespace right after a call
  is kept when it separates text from earlier text, dropped when it only stands between calls or at
  either end of the reply.

To support a new format, subclass :class:`MarkupParser` and set ``blocks`` (and ``stop_markers``);
see :mod:`hermitcrab.prompting._families` for many examples.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import ClassVar, Literal

from hermitcrab.events import ReasoningDelta, TextDelta, ToolCallEvent
from hermitcrab.messages import ToolCall
from hermitcrab.prompting._base import ParserEvent, ToolCallParser

__all__ = ("Block", "CallDecoder", "MalformedCall", "MarkupParser", "guess_name")

BlockKind = Literal["reasoning", "text", "calls", "drop", "dispatch"]


class MalformedCall(Exception):
    """Raised by a :data:`CallDecoder` when a call body cannot be understood.

    The parser catches it and emits ``ToolCall(name=name, error=message, raw=<the markup>)``; it never
    leaves the parser.
    """

    def __init__(self, message: str, *, name: str = "") -> None:
        super().__init__(message)
        self.name = name


CallDecoder = Callable[[str], "list[ToolCall] | None"]
"""Turns a call block's body (the text between its markers) into tool calls.

Returns the calls (each may itself carry ``error``; an empty list when the model wrote an explicitly
empty call list such as ``[]``), raises :class:`MalformedCall` for a body it cannot read, or returns
``None`` for a block whose body turned out not to be a call at all (the text is then emitted as
ordinary text). A decoder must account for every call-shaped part of the body: a part it cannot read
becomes a call with ``error``, never nothing."""

_NAME_RE = re.compile(r"""["']?(?:name|tool_name|function)["']?\s*[:=]\s*["']([^"'\n]{1,200})["']""")


def guess_name(body: str) -> str:
    """Best guess of the tool name in a call body that could not be parsed (``""`` when none)."""
    match = _NAME_RE.search(body)
    return match.group(1) if match else ""


@dataclass(frozen=True, slots=True)
class Block:
    """One kind of delimited span in model output.

    ``kind`` says what the span is: ``"reasoning"`` and ``"text"`` are streamed as deltas until an end
    marker; ``"calls"`` is collected and given to ``decode``; ``"drop"`` is markup that is removed (a
    bare marker, or with ``end`` everything up to the end marker, such as Cohere's ``</co: 0:[1]>``);
    ``"dispatch"`` is a header whose body ``dispatch`` turns into the block that follows (harmony's
    channel headers).
    """

    start: str
    """The marker that opens the block (for ``implicit`` blocks, the first character(s) of its body)."""
    kind: BlockKind
    end: tuple[str, ...] = ()
    """Markers that close the block; the first one found wins. Empty with ``balanced`` set: the block
    ends where the balanced value ends."""
    balanced: Literal["json", "python"] | None = None
    """Find the end by matching brackets of a JSON (or Python) value instead of an end marker."""
    seek: str = ""
    """For ``balanced`` blocks: when the first non-space character is not an opening bracket, skip
    ahead to the first of these characters instead of failing (Mistral's ``name[ARGS]{...}``)."""
    implicit: bool = False
    """The start is part of the body (``{`` of a bare JSON call, ``[`` of a pythonic list)."""
    opener: str = ""
    """For ``balanced`` blocks: the end of ``start`` that already opens the value (``"["`` of
    ``functools[``), so prose such as "import functools" is not mistaken for a call."""
    confirm: Callable[[str], bool | None] | None = None
    """Looks at the text from the start on (``implicit`` blocks) or right after the start marker (others)
    and says whether this is a call (``True``), not one (``False``: the start is emitted as text) or
    cannot tell yet (``None``). Must decide within 256 characters after the start and never change its
    answer as more text arrives. For markers that also occur in prose (Qwen's ``<tools>``)."""
    decode: CallDecoder | None = None
    """For ``calls`` blocks: the body decoder."""
    dispatch: Callable[[str], Block | None] | None = None
    """For ``dispatch`` blocks: returns the block the header opens (``None``: the header is text)."""
    keep_end: frozenset[str] = frozenset()
    """End markers that are not consumed: they stay in the stream and may open the next block."""
    lenient: bool = False
    """Accept a call block left open at the end of output when its body decodes cleanly (formats
    whose real replies often lack the closing token). Otherwise an unclosed call is malformed."""
    name_hint: str = ""
    """For dispatched call blocks: the tool name the header announced (used in error results)."""
    strip: bool = False
    """For ``reasoning``/``text`` blocks: drop whitespace right after the start marker."""
    echo: bool = False
    """For ``calls`` blocks: an exact repeat of the block's body and end marker right after it is
    dropped (LFM2 sometimes writes its call a second time, after the end token)."""

    def __post_init__(self) -> None:
        if self.kind == "calls" and self.decode is None:
            raise ValueError(f"calls block {self.start!r} needs a decode function")
        if self.kind == "dispatch" and self.dispatch is None:
            raise ValueError(f"dispatch block {self.start!r} needs a dispatch function")
        if self.kind in ("calls", "dispatch") and not self.end and self.balanced is None:
            raise ValueError(f"block {self.start!r} needs end markers or balanced=")


class _Markers:
    """A fixed set of markers: find the earliest decided one, or how much of the tail to hold back."""

    __slots__ = ("_first", "_max_hold", "_pattern", "_prefixes", "markers")

    def __init__(self, markers: Iterable[str]) -> None:
        ordered = sorted({m for m in markers if m}, key=len, reverse=True)
        self.markers = tuple(ordered)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._prefixes = frozenset(m[:k] for m in ordered for k in range(1, len(m)))
        self._max_hold = max((len(m) for m in ordered), default=1) - 1
        firsts = "".join(sorted({m[0] for m in ordered}))
        self._first = re.compile("[" + re.escape(firsts) + "]") if firsts else None

    def hold(self, text: str, pos: int = 0) -> int:
        """Length of the longest suffix of ``text[pos:]`` that is a proper prefix of a marker."""
        if self._first is None or self._max_hold <= 0:
            return 0
        n = len(text)
        lo = max(pos, n - self._max_hold)
        first = self._first.search(text, lo)
        while first is not None:
            k = first.start()
            if text[k:] in self._prefixes:
                return n - k
            first = self._first.search(text, k + 1)
        return 0

    def find(self, text: str, pos: int, final: bool) -> tuple[int, str] | None:
        """The earliest marker in ``text[pos:]`` that more text could not turn into another match."""
        if self._pattern is None:
            return None
        match = self._pattern.search(text, pos)
        if match is None:
            return None
        start = match.start()
        near_end = start >= len(text) - self._max_hold
        if not final and near_end and len(text) - self.hold(text, pos) <= start:
            return None  # a longer marker may still start here (or earlier): wait for more text
        return start, match.group()


@lru_cache(maxsize=512)
def _markers(markers: tuple[str, ...]) -> _Markers:
    return _Markers(markers)


_CONFIRM_WINDOW = 256
"""How far past an implicit start a ``confirm`` function may look before it must decide."""

_JSON_SPECIAL = re.compile(r'["\[\]{}]')
_PY_SPECIAL = re.compile(r"""["'\[\](){}]""")
_STRING_END = {'"': re.compile(r'["\\]'), "'": re.compile(r"['\\]")}
_OPENERS = frozenset("[{(")


class _Balanced:
    """Incremental bracket matcher: where does the JSON or Python value starting here end?

    Fed each character exactly once (in any chunking); strings and escapes are tracked so brackets
    inside strings do not count. Mismatched bracket types are left for the decoder to report.
    """

    __slots__ = ("_depth", "_escape", "_python", "_quote", "_seek", "_seeking", "_started")

    def __init__(self, python: bool, seek: str) -> None:
        self._python = python
        self._seek = seek
        self._seeking = False
        self._started = False
        self._depth = 0
        self._quote = ""
        self._escape = False

    def feed(self, text: str, pos: int, stop: int) -> int | None:
        """Scan ``text[pos:stop]``; return the index just past the value's end, ``None`` if it has
        not ended yet, or ``-1 - i`` when the character at ``i`` cannot start a value."""
        i = pos
        special = _PY_SPECIAL if self._python else _JSON_SPECIAL
        while i < stop:
            if not self._started:
                ch = text[i]
                if self._seeking:
                    if ch in self._seek:
                        self._started, self._depth = True, 1
                    i += 1
                    continue
                if ch.isspace():
                    i += 1
                    continue
                if ch in _OPENERS and (self._python or ch != "("):
                    self._started, self._depth = True, 1
                    i += 1
                    continue
                if self._seek:
                    self._seeking = True
                    continue
                return -1 - i
            if self._escape:
                self._escape = False
                i += 1
                continue
            if self._quote:
                match = _STRING_END[self._quote].search(text, i, stop)
                if match is None:
                    return None
                i = match.end()
                if match.group() == "\\":
                    self._escape = True
                else:
                    self._quote = ""
                continue
            match = special.search(text, i, stop)
            if match is None:
                return None
            ch = match.group()
            i = match.end()
            if ch in "\"'":
                self._quote = ch
            elif ch in "[{(":
                self._depth += 1
            else:
                self._depth -= 1
                if self._depth == 0:
                    return i
        return None


@dataclass(slots=True)
class _State:
    """The mutable part of a parser; replaced wholesale by ``clone``/``reset``."""

    pending: str = ""
    block: Block | None = None
    stripping: bool = True
    pieces: list[str] = field(default_factory=list)
    opened_with: str = ""
    confirming: bool = False
    scanner: _Balanced | None = None
    done: bool = False
    after_call: bool = False
    """Right after a call: whitespace is held until it is known what follows."""
    held: str = ""
    """Whitespace after a call, kept only if text follows (it separates that text from earlier text)."""
    wrote_text: bool = False
    """Some text has been emitted in this reply."""
    echo: str = ""
    """The body and end marker an ``echo`` block may repeat right now."""
    resume: Block | None = None
    """The block a ``drop`` block with an end marker returns to (it may open inside reasoning)."""


class MarkupParser(ToolCallParser):
    """A streaming parser configured by the :class:`Block` s in ``blocks``.

    Subclass it and set ``name``, ``blocks`` and ``stop_markers``; override :meth:`for_prompt` when the
    prompt can leave the model inside a block (a generation prompt that ends with ``<think>``).
    A stop marker ends the output: it and everything after it are ignored.
    """

    blocks: ClassVar[tuple[Block, ...]] = ()
    """The blocks that may open in top-level text."""
    reasoning_block: ClassVar[Block | None] = None
    """The block a prompt may leave open (``<think>``); see :meth:`for_prompt`."""
    initial_block: ClassVar[Block | None] = None
    """The block every reply starts in, for formats whose generation prompt always opens one
    (Functionary v3.2's ``>>>``)."""
    after_call: ClassVar[str] = ""
    """Characters (besides whitespace) dropped right after a call, e.g. the ``;`` between Llama calls."""
    inline_blocks: ClassVar[tuple[Block, ...]] = ()
    """``drop`` blocks that are removed inside reasoning and text blocks too, not only at the top level
    (Cohere's citation tags, which wrap words in both)."""
    prelude: ClassVar[str] = ""
    """Text read before every reply, as if the model had written it: formats whose calls are found at
    line starts (Granite's bare pythonic calls) set ``"\\n"`` so the first line counts as one. It never
    reaches the text: leading whitespace of a reply is dropped."""

    def __init__(self, *, start_in: Block | None = None) -> None:
        if start_in is None:
            start_in = self.initial_block
        self._start_in = start_in
        self._starts = {b.start: b for b in (*self.blocks, *self.inline_blocks)}
        self._top = _markers((*self._starts, *self.stop_markers))
        self._inline = tuple(b.start for b in self.inline_blocks)
        self._strip_chars = " \t\r\n" + self.after_call
        self._state = self._fresh_state()

    def _fresh_state(self) -> _State:
        return _State(block=self._start_in, pending=self.prelude if self._start_in is None else "")

    # -- public API -----------------------------------------------------------------------------
    def clone(self) -> MarkupParser:
        """A fresh parser with the same configuration (including a reasoning start from
        :meth:`for_prompt`)."""
        return type(self)(start_in=self._start_in)

    def for_prompt(self, prompt: str) -> MarkupParser:
        """A fresh parser for a reply that continues ``prompt``: if the prompt ends inside an open
        reasoning block (e.g. a generation prompt ending in ``<think>\\n``), the reply starts in it."""
        block = self.reasoning_block
        if block is not None and block.end:
            opened = prompt.rfind(block.start)
            closed = max(prompt.rfind(end) for end in block.end)
            if opened > closed:
                return type(self)(start_in=block)
        return type(self)()

    def feed(self, chunk: str) -> list[ParserEvent]:
        """Consume ``chunk``; return the events it completes."""
        state = self._state
        if state.done or not chunk:
            return []
        state.pending += chunk
        return self._run(final=False)

    def finish(self) -> list[ParserEvent]:
        """End of output: flush held-back text and close any open block (an open call becomes a
        malformed call unless the block is ``lenient`` and its body decodes)."""
        state = self._state
        events = [] if state.done else self._run(final=True)
        if not state.done:
            self._close_unclosed(events)
        self._state = self._fresh_state()
        return events

    # -- the machine ----------------------------------------------------------------------------
    def _run(self, final: bool) -> list[ParserEvent]:
        events: list[ParserEvent] = []
        state = self._state
        pos = 0
        while not state.done:
            text = state.pending
            block = state.block
            if block is None or block.kind in ("reasoning", "text"):
                pos, more = self._stream_step(text, pos, final, events)
            elif block.kind == "drop":
                pos, more = self._skip_step(text, pos, final)
            elif state.confirming:
                pos, more = self._confirm_step(text, pos, final, events)
            elif block.balanced is not None:
                pos, more = self._balanced_step(text, pos, final, events)
            else:
                pos, more = self._collect_step(text, pos, final, events)
            if not more:
                break
        state.pending = "" if state.done else state.pending[pos:]
        return events

    def _emit(self, events: list[ParserEvent], text: str) -> None:
        """Stream ``text`` as reasoning or text. Whitespace at the start of a reply or block is dropped;
        whitespace right after a call is held, and kept only when more text follows text written
        before the call (so ``text<call> more`` keeps its space, and calls leave no blank lines)."""
        if not text:
            return
        state = self._state
        block = state.block
        reasoning = block is not None and block.kind == "reasoning"
        if state.stripping:
            text = text.lstrip(self._strip_chars)
            if not text:
                return
            state.stripping = False
            if not reasoning:
                state.after_call, state.held = False, ""
        elif state.after_call and not reasoning:
            rest = text.lstrip(self._strip_chars)
            lead = text[: len(text) - len(rest)]
            state.held += "".join(ch for ch in lead if ch.isspace())
            if not rest:
                return
            text = state.held + rest if state.wrote_text else rest
            state.after_call = False
            state.held = ""
        if reasoning:
            events.append(ReasoningDelta(text))
        else:
            events.append(TextDelta(text))
            state.wrote_text = True

    def _stream_step(self, text: str, pos: int, final: bool, events: list[ParserEvent]) -> tuple[int, bool]:
        state = self._state
        block = state.block
        if state.echo and block is None:
            rest = text[pos:]
            if rest.startswith(state.echo):
                pos += len(state.echo)
                state.echo = ""
                return pos, True
            if not final and state.echo.startswith(rest):
                return pos, False  # may still be the echo: wait for more text
            state.echo = ""
        inner = () if block is None else (*block.end, *self.stop_markers, *self._inline)
        markers = self._top if block is None else _markers(inner)
        found = markers.find(text, pos, final)
        if found is None:
            cut = len(text) if final else len(text) - markers.hold(text, pos)
            self._emit(events, text[pos:cut])
            return cut, False
        start, marker = found
        self._emit(events, text[pos:start])
        pos = start + len(marker)
        if block is not None and marker in block.end:
            state.block = None
            state.stripping = True
            return (start if marker in block.keep_end else pos), True
        if marker in self.stop_markers:
            state.done = True
            return pos, False
        self._open(self._starts[marker], marker)
        return pos, True

    def _skip_step(self, text: str, pos: int, final: bool) -> tuple[int, bool]:
        """Inside a ``drop`` block with an end marker: discard text up to and including the end marker
        (or up to an end of the block it opened in), then go back to that block."""
        state = self._state
        block = state.block
        assert block is not None
        resume = state.resume
        outer_end = resume.end if resume is not None else ()
        markers = _markers((*block.end, *outer_end, *self.stop_markers))
        found = markers.find(text, pos, final)
        if found is None:
            return (len(text) if final else len(text) - markers.hold(text, pos)), False
        start, marker = found
        state.block, state.resume = resume, None
        if marker in block.end:
            return start + len(marker), True
        if marker in self.stop_markers:
            state.done = True
            return start + len(marker), False
        return start, True  # the outer block ends here: let it see its end marker

    def _open(self, block: Block, opened_with: str) -> None:
        state = self._state
        if block.kind == "drop":
            if state.after_call:
                state.held = ""  # whitespace between a call and markup that closes it is markup too
            if block.end:
                state.resume, state.block = state.block, block
            return
        state.block = block
        state.opened_with = opened_with
        carried = _carried(block, opened_with)
        state.pieces = [carried] if carried else []
        state.confirming = block.confirm is not None
        if not state.confirming:  # (an implicit start may still turn out to be text)
            self._enter(block)
        state.scanner = None
        if not state.confirming:
            self._start_scanner(block, carried)

    def _enter(self, block: Block) -> None:
        """A block really opens: whitespace held after a call was only between blocks."""
        state = self._state
        state.held = ""
        state.after_call = False
        state.echo = ""
        if block.kind in ("reasoning", "text"):
            state.stripping = block.strip

    def _start_scanner(self, block: Block, carried: str) -> None:
        state = self._state
        state.scanner = _Balanced(block.balanced == "python", block.seek) if block.balanced else None
        if carried and state.scanner is not None:
            # The start is part of the value: let the scanner see it.
            state.scanner.feed(carried, 0, len(carried))

    def _confirm_step(self, text: str, pos: int, final: bool, events: list[ParserEvent]) -> tuple[int, bool]:
        state = self._state
        block = state.block
        assert block is not None and block.confirm is not None
        held = "".join(state.pieces)  # the carried start, plus text held from earlier chunks (bounded)
        carried = _carried(block, state.opened_with)
        probe = held + text[pos : pos + _CONFIRM_WINDOW]
        verdict = block.confirm(probe)
        if verdict is None and not final and len(probe) - len(held) < _CONFIRM_WINDOW:
            state.pieces = [held + text[pos:]]  # short: less than the window
            return len(text), False
        # Decided (undecided within the window means "not a call"). Text held from earlier chunks
        # goes back in front of the rest, once; the start itself is already consumed.
        extra = held[len(carried) :]
        if extra:
            state.pending = extra + text[pos:]
            pos = 0
        state.confirming = False
        if verdict:
            self._enter(block)
            state.pieces = [carried] if carried else []
            self._start_scanner(block, carried)
            return pos, True
        state.pieces = []
        state.block = None
        state.scanner = None
        self._emit(events, state.opened_with)
        return pos, True

    def _balanced_step(self, text: str, pos: int, final: bool, events: list[ParserEvent]) -> tuple[int, bool]:
        state = self._state
        assert state.scanner is not None
        stops = _markers(self.stop_markers)
        found = stops.find(text, pos, final)
        limit = found[0] if found is not None else (len(text) if final else len(text) - stops.hold(text, pos))
        end = state.scanner.feed(text, pos, limit)
        if end is not None and end >= 0:
            state.pieces.append(text[pos:end])
            self._complete(events, "")
            return end, True
        if end is not None:  # the text after the start marker is not a JSON/Python value
            bad = -1 - end
            state.pieces.append(text[pos:bad])
            self._complete(events, "", not_a_value=True)
            return bad, True
        state.pieces.append(text[pos:limit])
        if found is not None:
            self._close_unclosed(events)
            state.done = True
            return limit + len(found[1]), False
        return limit, False

    def _collect_step(self, text: str, pos: int, final: bool, events: list[ParserEvent]) -> tuple[int, bool]:
        state = self._state
        block = state.block
        assert block is not None
        markers = _markers((*block.end, *self.stop_markers))
        found = markers.find(text, pos, final)
        if found is None:
            cut = len(text) if final else len(text) - markers.hold(text, pos)
            state.pieces.append(text[pos:cut])
            return cut, False
        start, marker = found
        state.pieces.append(text[pos:start])
        if marker in block.end:
            self._complete(events, "" if marker in block.keep_end else marker)
            return (start if marker in block.keep_end else start + len(marker)), True
        self._close_unclosed(events)  # a stop marker inside the block
        state.done = True
        return start + len(marker), False

    def _complete(self, events: list[ParserEvent], end_marker: str, not_a_value: bool = False) -> None:
        """A collected block closed: decode it and go back to top-level text (or the next block)."""
        state = self._state
        block = state.block
        assert block is not None
        body = "".join(state.pieces)
        opened = state.opened_with[: len(state.opened_with) - len(_carried(block, state.opened_with))]
        raw = opened + body + end_marker
        state.pieces = []
        state.block = None
        state.scanner = None
        if block.kind == "dispatch":
            assert block.dispatch is not None
            following = _safe_dispatch(block.dispatch, body)
            if following is None:
                self._emit(events, raw)
            else:
                self._open(following, raw)
            return
        if not_a_value:
            state.after_call = True
            what = "a JSON value" if block.balanced == "json" else "a Python list of calls"
            events.append(
                ToolCallEvent(
                    ToolCall(
                        name=block.name_hint or guess_name(body),
                        error=f"expected {what} after {block.start!r}, found {body.strip()[:40]!r}",
                        raw=raw,
                    )
                )
            )
            return
        calls = _safe_decode(block, body, raw)
        if calls is None:
            self._emit(events, raw)
            return
        events.extend(ToolCallEvent(call) for call in calls)
        state.after_call = True
        if block.echo:
            state.echo = body + end_marker

    def _close_unclosed(self, events: list[ParserEvent]) -> None:
        """Output ended inside a block: reasoning/text just ends; a call is malformed (or, for
        ``lenient`` blocks, accepted when its body decodes cleanly)."""
        state = self._state
        block = state.block
        if block is None or block.kind in ("reasoning", "text", "drop"):
            state.block = None
            return
        body = "".join(state.pieces)
        state.pieces = []
        state.block = None
        state.scanner = None
        if state.confirming:  # a start that never became a call: it was text
            state.confirming = False
            self._emit(events, state.opened_with + body[len(_carried(block, state.opened_with)) :])
            return
        raw = state.opened_with[: len(state.opened_with) - len(_carried(block, state.opened_with))] + body
        if block.kind == "dispatch":
            self._emit(events, raw)
            return
        if block.lenient:
            calls = _safe_decode(block, body, raw)
            if calls is not None and not any(call.error for call in calls):
                events.extend(ToolCallEvent(call) for call in calls)
                return
        closing = f"the closing {block.end[0]!r}" if block.end else "the end of the call"
        name = block.name_hint or _first_name(block, body) or guess_name(body)
        events.append(
            ToolCallEvent(
                ToolCall(
                    name=name,
                    error=f"the tool call was cut off: the output ended before {closing}",
                    raw=raw,
                )
            )
        )


def _carried(block: Block, opened_with: str) -> str:
    """The part of the start marker that belongs to the body."""
    if block.implicit:
        return opened_with
    return block.opener if block.opener and opened_with.endswith(block.opener) else ""


def _first_name(block: Block, body: str) -> str:
    calls = _safe_decode(block, body, body)
    return calls[0].name if calls else ""


def _safe_decode(block: Block, body: str, raw: str) -> list[ToolCall] | None:
    """Run the block's decoder; any failure becomes one malformed call (never an exception)."""
    assert block.decode is not None
    try:
        calls = block.decode(body)
    except MalformedCall as exc:
        return [ToolCall(name=exc.name or block.name_hint or guess_name(body), error=str(exc), raw=raw)]
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError, MemoryError) as exc:
        return [
            ToolCall(
                name=block.name_hint or guess_name(body),
                error=f"the tool call could not be read ({type(exc).__name__}: {exc})",
                raw=raw,
            )
        ]
    return calls


def _safe_dispatch(dispatch: Callable[[str], Block | None], header: str) -> Block | None:
    try:
        return dispatch(header)
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError):
        return None
