"""Loading for the HuggingEngine: tokenizer, model (device, dtype, bitsandbytes, GGUF), context size,
end ids.

Every failure here becomes an error a user can act on: a missing package names its pip command, a
missing folder or an unloadable model is a :class:`~hermitcrab.errors.ModelLoadError`, an impossible
option a :class:`~hermitcrab.errors.ConfigurationError`. torch and transformers are imported inside the
functions, so ``import hermitcrab`` works without the ``hf`` extra.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from hermitcrab.errors import ConfigurationError, MissingDependencyError, ModelLoadError

__all__ = (
    "GGUF_EXTRA",
    "HF_EXTRA",
    "check_gguf",
    "context_from_config",
    "empty_device_cache",
    "find_end_ids",
    "input_device",
    "load_model",
    "load_tokenizer",
    "require",
    "split_gguf",
    "with_gguf",
)

HF_EXTRA = "pip install 'hermitcrab[hf]'"
GGUF_EXTRA = "pip install 'hermitcrab[gguf]'"

END_OF_TURN_STRINGS = (
    "<|im_end|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|end|>",
    "<end_of_turn>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "</s>",
    "<|return|>",
    "<|call|>",
)
"""Common end-of-turn tokens; those that exist as single special tokens in a vocabulary stop generation."""


def require(*modules: str, pip: str = HF_EXTRA) -> None:
    """Raise :class:`MissingDependencyError` (naming ``pip``) unless every module is importable."""
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(f"HuggingEngine needs {module!r}, which is not installed: {pip}")


def split_gguf(model_id_or_path: str | Path, gguf_file: str | None) -> tuple[str | Path, str | None]:
    """``(folder or Hub id, GGUF file name)``: a path to a ``.gguf`` file is split into its folder and
    name; a named ``gguf_file`` missing from a local folder is a :class:`ModelLoadError` at once."""
    path = Path(model_id_or_path).expanduser()
    if gguf_file is None and str(model_id_or_path).endswith(".gguf") and path.is_file():
        return path.parent, path.name
    if gguf_file is not None and path.is_dir() and not (path / gguf_file).is_file():
        raise ModelLoadError(f"there is no GGUF file {gguf_file!r} in the folder {str(model_id_or_path)!r}")
    return model_id_or_path, gguf_file


def check_gguf(gguf_file: str, *, quantized: bool) -> None:
    """Refuse what cannot work with a GGUF file before anything loads."""
    if quantized:
        raise ConfigurationError(
            f"bitsandbytes quantization cannot be combined with a GGUF file ({gguf_file!r}): transformers "
            "dequantizes GGUF weights at load time. Drop load_in_4bit/load_in_8bit/quantization_config, or "
            "serve the GGUF file quantized with llama.cpp's llama-server and use OpenAIEngine (docs/gguf.md)"
        )
    require("gguf", pip=GGUF_EXTRA)


def with_gguf(kwargs: dict[str, Any], gguf_file: str | None) -> dict[str, Any]:
    """``kwargs`` for ``from_pretrained`` with ``gguf_file`` added (when there is one)."""
    if gguf_file is not None:
        kwargs.setdefault("gguf_file", gguf_file)
    return kwargs


def load_tokenizer(model_id: str, kwargs: dict[str, Any]) -> Any:
    """``AutoTokenizer.from_pretrained(model_id, **kwargs)``, or a :class:`ModelLoadError`."""
    from transformers import AutoTokenizer

    try:
        return AutoTokenizer.from_pretrained(model_id, **kwargs)
    except Exception as exc:
        raise ModelLoadError(f"could not load the tokenizer of {model_id}: {exc}") from exc


def load_model(
    model_id: str,
    *,
    device: str | None,
    dtype: Any,
    load_in_4bit: bool,
    load_in_8bit: bool,
    quantization_config: Any,
    model_load_kwargs: dict[str, Any],
) -> Any:
    """The causal LM in eval mode on its device (see ``HuggingEngine``'s arguments for the options)."""
    import torch
    from transformers import AutoModelForCausalLM

    quantized = load_in_4bit or load_in_8bit or quantization_config is not None
    device_map: Any = None
    if device == "auto":
        require("accelerate", pip="pip install accelerate")
        device_map = "auto"
        target = "cuda" if torch.cuda.is_available() else "cpu"
    else:
        target = device or ("cuda" if torch.cuda.is_available() else "cpu")
    is_gpu = not target.startswith("cpu")
    gpu_dtype = torch.bfloat16 if _bf16_ok(torch, target) else torch.float16
    if isinstance(dtype, str):
        try:
            dtype = getattr(torch, dtype)
        except AttributeError as exc:
            raise ConfigurationError(f"unknown dtype {dtype!r}: use e.g. 'float32' or 'bfloat16'") from exc
    kwargs: dict[str, Any] = {"dtype": dtype or (gpu_dtype if is_gpu else torch.float32)}
    if load_in_4bit or load_in_8bit:
        from transformers import BitsAndBytesConfig

        if load_in_4bit:
            quantization_config = BitsAndBytesConfig(
                load_in_4bit=True,
                bnb_4bit_quant_type="nf4",
                bnb_4bit_compute_dtype=gpu_dtype if is_gpu else torch.float32,
                bnb_4bit_use_double_quant=is_gpu,
            )
        else:
            quantization_config = BitsAndBytesConfig(load_in_8bit=True)
    if quantization_config is not None:
        kwargs["quantization_config"] = quantization_config
    if device_map is not None:
        kwargs["device_map"] = device_map
    elif quantized:
        kwargs["device_map"] = {"": target}  # quantized weights are placed at load, never moved
    kwargs.update(model_load_kwargs)
    try:
        model = AutoModelForCausalLM.from_pretrained(model_id, **kwargs)
        if "device_map" not in kwargs:
            model = model.to(target)
    except ImportError as exc:
        raise MissingDependencyError(
            f"loading {model_id} needs a package that is not installed ({exc}); install it, e.g. {HF_EXTRA}"
        ) from exc
    except (torch.cuda.OutOfMemoryError, MemoryError) as exc:
        raise ModelLoadError(
            f"out of memory loading {model_id}: try load_in_4bit=True or a smaller model"
        ) from exc
    except Exception as exc:
        raise ModelLoadError(f"could not load the model {model_id}: {exc}") from exc
    model.eval()
    return model


def context_from_config(model: Any, tokenizer: Any, model_id: str) -> int:
    """The context window from the model's config (or the tokenizer's ``model_max_length``)."""
    config = model.config
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    for name in ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "n_ctx"):
        value = getattr(text_config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 10**8:
        return limit
    raise ConfigurationError(
        f"could not find the context size of {model_id} in its config: pass max_context_size=..."
    )


def find_end_ids(model: Any, tokenizer: Any, own_markers: Iterable[str]) -> frozenset[int]:
    """Token ids that end a reply: EOS ids of the generation config, config and tokenizer, the
    format's own stop markers, and common end-of-turn strings that are special tokens here."""
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), model.config, tokenizer):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(v for v in value if isinstance(v, int))
    special = set(getattr(tokenizer, "all_special_ids", ()))
    vocab = tokenizer.get_vocab()
    own = tuple(own_markers)
    for text in (*own, *END_OF_TURN_STRINGS):
        token_id = vocab.get(text)
        if token_id is not None and (token_id in special or text in own):
            ids.add(token_id)
    return frozenset(ids)


def input_device(model: Any) -> Any:
    """Where the model's input ids go."""
    device = getattr(model, "device", None)
    if device is not None:
        return device
    return next(model.parameters()).device


def empty_device_cache() -> None:
    """Return freed GPU memory to the driver (nothing on CPU)."""
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _bf16_ok(torch: Any, target: str) -> bool:
    if not target.startswith("cuda") or not torch.cuda.is_available():
        return False
    try:
        return bool(torch.cuda.is_bf16_supported())
    except Exception:
        return False
