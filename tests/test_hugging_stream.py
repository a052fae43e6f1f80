"""The HuggingEngine's streaming helpers, property-tested on a real tiny tokenizer: incremental
detokenization never splits a character and adds up to the full decode; stop strings cut exactly,
for any chunking; the thread-to-loop channel keeps order and applies backpressure; the session cache
store stays bounded and honours releases."""

from __future__ import annotations

import threading
from pathlib import Path

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("transformers")

import itertools

import anyio.lowlevel
from transformers import AutoTokenizer

from hermitcrab.engines._hf_cache import CacheEntry, SessionCacheStore, common_prefix_len
from hermitcrab.engines._hf_channel import ThreadToLoopChannel
from hermitcrab.engines._hf_stream import IncrementalDetokenizer, StopStringFilter
from hermitcrab.testing import BASE_TEXT, build_tiny_chat_model

ALPHABET = st.sampled_from(
    [*sorted(set(BASE_TEXT)), "🦀", "👍🏽", "\n", " ", "é", "語", "<|im_end|>", "<tool_call>"]
)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory: pytest.TempPathFactory) -> object:
    return AutoTokenizer.from_pretrained(build_tiny_chat_model(tmp_path_factory.mktemp("tok") / "m"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(pieces=st.lists(ALPHABET, max_size=40))
def test_incremental_deltas_add_up_to_the_full_decode(tokenizer: object, pieces: list[str]) -> None:
    text = "".join(pieces)
    ids = tokenizer.encode(text, add_special_tokens=False)  # type: ignore[attr-defined]
    detok = IncrementalDetokenizer(tokenizer)
    deltas = [detok.push(i) for i in ids]
    deltas.append(detok.flush())
    assert "".join(deltas) == tokenizer.decode(ids, skip_special_tokens=False)  # type: ignore[attr-defined]
    # Valid text never shows a half character: no delta contains U+FFFD.
    assert not any("\ufffd" in d for d in deltas)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    ids=st.lists(st.integers(min_value=0, max_value=515), max_size=40),
    skip=st.booleans(),
    window=st.sampled_from([4, 6]),
)
def test_incremental_deltas_add_up_for_arbitrary_token_ids(
    tokenizer: object, ids: list[int], skip: bool, window: int
) -> None:
    # Random ids may form invalid UTF-8 (what a random model emits): deltas still add up exactly,
    # also when skipped special tokens sit between the bytes of one character.
    detok = IncrementalDetokenizer(tokenizer, skip_special_tokens=skip, window=window)
    deltas = [detok.push(i) for i in ids]
    deltas.append(detok.flush())
    assert "".join(deltas) == tokenizer.decode(ids, skip_special_tokens=skip)  # type: ignore[attr-defined]


def test_invalid_bytes_emitted_early_never_swallow_a_character_completed_later(tokenizer: object) -> None:
    # Three stray continuation bytes hold the window back until it must emit; the lead byte that
    # follows then completes a valid 4-byte character (U+21861) with the next three. Found by the
    # property test above: the forced emission once took the lead byte along as U+FFFD and lost it.
    ids = tokenizer.convert_tokens_to_ids(["¡", "¡", "¡", "ð", "¡", "¡", "¡"])  # type: ignore[attr-defined]
    detok = IncrementalDetokenizer(tokenizer)
    deltas = [detok.push(i) for i in ids]
    deltas.append(detok.flush())
    assert "".join(deltas) == "\ufffd" * 3 + "\U00021861"
    assert tokenizer.decode(ids) == "".join(deltas)  # type: ignore[attr-defined]
    assert "\U00021861" not in "".join(deltas[:6])  # held back until complete, then whole


def test_skipped_special_tokens_inside_a_character_do_not_split_it(tokenizer: object) -> None:
    tokens = ["¡", "¡", "¡", "Î", "<|im_end|>", "<|im_end|>", "<|im_end|>", "µ"]  # ..., 0xCE, 0xB5: "ε"
    ids = tokenizer.convert_tokens_to_ids(tokens)  # type: ignore[attr-defined]
    detok = IncrementalDetokenizer(tokenizer, skip_special_tokens=True, window=4)
    deltas = [detok.push(i) for i in ids]
    deltas.append(detok.flush())
    assert "".join(deltas) == "\ufffd" * 3 + "ε" == tokenizer.decode(ids, skip_special_tokens=True)  # type: ignore[attr-defined]


def test_a_multibyte_character_split_over_tokens_is_emitted_whole(tokenizer: object) -> None:
    ids = tokenizer.encode("🦀", add_special_tokens=False)  # type: ignore[attr-defined]
    assert len(ids) > 1  # byte-level pieces of one character
    detok = IncrementalDetokenizer(tokenizer)
    deltas = [detok.push(i) for i in ids]
    assert deltas[:-1] == [""] * (len(ids) - 1)
    assert deltas[-1] == "🦀"


@given(
    text=st.text(alphabet="abST OP\n", max_size=40),
    stops=st.lists(st.text(alphabet="abSTOP", min_size=1, max_size=4), min_size=1, max_size=3),
    cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=8),
)
def test_stop_filter_cuts_at_the_first_stop_for_any_chunking(
    text: str, stops: list[str], cuts: list[int]
) -> None:
    bounds = sorted({0, len(text), *(c for c in cuts if c <= len(text))})
    chunks = [text[a:b] for a, b in itertools.pairwise(bounds)]
    flt = StopStringFilter(stops)
    shown = "".join(flt.push(c) for c in chunks) + flt.flush()
    positions = [text.find(s) for s in stops if s in text]
    if positions:
        first = min(positions)
        assert shown == text[:first]
        assert flt.stopped
    else:
        assert shown == text
        assert not flt.stopped


def test_stop_filter_holds_back_only_possible_stop_prefixes() -> None:
    flt = StopStringFilter(["</end>"])
    assert flt.push("hello </") == "hello "
    assert flt.push("b>") == "</b>"
    assert flt.push(" x </en") == " x "
    assert flt.push("d> tail") == ""
    assert flt.stopped


def test_common_prefix_len() -> None:
    a = list(range(1000))
    assert common_prefix_len(a, a) == 1000
    assert common_prefix_len(a, [*a[:700], -1]) == 700
    assert common_prefix_len(a, []) == 0
    assert common_prefix_len([1, 2], [1, 2, 3]) == 2


class _FakeCache:
    """Only what CacheEntry reads: a sequence length."""

    def __init__(self, n: int) -> None:
        self.n = n

    def get_seq_length(self) -> int:
        return self.n


def test_cache_entry_always_leaves_one_prompt_token_uncached() -> None:
    entry = CacheEntry([1, 2, 3, 4, 5], _FakeCache(4))
    assert entry.usable_prefix([1, 2, 3, 4, 5, 6]) == 4
    assert entry.usable_prefix([1, 2, 3]) == 2
    assert entry.usable_prefix([1, 9]) == 1
    assert entry.usable_prefix([9]) == 0


def test_session_store_is_lru_bounded_and_discard_beats_put_back() -> None:
    store = SessionCacheStore(max_sessions=2)
    for key in "abc":
        store.take(key)
        store.put_back(key, CacheEntry([1], _FakeCache(1)))
    assert len(store) == 2
    assert store.take("a") is None  # evicted
    store.put_back("a", None)
    entry = store.take("b")
    assert entry is not None
    store.discard("b")  # released while its generation runs
    store.put_back("b", entry)
    assert store.take("b") is None
    store.put_back("b", None)
    store.clear()
    assert len(store) == 0


def test_tiny_tokenizer_path_is_reused(tmp_path: Path) -> None:
    # Building twice into the same folder overwrites it cleanly.
    path = build_tiny_chat_model(tmp_path / "m")
    again = build_tiny_chat_model(tmp_path / "m")
    assert path == again
    assert (path / "tokenizer.json").is_file()


@pytest.mark.anyio
async def test_channel_keeps_order_applies_backpressure_and_stops_a_producer_when_closed() -> None:
    channel: ThreadToLoopChannel[int] = ThreadToLoopChannel(capacity=2)
    high_water = 0
    refused_at: list[int] = []

    def produce() -> None:
        nonlocal high_water
        for i in range(1000):
            if not channel.put(i):
                refused_at.append(i)
                return
            high_water = max(high_water, len(channel._items))

    thread = threading.Thread(target=produce)
    thread.start()
    received: list[int] = []
    while len(received) < 100:
        received += await channel.get_batch()
        await anyio.lowlevel.checkpoint()
    channel.close()
    thread.join(timeout=10)
    assert not thread.is_alive()
    assert received == list(range(len(received)))
    assert high_water <= 2
    assert len(refused_at) == 1
    assert refused_at[0] >= 100


@pytest.mark.anyio
async def test_channel_get_batch_ends_after_close_and_drain() -> None:
    channel: ThreadToLoopChannel[str] = ThreadToLoopChannel(capacity=4)
    thread = threading.Thread(target=lambda: (channel.put("a"), channel.put("b"), channel.close()))
    thread.start()
    thread.join()
    assert await channel.get_batch() == ["a", "b"]
    with pytest.raises(anyio.EndOfStream):
        await channel.get_batch()
