"""One round inside the HuggingEngine's scheduler: a *row* of the decoding batch.

A row is everything one round brings to the batch, as mlx-lm's ``BatchGenerator`` has each sequence
bring its own: the prompt's token ids, its KV cache (reused from the conversation's previous round when
the prefix matches), its sampler (the round's temperature, top-p, seed and logits processors, a grammar
among them), its stop rules (end-of-turn ids, stop strings, ``max_new_tokens``), its streamer and
parser, and the channel that carries its events to the round's consumer on the event loop.

The scheduler thread (``_hf_batch``) decides *when* a row runs; the row decides *what* its next token
is (:meth:`Row.choose`) and what that token means (:meth:`Row.accept`). Nothing here touches the event
loop except through the row's channel; nothing here imports torch at module level.
"""

from __future__ import annotations

import enum
import threading
from collections import deque
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from hermitcrab.engines._hf_channel import ThreadToLoopChannel
from hermitcrab.engines._hf_stream import DeltaStreamer
from hermitcrab.events import EngineEvent, Usage
from hermitcrab.prompting._base import ToolCallParser

__all__ = ("Item", "Row", "RowState", "Sampler", "flush_blocking", "prompt_tensor")

Item = tuple[str, Any]
"""What a row sends to its consumer: ``("events", [...])``, ``("done", (usage, finish))`` or
``("error", exception)``."""


class RowState(enum.Enum):
    """Where a row is in the scheduler."""

    WAITING = "waiting"
    """Submitted, not admitted yet (FIFO)."""
    PREFILLING = "prefilling"
    """Admitted: its prompt runs through the model, chunk by chunk."""
    DECODING = "decoding"
    """In the merged batch: one token per decoding step."""
    PAUSED = "paused"
    """Out of the batch with its cache kept, because its consumer's buffer is full."""
    FLUSHING = "flushing"
    """Finished generating; its last items wait for room in the consumer's buffer."""
    DONE = "done"


@dataclass(eq=False)
class Sampler:
    """How a row chooses its next token from the logits of its last position.

    ``processors`` are the round's ``transformers`` logits processors and warpers (repetition
    penalty, temperature, top-k/top-p, a grammar...), exactly as ``generate`` would build them from
    the same generation config; ``criteria`` its extra stopping criteria. A greedy row without
    processors needs none of this: the scheduler takes the argmax of the whole batch at once.
    """

    do_sample: bool = False
    processors: Any = None
    """A ``LogitsProcessorList`` (or ``None``)."""
    criteria: Any = None
    """A ``StoppingCriteriaList`` (or ``None``)."""
    generator: Any = None
    """A seeded ``torch.Generator`` for this round alone (``None``: torch's global generator)."""

    @property
    def plain_greedy(self) -> bool:
        """Greedy with no processor: the batched argmax is this row's choice."""
        return not self.do_sample and not self.processors


@dataclass(eq=False)
class Row:
    """One round's state in the scheduler (see the module docstring)."""

    prompt: list[int]
    parser: ToolCallParser
    channel: ThreadToLoopChannel[Item]
    streamer: DeltaStreamer
    max_new: int
    sampler: Sampler | None
    """``None``: the round's options need ``model.generate`` itself (see ``generate_kwargs``)."""
    session: Hashable | None = None
    seed: int | None = None
    """The round's seed (for rows that run through ``generate``; batched rows seed their sampler)."""
    stop_strings: tuple[str, ...] = ()
    generate_kwargs: dict[str, Any] | None = None
    """For rounds that run alone through ``model.generate`` (options the batch loop does not have,
    or a model whose caches cannot be merged)."""
    stop: threading.Event = field(default_factory=threading.Event)
    """Set to end the row at its next step: cancellation, a stop string, a closed engine."""
    finished: anyio.Event = field(default_factory=anyio.Event)
    """Set (on the consumer's loop) once the scheduler is done with the row."""

    state: RowState = RowState.WAITING
    tokens: list[int] = field(default_factory=list)
    """Prompt and generated ids so far."""
    cache: Any = None
    """The row's own ``DynamicCache`` while it is not in the merged batch."""
    cached: int = 0
    """Prompt tokens served by the reused cache of the conversation's previous round."""
    prefilled: int = 0
    """Prompt tokens whose keys and values are in the cache."""
    next_input: int | None = None
    """The last chosen token: the next decoding step runs it through the model."""
    outbox: deque[Item] = field(default_factory=deque)
    """Items not yet taken by the channel (its buffer was full)."""
    ids: Any = None
    """A preallocated id tensor (prompt + room for every new token) for processors and criteria."""
    holds_session: bool = False
    """The row took its conversation's cache entry from the store (and must put one back)."""
    _pending: list[EngineEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.tokens = list(self.prompt)

    @property
    def generated(self) -> int:
        """Tokens generated so far (an end-of-turn token counts)."""
        return len(self.tokens) - len(self.prompt)

    # -- choosing and accepting tokens ----------------------------------------------------------
    def ids_view(self) -> Any:
        """The row's ids so far as a ``[1, n]`` tensor (for processors and stopping criteria)."""
        return self.ids[:, : len(self.tokens)]

    def choose(self, scores: Any) -> int:
        """The next token from this row's ``[1, vocab]`` logits: processors, then argmax or a sample."""
        import torch

        sampler = self.sampler
        assert sampler is not None
        scores = scores.float()
        if sampler.processors:
            scores = sampler.processors(self.ids_view(), scores)
        if not sampler.do_sample:
            return int(scores.argmax(dim=-1))
        probs = torch.softmax(scores, dim=-1)
        return int(torch.multinomial(probs, num_samples=1, generator=sampler.generator))

    def accept(self, token: int, scores: Any = None) -> bool:
        """Take the chosen ``token``: stream it, and say whether the row is finished."""
        self.tokens.append(token)
        if self.ids is not None:
            self.ids[0, len(self.tokens) - 1] = token
        self.streamer.push(token)
        self._queue_events()
        if self.stop.is_set() or self.streamer.hit_end_token or self.generated >= self.max_new:
            return True
        criteria = self.sampler.criteria if self.sampler is not None else None
        if criteria:
            done = criteria(self.ids_view(), scores)
            return bool(done.any()) if hasattr(done, "any") else bool(done)
        return False

    def on_text(self, text: str) -> None:
        """The streamer's callback: feed the parser, keep its events for the next item."""
        self._pending.extend(self.parser.feed(text))

    def _queue_events(self) -> None:
        if self._pending:
            self.outbox.append(("events", self._pending))
            self._pending = []

    def finish(self) -> None:
        """Generation ended well: flush the streamer and parser, queue the ``done`` item."""
        self.streamer.end()
        self._pending.extend(self.parser.finish())
        self._queue_events()
        self.outbox.append(("done", (self.usage(), self.finish_reason())))

    def fail(self, error: BaseException) -> None:
        """Generation failed: drop what was not delivered and queue the error."""
        self.outbox.clear()
        self._pending = []
        self.outbox.append(("error", error))

    def usage(self) -> Usage:
        """The round's exact token counts."""
        return Usage(
            prompt_tokens=len(self.prompt),
            completion_tokens=self.generated,
            cached_tokens=self.cached,
            requests=1,
        )

    def finish_reason(self) -> str:
        """``"stop"`` (end of turn, stop string, cancellation) or ``"length"`` (``max_new_tokens``)."""
        streamer = self.streamer
        if streamer.hit_end_token or streamer.hit_stop_string or self.stop.is_set():
            return "stop"
        return "length" if self.generated >= self.max_new else "stop"

    # -- delivery ------------------------------------------------------------------------------
    def flush(self) -> bool | None:
        """Hand queued items to the channel without waiting: ``True`` when all went, ``False`` when the
        buffer filled up first, ``None`` when the consumer has gone (the outbox is dropped)."""
        while self.outbox:
            taken = self.channel.offer(self.outbox[0])
            if taken is None:
                self.outbox.clear()
                return None
            if not taken:
                return False
            self.outbox.popleft()
        return True


def flush_blocking(row: Row) -> None:
    """Hand queued items to the channel, waiting while its buffer is full (rows that run alone through
    ``generate``); a consumer that has gone stops the row."""
    row._queue_events()
    while row.outbox:
        if not row.channel.put(row.outbox.popleft()):
            row.outbox.clear()
            row.stop.set()


def prompt_tensor(tokens: Sequence[int], room: int, device: Any) -> Any:
    """A ``[1, len(tokens) + room]`` id tensor starting with ``tokens`` (the rest filled as generated)."""
    import torch

    ids = torch.zeros((1, len(tokens) + room), dtype=torch.long, device=device)
    ids[0, : len(tokens)] = torch.tensor(list(tokens), dtype=torch.long, device=device)
    return ids
