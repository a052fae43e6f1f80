"""Tiny, real, offline Hugging Face models for tests, benchmarks and demos.

Every function here builds into a folder a *real* causal language model (Qwen2 or Llama architecture,
random weights from a fixed seed) and a byte-level BPE tokenizer trained offline with ``tokenizers`` on
a small built-in text, saved with ``save_pretrained`` so that ``AutoTokenizer.from_pretrained`` and
``AutoModelForCausalLM.from_pretrained`` load them like any model from the Hub. Nothing is downloaded.
A build takes a few hundred milliseconds at the default size. They need the ``hf`` extra
(``transformers``, ``torch``), imported only when a function runs.

The output of a random model is gibberish, but it drives every real code path: chat templates with
tools, generation, streaming, KV caches, 4-bit loading, constrained decoding. Tests that need a
specific reply force it with a logits processor (see :class:`ForcedTokensLogitsProcessor`)::

    from hermitcrab.testing import build_tiny_chat_model

    path = build_tiny_chat_model(tmp_path / "model")                     # ChatML + Hermes <tool_call>
    path = build_tiny_chat_model(tmp_path / "mine", chat_template=TEMPLATE)  # your model's template
    path = build_tiny_base_model(tmp_path / "base")                      # no chat template

Pitfall handled here: in transformers 5.x, ``AutoTokenizer`` for ``model_type="qwen2"`` rebuilds the
pre-tokenizer from its own split regex, ignoring the one saved in ``tokenizer.json``; a tokenizer
trained with another split stops round-tripping. The tokenizer is therefore trained with exactly the
Qwen2 split regex, NFC normaliser and byte-level decoder, for both architectures, and
:func:`check_round_trip` verifies it after loading.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

from hermitcrab.prompting.templates import CHATML_HERMES_TEMPLATE

__all__ = (
    "BASE_TEXT",
    "END_OF_TURN",
    "ForcedTokensLogitsProcessor",
    "QWEN2_SPLIT_REGEX",
    "SPECIAL_TOKENS",
    "TOOL_TOKENS",
    "build_tiny_base_model",
    "build_tiny_chat_model",
    "build_tiny_model",
    "check_round_trip",
    "train_tiny_tokenizer",
)

QWEN2_SPLIT_REGEX = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"""  # letters, single digits
    r"""| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""  # punctuation, newlines, spaces
)
"""The pre-tokenizer split regex that transformers' Qwen2 tokenizer always uses (digits split singly)."""

END_OF_TURN = "<|im_end|>"
SPECIAL_TOKENS: tuple[str, ...] = ("<|endoftext|>", "<|im_start|>", END_OF_TURN)
"""Special tokens (skipped by ``decode(skip_special_tokens=True)``): end of text, ChatML turn markers."""
TOOL_TOKENS: tuple[str, ...] = ("<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>")
"""Hermes tool markup, added as single *non-special* tokens (as in Qwen2.5), so it survives decoding."""


BASE_TEXT = """\
The quick brown fox jumps over the lazy dog. A hermit crab carries its house and changes it as it grows.
What is the weather in Paris today? It is sunny and 21 degrees. What time is it in Tokyo? It is 9 pm.
Please add 12 and 30. The answer is 42. Multiply 7 by 6, then convert 10 kilometres to miles.
Remind me to water the plants tomorrow at 8. I will remind you. Thank you, that is all for now.
The conversation keeps its history, trims old messages, and calls tools when the model asks for them.
Cancelling a round leaves the history unchanged. Streaming sends text as soon as it is generated.
{"name": "get_weather", "arguments": {"city": "Paris", "unit": "celsius"}}
{"name": "add", "arguments": {"a": 12, "b": 30}} {"result": 42} {"temperature": 21, "sky": "sunny"}
<tool_call> </tool_call> <tool_response> </tool_response> <tools> </tools> # Tools function parameters
Déjà vu, naïve café, Ærøskøbing, São Paulo, Zürich, München, Kraków, İstanbul, Ελληνικά, русский язык.
日本語のテキスト、中文文本、한국어 텍스트. Emoji: 🦀 🐚 🌊 🚀 ✨ 👍🏽 — “quotes” … ©®™ €£¥.
Numbers 0 1 2 3 4 5 6 7 8 9 10 100 1000 3.14159 -273.15 1e10 50% $20 #1 @user a_b c-d e/f (g) [h] {i}.
"""
"""Local text the tokenizer is trained on: English, JSON tool calls, accents, CJK and emoji (so that
some characters span several tokens, which exercises incremental detokenization)."""


def train_tiny_tokenizer(
    text: str | Iterable[str] = BASE_TEXT,
    *,
    vocab_size: int = 512,
    special_tokens: Sequence[str] = SPECIAL_TOKENS,
    added_tokens: Sequence[str] = TOOL_TOKENS,
) -> Any:
    """Train a byte-level BPE ``tokenizers.Tokenizer`` on ``text``, offline, in milliseconds.

    It uses the Qwen2 split regex, NFC normalisation and a byte-level decoder (what transformers
    rebuilds for ``model_type="qwen2"``), covers all 256 bytes (any text encodes), and adds
    ``special_tokens`` (special) and ``added_tokens`` (non-special, kept by ``decode``) as single tokens.
    """
    from tokenizers import (
        AddedToken,
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        trainers,
    )

    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_SPLIT_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(special_tokens),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    lines = text.splitlines() if isinstance(text, str) else list(text)
    tokenizer.train_from_iterator(lines, trainer=trainer)
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in added_tokens])
    return tokenizer


def build_tiny_model(
    path: str | Path,
    *,
    architecture: Literal["qwen2", "llama"] = "qwen2",
    hidden_size: int = 64,
    num_layers: int = 2,
    num_heads: int = 4,
    num_kv_heads: int | None = 2,
    intermediate_size: int | None = None,
    max_position_embeddings: int = 4096,
    vocab_size: int = 512,
    seed: int = 0,
    chat_template: str | None = CHATML_HERMES_TEMPLATE,
    text: str | Iterable[str] = BASE_TEXT,
    eos_token: str = END_OF_TURN,
    dtype: str = "float32",
    initializer_range: float = 0.5,
    config_overrides: dict[str, Any] | None = None,
) -> Path:
    """Build a tiny random-weight causal LM and its tokenizer into ``path`` and return ``path``.

    ``chat_template=None`` leaves the folder without a chat template (a "base" model).
    ``eos_token`` is the tokenizer's and generation config's end token (``<|im_end|>`` by default, as
    for chat models; ``<|endoftext|>`` is the pad token). Sizes that are multiples of 64 keep
    bitsandbytes' fast CPU 4-bit kernels usable (``in_features % 64 == 0``, ``out % 32 == 0``).
    ``initializer_range`` is larger than transformers' 0.02 so that greedy output depends on the
    prompt and varies from token to token (at 0.02 a tiny model repeats one token forever, and tests
    comparing two generations could not fail). ``config_overrides`` go into the model config as they
    are (e.g. sliding-window attention). Deterministic: the same arguments give the same weights and
    tokenizer.
    """
    import torch
    from transformers import AutoModelForCausalLM, GenerationConfig, PreTrainedTokenizerFast

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    raw = train_tiny_tokenizer(text, vocab_size=vocab_size)
    real_vocab = raw.get_vocab_size()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token=eos_token,
        pad_token="<|endoftext|>",
        unk_token=None,
        bos_token=None,
        clean_up_tokenization_spaces=False,
        model_max_length=max_position_embeddings,
    )
    if chat_template is not None:
        tokenizer.chat_template = chat_template
    tokenizer.save_pretrained(path)
    _set_tokenizer_class(path, "Qwen2Tokenizer" if architecture == "qwen2" else "PreTrainedTokenizerFast")

    eos_id = raw.token_to_id(eos_token)
    pad_id = raw.token_to_id("<|endoftext|>")
    # Round the embedding table up to a multiple of 64 (what real models do; keeps 4-bit kernels fast).
    padded_vocab = -(-real_vocab // 64) * 64
    common: dict[str, Any] = {
        "vocab_size": padded_vocab,
        "hidden_size": hidden_size,
        "intermediate_size": intermediate_size or 2 * hidden_size,
        "num_hidden_layers": num_layers,
        "num_attention_heads": num_heads,
        "num_key_value_heads": num_kv_heads or num_heads,
        "max_position_embeddings": max_position_embeddings,
        "tie_word_embeddings": True,
        "eos_token_id": eos_id,
        "pad_token_id": pad_id,
        "bos_token_id": None,
        "initializer_range": initializer_range,
        **(config_overrides or {}),
    }
    if architecture == "qwen2":
        from transformers import Qwen2Config

        config: Any = Qwen2Config(**common)
    elif architecture == "llama":
        from transformers import LlamaConfig

        config = LlamaConfig(**common)
    else:
        raise ValueError(f"architecture must be 'qwen2' or 'llama', not {architecture!r}")

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, dtype))
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=pad_id, do_sample=False)
    model.save_pretrained(path)
    return path


def build_tiny_chat_model(
    path: str | Path,
    *,
    hidden_size: int = 64,
    num_layers: int = 2,
    seed: int = 0,
    chat_template: str = CHATML_HERMES_TEMPLATE,
    architecture: Literal["qwen2", "llama"] = "qwen2",
    **kwargs: Any,
) -> Path:
    """A tiny chat model with a tool-capable ChatML + Hermes ``<tool_call>`` template (by default).

    Other keyword arguments go to :func:`build_tiny_model`.
    """
    return build_tiny_model(
        path,
        architecture=architecture,
        hidden_size=hidden_size,
        num_layers=num_layers,
        seed=seed,
        chat_template=chat_template,
        **kwargs,
    )


def build_tiny_base_model(
    path: str | Path,
    *,
    hidden_size: int = 64,
    num_layers: int = 2,
    seed: int = 0,
    architecture: Literal["qwen2", "llama"] = "qwen2",
    **kwargs: Any,
) -> Path:
    """A tiny model folder *without* a chat template (what engines must reject with a clear error)."""
    return build_tiny_model(
        path,
        architecture=architecture,
        hidden_size=hidden_size,
        num_layers=num_layers,
        seed=seed,
        chat_template=None,
        eos_token="<|endoftext|>",
        **kwargs,
    )


def check_round_trip(tokenizer: Any, texts: Iterable[str] = (BASE_TEXT,)) -> None:
    """Raise ``AssertionError`` unless ``decode(encode(text)) == text`` for each text (NFC-normalised).

    Run it on a tokenizer loaded with ``AutoTokenizer`` to catch a pre-tokenizer that transformers
    rebuilt differently from the one the tokenizer was trained with.
    """
    import unicodedata

    for text in texts:
        ids = tokenizer.encode(text, add_special_tokens=False)
        back = tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)
        expected = unicodedata.normalize("NFC", text)
        assert back == expected, f"tokenizer does not round-trip: {expected[:60]!r} -> {back[:60]!r}"


class ForcedTokensLogitsProcessor:
    """A ``transformers`` logits processor that scripts the replies of successive generations.

    Each new ``generate`` call (detected when the sequence length is not the previous one plus one)
    takes the next reply from ``replies`` and is forced to emit exactly its tokens, then ``end`` (e.g.
    the end-of-turn id) if given; once the replies are used up the model runs free. The real model
    forward passes still run, so this tests the real generate path with a known reply. Pass it with
    ``generate(logits_processor=LogitsProcessorList([proc]))`` or through an engine's pass-through
    options (``GenerationOptions(extra={"logits_processor": ...})``).

    ``steps`` counts the decoding steps seen (all generations), ``generations`` the generations.
    """

    def __init__(self, replies: Sequence[Sequence[int]], *, end: int | None = None) -> None:
        self.replies = [list(r) for r in replies]
        self.end = end
        self.steps = 0
        self.generations = 0
        self._start = 0
        self._last_len = -2
        self._current: list[int] | None = None

    @classmethod
    def from_texts(
        cls, tokenizer: Any, replies: Sequence[str], *, end: str | None = END_OF_TURN
    ) -> ForcedTokensLogitsProcessor:
        """Script replies given as text (tokenized with ``tokenizer``); ``end`` is a token string."""
        ids = [tokenizer.encode(r, add_special_tokens=False) for r in replies]
        end_id = tokenizer.convert_tokens_to_ids(end) if end is not None else None
        return cls(ids, end=end_id)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        length = int(input_ids.shape[-1])
        if length != self._last_len + 1:
            self._start = length
            self._current = self.replies[self.generations] if self.generations < len(self.replies) else None
            self.generations += 1
        self._last_len = length
        self.steps += 1
        if self._current is None:
            return scores
        step = length - self._start
        forced = self._current[step] if step < len(self._current) else self.end
        if forced is None:
            return scores
        out = scores.new_full(scores.shape, float("-inf"))
        out[:, forced] = 0.0
        return out


def _set_tokenizer_class(path: Path, name: str) -> None:
    config_path = path / "tokenizer_config.json"
    data = json.loads(config_path.read_text(encoding="utf-8"))
    data["tokenizer_class"] = name
    config_path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")
