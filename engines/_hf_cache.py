"""Per-conversation KV caches for the HuggingEngine: prefix reuse with a bounded LRU budget.

A conversation's next prompt starts with the tokens of its previous prompt and reply, so the KV cache
of that last generation can be reused: crop it to the longest common token prefix with the new prompt
(always leaving at least one prompt token to run through the model) and pass it to ``generate``.
Wrong reuse is silent in transformers (it produces different text, never an error), so the prefix is
computed on token ids, never assumed from message counts.

Entries are taken out while a generation runs (so two generations never share one cache object) and
put back when it ends well; ``discard`` drops an entry, even one in use (it is then not put back).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = (
    "CacheEntry",
    "SessionCacheStore",
    "common_prefix_len",
    "default_cached_tokens",
    "kv_bytes_per_token",
)


def common_prefix_len(a: Sequence[int], b: Sequence[int]) -> int:
    """Length of the longest common prefix of two id sequences."""
    n = min(len(a), len(b))
    i = 0
    # Compare in chunks: Python list slices compare in C, much faster than a per-token loop.
    step = 256
    while i < n:
        j = min(i + step, n)
        if a[i:j] == b[i:j]:
            i = j
            continue
        while a[i] == b[i]:
            i += 1
        return i
    return n


@dataclass
class CacheEntry:
    """The tokens a cache holds keys/values for (``ids[:len]``) and the cache itself."""

    ids: list[int]
    cache: Any

    def usable_prefix(self, prompt_ids: Sequence[int]) -> int:
        """How many leading prompt tokens this cache can serve (at least one token stays uncached)."""
        cached = self.cache.get_seq_length()
        keep = common_prefix_len(self.ids[:cached], prompt_ids)
        return min(keep, len(prompt_ids) - 1)


class SessionCacheStore:
    """Thread-safe LRU of :class:`CacheEntry` per session key: at most ``max_sessions`` entries and,
    when ``max_tokens`` is set, at most that many cached tokens in all (the newest entry is always
    kept, even if it alone is larger)."""

    def __init__(self, max_sessions: int, max_tokens: int | None = None) -> None:
        self.max_sessions = max_sessions
        self.max_tokens = max_tokens
        self._entries: OrderedDict[Hashable, CacheEntry] = OrderedDict()
        self._in_use: dict[Hashable, int] = {}
        self._discarded: set[Hashable] = set()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    def cached_tokens(self) -> int:
        """Tokens held by all stored caches."""
        with self._lock:
            return sum(e.cache.get_seq_length() for e in self._entries.values())

    def take(self, key: Hashable) -> CacheEntry | None:
        """Remove and return the entry for ``key`` (``None`` if none); mark the key as in use."""
        with self._lock:
            self._in_use[key] = self._in_use.get(key, 0) + 1
            self._discarded.discard(key)
            return self._entries.pop(key, None)

    def put_back(self, key: Hashable, entry: CacheEntry | None) -> None:
        """Store ``entry`` as the newest for ``key`` (unless discarded meanwhile), evicting the LRU."""
        with self._lock:
            count = self._in_use.get(key, 1) - 1
            if count > 0:
                self._in_use[key] = count
            else:
                self._in_use.pop(key, None)
            if entry is None or key in self._discarded or self.max_sessions <= 0:
                if count <= 0:
                    self._discarded.discard(key)
                return
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_sessions:
                self._entries.popitem(last=False)
            if self.max_tokens is not None:
                total = sum(e.cache.get_seq_length() for e in self._entries.values())
                while total > self.max_tokens and len(self._entries) > 1:
                    _, oldest = self._entries.popitem(last=False)
                    total -= oldest.cache.get_seq_length()

    def discard(self, key: Hashable) -> None:
        """Forget ``key``'s cache, including one a running generation would put back."""
        with self._lock:
            self._entries.pop(key, None)
            if key in self._in_use:
                self._discarded.add(key)

    def clear(self) -> None:
        """Forget every cache."""
        with self._lock:
            self._entries.clear()
            self._discarded.update(self._in_use)


_GIB = 1 << 30
DEFAULT_CACHE_SHARE = 0.25
"""The share of the device's memory that kept KV caches may fill by default."""
DEFAULT_CACHE_CAP = 8 * _GIB
"""...but never more than this by default."""


def kv_bytes_per_token(model: Any) -> int | None:
    """Bytes one token's keys and values take in ``model``'s cache (all layers), or ``None`` when the
    config does not say (``2 x layers x kv_heads x head_dim x element size``)."""
    config = model.config.get_text_config(decoder=True)
    layers = getattr(config, "num_hidden_layers", None)
    heads = getattr(config, "num_attention_heads", None)
    kv_heads = getattr(config, "num_key_value_heads", None) or heads
    head_dim = getattr(config, "head_dim", None)
    hidden = getattr(config, "hidden_size", None)
    if not head_dim and heads and hidden:
        head_dim = hidden // heads
    if not (layers and kv_heads and head_dim):
        return None
    try:
        element = model.get_input_embeddings().weight.element_size()
    except Exception:
        element = 4
    return int(2 * layers * kv_heads * head_dim * element)


def default_cached_tokens(bytes_per_token: int | None, device: Any) -> int | None:
    """How many tokens of kept caches fit the default budget on ``device``: a quarter of its memory,
    at most half of what is free now, at most 8 GiB (``None`` when neither is known)."""
    if not bytes_per_token:
        return None
    total, free = _device_memory(device)
    if total is None:
        return None
    budget = min(total * DEFAULT_CACHE_SHARE, DEFAULT_CACHE_CAP)
    if free is not None:
        budget = min(budget, free / 2)
    return max(1, int(budget // bytes_per_token))


def _device_memory(device: Any) -> tuple[int | None, int | None]:
    """``(total, free)`` bytes of ``device``'s memory (RAM for the CPU), ``None`` where unknown."""
    import os

    kind = getattr(device, "type", str(device))
    if kind == "cuda":
        import torch

        try:
            free, total = torch.cuda.mem_get_info(device)
            return int(total), int(free)
        except Exception:
            return None, None
    try:
        page = os.sysconf("SC_PAGE_SIZE")
        total = os.sysconf("SC_PHYS_PAGES") * page
        free = os.sysconf("SC_AVPHYS_PAGES") * page
        return int(total), int(free)
    except (ValueError, OSError, AttributeError):  # not POSIX (Windows), or not exposed
        return None, None
