"""Streaming pieces of the HuggingEngine that run in its worker thread.

- :class:`IncrementalDetokenizer` turns token ids into text deltas, decoding only a small window per
  token (``TextIteratorStreamer`` re-decodes the whole output every token) and never emitting half a
  multi-byte character.
- :class:`StopStringFilter` cuts the text at the first user stop string and holds back any tail that
  might be the start of one.
- :class:`DeltaStreamer` is the ``transformers`` streamer that ties them together and hands each
  delta to a callback; :class:`StopOnEvent` is the stopping criterion that ends ``generate`` at the
  next token once a ``threading.Event`` is set (cancellation, a stop string, a closed stream).

Nothing here imports torch at module level; the classes are built by ``engines/_hugging.py`` only.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

__all__ = (
    "DeltaStreamer",
    "IncrementalDetokenizer",
    "StopOnEvent",
    "StopStringFilter",
    "make_streamer_classes",
)

_REPLACEMENT = "\ufffd"
_MAX_PARTIAL_TOKENS = 3
"""A UTF-8 character still waiting for bytes has at most 3 of its 4, so at most 3 tokens."""


class IncrementalDetokenizer:
    """Decode a growing token sequence into stable text deltas.

    Keeps two offsets into the ids: text before ``prefix`` is already emitted and final; the window
    ``ids[prefix:read]`` is re-decoded each step only to find where the new text begins (decoders such
    as SentencePiece's drop a leading space when a window starts mid-word). A delta is emitted only
    when the decoded window does not end in U+FFFD, i.e. no multi-byte character is still incomplete.
    The concatenated deltas plus :meth:`flush` equal ``decode(all ids)``.
    """

    def __init__(self, tokenizer: Any, *, skip_special_tokens: bool = False, window: int = 6) -> None:
        self._decode = tokenizer.decode
        self._skip = skip_special_tokens
        self._window = window
        self._ids: list[int] = []
        self._prefix = 0
        self._read = 0

    def _text(self, start: int, stop: int | None = None) -> str:
        text = self._decode(
            self._ids[start:stop], skip_special_tokens=self._skip, clean_up_tokenization_spaces=False
        )
        return cast(str, text)

    def push(self, token_id: int) -> str:
        """Add one token; return the text that became stable (often ``""`` mid-character)."""
        self._ids.append(token_id)
        prefix_text = self._text(self._prefix, self._read) if self._read > self._prefix else ""
        new_text = self._text(self._prefix)
        incomplete = len(new_text) <= len(prefix_text) or new_text.endswith(_REPLACEMENT)
        if not incomplete:
            return self._advance(new_text[len(prefix_text) :], len(self._ids))
        # An incomplete character (or nothing visible yet): wait for more bytes. A window that keeps
        # failing (truly invalid bytes) is bounded: after `window` tokens, emit the part that no
        # later token can change. A character still being completed has at most 3 bytes so far, so
        # it lies in the last 3 tokens: emit up to a split before them that cuts no byte sequence in
        # two (the two sides decode to the whole window's text). Should no split qualify (decoders
        # that drop a leading space), emit up to those last tokens after twice as many tokens.
        pending = len(self._ids) - self._read
        if pending < self._window:
            return ""
        limit = self._partial_start()
        for stop in range(limit, self._read, -1):
            head = self._text(self._prefix, stop)
            if len(head) >= len(prefix_text) and head + self._text(stop) == new_text:
                return self._advance(head[len(prefix_text) :], stop)
        if pending >= 2 * self._window and limit > self._read:
            return self._advance(self._text(self._prefix, limit)[len(prefix_text) :], limit)
        return ""

    def _partial_start(self) -> int:
        """Where the last ``_MAX_PARTIAL_TOKENS`` tokens that decode to something begin (skipped
        special tokens decode to nothing and hold no byte of a character)."""
        start, counted = len(self._ids), 0
        while start > self._read and counted < _MAX_PARTIAL_TOKENS:
            start -= 1
            counted += self._text(start, start + 1) != ""
        return start

    def _advance(self, delta: str, stop: int) -> str:
        self._prefix = self._read
        self._read = stop
        return delta

    def flush(self) -> str:
        """Return whatever is still held back (at the end of generation)."""
        if self._read >= len(self._ids):
            return ""
        prefix_text = self._text(self._prefix, self._read) if self._read > self._prefix else ""
        new_text = self._text(self._prefix)
        self._prefix = self._read = len(self._ids)
        return new_text[len(prefix_text) :]


class StopStringFilter:
    """Cut streamed text at the first occurrence of any stop string (the stop string is dropped).

    Text that could still become a stop string is held back until it cannot; :attr:`stopped` turns true
    once a stop string was seen, after which all input is ignored.
    """

    def __init__(self, stops: Iterable[str]) -> None:
        self._stops = tuple(s for s in dict.fromkeys(stops) if s)
        self._held = ""
        self.stopped = False

    def push(self, text: str) -> str:
        """Feed text; return what can be shown now."""
        if self.stopped or not text:
            return ""
        if not self._stops:
            return text
        buf = self._held + text
        cut = min((i for i in (buf.find(s) for s in self._stops) if i >= 0), default=-1)
        if cut >= 0:
            self.stopped = True
            self._held = ""
            return buf[:cut]
        hold = 0
        for stop in self._stops:
            for n in range(min(len(stop) - 1, len(buf)), hold, -1):
                if buf.endswith(stop[:n]):
                    hold = n
                    break
        self._held = buf[len(buf) - hold :] if hold else ""
        return buf[: len(buf) - hold]

    def flush(self) -> str:
        """Release held-back text at the end of generation (it was not a stop string after all)."""
        held, self._held = self._held, ""
        return "" if self.stopped else held


class DeltaStreamer:
    """Receives token ids from ``generate`` (worker thread) and calls ``on_text`` with each delta.

    The first ``put`` (the prompt) is skipped. Tokens in ``skip_ids`` (end-of-turn / EOS ids, which end
    generation anyway) are counted but not shown. When a stop string appears, ``stop_event`` is set so
    the stopping criterion ends ``generate`` at the next token. ``make_streamer_classes`` mixes in
    ``transformers.generation.BaseStreamer`` so generate accepts it.
    """

    def __init__(
        self,
        tokenizer: Any,
        *,
        on_text: Callable[[str], None],
        stop_event: threading.Event,
        skip_ids: Iterable[int] = (),
        stop_strings: Sequence[str] = (),
    ) -> None:
        self._detok = IncrementalDetokenizer(tokenizer)
        self._filter = StopStringFilter(stop_strings)
        self._on_text = on_text
        self._stop_event = stop_event
        self._skip_ids = frozenset(skip_ids)
        self._prompt_seen = False
        self.generated = 0
        """Tokens received after the prompt."""
        self.hit_end_token = False
        """An end-of-turn / EOS token was generated."""

    @property
    def hit_stop_string(self) -> bool:
        """A user stop string ended the reply."""
        return self._filter.stopped

    def put(self, value: Any) -> None:
        """Called by ``generate`` with the prompt ids first, then each new token id."""
        if not self._prompt_seen:
            self._prompt_seen = True
            return
        for token_id in value.reshape(-1).tolist():
            self.push(token_id)

    def push(self, token_id: int) -> None:
        """Take one generated token id (the batching scheduler calls this directly, once per step)."""
        self.generated += 1
        if self.hit_end_token or self._filter.stopped:
            return
        if token_id in self._skip_ids:
            self.hit_end_token = True
            return
        self._emit(self._detok.push(token_id))

    def end(self) -> None:
        """Called by ``generate`` when it finishes: flush held-back text."""
        if not self._filter.stopped:
            self._emit(self._detok.flush())
        tail = self._filter.flush()
        if tail:
            self._on_text(tail)

    def _emit(self, text: str) -> None:
        if not text:
            return
        shown = self._filter.push(text)
        if shown:
            self._on_text(shown)
        if self._filter.stopped:
            self._stop_event.set()


class StopOnEvent:
    """A stopping criterion: ``generate`` ends at the next token once ``event`` is set."""

    def __init__(self, event: threading.Event) -> None:
        self._event = event

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        return torch.full(
            (input_ids.shape[0],), self._event.is_set(), dtype=torch.bool, device=input_ids.device
        )


@functools.cache
def make_streamer_classes() -> tuple[type[DeltaStreamer], type[StopOnEvent]]:
    """``(streamer_cls, criterion_cls)``: the classes above mixed with transformers' base classes.

    Built lazily (once) so this module imports without transformers.
    """
    from transformers.generation import BaseStreamer, StoppingCriteria

    class _Streamer(DeltaStreamer, BaseStreamer):  # type: ignore[misc]  # transformers is untyped here
        pass

    class _Criterion(StopOnEvent, StoppingCriteria):  # type: ignore[misc]
        pass

    return _Streamer, _Criterion
