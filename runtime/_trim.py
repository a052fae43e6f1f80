"""Exact history trimming without quadratic cost.

The prompt is ``fixed + kept`` where ``fixed`` is the system prompt and pinned messages (always kept)
and ``kept`` is the longest suffix of the history, in whole *units*, whose prompt fits the budget. A
unit is a message together with the tool results that follow it, so a tool call and its results are
kept or dropped together and a prompt never starts with an orphaned tool result.

Cost: each message's length is computed once (cached by identity; messages are immutable), the fixed
overhead once per change of system/pinned/tools, and the walk from the newest message stops as soon as
the budget is exceeded, so a round touches only the messages it keeps. The chosen prompt is then
checked with the engine's exact ``prompt_len`` (twice: it fits, and one more unit would not). Only if a
template is not additive does it fall back to a binary search over unit counts with ``prompt_len``:
O(log n) renders, never O(n).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hermitcrab.engines._base import Engine, ToolSchema
from hermitcrab.errors import PromptTooLongError
from hermitcrab.messages import Message

__all__ = ("Trimmer", "unit_starts")


def unit_starts(history: Sequence[Message]) -> list[int]:
    """Indices where a unit begins: every message that is not a tool result (tool results attach to
    the message before them). A leading run of tool results forms a unit of its own."""
    starts = [i for i, m in enumerate(history) if m.role != "tool"]
    if history and (not starts or starts[0] != 0):
        starts.insert(0, 0)
    return starts


class Trimmer:
    """Chooses the messages of each prompt for one conversation on one engine."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._lengths: dict[int, tuple[Message, int]] = {}
        self._fixed_key: tuple[object, ...] | None = None
        self._fixed_len = 0
        self._fixed_refs: tuple[object, ...] = ()

    def message_len(self, message: Message) -> int:
        """The engine's ``message_len``, computed once per message object."""
        hit = self._lengths.get(id(message))
        if hit is not None and hit[0] is message:
            return hit[1]
        n = self._engine.message_len(message)
        self._lengths[id(message)] = (message, n)
        return n

    def fixed_overhead(self, fixed: Sequence[Message], tools: Sequence[ToolSchema]) -> int:
        """The engine's ``prompt_len`` of the fixed part alone, computed once per fixed part."""
        key = (*map(id, fixed), *map(id, tools))
        if key != self._fixed_key:
            self._fixed_len = self._engine.prompt_len(fixed, tools)
            self._fixed_key = key
            self._fixed_refs = (tuple(fixed), tuple(tools))  # keep ids valid while cached
        return self._fixed_len

    def forget_except(self, history: Sequence[Message]) -> None:
        """Drop cached lengths of messages no longer in ``history`` (bounded memory)."""
        if len(self._lengths) > 2 * len(history) + 64:
            live = {id(m) for m in history}
            self._lengths = {k: v for k, v in self._lengths.items() if k in live}

    def select(
        self,
        fixed: Sequence[Message],
        history: Sequence[Message],
        tools: Sequence[ToolSchema],
        budget: int,
    ) -> list[Message]:
        """The prompt's messages: ``fixed`` plus the longest suffix of ``history`` (in whole units) that
        fits ``budget`` tokens. Raises :class:`PromptTooLongError` if not even the newest unit fits."""
        fixed = list(fixed)
        if not history:
            n = self.fixed_overhead(fixed, tools)
            if n > budget:
                raise PromptTooLongError(
                    f"the system prompt, pinned messages and tools take {n} tokens, over the budget of "
                    f"{budget} (max_context_size minus max_new_tokens)",
                    prompt_tokens=n,
                    budget=budget,
                )
            return fixed
        starts = unit_starts(history)
        overhead = self.fixed_overhead(fixed, tools)
        # Walk units from the newest, summing cached lengths, until the estimate overflows.
        total = overhead
        kept_units = 0
        end = len(history)
        for start in reversed(starts):
            unit_len = sum(self.message_len(history[i]) for i in range(start, end))
            if total + unit_len > budget:
                break
            total += unit_len
            kept_units += 1
            end = start
        n_units = len(starts)

        def render(k: int) -> int:
            first = starts[n_units - k] if k else len(history)
            return self._engine.prompt_len([*fixed, *history[first:]], tools)

        k = kept_units
        fits = k > 0 and render(k) <= budget
        next_fits = fits and k < n_units and render(k + 1) <= budget
        if not fits or next_fits:
            k = self._search(render, n_units, budget, guess=k)
        if k == 0:
            newest = render(1)
            raise PromptTooLongError(
                f"the newest turn does not fit: the prompt needs {newest} tokens but the budget is {budget} "
                f"(max_context_size {self._engine.max_context_size} minus max_new_tokens); "
                "shorten the message "
                "or the system prompt, or raise max_context_size",
                prompt_tokens=newest,
                budget=budget,
            )
        first = starts[n_units - k]
        self.forget_except(history)
        return [*fixed, *history[first:]]

    @staticmethod
    def _search(render: Callable[[int], int], n_units: int, budget: int, guess: int) -> int:
        """Largest k in [0, n_units] with ``render(k) <= budget``, galloping out from ``guess`` and then
        bisecting: O(log distance) renders, each about the size of the kept prompt. ``k = 0`` (no
        history) counts as fitting; the caller reports it."""
        guess = min(max(guess, 0), n_units)
        if guess == 0 or render(guess) <= budget:
            lo, step = guess, 1
            while lo + step <= n_units and render(lo + step) <= budget:
                lo, step = lo + step, step * 2
            hi = min(n_units, lo + step - 1)
        else:
            hi, step = guess - 1, 1
            while True:
                candidate = guess - step
                if candidate <= 0:
                    lo = 0
                    break
                if render(candidate) <= budget:
                    lo = candidate
                    break
                hi, step = candidate - 1, step * 2
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if render(mid) <= budget:
                lo = mid
            else:
                hi = mid - 1
        return lo
