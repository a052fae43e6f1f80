"""The demo model's training recipe: its data keeps the held-out prompts out, its fast renderer is the
chat template, and growing a model by a layer keeps what it computes.

These guard the numbers in ``training/README.md``: a held-out prompt that leaked into
training, or a renderer that drifted from the template the engine uses, would make them lies.
"""

from __future__ import annotations

import hashlib
import json
import random
import sys
from pathlib import Path

import pytest

DEMO = Path(__file__).resolve().parent.parent / "training"
sys.path.insert(0, str(DEMO))

import data  # noqa: E402
import train  # noqa: E402


@pytest.mark.parametrize("variant", [1, 2, 3, 4, 5, 6, 7, 8])
def test_no_held_out_prompt_occurs_in_the_training_stream(variant: int) -> None:
    assert data.check_disjoint(variant, n=4000) > 1000


def test_check_disjoint_catches_a_leaked_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    leaked = data._LIST["eval"][0]
    monkeypatch.setattr(data, "_LIST_V3", (*data._LIST_V3, leaked))
    with pytest.raises(AssertionError, match="held-out prompts in training data"):
        data.check_disjoint(3, n=4000)


@pytest.mark.parametrize(
    ("variant", "digest"),
    [
        (1, "fedfb764becf3c1b"),
        (2, "687823eb739a0e29"),
        (3, "aa8f89bcdfcca86b"),
        (4, "e01b3abc51c4302f"),
        (5, "09d94587c1efa8ef"),
        (6, "f753653747c4aa89"),
        (7, "0695604080dfb0a6"),
        (8, "8bf706be5fb078b7"),
    ],
)
def test_training_streams_are_unchanged(variant: int, digest: str) -> None:
    # The shipped model and the staged recipe before it were trained on these streams; training.json only
    # reproduces if they stay byte for byte the same (variants 1 and 2 were digested before variant
    # 3 was added). Change data.py's training material only together with a retrained model.
    h = hashlib.sha256()
    for sample, _ in zip(data.stream(7, 0.1, variant), range(300), strict=False):
        h.update(json.dumps([m.to_dict() for m in sample.messages], sort_keys=True, default=str).encode())
    assert h.hexdigest()[:16] == digest


def _copied_tokens(variant: int, n: int) -> set[str]:
    """Every token that the model is trained to copy (tool-call strings, copy exercises) in ``n``
    samples of ``variant``, tokenized by the shipped tokenizer."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(data._TOKENIZER))
    copied: set[str] = set()
    for sample, _ in zip(data.stream(3, 0.4, variant), range(n), strict=False):
        if sample.kind == "copy":
            texts = [sample.messages[-1].text]
        else:
            texts = [v for v in sample.arguments.values() if isinstance(v, str)]
        for text in texts:
            copied.update(tokenizer.encode(text).tokens)
    return copied


def test_variant_six_gives_every_vocabulary_piece_copy_practice() -> None:
    # The lever variant 6 measures: in variant 5 a third of the letter pieces ("day", "aint") are
    # never copied; piece words cover nearly all of them in the same number of samples.
    pieces = set(data.vocabulary_pieces())
    assert len(pieces) > 500
    assert all(p.isascii() and p.isalpha() for p in pieces)
    assert len(pieces - _copied_tokens(5, 3000)) > 0.25 * len(pieces)
    assert len(pieces - _copied_tokens(6, 3000)) < 0.08 * len(pieces)


def test_training_on_variant_six_needs_the_committed_tokenizers_pieces(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from tokenizers import Tokenizer

    train.check_vocabulary_pieces(Tokenizer.from_file(str(data._TOKENIZER)))
    other = train.build_tokenizer(["hello there, weather in Oslo"] * 20, 300, [])
    with pytest.raises(SystemExit, match="other letter pieces"):
        train.check_vocabulary_pieces(other)
    monkeypatch.setattr(data, "_TOKENIZER", tmp_path / "missing.json")
    data.vocabulary_pieces.cache_clear()
    try:
        with pytest.raises(SystemExit, match="is missing"):
            train.check_vocabulary_pieces(other)
    finally:
        data.vocabulary_pieces.cache_clear()


def test_piece_words_are_made_of_pieces_and_never_held_out() -> None:
    rng = random.Random(5)
    pieces = data.vocabulary_pieces()
    words = [data.piece_word(rng) for _ in range(3000)]
    assert not {w.lower() for w in words} & data._HELD_OUT_WORDS
    assert all(w.isalpha() for w in words)
    assert len(set(words)) > 2500
    single = {w for w in words if w in pieces}
    assert single and len(single) < len(words)


def test_development_set_is_apart_from_training_and_held_out_entities() -> None:
    dev = data.dev_prompts()
    assert len(dev) == 160 and {s.kind for s in dev} == {"weather", "save_note"}
    assert sum(not s.seen for s in dev) == 80
    cities = set(data.DEV_CITIES)
    assert not cities & (set(data.CITIES_TRAIN) | set(data.CITIES_UNSEEN))
    dev_words = {w for s in dev if not s.seen and s.kind == "save_note" for w in s.arguments["text"].split()}
    train_words = {w for phrase in (*data._NOTE_VERBS, *data._NOTE_OBJECTS) for w in phrase.split()}
    function_words = {"the", "a", "my", "on", "at", "before", "in", "to"}
    assert dev_words & data._HELD_OUT_WORDS <= function_words
    assert dev_words & train_words <= function_words | {"card"}
    assert not {s.prompt for s in dev} & {s.prompt for s in data.eval_prompts()}
    unseen_weather = [s for s in dev if s.kind == "weather" and not s.seen]
    assert all(s.arguments["city"] in cities and s.arguments["city"] in s.prompt for s in unseen_weather)


def test_variant_three_covers_every_kind_of_turn() -> None:
    rng = random.Random(3)
    kinds = {data.generate(rng, variant=3).kind for _ in range(600)}
    assert {"weather", "convert", "add", "multiply", "save_note", "list_notes", "chat", "no_tool"} <= kinds
    copies = [data.copy_sample_v3(rng) for _ in range(200)]
    assert all(c.messages[-1].text in c.prompt for c in copies)
    assert any(any(ch.isdigit() for ch in c.messages[-1].text) for c in copies)


def test_fast_renderer_matches_the_jinja_chat_template() -> None:
    blocks = train.tool_blocks()
    train._check_renderer(blocks)
    rng = random.Random(11)
    for _ in range(20):
        sample = data.generate(rng, variant=3)
        expected = train._jinja_render([m.to_dict() for m in sample.messages], sample.toolset.schemas or None)
        got, spans = data.render_chatml(sample.messages, blocks.get(sample.toolset.name, (None,))[0])
        assert got == expected
        assert spans and all(got[end - len("<|im_end|>") : end] == "<|im_end|>" for _, end in spans)


def test_grow_adds_layers_that_change_nothing_until_trained() -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=2,
        max_position_embeddings=64,
    )
    small = LlamaForCausalLM(config).eval()
    grown = train.grow(small, 3).eval()
    assert grown.config.num_hidden_layers == 3
    assert small.config.num_hidden_layers == 2
    ids = torch.randint(0, 64, (2, 12))
    with torch.no_grad():
        assert torch.allclose(small(ids).logits, grown(ids).logits, atol=1e-6)
    # The new layer is trainable: its zeroed projections get a gradient.
    grown.train()
    grown(ids, labels=ids).loss.backward()
    assert grown.model.layers[2].self_attn.o_proj.weight.grad.abs().sum() > 0


def test_wide_words_are_new_words_and_extras_stay_in_their_variant() -> None:
    rng = random.Random(0)
    words = [data.wide_word(rng) for _ in range(3000)]
    assert len(set(words)) > 2000
    assert not set(words) & data._HELD_OUT_WORDS
    # Variants 4, 5 and 6 switch their extras on for their own samples only.
    for variant in (4, 5, 6):
        stream = data.stream(5, 0.3, variant)
        for _ in range(50):
            next(stream)
            assert data._WIDE_NAMES is False
            assert data._V5_EXTRAS is False
            assert data._PIECE_NAMES is False


# -- variant 7 and the hand-written sets (issue 18) ------------------------------------------------
import user_words  # noqa: E402


def test_hand_written_sets_are_apart_from_each_other_and_from_training_lists() -> None:
    dev, test = data.hand_prompts("handdev"), data.hand_prompts("handtest")
    assert len(dev) >= 200 and len(test) >= 100
    assert sum(s.tool is None for s in dev) >= 40 and sum(s.tool is None for s in test) >= 20
    assert not {s.prompt for s in dev} & {s.prompt for s in test}
    assert len({s.prompt for s in dev}) == len(dev) and len({s.prompt for s in test}) == len(test)

    def unseen_cities(samples: list[data.Sample]) -> set[str]:
        return {s.arguments["city"].lower() for s in samples if s.kind == "weather" and not s.seen}

    trained = {c.lower() for c in (*data.CITIES_TRAIN, *user_words.CITIES_V7)}
    others = {c.lower() for c in (*data.CITIES_UNSEEN, *data.DEV_CITIES)}
    assert not unseen_cities(dev) & (trained | others)
    assert not unseen_cities(test) & (trained | others)
    assert not unseen_cities(dev) & unseen_cities(test)
    for s in dev + test:  # the arguments a call must copy are in the prompt as written
        if s.kind == "weather":
            assert s.arguments["city"] in s.prompt
        if s.kind == "save_note":
            assert s.arguments["text"] in s.prompt


def _words(variant: int, n: int) -> set[str]:
    import re

    found: set[str] = set()
    for sample, _ in zip(data.stream(5, 0.3, variant), range(n), strict=False):
        for m in sample.messages:
            found |= {w.lower() for w in re.findall(r"[A-Za-z]+", m.text)}
            for call in m.tool_calls:
                found |= {w.lower() for v in call.arguments.values() if isinstance(v, str) for w in v.split()}
    return found


@pytest.mark.parametrize("variant", [7, 8])
def test_variants_seven_and_eight_add_no_held_out_or_development_word(
    variant: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Variant 7's and 8's word lists (cities, note words, number words: no "six", no "eight") add no word
    # of the generated held-out and development sets that variant 6 did not already have. Their made-up
    # names are one fixed word here: those are drawn alike in every variant (syllables can make "Bake").
    import re

    before = _words(6, 6000)
    monkeypatch.setattr(data, "made_up_name", lambda rng: "Qqz")
    development = {
        w.lower()
        for phrase in (
            *data._DEV_NOTE_VERBS,
            *data._DEV_NOTE_OBJECTS,
            *data._DEV_NOTE_TIMES,
            *data.DEV_CITIES,
        )
        for w in re.findall(r"[A-Za-z]+", phrase)
    }
    new = _words(variant, 6000) - before
    assert not new & (set(data._HELD_OUT_WORDS) | development)
    assert not {c.lower() for c in user_words.CITIES_V7} & {
        c.lower() for c in (*data.CITIES_UNSEEN, *data.DEV_CITIES)
    }


@pytest.mark.parametrize("variant", [7, 8])
def test_variant_seven_and_eight_arguments_are_what_the_prompt_says(variant: int) -> None:
    # Cities and notes are copied verbatim; numbers are written as digits, with separators, in words
    # or as "double"/"triple"/"twice"; a third of the requests need no tool.
    rng = random.Random(2)
    kinds: dict[str, int] = {}
    for _ in range(1500):
        toolset = rng.choice((data.TOOLSETS["weather"], data.TOOLSETS["calculator"]))
        with data._extras(variant):
            turn = user_words.turn_v7(rng, toolset)
        kinds[turn.kind] = kinds.get(turn.kind, 0) + 1
        if turn.tool == "get_weather":
            assert turn.arguments["city"] in turn.prompt
        elif turn.tool == "save_note":
            assert turn.arguments["text"] in turn.prompt
        elif turn.tool in ("add", "multiply", "convert_length"):
            for value in (turn.arguments.get(k) for k in ("a", "b", "value")):
                if value is None:
                    continue
                whole = float(value).is_integer()
                forms = {data._fmt(value), f"{int(value) if whole else value:,}", data._fmt(abs(value))}
                if float(value).is_integer() and 0 <= value <= 1000:
                    forms.add(user_words.number_words(int(value)) or "x")
                words = ("double", "triple", "twice", "doubled", "tripled")
                assert any(f in turn.prompt for f in forms) or (
                    value in (2, 3) and any(w in turn.prompt.lower() for w in words)
                ), (turn.prompt, turn.arguments)
    assert {"weather", "convert", "add", "multiply", "save_note", "list_notes", "no_tool", "chat"} <= set(
        kinds
    )
    assert 0.2 < (kinds["no_tool"] + kinds["chat"]) / 1500 < 0.35
