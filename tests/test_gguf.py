"""HuggingEngine on GGUF files that the tests write themselves (tests/tiny_models.py: write_tiny_gguf)
from the tiny Qwen2 test model: same tokens as the original under greedy decoding, the tokenizer and
chat template read from the file, and clear errors for what cannot work."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("gguf")

import gguf
import torch
from tiny_models import write_tiny_gguf
from transformers import AutoModelForCausalLM, AutoTokenizer

from hermitcrab.engines import HuggingEngine
from hermitcrab.errors import ConfigurationError, ModelLoadError
from hermitcrab.events import GenerationOptions
from hermitcrab.messages import Message
from hermitcrab.testing import TOOL_TOKENS, build_tiny_chat_model

PROMPTS = ("Weather in Paris?", "Please add 12 and 30.", "Remind me to water the plants 🦀")


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_chat_model(tmp_path_factory.mktemp("gguf") / "original")


@pytest.fixture(scope="module")
def gguf_dir(original: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding nothing but the GGUF files: tokenizer and template can only come from them."""
    folder = tmp_path_factory.mktemp("gguf") / "files"
    folder.mkdir()
    write_tiny_gguf(original, folder / "model-f32.gguf", quantization="f32")
    write_tiny_gguf(original, folder / "model-q8_0.gguf", quantization="q8_0")
    return folder


def _greedy(model: torch.nn.Module, tokenizer: object, text: str) -> list[int]:
    prompt = tokenizer.apply_chat_template(  # type: ignore[attr-defined]
        [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=True
    )["input_ids"]
    ids = torch.tensor([prompt])
    with torch.inference_mode():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=24, do_sample=False)
    return out[0, ids.shape[1] :].tolist()


async def _engine_text(engine: HuggingEngine, text: str, real_vocab: int) -> str:
    """Greedy reply text, without tool markup and without the ids that pad the embedding table (a GGUF
    vocabulary names them ``[PAD539]``, the original tokenizer decodes them to nothing)."""
    padding = range(real_vocab, engine.model.config.vocab_size)
    suppress = [*(engine.tokenizer.convert_tokens_to_ids(t) for t in TOOL_TOKENS), *padding]
    options = GenerationOptions(max_new_tokens=24, temperature=0, extra={"suppress_tokens": suppress})
    completion = await engine.generate([Message.user(text)], options=options)
    return completion.message.text


@pytest.mark.anyio
async def test_f32_gguf_engine_generates_the_original_models_tokens(original: Path, gguf_dir: Path) -> None:
    async with (
        HuggingEngine(original) as reference,
        HuggingEngine(gguf_dir, gguf_file="model-f32.gguf") as engine,
    ):
        assert engine.gguf_file == "model-f32.gguf"
        assert engine.tokenizer.chat_template == reference.tokenizer.chat_template
        assert engine.parser.name == reference.parser.name
        assert engine.end_token_ids == reference.end_token_ids
        assert engine.max_context_size == reference.max_context_size
        real_vocab = len(reference.tokenizer)
        for text in PROMPTS:
            assert engine.prompt_ids([Message.user(text)]) == reference.prompt_ids([Message.user(text)])
            expected = await _engine_text(reference, text, real_vocab)
            assert expected
            assert await _engine_text(engine, text, real_vocab) == expected


def test_f32_gguf_weights_and_logits_equal_the_originals(original: Path, gguf_dir: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(original)
    model = AutoModelForCausalLM.from_pretrained(original)
    loaded = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file="model-f32.gguf")
    ids = torch.tensor([tokenizer.encode("The quick brown fox, Zürich 🦀")])
    with torch.inference_mode():
        assert torch.equal(model(ids).logits, loaded(ids).logits)
    for text in PROMPTS:
        assert _greedy(loaded, tokenizer, text) == _greedy(model, tokenizer, text)


def test_q8_0_gguf_matches_the_original_with_q8_0_rounded_weights(original: Path, gguf_dir: Path) -> None:
    """q8_0 changes the weights themselves (a random tiny model's near-tied logits then pick other
    tokens), so the reference is the original model with each matrix rounded through q8_0."""
    tokenizer = AutoTokenizer.from_pretrained(original)
    rounded = AutoModelForCausalLM.from_pretrained(original)
    with torch.no_grad():
        for parameter in rounded.parameters():
            if parameter.ndim == 2:
                kind = gguf.GGMLQuantizationType.Q8_0
                data = gguf.quants.dequantize(gguf.quants.quantize(parameter.numpy(), kind), kind)
                parameter.copy_(torch.from_numpy(data.reshape(parameter.shape)))
    loaded = AutoModelForCausalLM.from_pretrained(gguf_dir, gguf_file="model-q8_0.gguf")
    for text in PROMPTS:
        assert _greedy(loaded, tokenizer, text) == _greedy(rounded, tokenizer, text)


@pytest.mark.anyio
async def test_a_path_to_a_gguf_file_loads_it(gguf_dir: Path) -> None:
    async with HuggingEngine(gguf_dir / "model-q8_0.gguf") as engine:
        assert engine.gguf_file == "model-q8_0.gguf"
        assert engine.model_id == str(gguf_dir)
        assert "gguf_file='model-q8_0.gguf'" in repr(engine)
        assert await _engine_text(engine, "Hello", engine.model.config.vocab_size)


@pytest.mark.parametrize(
    "flags", [{"load_in_4bit": True}, {"load_in_8bit": True}, {"quantization_config": object()}]
)
def test_bitsandbytes_with_gguf_is_a_configuration_error_naming_llama_server(
    gguf_dir: Path, flags: dict[str, object]
) -> None:
    with pytest.raises(ConfigurationError, match="llama-server"):
        HuggingEngine(gguf_dir, gguf_file="model-q8_0.gguf", **flags)  # type: ignore[arg-type]


def test_missing_gguf_file_is_a_model_load_error(gguf_dir: Path) -> None:
    with pytest.raises(ModelLoadError, match=r"no GGUF file 'nope\.gguf'"):
        HuggingEngine(gguf_dir, gguf_file="nope.gguf")
