"""A tiny model as one GGUF file, for the GGUF tests (the tiny models themselves come from
:mod:`hermitcrab.testing`)."""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ("write_tiny_gguf",)


def write_tiny_gguf(model_dir: str | Path, gguf_path: str | Path, *, quantization: str = "q8_0") -> Path:
    """Write the tiny Qwen2 model in ``model_dir`` (from :func:`build_tiny_model`) as one GGUF file.

    Written with the ``gguf`` package's writer, the way llama.cpp's converter lays a Qwen2 model out:
    llama.cpp tensor names, the hyperparameters under ``qwen2.*``, the byte-level BPE vocabulary,
    merges, token types (special tokens as control, the tool markup as user-defined) and the chat
    template. ``quantization`` is ``"f32"``, ``"f16"`` or ``"q8_0"`` (2-D weights only; norms and
    biases stay f32, as llama.cpp keeps them).
    """
    import gguf
    import numpy as np
    from safetensors.numpy import load_file

    model_dir, gguf_path = Path(model_dir), Path(gguf_path)
    config = json.loads((model_dir / "config.json").read_text())
    if config["model_type"] != "qwen2":
        raise ValueError(f"write_tiny_gguf writes Qwen2 models, not {config['model_type']!r}")
    tokenizer_json = json.loads((model_dir / "tokenizer.json").read_text())
    tokenizer_config = json.loads((model_dir / "tokenizer_config.json").read_text())
    kinds = {
        "f32": gguf.GGMLQuantizationType.F32,
        "f16": gguf.GGMLQuantizationType.F16,
        "q8_0": gguf.GGMLQuantizationType.Q8_0,
    }
    qtype = kinds[quantization]

    writer = gguf.GGUFWriter(str(gguf_path), "qwen2")
    writer.add_name("hermitcrab-tiny")
    writer.add_context_length(config["max_position_embeddings"])
    writer.add_embedding_length(config["hidden_size"])
    writer.add_block_count(config["num_hidden_layers"])
    writer.add_feed_forward_length(config["intermediate_size"])
    writer.add_head_count(config["num_attention_heads"])
    writer.add_head_count_kv(config["num_key_value_heads"])
    writer.add_layer_norm_rms_eps(config["rms_norm_eps"])
    writer.add_rope_freq_base(float(config.get("rope_theta") or config["rope_parameters"]["rope_theta"]))
    writer.add_file_type({"f32": 0, "f16": 1, "q8_0": 7}[quantization])

    vocab: dict[str, int] = tokenizer_json["model"]["vocab"]
    added = {t["content"]: t for t in tokenizer_json["added_tokens"]}
    tokens = [""] * config["vocab_size"]
    types = [gguf.TokenType.UNUSED] * config["vocab_size"]
    for token, index in {**vocab, **{t: a["id"] for t, a in added.items()}}.items():
        tokens[index] = token
        if token in added:
            types[index] = gguf.TokenType.CONTROL if added[token]["special"] else gguf.TokenType.USER_DEFINED
        else:
            types[index] = gguf.TokenType.NORMAL
    for index, token in enumerate(tokens):
        if not token:
            tokens[index] = f"[PAD{index}]"
    merges = tokenizer_json["model"]["merges"]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in merges])
    writer.add_eos_token_id(config["eos_token_id"])
    writer.add_pad_token_id(config["pad_token_id"])
    writer.add_add_bos_token(False)
    template = tokenizer_config.get("chat_template")
    if template is None and (model_dir / "chat_template.jinja").is_file():
        template = (model_dir / "chat_template.jinja").read_text()
    if template is not None:
        writer.add_chat_template(template)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.QWEN2, config["num_hidden_layers"])
    for name, tensor in load_file(str(model_dir / "model.safetensors")).items():
        target = names.get_name(name, try_suffixes=(".weight", ".bias"))
        if target is None:
            raise ValueError(f"no GGUF name for tensor {name!r}")
        data = tensor.astype(np.float32)
        if data.ndim == 2 and qtype != gguf.GGMLQuantizationType.F32:
            writer.add_tensor(target, gguf.quants.quantize(data, qtype), raw_dtype=qtype)
        else:
            writer.add_tensor(target, data)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return gguf_path
