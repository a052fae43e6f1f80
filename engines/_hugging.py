"""The :class:`HuggingEngine`: any local ``transformers`` causal LM, many conversations, one batch.

How a round runs (``stream``):

1. The prompt is rendered with the chat template and tokenized in a worker thread (never on the event
   loop), checked against the context, and becomes a *row* (``_hf_rows``): its ids, parser, sampler
   (temperature, top-p, seed, logits processors, its grammar when constrained), stop rules and a
   bounded channel to the round's consumer.
2. The engine's scheduler thread (``_hf_batch``) owns the model. It admits rows FIFO up to
   ``max_batch_size``, prefills each into its own KV cache (the conversation's previous cache,
   cropped to the common token prefix, when there is one), merges them into the running batch, and
   runs one forward pass per decoding step for all rows at once. Rounds that arrive while others
   decode join at the next step; a finished or cancelled round leaves at once and its slot goes to
   the next waiting round.
3. Each row streams on its own: its tokens are detokenized incrementally, cut at stop strings, fed
   to its own tool-call parser, and the parser's events go to the loop through the row's channel
   (``_hf_channel``), which never makes the scheduler wait. A consumer that stops reading only pauses
   its own row (out of the batch, cache kept) until it reads again.
4. Between yields the generator only awaits the channel; it never holds a task group or cancel scope
   open across a ``yield``, so breaking out of ``async for``, cancelling the task or ``aclose()`` are
   safe under asyncio and trio. Its ``finally`` stops the row (it leaves the batch at the next step)
   and waits, shielded, until the scheduler is done with it, so the conversation's cache is back in
   place before its next round.

``max_batch_size=1`` runs one round at a time. Models whose caches cannot be merged and split
(sliding-window, hybrid or linear-attention layers) run one round at a time through ``generate``, with
one log line saying why; so do rounds whose options need ``generate`` itself (beam search, assisted
decoding), pausing the batch while they run.

Use::

    from hermitcrab import Conversation, HuggingEngine

    async with HuggingEngine("Qwen/Qwen2.5-0.5B-Instruct", load_in_4bit=True) as engine:
        async with Conversation(engine, system="Be brief.", tools=[get_weather]) as chat:
            async for event in chat.stream("Weather in Paris?"):
                ...

Sampling follows the model's ``generation_config`` unless ``GenerationOptions`` say otherwise
(``temperature=0`` is greedy), per round: rounds in one batch may sample differently. ``options.extra``
holds ``generate`` kwargs (e.g. a ``logits_processor``), applied to that round alone. Conversations pass
``options.session`` so that each one's next round reuses the KV cache of its previous one; the kept
caches are bounded in tokens (``max_cached_tokens``).

Subclass hooks, as kani users expect: :meth:`HuggingEngine.build_prompt` (messages and tools to prompt
text), :meth:`HuggingEngine.prompt_ids` (text to token ids), :meth:`HuggingEngine.message_len`.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
from collections.abc import AsyncIterator, Hashable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import anyio
import anyio.to_thread

from hermitcrab.engines import _hf_load
from hermitcrab.engines._base import Engine, ToolSchema, completion_from_events
from hermitcrab.engines._hf_batch import Scheduler, batching_problem, probe_batching
from hermitcrab.engines._hf_cache import (
    CacheEntry,
    SessionCacheStore,
    default_cached_tokens,
    kv_bytes_per_token,
)
from hermitcrab.engines._hf_channel import ThreadToLoopChannel
from hermitcrab.engines._hf_rows import Item, Row, Sampler, flush_blocking
from hermitcrab.engines._hf_stream import DeltaStreamer, make_streamer_classes
from hermitcrab.errors import (
    ConfigurationError,
    ConversationClosedError,
    EngineError,
    HermitcrabError,
    ModelLoadError,
    PromptTooLongError,
)
from hermitcrab.events import EngineEvent, GenerationOptions
from hermitcrab.messages import Message, ToolCall
from hermitcrab.prompting._base import ToolCallParser

if TYPE_CHECKING:
    from hermitcrab.engines._constrained import ToolCallConstraint
    from hermitcrab.prompting._pipeline import PromptPipeline

__all__ = ("HuggingEngine",)

logger = logging.getLogger("hermitcrab.engines.hugging")

_BATCH_MODES = frozenset({"GREEDY_SEARCH", "SAMPLE"})
"""``transformers`` generation modes the batch loop runs itself; other modes run through ``generate``."""
_LOOP_KWARGS = frozenset({"logits_processor", "stopping_criteria", "use_cache", "attention_mask"})
"""``generate`` kwargs that are not generation-config fields but that the batch loop honours (or may
ignore: it always uses a cache and builds its own masks)."""


class HuggingEngine(Engine):
    """Runs a local Hugging Face causal LM (a Hub id or a folder) behind conversations.

    Args:
        model_id_or_path: A model folder or a Hub id (no download happens here unless your
            ``transformers`` settings allow it; set ``HF_HUB_OFFLINE=1`` to be sure).
        max_context_size: The context window; defaults to the model config's
            ``max_position_embeddings`` (or similar).
        max_batch_size: Rounds (of any conversations) that decode together, one token each per
            forward pass. Rounds beyond it wait their turn (FIFO) and join as others finish. ``1``
            runs one round at a time.
        load_in_4bit: Quantize to 4-bit nf4 with bitsandbytes at load time (compute dtype bf16 on a
            GPU that supports it, else fp16 on GPU, fp32 on CPU).
        load_in_8bit: Quantize to 8-bit with bitsandbytes (LLM.int8) at load time.
        quantization_config: A ready ``transformers`` quantization config (excludes the two flags).
        gguf_file: Load a GGUF file (``"model-q8_0.gguf"``) from ``model_id_or_path`` (a folder or a
            Hub id) through transformers' GGUF loading (the ``gguf`` package, ``hermitcrab[gguf]``);
            the tokenizer and chat template come from the file. A path to a ``.gguf`` file as
            ``model_id_or_path`` works too. transformers *dequantizes* the weights: memory is that of
            the unquantized model (in ``dtype``), and bitsandbytes cannot be combined with it. For
            quantized GGUF at run time, serve the file with llama.cpp's ``llama-server`` and use
            :class:`~hermitcrab.engines.OpenAIEngine` (``docs/gguf.md``).
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
        max_cached_tokens: Bound the tokens held by all kept caches (LRU eviction; the newest cache is
            always kept). ``None`` (default): as many as fit in a quarter of the device's memory (GPU
            memory, or RAM on CPU), at most half of what is free after loading and at most 8 GiB; see
            :attr:`max_cached_tokens` and :attr:`kv_bytes_per_token` for what that came to.
        stream_buffer: Event batches buffered per round between the scheduler and the loop; a
            consumer that falls this far behind pauses its own round.
        prompt_pipeline: A :class:`~hermitcrab.prompting.PromptPipeline` that builds prompts instead
            of the chat template (for models without one, or a format of your own); its stop strings
            and parser name are used too.
        constrained: Constrain tool calls with a grammar (xgrammar, ``hermitcrab[constrained]``) so they
            always parse and validate against the tools' schemas; free text stays free.
            ``GenerationOptions(extra={"constrained": bool})`` overrides it for one round, and
            ``GenerationOptions.tool_choice`` ("auto", "none", "required", a tool name) is honoured.
            Each round has its own grammar: constrained and free rounds share a batch.
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
        max_batch_size: int = 8,
        load_in_4bit: bool = False,
        load_in_8bit: bool = False,
        quantization_config: Any = None,
        gguf_file: str | None = None,
        model_load_kwargs: Mapping[str, Any] | None = None,
        tokenizer_kwargs: Mapping[str, Any] | None = None,
        generation_kwargs: Mapping[str, Any] | None = None,
        device: str | None = None,
        dtype: Any = None,
        chat_template: str | None = None,
        chat_template_kwargs: Mapping[str, Any] | None = None,
        parser: str | type[ToolCallParser] | ToolCallParser | None = None,
        max_cached_sessions: int = 256,
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
        if not isinstance(max_batch_size, int) or isinstance(max_batch_size, bool) or max_batch_size < 1:
            raise ConfigurationError(f"max_batch_size must be an integer >= 1, not {max_batch_size!r}")
        if max_cached_sessions < 0:
            raise ConfigurationError(f"max_cached_sessions must be >= 0, not {max_cached_sessions}")
        if max_cached_tokens is not None and max_cached_tokens < 0:
            raise ConfigurationError(f"max_cached_tokens must be >= 0 or None, not {max_cached_tokens}")
        if stream_buffer < 1:
            raise ConfigurationError(f"stream_buffer must be >= 1, not {stream_buffer}")
        _hf_load.require("torch", "transformers")
        if load_in_4bit or load_in_8bit:
            _hf_load.require("bitsandbytes", pip="pip install bitsandbytes")
        model_id_or_path, gguf_file = _hf_load.split_gguf(model_id_or_path, gguf_file)
        if gguf_file is not None:
            quantized = load_in_4bit or load_in_8bit or quantization_config is not None
            _hf_load.check_gguf(gguf_file, quantized=quantized)

        self.model_id = str(model_id_or_path)
        self.gguf_file = gguf_file
        """The GGUF file the weights, tokenizer and chat template were loaded from, if any."""
        looks_like_path = isinstance(model_id_or_path, Path) or self.model_id.startswith(("/", ".", "~"))
        if looks_like_path and not Path(self.model_id).expanduser().is_dir():
            raise ModelLoadError(
                f"the model folder {self.model_id!r} does not exist (or is not a folder); pass a local "
                "model folder or a Hugging Face model id such as 'Qwen/Qwen2.5-0.5B-Instruct'"
            )
        self.generation_kwargs: dict[str, Any] = dict(generation_kwargs or {})
        self.chat_template_kwargs: dict[str, Any] = dict(chat_template_kwargs or {})
        self._closed = False
        self._rows: set[Row] = set()
        self._stream_buffer = stream_buffer
        self._anchor_cache: dict[str, str] = {}

        self.tokenizer: Any = _hf_load.load_tokenizer(
            self.model_id, _hf_load.with_gguf(dict(tokenizer_kwargs or {}), gguf_file)
        )
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
        self.model: Any = _hf_load.load_model(
            self.model_id,
            device=device,
            dtype=dtype,
            load_in_4bit=load_in_4bit,
            load_in_8bit=load_in_8bit,
            quantization_config=quantization_config,
            model_load_kwargs=_hf_load.with_gguf(dict(model_load_kwargs or {}), gguf_file),
        )
        self.max_context_size = max_context_size or _hf_load.context_from_config(
            self.model, self.tokenizer, self.model_id
        )
        if parser is None and prompt_pipeline is not None:
            parser = prompt_pipeline.parser
        self.parser: ToolCallParser = _resolve_parser(parser, self.tokenizer.chat_template)
        self._end_ids = _hf_load.find_end_ids(
            self.model, self.tokenizer, (*self.parser.stop_markers, *self._pipeline_stop())
        )
        self.constrained = constrained
        self._constraint_settings: dict[str, Any] = {
            "max_whitespace": max_whitespace,
            "parallel_tool_calls": parallel_tool_calls,
            "max_cached_grammars": max_cached_grammars,
            "max_string_length": max_string_length,
        }
        self._constraint: ToolCallConstraint | None = None
        self._answer_constraint: ToolCallConstraint | bool | None = None  # False: xgrammar is missing
        if constrained:  # fail at construction: xgrammar missing, or no grammar for this format
            self._constraint = self._make_constraint()

        self._device = _hf_load.input_device(self.model)
        self.kv_bytes_per_token: int | None = kv_bytes_per_token(self.model)
        """Bytes of KV cache one token costs (keys and values of every layer), if the config says."""
        if max_cached_tokens is None:
            max_cached_tokens = default_cached_tokens(self.kv_bytes_per_token, self._device)
        self._sessions = SessionCacheStore(max_cached_sessions, max_cached_tokens)
        self.max_batch_size = max_batch_size
        self.batching_problem: str | None = self._find_batching_problem()
        """Why rounds run one at a time through ``generate`` on this model (``None``: they batch)."""
        self._scheduler = Scheduler(
            model=self.model,
            device=self._device,
            make_cache=self._new_cache,
            sessions=self._sessions,
            max_batch_size=max_batch_size,
            solo=self._generate_alone,
            batching=self.batching_problem is None,
            closed_error=self._closed_error,
            wrap_error=_engine_error,
        )

    # -- loading (overridable, as before) ---------------------------------------------------------
    def _context_from_config(self) -> int:
        return _hf_load.context_from_config(self.model, self.tokenizer, self.model_id)

    def _pipeline_stop(self) -> tuple[str, ...]:
        return tuple(self.prompt_pipeline.stop) if self.prompt_pipeline is not None else ()

    def _new_cache(self) -> Any:
        from transformers import DynamicCache

        return DynamicCache(config=self.model.config)

    def _find_batching_problem(self) -> str | None:
        problem = batching_problem(self.model)
        if problem is None:
            try:
                problem = probe_batching(self.model, self._device, self._new_cache)
            except Exception as exc:
                problem = f"a merged decoding step failed ({type(exc).__name__}: {exc})"
        if problem is not None:
            logger.warning(
                "HuggingEngine(%s): rounds run one at a time through generate, because %s",
                self.model_id,
                problem,
            )
        return problem

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
            self.parser,
            vocab_size=getattr(config, "vocab_size", None),
            stop_token_ids=sorted(self._end_ids) or None,
            **self._constraint_settings,
        )

    def constrain_options(self, tools: Sequence[ToolSchema], options: GenerationOptions) -> GenerationOptions:
        """``options`` with the grammar's logits processor added for one round (after any others),
        when constraints are on (``constrained=True`` or ``options.extra["constrained"]``).

        A round with ``options.output_schema`` (a conversation's ``output_type``) has its final answer
        decoded under that JSON schema whenever xgrammar is installed, even with ``constrained``
        off (the tool calls then stay free); ``extra={"constrained": False}`` turns that off too.
        """
        schema = options.output_schema
        if "constrained" not in options.extra and not self.constrained and schema is None:
            return options
        extra = dict(options.extra)
        enabled = bool(extra.pop("constrained", self.constrained))
        if enabled:
            processor = self.constraint.logits_processor(tools, options.tool_choice, output_schema=schema)
        elif schema is not None and "constrained" not in options.extra:
            answers = self._answers()
            processor = answers and answers.logits_processor(tools, options.tool_choice, output_schema=schema)
        else:
            processor = None
        if processor is not None:
            from transformers import LogitsProcessorList

            others = extra.get("logits_processor", self.generation_kwargs.get("logits_processor")) or []
            extra["logits_processor"] = LogitsProcessorList([*others, processor])
        return replace(options, extra=extra)

    def _answers(self) -> ToolCallConstraint | None:
        """The grammar for structured answers alone (tool calls free), or ``None`` without xgrammar."""
        if self._answer_constraint is None:
            from hermitcrab.engines._constrained import ToolCallConstraint
            from hermitcrab.errors import MissingDependencyError

            config = self.model.config.get_text_config(decoder=True)
            try:
                self._answer_constraint = ToolCallConstraint(
                    self.tokenizer,
                    self.parser,
                    vocab_size=getattr(config, "vocab_size", None),
                    stop_token_ids=sorted(self._end_ids) or None,
                    free_calls=True,
                    **self._constraint_settings,
                )
            except MissingDependencyError:
                self._answer_constraint = False
        return cast("ToolCallConstraint | None", self._answer_constraint or None)

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
        return cast("list[int]", self.tokenizer.encode(text, add_special_tokens=False, verbose=False))

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
        """Generate one reply in the engine's batch, streaming text deltas, tool calls, then a Completion.

        Closing this iterator early or cancelling the consuming task takes the round out of the batch
        at the next decoding step (the other rounds go on) and waits until the scheduler has let go of
        it.
        """
        self._check_open()
        options = self.constrain_options(tools, options)
        scheduler = self._scheduler
        channel: ThreadToLoopChannel[Item] = ThreadToLoopChannel(self._stream_buffer, on_space=scheduler.wake)
        try:
            row = await anyio.to_thread.run_sync(
                self._make_row, tuple(messages), tuple(tools), options, channel
            )
        except Exception:
            self._check_open()  # closed meanwhile: say so, not what closing broke
            raise
        events: list[EngineEvent] = []
        submitted = False
        try:
            self._check_open()
            self._rows.add(row)
            scheduler.submit(row)
            submitted = True
            while True:
                try:
                    batch = await channel.get_batch()
                except anyio.EndOfStream:  # pragma: no cover - the scheduler always ends a row with an item
                    raise EngineError("generation ended without a result") from None
                for kind, payload in batch:
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
            # Leave the batch at the next step, and wait (shielded) until the scheduler has let go of
            # the row, so this conversation's cache is back before its next round.
            row.stop.set()
            channel.close()
            if submitted:
                with anyio.CancelScope(shield=True):
                    await row.finished.wait()
            self._rows.discard(row)

    def _make_row(
        self,
        messages: tuple[Message, ...],
        tools: tuple[ToolSchema, ...],
        options: GenerationOptions,
        channel: ThreadToLoopChannel[Item],
    ) -> Row:
        """Render and tokenize the prompt and settle the round's sampling (in a worker thread)."""
        try:
            if type(self).prompt_ids is HuggingEngine.prompt_ids:
                text = self.build_prompt(messages, tools)
                prompt = self._encode(text)
            else:  # a subclass makes the ids itself; the parser only needs to see how the prompt ends
                prompt = list(self.prompt_ids(messages, tools))
                text = self.tokenizer.decode(prompt[-64:], skip_special_tokens=False)
        except HermitcrabError:
            raise
        except Exception as exc:
            raise _engine_error(exc) from exc
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
        parser = self.parser.for_prompt(text)  # knows how the prompt ends (e.g. inside <think>)
        kwargs = self._generate_kwargs(options, max_new)
        try:
            sampler = self._sampler(kwargs, prompt, options.seed) if self._scheduler.batching else None
        except HermitcrabError:
            raise
        except Exception as exc:  # e.g. generation options that transformers refuses
            raise _engine_error(exc) from exc
        stop = threading.Event()
        stop_strings = (*options.stop, *parser.stop_markers, *self._pipeline_stop())
        row: Row  # the streamer calls back into the row, made just below
        streamer = DeltaStreamer(
            self.tokenizer,
            on_text=lambda text: row.on_text(text),
            stop_event=stop,
            skip_ids=self._end_ids,
            stop_strings=stop_strings,
        )
        row = Row(
            prompt=prompt,
            parser=parser,
            channel=channel,
            streamer=streamer,
            max_new=max_new,
            sampler=sampler,
            session=_session_key(options.session) if self._sessions.max_sessions > 0 else None,
            seed=options.seed,
            stop_strings=stop_strings,
            generate_kwargs=kwargs if sampler is None else None,
            stop=stop,
        )
        return row

    def _sampler(self, kwargs: dict[str, Any], prompt: list[int], seed: int | None) -> Sampler | None:
        """The round's sampler, built as ``generate`` would build it from the same kwargs; ``None``
        when the kwargs ask for something only ``generate`` does (the round then runs alone)."""
        import torch
        from transformers import LogitsProcessorList, StoppingCriteriaList

        kwargs = dict(kwargs)
        processors = kwargs.pop("logits_processor", None) or []
        criteria = kwargs.pop("stopping_criteria", None) or []
        kwargs.pop("use_cache", None)
        kwargs.pop("attention_mask", None)
        try:
            config, unused = self.model._prepare_generation_config(None, **kwargs)
            if unused or config.get_generation_mode().name not in _BATCH_MODES or config.stop_strings:
                return None
            ids = torch.tensor([prompt], dtype=torch.long, device=self._device)
            self.model._prepare_special_tokens(config, kwargs_has_attention_mask=True, device=self._device)
            built = self.model._get_logits_processor(
                generation_config=config,
                input_ids_seq_length=len(prompt),
                encoder_input_ids=ids,
                logits_processor=LogitsProcessorList(processors),
                device=self._device,
            )
        except (AttributeError, TypeError):  # another transformers: let generate do it
            return None
        generator = None
        if seed is not None and config.do_sample:
            generator = torch.Generator(device=self._device).manual_seed(seed)
        return Sampler(
            do_sample=bool(config.do_sample),
            processors=built or None,
            criteria=StoppingCriteriaList(criteria) if criteria else None,
            generator=generator,
        )

    def _generate_alone(self, row: Row) -> CacheEntry | None:
        """Run ``row`` through ``model.generate`` (scheduler thread): rounds whose options need it, and
        every round on a model whose caches cannot be batched. Returns the cache entry to keep."""
        import torch
        from transformers import StoppingCriteriaList

        entry = self._sessions.take(row.session) if row.session is not None else None
        row.holds_session = row.session is not None
        cache: Any = None
        if entry is not None:
            cached = entry.usable_prefix(row.prompt)
            if cached > 0 and getattr(entry.cache, "is_croppable", True):
                surplus = entry.cache.get_seq_length() - cached
                if surplus > 0:
                    entry.cache.crop(-surplus)  # transformers 5: a negative count removes tokens
                cache = entry.cache
                row.cached = cached
        if cache is None and row.session is not None:
            cache = self._new_cache()

        streamer_cls, criterion_cls = make_streamer_classes()

        def on_text(text: str) -> None:
            row.on_text(text)
            flush_blocking(row)

        streamer = streamer_cls(
            self.tokenizer,
            on_text=on_text,
            stop_event=row.stop,
            skip_ids=self._end_ids,
            stop_strings=row.stop_strings,
        )
        row.streamer = streamer
        kwargs = dict(row.generate_kwargs or {})
        kwargs["stopping_criteria"] = StoppingCriteriaList(
            [*(kwargs.get("stopping_criteria") or []), criterion_cls(row.stop)]
        )
        if cache is not None:
            kwargs["cache"] = cache
        input_ids = torch.tensor([row.prompt], dtype=torch.long, device=self._device)
        with torch.inference_mode(), _seeded(row.seed, self._device):
            out = self.model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                streamer=streamer,
                return_dict_in_generate=True,
                **kwargs,
            )
        row.tokens = out.sequences[0].tolist()
        result_cache = getattr(out, "cache", None) or cache
        return (
            CacheEntry(list(row.tokens), result_cache) if row.session is not None and result_cache else None
        )

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

    @property
    def max_cached_tokens(self) -> int | None:
        """The bound on :attr:`cached_tokens` (given, or the default worked out for this device)."""
        return self._sessions.max_tokens

    @property
    def active_rounds(self) -> int:
        """Rounds the engine holds now: waiting for a slot, generating, or paused for a slow reader."""
        return self._scheduler.unfinished

    @property
    def batch_stats(self) -> dict[str, int]:
        """``steps`` (decoding steps run) and ``largest_batch`` (most rounds in one step)."""
        return {"steps": self._scheduler.steps, "largest_batch": self._scheduler.largest_batch}

    async def close(self) -> None:
        """Stop every round (each raises :class:`ConversationClosedError`), wait for the scheduler,
        and free the model, tokenizer and caches."""
        if self._closed:
            return
        self._closed = True
        thread = self._scheduler.close()
        for row in list(self._rows):
            row.stop.set()
        with anyio.CancelScope(shield=True):
            if thread is not None:
                await anyio.to_thread.run_sync(thread.join)
            self._sessions.clear()
            self._scheduler.model = None
            self.model = None
            await anyio.to_thread.run_sync(_free_memory)  # a full collection takes ~0.2 s

    def _closed_error(self) -> ConversationClosedError:
        return ConversationClosedError(f"this HuggingEngine ({self.model_id}) was closed")

    def _check_open(self) -> None:
        if self._closed:
            raise self._closed_error()

    async def __aenter__(self) -> HuggingEngine:
        self._check_open()
        return self

    def __repr__(self) -> str:
        gguf = f", gguf_file={self.gguf_file!r}" if self.gguf_file is not None else ""
        return f"{type(self).__name__}({self.model_id!r}{gguf}, max_context_size={self.max_context_size})"


# -- helpers ---------------------------------------------------------------------------------------
def _free_memory() -> None:
    gc.collect()
    _hf_load.empty_device_cache()


def _session_key(session: Any) -> Hashable | None:
    if session is None:
        return None
    try:
        hash(session)
    except TypeError:
        return id(session)
    return cast(Hashable, session)


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
