"""The :class:`HuggingEngine`: any local ``transformers`` causal LM, without blocking the event loop.

How a round runs (``stream``):

1. The async generator takes the engine's ``CapacityLimiter(1)`` (FIFO): one ``generate`` per model at a
   time, however many conversations share the engine.
2. It starts a worker thread that renders the prompt with the chat template, finds the session's KV
   cache and crops it to the common token prefix, and calls ``model.generate`` with a streamer and a
   stopping criterion.
3. The streamer detokenizes incrementally, cuts at stop strings, feeds a fresh tool-call parser and
   hands the parser's events to the loop through a bounded channel (``_hf_channel``): the worker
   never waits for the loop (a blocking ``anyio.from_thread`` call per token cost a loop iteration
   per token), but a slow consumer still slows generation down instead of buffering without bound.
4. Between yields the generator only awaits the channel; it never holds a task group or cancel scope
   open across a ``yield``, so breaking out of ``async for``, cancelling the task or ``aclose()`` are
   safe under asyncio and trio. Its ``finally`` sets the stop event (``generate`` ends at the next
   token), closes the channel and waits, shielded, for the thread to end, then frees the limiter.

Use::

    from hermitcrab import Conversation, HuggingEngine

    async with HuggingEngine("Qwen/Qwen2.5-0.5B-Instruct", load_in_4bit=True) as engine:
        async with Conversation(engine, system="Be brief.", tools=[get_weather]) as chat:
            async for event in chat.stream("Weather in Paris?"):
                ...

Sampling follows the model's ``generation_config`` unless ``GenerationOptions`` say otherwise
(``temperature=0`` is greedy). ``options.extra`` goes to ``generate`` untouched (e.g. a
``logits_processor``). Conversations pass ``options.session`` so that each one's next round reuses the
KV cache of its previous one; ``max_cached_sessions`` bounds how many caches are kept (LRU).

Subclass hooks, as kani users expect: :meth:`HuggingEngine.build_prompt` (messages and tools to prompt
text), :meth:`HuggingEngine.prompt_ids` (text to token ids), :meth:`HuggingEngine.message_len`.
"""

from __future__ import annotations

import contextlib
import gc
import importlib.util
import threading
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread

from hermitcrab.engines._hf_cache import CacheEntry, SessionCacheStore
from hermitcrab.engines._hf_channel import ThreadToLoopChannel
from hermitcrab.engines._hf_stream import make_streamer_classes
from hermitcrab.engines.base import Engine, ToolSchema, completion_from_events
from hermitcrab.errors import (
    ConfigurationError,
    ConversationClosedError,
    EngineError,
    HermitcrabError,
    MissingDependencyError,
    ModelLoadError,
    PromptTooLongError,
)
from hermitcrab.events import EngineEvent, GenerationOptions, Usage
from hermitcrab.messages import Message, ToolCall
from hermitcrab.prompting.base import ToolCallParser

if TYPE_CHECKING:
    from hermitcrab.engines._constrained import ToolCallConstraint
    from hermitcrab.prompting.pipeline import PromptPipeline

__all__ = ("HuggingEngine",)

_HF_EXTRA = "pip install 'hermitcrab[hf]'"
_END_OF_TURN_STRINGS = (
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


@dataclass(eq=False)
class _Round:
    """State shared between one ``stream`` call (event loop) and its worker thread."""

    messages: Sequence[Message]
    tools: Sequence[ToolSchema]
    options: GenerationOptions
    parser: ToolCallParser
    channel: ThreadToLoopChannel[tuple[str, Any]]
    stop: threading.Event = field(default_factory=threading.Event)
    """Set to end ``generate`` at its next token (cancellation, stop string, closed engine)."""
    finished: anyio.Event = field(default_factory=anyio.Event)
    """Set (on the loop) when the worker thread is done with the model."""


class HuggingEngine(Engine):
    """Runs a local Hugging Face causal LM (a Hub id or a folder) behind conversations.

    Args:
        model_id_or_path: A model folder or a Hub id (no download happens here unless your
            ``transformers`` settings allow it; set ``HF_HUB_OFFLINE=1`` to be sure).
        max_context_size: The context window; defaults to the model config's
            ``max_position_embeddings`` (or similar).
        load_in_4bit: Quantize to 4-bit nf4 with bitsandbytes at load time (compute dtype bf16 on a
            GPU that supports it, else fp16 on GPU, fp32 on CPU).
        load_in_8bit: Quantize to 8-bit with bitsandbytes (LLM.int8) at load time.
        quantization_config: A ready ``transformers`` quantization config (excludes the two flags).
        model_load_kwargs: Passed to ``AutoModelForCausalLM.from_pretrained``; they win over the
            conveniences above (``dtype``, ``device_map``, ``quantization_config``...).
        tokenizer_kwargs: Passed to ``AutoTokenizer.from_pretrained``.
        generation_kwargs: Default ``generate`` kwargs for every round (``options.extra`` wins).
        device: ``"cuda"``, ``"cpu"``, ``"cuda:1"``, ``"mps"``... or ``"auto"`` for accelerate's
            ``device_map="auto"``. Default: CUDA when available, else CPU.
        dtype: The weights' dtype (``"bfloat16"``, ``torch.float16``...). Default: bf16 on a GPU that
            supports it, fp16 on other GPUs, fp32 on CPU.
        chat_template: A Jinja chat template that replaces the tokenizer's.
        chat_template_kwargs: Extra variables for the template (e.g. ``{"enable_thinking": False}``).
        parser: The tool-call format: ``None`` detects it from the chat template; a format name, a
            :class:`ToolCallParser` subclass or instance chooses it.
        max_cached_sessions: How many conversations keep a KV cache for prefix reuse (LRU); 0 turns
            reuse off.
        max_cached_tokens: Also bound the tokens held by all kept caches (LRU eviction; the newest
            cache is always kept). Memory per token is ``2 x layers x kv_heads x head_dim x dtype size``.
        stream_buffer: Events buffered between the worker thread and the loop (backpressure).
        prompt_pipeline: A :class:`~hermitcrab.prompting.PromptPipeline` that builds prompts instead
            of the chat template (for models without one, or a format of your own); its stop strings
            and parser name are used too.
        constrained: Constrain tool calls with a grammar (xgrammar, ``hermitcrab[constrained]``) so they
            always parse and validate against the tools' schemas; free text stays free.
            ``GenerationOptions(extra={"constrained": bool})`` overrides it for one round, and
            ``GenerationOptions.tool_choice`` ("auto", "none", "required", a tool name) is honoured.
        max_whitespace: With ``constrained``: the longest whitespace run allowed inside tool arguments.
        parallel_tool_calls: With ``constrained``: allow several calls in one reply.
        max_cached_grammars: With ``constrained``: compiled grammars kept (LRU).
        max_string_length: With ``constrained``: the longest string argument where a tool's schema
            sets no ``maxLength`` (keeps a model that repeats itself inside a string from running out
            of tokens with the call still open).

    Raises:
        ConfigurationError: impossible options (e.g. 4-bit and 8-bit together).
        MissingDependencyError: transformers/torch/bitsandbytes/accelerate missing (names the pip
            command).
        ModelLoadError: the model or tokenizer cannot be loaded, or there is no chat template
            (and no ``prompt_pipeline``).
    """

    def __init__(
        self,
        model_id_or_path: str | Path,
        *,
        max_context_size: int | None = None,
        load_in_4bit: bool = False,
        load_in_8bit: bool = False,
        quantization_config: Any = None,
        model_load_kwargs: Mapping[str, Any] | None = None,
        tokenizer_kwargs: Mapping[str, Any] | None = None,
        generation_kwargs: Mapping[str, Any] | None = None,
        device: str | None = None,
        dtype: Any = None,
        chat_template: str | None = None,
        chat_template_kwargs: Mapping[str, Any] | None = None,
        parser: str | type[ToolCallParser] | ToolCallParser | None = None,
        max_cached_sessions: int = 8,
        max_cached_tokens: int | None = None,
        stream_buffer: int = 32,
        prompt_pipeline: PromptPipeline | None = None,
        constrained: bool = False,
        max_whitespace: int | None = 16,
        parallel_tool_calls: bool = True,
        max_cached_grammars: int = 32,
        max_string_length: int | None = None,
    ) -> None:
        if load_in_4bit and load_in_8bit:
            raise ConfigurationError("load_in_4bit and load_in_8bit cannot both be true: choose one")
        if quantization_config is not None and (load_in_4bit or load_in_8bit):
            raise ConfigurationError(
                "pass either quantization_config or load_in_4bit/load_in_8bit, not both "
                "(put the flags in your BitsAndBytesConfig)"
            )
        if max_context_size is not None and max_context_size <= 0:
            raise ConfigurationError(f"max_context_size must be positive, not {max_context_size}")
        if max_cached_sessions < 0:
            raise ConfigurationError(f"max_cached_sessions must be >= 0, not {max_cached_sessions}")
        if max_cached_tokens is not None and max_cached_tokens < 0:
            raise ConfigurationError(f"max_cached_tokens must be >= 0 or None, not {max_cached_tokens}")
        if stream_buffer < 1:
            raise ConfigurationError(f"stream_buffer must be >= 1, not {stream_buffer}")
        _require("torch", "transformers")
        quantized = load_in_4bit or load_in_8bit or quantization_config is not None
        if load_in_4bit or load_in_8bit:
            _require("bitsandbytes", pip="pip install bitsandbytes")

        self.model_id = str(model_id_or_path)
        looks_like_path = isinstance(model_id_or_path, Path) or self.model_id.startswith(("/", ".", "~"))
        if looks_like_path and not Path(self.model_id).expanduser().is_dir():
            raise ModelLoadError(
                f"the model folder {self.model_id!r} does not exist (or is not a folder); pass a local "
                "model folder or a Hugging Face model id such as 'Qwen/Qwen2.5-0.5B-Instruct'"
            )
        self.generation_kwargs: dict[str, Any] = dict(generation_kwargs or {})
        self.chat_template_kwargs: dict[str, Any] = dict(chat_template_kwargs or {})
        self._closed = False
        self._limiter = anyio.CapacityLimiter(1)
        self._rounds: set[_Round] = set()
        self._sessions = SessionCacheStore(max_cached_sessions, max_cached_tokens)
        self._stream_buffer = stream_buffer
        self._anchor_cache: dict[str, str] = {}

        self.tokenizer: Any = self._load_tokenizer(dict(tokenizer_kwargs or {}))
        if chat_template is not None:
            self.tokenizer.chat_template = chat_template
        self.prompt_pipeline = prompt_pipeline
        if (
            self.tokenizer.chat_template is None
            and prompt_pipeline is None
            and type(self).build_prompt is HuggingEngine.build_prompt
        ):
            raise ModelLoadError(
                f"{self.model_id} has no chat template: pass chat_template='...' (a Jinja template) or "
                "prompt_pipeline=... (e.g. hermitcrab.prompting.llama2_pipeline()) to HuggingEngine, "
                "or subclass it and override build_prompt"
            )
        self.model: Any = self._load_model(
            device=device,
            dtype=dtype,
            load_in_4bit=load_in_4bit,
            load_in_8bit=load_in_8bit,
            quantization_config=quantization_config,
            model_load_kwargs=dict(model_load_kwargs or {}),
            quantized=quantized,
        )
        self.max_context_size = max_context_size or self._context_from_config()
        if parser is None and prompt_pipeline is not None:
            parser = prompt_pipeline.parser
        self.parser: ToolCallParser = _resolve_parser(parser, self.tokenizer.chat_template)
        self._end_ids = self._find_end_ids()
        self.constrained = constrained
        self._constraint_settings: dict[str, Any] = {
            "max_whitespace": max_whitespace,
            "parallel_tool_calls": parallel_tool_calls,
            "max_cached_grammars": max_cached_grammars,
            "max_string_length": max_string_length,
        }
        self._constraint: ToolCallConstraint | None = None
        if constrained:  # fail at construction: xgrammar missing, or no grammar for this format
            self._constraint = self._make_constraint()

    # -- loading --------------------------------------------------------------------------------
    def _load_tokenizer(self, kwargs: dict[str, Any]) -> Any:
        from transformers import AutoTokenizer

        try:
            return AutoTokenizer.from_pretrained(self.model_id, **kwargs)
        except Exception as exc:
            raise ModelLoadError(f"could not load the tokenizer of {self.model_id}: {exc}") from exc

    def _load_model(
        self,
        *,
        device: str | None,
        dtype: Any,
        load_in_4bit: bool,
        load_in_8bit: bool,
        quantization_config: Any,
        model_load_kwargs: dict[str, Any],
        quantized: bool,
    ) -> Any:
        import torch
        from transformers import AutoModelForCausalLM

        device_map: Any = None
        if device == "auto":
            _require("accelerate", pip="pip install accelerate")
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
                raise ConfigurationError(
                    f"unknown dtype {dtype!r}: use e.g. 'float32' or 'bfloat16'"
                ) from exc
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
            model = AutoModelForCausalLM.from_pretrained(self.model_id, **kwargs)
            if "device_map" not in kwargs:
                model = model.to(target)
        except ImportError as exc:
            raise MissingDependencyError(
                f"loading {self.model_id} needs a package that is not installed ({exc}); "
                f"install it, e.g. {_HF_EXTRA}"
            ) from exc
        except (torch.cuda.OutOfMemoryError, MemoryError) as exc:
            raise ModelLoadError(
                f"out of memory loading {self.model_id}: try load_in_4bit=True or a smaller model"
            ) from exc
        except Exception as exc:
            raise ModelLoadError(f"could not load the model {self.model_id}: {exc}") from exc
        model.eval()
        return model

    def _context_from_config(self) -> int:
        config = self.model.config
        text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
        for name in ("max_position_embeddings", "n_positions", "max_seq_len", "seq_length", "n_ctx"):
            value = getattr(text_config, name, None)
            if isinstance(value, int) and value > 0:
                return value
        limit = getattr(self.tokenizer, "model_max_length", None)
        if isinstance(limit, int) and 0 < limit < 10**8:
            return limit
        raise ConfigurationError(
            f"could not find the context size of {self.model_id} in its config: pass max_context_size=..."
        )

    def _find_end_ids(self) -> frozenset[int]:
        ids: set[int] = set()
        for source in (getattr(self.model, "generation_config", None), self.model.config, self.tokenizer):
            value = getattr(source, "eos_token_id", None)
            if isinstance(value, int):
                ids.add(value)
            elif isinstance(value, (list, tuple)):
                ids.update(v for v in value if isinstance(v, int))
        special = set(getattr(self.tokenizer, "all_special_ids", ()))
        vocab = self.tokenizer.get_vocab()
        own = (*self.parser.stop_markers, *self._pipeline_stop())
        for text in (*own, *_END_OF_TURN_STRINGS):
            token_id = vocab.get(text)
            if token_id is not None and (token_id in special or text in own):
                ids.add(token_id)
        return frozenset(ids)

    def _pipeline_stop(self) -> tuple[str, ...]:
        return tuple(self.prompt_pipeline.stop) if self.prompt_pipeline is not None else ()

    # -- constrained tool calls -------------------------------------------------------------------
    @property
    def constraint(self) -> ToolCallConstraint:
        """The engine's grammar constraint for tool calls (made on first use when ``constrained=False``)."""
        if self._constraint is None:
            self._constraint = self._make_constraint()
        return self._constraint

    def _make_constraint(self) -> ToolCallConstraint:
        from hermitcrab.engines._constrained import ToolCallConstraint

        config = self.model.config.get_text_config(decoder=True)
        return ToolCallConstraint(
            self.tokenizer,
            self.parser.name,
            vocab_size=getattr(config, "vocab_size", None),
            stop_token_ids=sorted(self._end_ids) or None,
            **self._constraint_settings,
        )

    def constrain_options(self, tools: Sequence[ToolSchema], options: GenerationOptions) -> GenerationOptions:
        """``options`` with the grammar's logits processor added for one round (after any others),
        when constraints are on (``constrained=True`` or ``options.extra["constrained"]``)."""
        if "constrained" not in options.extra and not self.constrained:
            return options
        extra = dict(options.extra)
        enabled = bool(extra.pop("constrained", self.constrained))
        processor = self.constraint.logits_processor(tools, options.tool_choice) if enabled else None
        if processor is not None:
            from transformers import LogitsProcessorList

            others = extra.get("logits_processor", self.generation_kwargs.get("logits_processor")) or []
            extra["logits_processor"] = LogitsProcessorList([*others, processor])
        return replace(options, extra=extra)

    # -- prompts and token counts -----------------------------------------------------------------
    def build_prompt(self, messages: Sequence[Message], tools: Sequence[ToolSchema] = ()) -> str:
        """The prompt text for ``messages`` and ``tools``: the chat template (or the
        ``prompt_pipeline``), generation prompt included.

        Override it (with :meth:`message_len`) to use a prompt format of your own.
        """
        if self.prompt_pipeline is not None:
            return self.prompt_pipeline(messages, tools)
        return self._render([m.to_dict() for m in messages], tools, add_generation_prompt=True)

    def prompt_ids(self, messages: Sequence[Message], tools: Sequence[ToolSchema] = ()) -> list[int]:
        """The token ids that ``stream`` sends for ``messages`` and ``tools``."""
        return self._encode(self.build_prompt(messages, tools))

    def prompt_len(self, messages: Sequence[Message], tools: Sequence[ToolSchema] = ()) -> int:
        """Exact tokens of the prompt ``stream`` would send (same rendering, same tokenizer).

        With no messages it is the fixed overhead (tools, generation prompt) that conversations add
        to the sum of ``message_len``; templates that cannot render an empty conversation get it as
        ``prompt_len([m]) - message_len(m)`` for a short user message ``m``.
        """
        if not messages:
            try:
                return len(self.prompt_ids(messages, tools))
            except Exception:
                probe = Message.user("a")
                return self.prompt_len([probe], tools) - self.message_len(probe)
        return len(self.prompt_ids(messages, tools))

    def message_len(self, message: Message) -> int:
        """Tokens ``message`` adds to a prompt: its rendered segment after a small anchor history.

        Exact for additive templates (ChatML and most others); the conversation verifies the chosen
        prompt with :meth:`prompt_len` and copes with templates that are not additive.
        """
        if self.prompt_pipeline is not None:
            return int(self.prompt_pipeline.message_len(self.tokenizer, message))
        anchor = self._anchor_for(message)
        try:
            prefix = self._anchor_text(anchor, message)
            full = self._render([*(m.to_dict() for m in anchor), message.to_dict()], ())
        except Exception:
            try:
                return len(self._encode(self._render([message.to_dict()], ())))
            except Exception:
                return self.count_tokens(message.text) + 4
        if full.startswith(prefix):
            return len(self._encode(full[len(prefix) :]))
        return len(self._encode(full)) - len(self._encode(prefix))

    def count_tokens(self, text: str) -> int:
        """Tokens of plain ``text`` for this tokenizer."""
        return len(self._encode(text))

    def _encode(self, text: str) -> list[int]:
        # verbose=False: a prompt longer than the tokenizer's model_max_length is checked against
        # max_context_size instead (with a clear error), not warned about by transformers.
        return self.tokenizer.encode(text, add_special_tokens=False, verbose=False)

    def _render(
        self,
        conversation: list[dict[str, Any]],
        tools: Sequence[ToolSchema],
        *,
        add_generation_prompt: bool = False,
    ) -> str:
        if not conversation:
            # transformers refuses to render an empty conversation; the template itself may not.
            from transformers.utils.chat_template_utils import render_jinja_template

            tool_list = [dict(t) for t in tools] or None
            rendered_list, _ = render_jinja_template(
                conversations=[[]],
                tools=tool_list,
                chat_template=self.tokenizer.get_chat_template(None, tool_list),
                add_generation_prompt=add_generation_prompt,
                **{**self.tokenizer.special_tokens_map, **self.chat_template_kwargs},
            )
            return str(rendered_list[0])
        rendered = self.tokenizer.apply_chat_template(
            conversation,
            tools=[dict(t) for t in tools] or None,
            add_generation_prompt=add_generation_prompt,
            tokenize=False,
            **self.chat_template_kwargs,
        )
        return str(rendered)

    @staticmethod
    def _anchor_for(message: Message) -> list[Message]:
        # A short history that makes `message` legal in most templates (roles alternate; a tool
        # result follows the call it answers).
        if message.role == "assistant":
            return [Message.user("a")]
        if message.role == "tool":
            call = ToolCall(id=message.tool_call_id or "call_0", name=message.name or "f", arguments={})
            return [Message.user("a"), Message.assistant(tool_calls=[call])]
        return [Message.user("a"), Message.assistant("b")]

    def _anchor_text(self, anchor: list[Message], message: Message) -> str:
        if message.role == "tool":
            return self._render([m.to_dict() for m in anchor], ())
        key = message.role
        text = self._anchor_cache.get(key)
        if text is None:
            text = self._anchor_cache[key] = self._render([m.to_dict() for m in anchor], ())
        return text

    # -- generation -----------------------------------------------------------------------------
    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] = (),
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[EngineEvent]:
        """Generate one reply in a worker thread, streaming text deltas, tool calls, then a Completion.

        Closing this iterator early or cancelling the consuming task stops ``generate`` at the next
        token and waits for the worker thread to end.
        """
        self._check_open()
        options = self.constrain_options(tools, options)
        job = _Round(
            messages=tuple(messages),
            tools=tuple(tools),
            options=options,
            parser=self.parser.clone(),
            channel=ThreadToLoopChannel(self._stream_buffer),
        )
        thread: threading.Thread | None = None
        events: list[EngineEvent] = []
        await self._limiter.acquire_on_behalf_of(job)
        try:
            self._check_open()
            self._rounds.add(job)
            worker = threading.Thread(target=self._work, args=(job,), name="hermitcrab-generate", daemon=True)
            worker.start()
            thread = worker
            while True:
                for kind, payload in await job.channel.get_batch():
                    if kind == "events":
                        for event in payload:
                            events.append(event)
                            yield event
                    elif kind == "error":
                        raise payload
                    else:  # "done"
                        usage, finish_reason = payload
                        yield completion_from_events(events, usage, finish_reason)
                        return
        finally:
            # Stop generate at its next token, unblock the worker, and wait (shielded) until the
            # thread has finished with the model before anyone else may use it.
            job.stop.set()
            job.channel.close()
            if thread is not None:
                with anyio.CancelScope(shield=True):
                    await job.finished.wait()
                # The worker's last act was to schedule `finished.set`: it is returning now.
                thread.join(timeout=1.0)
            self._rounds.discard(job)
            self._limiter.release_on_behalf_of(job)

    def _work(self, job: _Round) -> None:
        """The worker thread: run one generation and report its end (or error) to the loop."""
        try:
            result = self._generate_blocking(job)
            self._emit(job, ("done", result))
        except BaseException as exc:
            if not isinstance(exc, HermitcrabError):
                exc = _engine_error(exc)
            self._emit(job, ("error", exc))
        finally:
            job.channel.call_soon(job.finished.set)

    def _emit(self, job: _Round, item: tuple[str, Any]) -> None:
        """Hand an item to the loop (worker thread). Blocks while the buffer is full (backpressure);
        if the consumer has gone, stops the generation instead."""
        if not job.channel.put(item):
            job.stop.set()

    def _generate_blocking(self, job: _Round) -> tuple[Usage, str]:
        import torch

        options = job.options
        if type(self).prompt_ids is HuggingEngine.prompt_ids:
            text = self.build_prompt(job.messages, job.tools)
            prompt = self._encode(text)
        else:  # a subclass makes the ids itself; the parser only needs to see how the prompt ends
            prompt = list(self.prompt_ids(job.messages, job.tools))
            text = self.tokenizer.decode(prompt[-64:], skip_special_tokens=False)
        # A parser that knows how the prompt ends (e.g. inside an opened <think> block).
        job.parser = self.parser.for_prompt(text)
        room = self.max_context_size - len(prompt)
        if room <= 0:
            raise PromptTooLongError(
                f"the prompt has {len(prompt)} tokens but the context holds {self.max_context_size}: "
                "trim the history or raise max_context_size",
                prompt_tokens=len(prompt),
                budget=self.max_context_size,
            )
        max_new = options.max_new_tokens or self.generation_kwargs.get("max_new_tokens") or room
        max_new = min(max_new, room)

        session = _session_key(options.session)
        entry = self._sessions.take(session) if session is not None else None
        cache: Any = None
        cached = 0
        try:
            if entry is not None:
                cached = entry.usable_prefix(prompt)
                if cached > 0 and getattr(entry.cache, "is_croppable", True):
                    surplus = entry.cache.get_seq_length() - cached
                    if surplus > 0:
                        entry.cache.crop(-surplus)  # transformers 5: a negative count removes tokens
                    cache = entry.cache
                else:
                    cached = 0
            if cache is None and session is not None and self._sessions.max_sessions > 0:
                from transformers import DynamicCache

                cache = DynamicCache(config=self.model.config.get_text_config(decoder=True))

            def on_text(text: str) -> None:
                parsed = job.parser.feed(text)
                if parsed:
                    self._emit(job, ("events", parsed))

            streamer_cls, criterion_cls = make_streamer_classes()
            stop_strings = (*options.stop, *job.parser.stop_markers, *self._pipeline_stop())
            streamer = streamer_cls(
                self.tokenizer,
                on_text=on_text,
                stop_event=job.stop,
                skip_ids=self._end_ids,
                stop_strings=stop_strings,
            )
            kwargs = self._generate_kwargs(options, max_new)
            kwargs.setdefault("stopping_criteria", [])
            from transformers import StoppingCriteriaList

            kwargs["stopping_criteria"] = StoppingCriteriaList(
                [*kwargs["stopping_criteria"], criterion_cls(job.stop)]
            )
            device = _input_device(self.model)
            input_ids = torch.tensor([prompt], dtype=torch.long, device=device)
            if cache is not None:
                kwargs["cache"] = cache
            with torch.inference_mode(), _seeded(options.seed, device):
                out = self.model.generate(
                    input_ids=input_ids,
                    attention_mask=torch.ones_like(input_ids),
                    streamer=streamer,
                    return_dict_in_generate=True,
                    **kwargs,
                )
            tail = job.parser.finish()
            if tail:
                self._emit(job, ("events", tail))
            sequence = out.sequences[0].tolist()
            generated = len(sequence) - len(prompt)
            result_cache = getattr(out, "cache", None) or cache
            has_cache = session is not None and result_cache is not None
            entry = CacheEntry(sequence, result_cache) if has_cache else None
        except BaseException:
            entry = None
            raise
        finally:
            if session is not None:
                self._sessions.put_back(session, entry)
        if streamer.hit_end_token or streamer.hit_stop_string or job.stop.is_set():
            finish = "stop"
        elif generated >= max_new:
            finish = "length"
        else:
            finish = "stop"
        usage = Usage(
            prompt_tokens=len(prompt), completion_tokens=generated, cached_tokens=cached, requests=1
        )
        return usage, finish

    def _generate_kwargs(self, options: GenerationOptions, max_new: int) -> dict[str, Any]:
        kwargs: dict[str, Any] = {}
        kwargs.update(self.generation_kwargs)
        kwargs["max_new_tokens"] = max_new
        end_ids = sorted(self._end_ids)
        if end_ids:
            kwargs.setdefault("eos_token_id", end_ids)
            if getattr(self.model.generation_config, "pad_token_id", None) is None:
                kwargs.setdefault("pad_token_id", self.tokenizer.pad_token_id or end_ids[0])
        if options.temperature is not None:
            if options.temperature <= 0:
                kwargs["do_sample"] = False
                kwargs.pop("temperature", None)
                kwargs.pop("top_p", None)
            else:
                kwargs["do_sample"] = True
                kwargs["temperature"] = options.temperature
        if options.top_p is not None and kwargs.get("do_sample", self.model.generation_config.do_sample):
            kwargs["top_p"] = options.top_p
        kwargs.update(options.extra)
        kwargs["max_new_tokens"] = min(int(kwargs["max_new_tokens"]), max_new)
        return kwargs

    # -- sessions and lifetime -----------------------------------------------------------------
    def release_session(self, session: Any) -> None:
        """Drop the KV cache kept for ``session`` (called when a conversation closes)."""
        key = _session_key(session)
        if key is not None:
            self._sessions.discard(key)

    @property
    def end_token_ids(self) -> frozenset[int]:
        """Token ids that end a reply (EOS and the template's end-of-turn tokens); never shown as text."""
        return self._end_ids

    @property
    def cached_sessions(self) -> int:
        """How many sessions currently hold a KV cache."""
        return len(self._sessions)

    @property
    def cached_tokens(self) -> int:
        """Tokens held by all kept KV caches."""
        return self._sessions.cached_tokens()

    async def close(self) -> None:
        """Stop running generations, wait for them, and free the model, tokenizer and caches."""
        if self._closed:
            return
        self._closed = True
        for job in list(self._rounds):
            job.stop.set()
        with anyio.CancelScope(shield=True):
            async with self._limiter:
                self._sessions.clear()
                self.model = None
                gc.collect()
                await anyio.to_thread.run_sync(_empty_device_cache)

    def _check_open(self) -> None:
        if self._closed:
            raise ConversationClosedError(f"this HuggingEngine ({self.model_id}) was closed")

    async def __aenter__(self) -> HuggingEngine:
        self._check_open()
        return self

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.model_id!r}, max_context_size={self.max_context_size})"


# -- helpers ---------------------------------------------------------------------------------------
def _require(*modules: str, pip: str = _HF_EXTRA) -> None:
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise MissingDependencyError(f"HuggingEngine needs {module!r}, which is not installed: {pip}")


def _bf16_ok(torch: Any, target: str) -> bool:
    if not target.startswith("cuda") or not torch.cuda.is_available():
        return False
    try:
        return bool(torch.cuda.is_bf16_supported())
    except Exception:
        return False


def _input_device(model: Any) -> Any:
    device = getattr(model, "device", None)
    if device is not None:
        return device
    return next(model.parameters()).device


def _session_key(session: Any) -> Hashable | None:
    if session is None:
        return None
    try:
        hash(session)
    except TypeError:
        return id(session)
    return session


@contextlib.contextmanager
def _seeded(seed: int | None, device: Any) -> Any:
    if seed is None:
        yield
        return
    import torch

    devices = [device] if getattr(device, "type", "cpu") == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        yield


def _empty_device_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def _engine_error(exc: BaseException) -> EngineError:
    name = type(exc).__name__
    if name == "OutOfMemoryError" or isinstance(exc, MemoryError):
        error = EngineError(f"out of memory while generating ({exc}): shorten the prompt or max_new_tokens")
    elif name == "TemplateError":
        error = EngineError(f"the chat template could not render these messages: {exc}")
    else:
        error = EngineError(f"generation failed: {name}: {exc}")
    error.__cause__ = exc
    return error


def _resolve_parser(
    spec: str | type[ToolCallParser] | ToolCallParser | None, chat_template: Any
) -> ToolCallParser:
    """The tool-call parser for ``spec``: an instance, a class, a format name, or None (detect)."""
    from hermitcrab.prompting import resolve_parser

    return resolve_parser(spec, chat_template=chat_template if isinstance(chat_template, str) else None)
