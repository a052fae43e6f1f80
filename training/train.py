"""Train hermitcrab's demo model: a 1.17 M-parameter Llama-style model that calls the example bots' tools.

Deterministic (seeded data stream, seeded init, one torch thread) and offline. On a 2-core CPU the
shipped model took the time given in ``README.md``; ``python training/evaluate.py`` then
writes the evaluation report. Usage::

    python training/train.py                       # the shipped recipe, into examples/demo_model/model
    python training/train.py --steps 600 --out /tmp/try --quick-eval 60   # a short trial

How it makes a tiny model copy names into tool arguments (see README.md for the measurements):

* **Tokenizer where a word is the same token everywhere.** A byte-level BPE whose pre-tokenizer
  isolates every space, so "Oslo" in "weather in Oslo?" and in ``{"city": "Oslo"}`` is one and the same
  token sequence (GPT-style tokenizers glue the space to the word: " Oslo" and "Oslo" differ, and a
  tiny model must then *translate* instead of copy). Unknown names fall apart into sub-words and
  letters that are also shared between prompt and call.
* **Data that cannot be memorised.** Half the cities and many notes are made-up words, different in
  every conversation, so the only way to lower the loss is to copy from the prompt.
* **Short fixed texts as single tokens.** The chat template's tool header, each tool's JSON schema and
  the footer are single added tokens: conversations stay ~100 tokens, so thousands of steps fit.
* Loss on the assistant's tokens only; cosine schedule; a small model trained for many steps.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import sys
import time
from pathlib import Path
from typing import Any

from hermitcrab.prompting.templates import CHATML_HERMES_TEMPLATE

HERE = Path(__file__).resolve().parent
MODEL = HERE.parent / "examples" / "demo_model" / "model"
"""The shipped model folder (what the examples, `make demo` and `hermitcrab chat` load)."""
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

import data  # noqa: E402

CHAT_TEMPLATE = CHATML_HERMES_TEMPLATE
"""Qwen2.5's ChatML template with Hermes ``<tool_call>`` JSON calls (hermitcrab.prompting.templates)."""

SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
TOOL_MARKUP = ("<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>")
SPLIT_REGEX = r"\p{L}+|\p{N}|\s|[^\s\p{L}\p{N}]+"
"""Pre-tokenizer: words, single digits, single whitespace characters, runs of punctuation. No token
glues a space to a word, so a word is the same tokens after a space, a quote or a newline."""


# -- the tools section of the prompt -------------------------------------------------------------
def _jinja_render(
    messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None, gen: bool = False
) -> str:
    """Render with transformers' own Jinja machinery (the reference the fast renderer is checked on)."""
    from transformers.utils.chat_template_utils import render_jinja_template

    rendered, _ = render_jinja_template(
        conversations=[messages], tools=tools, chat_template=CHAT_TEMPLATE, add_generation_prompt=gen
    )
    return rendered[0]


def tool_blocks() -> dict[str, tuple[str, list[str]]]:
    """Per toolset: the rendered tools section and its fixed pieces (header, schema lines, footer)."""
    out: dict[str, tuple[str, list[str]]] = {}
    for name, toolset in data.TOOLSETS.items():
        if not toolset.tools:
            continue
        text = _jinja_render([{"role": "user", "content": "X"}], toolset.schemas)
        block = text[len("<|im_start|>system\n") : text.index("<|im_end|>")]
        header, rest = block.split("\n<tools>\n", 1)
        body, footer = rest.rsplit("\n</tools>", 1)
        pieces = [header + "\n<tools>", *body.split("\n"), "\n</tools>" + footer]
        out[name] = (block, pieces)
    return out


# -- tokenizer ------------------------------------------------------------------------------------
def build_tokenizer(corpus: list[str], vocab_size: int, fixed: list[str]) -> Any:
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

    tok = Tokenizer(models.BPE())
    tok.normalizer = normalizers.NFC()
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(SPLIT_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(corpus, trainer=trainer)
    tok.add_tokens([AddedToken(t, special=False, normalized=False) for t in (*TOOL_MARKUP, *fixed)])
    return tok


def check_vocabulary_pieces(tokenizer: Any) -> None:
    """Data variant 6 draws made-up words from the committed tokenizer's letter pieces
    (``data.vocabulary_pieces``); stop with a clear message unless this run's tokenizer has the same."""
    own = data.letter_pieces(tokenizer.get_vocab())
    try:
        committed = data.vocabulary_pieces()
    except FileNotFoundError:
        raise SystemExit(
            f"--data-variant 6 draws words from the demo tokenizer's pieces, but {data._TOKENIZER} "
            "is missing: restore it (git checkout examples/demo_model/model) or use --data-variant 5"
        ) from None
    if own != committed:
        raise SystemExit(
            f"--data-variant 6: this run's tokenizer has other letter pieces than {data._TOKENIZER} "
            f"({len(set(own) ^ set(committed))} differ), so the data would not be the recorded recipe's; "
            "keep the default --vocab and --seed, or continue from a model with --init-from"
        )


def _corpus(seed: int, n: int, blocks: dict[str, tuple[str, list[str]]]) -> list[str]:
    rng = random.Random(seed)
    texts = []
    for _ in range(n):
        sample = data.generate(rng) if rng.random() > 0.1 else data.copy_sample(rng)
        text, _ = data.render_chatml(sample.messages, None)
        texts.append(text)
    return texts


# -- batches --------------------------------------------------------------------------------------
class Batcher:
    """Turns the seeded sample stream into padded (input_ids, labels) batches."""

    def __init__(
        self,
        tokenizer: Any,
        blocks: dict[str, tuple[str, list[str]]],
        seed: int,
        copy_fraction: float,
        variant: int = 1,
    ):
        self.tokenizer = tokenizer
        self.blocks = {k: v[0] for k, v in blocks.items()}
        self.stream = data.stream(seed, copy_fraction, variant)
        self.pad = tokenizer.token_to_id("<|endoftext|>")
        self.rng = random.Random(seed)
        self.queue: list[list[tuple[Any, list[tuple[int, int]]]]] = []

    def render(self, sample: data.Sample) -> tuple[str, list[tuple[int, int]]]:
        return data.render_chatml(sample.messages, self.blocks.get(sample.toolset.name))

    def __call__(self, batch_size: int) -> tuple[Any, Any, Any]:
        """The next batch. Conversations are drawn 8 batches at a time and grouped by length, so
        that little compute goes to padding."""
        if not self.queue:
            rendered = [self.render(next(self.stream)) for _ in range(8 * batch_size)]
            encodings = self.tokenizer.encode_batch([r[0] for r in rendered])
            order = sorted(range(len(rendered)), key=lambda i: len(encodings[i].ids))
            groups = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
            self.rng.shuffle(groups)
            self.queue = [[(encodings[i], rendered[i][1]) for i in g] for g in groups]
        return self._tensors(self.queue.pop())

    def _tensors(self, batch: list[tuple[Any, list[tuple[int, int]]]]) -> tuple[Any, Any, Any]:
        import torch

        batch_size = len(batch)
        encodings = [e for e, _ in batch]
        rendered = [(None, spans) for _, spans in batch]
        length = max(len(e.ids) for e in encodings)
        ids = torch.full((batch_size, length), self.pad, dtype=torch.long)
        labels = torch.full((batch_size, length), -100, dtype=torch.long)
        mask = torch.zeros((batch_size, length), dtype=torch.long)
        for row, (enc, (_, spans)) in enumerate(zip(encodings, rendered, strict=True)):
            n = len(enc.ids)
            ids[row, :n] = torch.tensor(enc.ids)
            mask[row, :n] = 1
            for j, (start, _end) in enumerate(enc.offsets):
                if any(s <= start < e for s, e in spans):
                    labels[row, j] = enc.ids[j]
        return ids, mask, labels


# -- quick evaluation with plain generate (the full one is evaluate.py, through HuggingEngine) ------
_CALL = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.S)


def quick_eval(
    model: Any, tokenizer: Any, blocks: dict[str, tuple[str, list[str]]], n: int
) -> dict[str, float]:
    import torch

    samples = data.eval_prompts(per_kind=max(1, n // 8))
    end = tokenizer.token_to_id("<|im_end|>")
    stats: dict[str, list[int]] = {}
    for s in samples:
        text, _ = data.render_chatml(s.messages, blocks.get(s.toolset.name, (None,))[0])
        ids = torch.tensor([tokenizer.encode(text + "<|im_start|>assistant\n").ids])
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=60, do_sample=False, eos_token_id=end, pad_token_id=end)
        reply = tokenizer.decode(out[0, ids.shape[1] :].tolist(), skip_special_tokens=False)
        m = _CALL.search(reply)
        called = None
        args: Any = None
        if m:
            try:
                obj = json.loads(m.group(1))
                called, args = obj.get("name"), obj.get("arguments")
            except ValueError:
                called = "<invalid>"
        stats.setdefault("decision", []).append(int((called is None) == (s.tool is None)))
        if s.tool is not None:
            stats.setdefault("tool", []).append(int(called == s.tool))
            key = f"args_{s.kind}_{'seen' if s.seen else 'unseen'}"
            stats.setdefault(key, []).append(int(called == s.tool and args == s.arguments))
    return {k: round(sum(v) / len(v), 3) for k, v in sorted(stats.items())}


# -- main -----------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--out", type=Path, default=MODEL)
    parser.add_argument("--steps", type=int, default=20232)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--lr", type=float, default=3e-3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--decay-steps", type=int, default=6000)
    parser.add_argument("--init-from", type=Path, default=None, help="continue from this model folder")
    parser.add_argument("--hidden", type=int, default=192)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--heads", type=int, default=6)
    parser.add_argument("--vocab", type=int, default=1024)
    parser.add_argument("--copy-fraction", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick-eval", type=int, default=0, help="evaluate ~N held-out prompts at the end")
    parser.add_argument("--eval-every", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (recorded in training.json)")
    parser.add_argument(
        "--data-variant",
        type=int,
        default=7,
        choices=(1, 2, 3, 4, 5, 6, 7, 8),
        help="2, 3: data.py's stage-3 and stage-4 additions; 4: 3 with English-like made-up words; "
        "5: 4 with any words after a city; 6: 5 with made-up words of vocabulary pieces; "
        "7: 6 with requests in users' own words (user_words.py); 8: 7 widened where run 1 missed",
    )
    parser.add_argument(
        "--grow-layers",
        type=int,
        default=0,
        help="with --init-from: add layers on top, initialised to pass their input through unchanged",
    )
    parser.add_argument("--max-seconds", type=float, default=0.0, help="timing only: stop after N s")
    args = parser.parse_args()

    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    started = time.monotonic()

    blocks = tool_blocks()
    _check_renderer(blocks)
    fixed = [p for _, pieces in blocks.values() for p in pieces]
    if args.init_from is not None:
        # A further stage: same tokenizer and weights, a fresh optimizer and another data seed.
        from tokenizers import Tokenizer

        raw = Tokenizer.from_file(str(args.init_from / "tokenizer.json"))
    else:
        raw = build_tokenizer(_corpus(args.seed + 1, 20000, blocks), args.vocab, list(dict.fromkeys(fixed)))
    if args.data_variant >= 6:
        check_vocabulary_pieces(raw)
    vocab = -(-raw.get_vocab_size() // 64) * 64
    pad_id, end_id = raw.token_to_id("<|endoftext|>"), raw.token_to_id("<|im_end|>")
    config = LlamaConfig(
        vocab_size=vocab,
        hidden_size=args.hidden,
        intermediate_size=args.hidden * 3,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.heads,
        max_position_embeddings=1024,
        tie_word_embeddings=True,
        bos_token_id=None,
        eos_token_id=end_id,
        pad_token_id=pad_id,
        initializer_range=0.02,
    )
    model = LlamaForCausalLM(config)
    if args.init_from is not None:
        model = LlamaForCausalLM.from_pretrained(args.init_from, dtype=torch.float32)
        if args.grow_layers > model.config.num_hidden_layers:
            model = grow(model, args.grow_layers)
    args.layers = model.config.num_hidden_layers
    params = sum(p.numel() for p in model.parameters())
    print(f"vocab {raw.get_vocab_size()} (padded {vocab}), {params / 1e6:.2f} M parameters", flush=True)

    batches = Batcher(raw, blocks, args.seed + 2, args.copy_fraction, args.data_variant)
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    no_decay = [p for n, p in model.named_parameters() if p.dim() < 2]
    optim = torch.optim.AdamW(
        [{"params": decay, "weight_decay": 0.05}, {"params": no_decay, "weight_decay": 0.0}],
        lr=args.lr,
        betas=(0.9, 0.98),
    )

    stop_file = Path(str(args.out) + ".decay-now")
    total = args.steps

    def lr_at(step: int) -> float:
        """Warmup, a constant plateau, then a cosine decay over the last ``--decay-steps`` steps."""
        if step < args.warmup:
            return args.lr * (step + 1) / args.warmup
        decay_start = total - args.decay_steps
        if step < decay_start:
            return args.lr
        progress = (step - decay_start) / max(1, args.decay_steps)
        return args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * progress)))

    model.train()
    smoothed = None
    step = 0
    while step < total:
        if stop_file.exists() and total > step + args.decay_steps:
            # Operator's early stop: decay from here. Rerunning with --steps set to the recorded
            # total reproduces this run exactly (same data stream, same schedule).
            total = step + args.decay_steps
            print(f"decay starts at step {step}; total steps {total}", flush=True)
        ids, mask, labels = batches(args.batch_size)
        for group in optim.param_groups:
            group["lr"] = lr_at(step)
        loss = model(input_ids=ids, attention_mask=mask, labels=labels).loss
        optim.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optim.step()
        smoothed = loss.item() if smoothed is None else 0.98 * smoothed + 0.02 * loss.item()
        if step % 50 == 0 or step == total - 1:
            elapsed = time.monotonic() - started
            print(f"step {step:5d}  loss {smoothed:.4f}  lr {lr_at(step):.2e}  {elapsed:6.0f}s", flush=True)
        if args.eval_every and step and step % args.eval_every == 0:
            model.eval()
            save(model, raw, args.out / f"checkpoint-{step}", {**vars(args), "step": step})
            print("eval", step, quick_eval(model, raw, blocks, args.quick_eval or 64), flush=True)
            model.train()
        step += 1
        if args.max_seconds and time.monotonic() - started > args.max_seconds:
            print(f"timing run: {step} steps in {time.monotonic() - started:.1f}s", flush=True)
            return

    model.eval()
    train_seconds = time.monotonic() - started
    args.steps = total  # as run: rerunning with this --steps reproduces the model
    extra = {
        "parameters": params,
        "train_seconds": round(train_seconds),
        "final_loss": round(smoothed or 0, 4),
    }
    save(model, raw, args.out, {**vars(args), **extra})
    out: Path = args.out
    print(f"saved to {out} after {train_seconds:.0f}s", flush=True)
    if args.quick_eval:
        print("quick eval", quick_eval(model, raw, blocks, args.quick_eval), flush=True)


def grow(model: Any, layers: int) -> Any:
    """A deeper copy of ``model``: the new layers go on top with their output projections zeroed, so
    the grown model computes exactly what ``model`` did and training starts from there."""
    import copy

    from transformers import LlamaForCausalLM

    config = copy.deepcopy(model.config)
    old = config.num_hidden_layers
    config.num_hidden_layers = layers
    grown = LlamaForCausalLM(config)
    missing, unexpected = grown.load_state_dict(model.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("model.layers.") for k in missing), (missing, unexpected)
    for layer in grown.model.layers[old:]:
        layer.self_attn.o_proj.weight.data.zero_()
        layer.mlp.down_proj.weight.data.zero_()
    return grown


def save(model: Any, raw: Any, out: Path, meta: dict[str, Any]) -> None:
    """Write a model folder that ``HuggingEngine`` (and ``from_pretrained``) load like any other."""
    import torch
    from transformers import GenerationConfig, PreTrainedTokenizerFast

    out.mkdir(parents=True, exist_ok=True)
    pad_id, end_id = raw.token_to_id("<|endoftext|>"), raw.token_to_id("<|im_end|>")
    model.generation_config = GenerationConfig(eos_token_id=end_id, pad_token_id=pad_id, do_sample=False)
    model.save_pretrained(out)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=raw,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        bos_token=None,
        clean_up_tokenization_spaces=False,
        model_max_length=1024,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(out)
    tok_config = out / "tokenizer_config.json"
    config = json.loads(tok_config.read_text(encoding="utf-8"))
    config["tokenizer_class"] = "PreTrainedTokenizerFast"  # keeps tokenizer.json's pre-tokenizer as trained
    tok_config.write_text(json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    clean = {k: (None if isinstance(v, Path) else v) for k, v in meta.items()}
    (out / "training.json").write_text(json.dumps({**clean, "torch": torch.__version__}, indent=1) + "\n")


def _check_renderer(blocks: dict[str, tuple[str, list[str]]]) -> None:
    """The fast renderer must produce exactly what the Jinja chat template produces."""
    rng = random.Random(99)
    for _ in range(40):
        sample = data.generate(rng)
        dicts = [m.to_dict() for m in sample.messages]
        tools = sample.toolset.schemas or None
        expected = _jinja_render(dicts, tools)
        got, _ = data.render_chatml(sample.messages, blocks.get(sample.toolset.name, (None,))[0])
        assert got == expected, f"renderer differs from the chat template:\n{got!r}\n{expected!r}"


if __name__ == "__main__":
    main()
