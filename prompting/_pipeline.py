"""Prompt pipelines: prompts for models without a chat template, and prompt formats of your own.

A :class:`PromptPipeline` is a list of small steps over the conversation, ending in one string (or token
ids). Each message first becomes a :class:`Turn` whose content is a tuple of :class:`Piece` s (text,
reasoning or tool calls); steps rename roles, fold the system prompt into the first user turn, add a tool
block, render tool calls and results, merge turns and wrap them in their markers; the pieces are then
joined and the *generation prefix* (the text that opens the reply, e.g. ``<|im_start|>assistant\\n``) is
appended. Steps are plain callables ``step(turns, context) -> turns``, so you can write your own::

    from hermitcrab.prompting._pipeline import PromptPipeline, chatml_pipeline

    pipeline = (
        PromptPipeline()
        .reasoning(keep=False)
        .tool_calls("hermes")
        .tool_results("<tool_response>\\n{content}\\n</tool_response>")
        .translate_role("tool", "user")
        .merge_consecutive("user", sep="\\n")
        .wrap("system", "### System:\\n", "\\n\\n")
        .wrap("user", "### User:\\n", "\\n\\n")
        .wrap("assistant", "### Assistant:\\n", "\\n\\n")
        .generation_prefix("### Assistant:\\n")
    )
    text = pipeline(messages, tools=schemas)          # the prompt string
    ids = pipeline.render_ids(tokenizer, messages)    # the prompt's token ids
    pipeline.explain()                                # prints an example, to check the format by eye

Presets: :func:`chatml_pipeline` (ChatML with Hermes/Qwen2.5 tool calls), :func:`llama2_pipeline`
(``<s>[INST] <<SYS>> ... [/INST]``) and :func:`vicuna_pipeline` (Vicuna v1.1 ``USER: ... ASSISTANT:``).

Exact, fast token counts
------------------------
Every piece of prompt text has an *owner*: the index of the message that put it there, or ``None`` for
format overhead (a default system prompt, the tool block, the generation prefix). The prompt is
tokenized once, with character offsets, and each token is counted for the owner of the character it
starts at, so :meth:`PromptPipeline.token_counts` splits a prompt's exact length into per-message counts
that add up to it exactly, whatever the tokenizer does at the boundaries.

:meth:`PromptPipeline.message_len` gives the count of one message on its own (what a conversation
caches per message): the message is rendered after a short *anchor* history that puts it in its
steady-state position, and only its own tokens are counted. A pipeline is *additive* when
``prompt_len(fixed + history) == prompt_len(fixed) + sum(message_len(m) for m in history)``; then
trimming needs no re-rendering at all. Ownership is chosen to make that hold: markers that exist because
of a neighbour are owned by it (``wrap(..., owner="previous"|"next")``: Llama 2's ``<s>[INST] ...
[/INST]`` around a user turn belongs to the assistant turn before it, so folding the system prompt into
the first user turn costs nothing extra), and a run of tool results merged into one turn has its wrapper
and separators owned by the assistant message whose calls it answers
(``merge_consecutive(..., sep_owner="previous")``). ChatML is exactly additive. Llama 2 and Vicuna put
different text before the first turn after the system prompt (``<</SYS>>\n\n``, a space) than before
later turns (``[INST] ``, ``</s>``), so with some tokenizers that one turn's count differs by a token or
two; every other message is exact. Conversations verify the chosen prompt with the exact ``prompt_len``
and fall back to a binary search (O(log n) renders), so trimming stays correct either way.

The generation prefix is format overhead (owner ``None``): ``prompt_len([])`` is the cost of an empty
prompt and includes it.
"""

from __future__ import annotations

import io
import json
from bisect import bisect_right
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TextIO, Union

from hermitcrab.errors import ConfigurationError
from hermitcrab.messages import Message, ReasoningPart, TextPart, ToolCall

__all__ = (
    "Piece",
    "PromptCounts",
    "PromptPipeline",
    "RenderContext",
    "RenderedPrompt",
    "Step",
    "Turn",
    "VICUNA_SYSTEM",
    "chatml_pipeline",
    "hermes_tool_call",
    "hermes_tools_block",
    "llama2_pipeline",
    "vicuna_pipeline",
)

ToolSchema = Mapping[str, Any]
Owner = Union[int, None]
RoleSpec = Union[str, Iterable[str], None]


# -- the data steps work on -----------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Piece:
    """A piece of a turn's content: text, or a reasoning part / tool call not rendered yet.

    ``owner`` is the index of the message (in the list given to the pipeline) that this text belongs to,
    or ``None`` for format overhead. Token counts are attributed to owners.
    """

    text: str = ""
    owner: Owner = None
    part: ReasoningPart | ToolCall | None = None
    """A structured part still waiting for a step to render it (``reasoning``/``tool_calls``)."""


@dataclass(frozen=True, slots=True)
class Turn:
    """One turn of the prompt as the steps see it.

    ``role`` is free-form (steps may rename roles to anything); ``owner`` owns the markers that
    :meth:`PromptPipeline.wrap` adds; ``message`` is the original message (``None`` for turns a step
    inserted), useful for tool-result ids and names.
    """

    role: str
    pieces: tuple[Piece, ...] = ()
    owner: Owner = None
    message: Message | None = None

    @property
    def text(self) -> str:
        """The text of the rendered pieces (reasoning and tool calls not yet rendered are skipped)."""
        return "".join(p.text for p in self.pieces if p.part is None)

    def with_pieces(self, pieces: Iterable[Piece]) -> Turn:
        """A copy with other pieces."""
        return replace(self, pieces=tuple(pieces))


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What a step may need besides the turns: the tool schemas of this prompt."""

    tools: tuple[ToolSchema, ...] = ()


Step = Callable[[list[Turn], RenderContext], list[Turn]]
"""A pipeline step: takes the turns (and the context) and returns the new turns. It must not mutate the
list it is given in place (return a new one); turns and pieces are immutable."""


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """A rendered prompt: its text and the owned pieces it is made of (in order, empty pieces dropped)."""

    text: str
    pieces: tuple[Piece, ...]
    n_messages: int

    def owner_text(self, owner: Owner) -> str:
        """All text owned by ``owner`` (a message index, or ``None`` for format overhead), in order."""
        return "".join(p.text for p in self.pieces if p.owner == owner)


@dataclass(frozen=True, slots=True)
class PromptCounts:
    """Exact token counts of one prompt: ``total == overhead + sum(per_message)``."""

    total: int
    per_message: tuple[int, ...]
    overhead: int
    """Tokens of format overhead: default system prompt, tool block, generation prefix, inserted turns."""


# -- the pipeline ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class PromptPipeline:
    """A declarative prompt format: steps over the turns, then a join and a generation prefix.

    Builder methods return a *new* pipeline (a pipeline is immutable, so one can be shared by engines
    and threads). Call it to get the prompt text; see the module docs for token counting.

    Args:
        steps: The steps, in order (usually added with the builder methods).
        gen_prefix: Text appended after the last turn to open the model's reply.
        stop: Strings that end the model's turn in this format, for engines that stop on text.
        parser: The tool-call parser name that reads replies in this format (``"hermes"`` for the
            presets' ``<tool_call>`` JSON), for engines that pick a parser from the pipeline.
        name: A label shown by ``repr`` and :meth:`explain`.
    """

    steps: tuple[Step, ...] = ()
    gen_prefix: str = ""
    stop: tuple[str, ...] = ()
    parser: str | None = None
    name: str = "custom"
    _labels: tuple[str, ...] = field(default=(), repr=False)

    # -- building -------------------------------------------------------------------------------
    def step(self, fn: Step, *, label: str | None = None) -> PromptPipeline:
        """Add a step of your own: ``fn(turns, context) -> turns``."""
        if not callable(fn):
            raise ConfigurationError(f"a pipeline step must be callable as fn(turns, context), not {fn!r}")
        return replace(
            self,
            steps=(*self.steps, fn),
            _labels=(*self._labels, label or getattr(fn, "__name__", repr(fn))),
        )

    def configure(
        self,
        *,
        gen_prefix: str | None = None,
        stop: Sequence[str] | None = None,
        parser: str | None = None,
        name: str | None = None,
    ) -> PromptPipeline:
        """A copy with other settings (generation prefix, stop strings, parser name, label)."""
        return replace(
            self,
            gen_prefix=self.gen_prefix if gen_prefix is None else gen_prefix,
            stop=self.stop if stop is None else tuple(stop),
            parser=self.parser if parser is None else parser,
            name=self.name if name is None else name,
        )

    def generation_prefix(self, text: str) -> PromptPipeline:
        """Set the text that opens the model's reply (appended when ``generation_prefix=True``)."""
        return self.configure(gen_prefix=text)

    def translate_role(self, role: RoleSpec, to: str) -> PromptPipeline:
        """Rename turns of ``role`` to ``to`` (e.g. tool results to ``"user"``)."""
        roles = _roles(role)

        def translate_role(turns: list[Turn], ctx: RenderContext) -> list[Turn]:
            return [replace(t, role=to) if _match(t, roles) else t for t in turns]

        return self.step(translate_role, label=f"translate_role({_show(role)} -> {to!r})")

    def default_system(self, text: str) -> PromptPipeline:
        """Insert a system turn with ``text`` (format overhead) when the prompt does not start with one."""

        def default_system(turns: list[Turn], ctx: RenderContext) -> list[Turn]:
            if turns and turns[0].role == "system":
                return turns
            return [Turn("system", (Piece(text),)), *turns]

        return self.step(default_system, label=f"default_system({_short(text)!r})")

    def tools_block(
        self,
        render: Callable[[Sequence[ToolSchema]], str] | None = None,
        *,
        sep: str = "\n\n",
        position: Literal["after", "before"] = "after",
    ) -> PromptPipeline:
        """Describe the tools in the system turn (only when the prompt has tools).

        ``render(tools)`` gives the block (default: :func:`hermes_tools_block`); it goes after (or
        before) the system text, separated by ``sep``; a system turn is inserted when there is none.
        The block is format overhead: it is counted with the fixed part of the prompt.
        """
        render = render or hermes_tools_block

        def tools_block(turns: list[Turn], ctx: RenderContext) -> list[Turn]:
            if not ctx.tools:
                return turns
            block = Piece(render(ctx.tools))
            if turns and turns[0].role == "system":
                first = turns[0]
                has_text = bool(first.text)
                if position == "after":
                    pieces = (*first.pieces, *((Piece(sep),) if has_text else ()), block)
                else:
                    pieces = (block, *((Piece(sep),) if has_text else ()), *first.pieces)
                return [first.with_pieces(pieces), *turns[1:]]
            return [Turn("system", (block,)), *turns]

        return self.step(tools_block, label=f"tools_block({getattr(render, '__name__', 'render')})")

    def fold_system(self, into: str = "user", prefix: str = "", suffix: str = "") -> PromptPipeline:
        """Fold a leading system turn into the next turn of role ``into`` as ``prefix + system + suffix``.

        When the next turn has another role (or there is none), an empty ``into`` turn (overhead) is
        inserted to receive it. The system text stays owned by the system message, the receiving turn
        keeps its owner. This is Llama 2's ``[INST] <<SYS>>\\n...\\n<</SYS>>\\n\\nuser [/INST]``.
        """

        def fold_system(turns: list[Turn], ctx: RenderContext) -> list[Turn]:
            if not turns or turns[0].role != "system":
                return turns
            system = turns[0]
            folded = (Piece(prefix, system.owner), *system.pieces, Piece(suffix, system.owner))
            rest = turns[1:]
            if rest and rest[0].role == into:
                return [rest[0].with_pieces((*folded, *rest[0].pieces)), *rest[1:]]
            return [Turn(into, folded), *rest]

        return self.step(fold_system, label=f"fold_system(into={into!r})")

    def ensure_first(self, role: str = "user") -> PromptPipeline:
        """Insert an empty ``role`` turn (overhead) when the first non-system turn has another role (or
        there is none): formats whose turns must start with the user (Llama 2)."""

        def ensure_first(turns: list[Turn], ctx: RenderContext) -> list[Turn]:
            i = 1 if turns and turns[0].role == "system" else 0
            if i < len(turns) and turns[i].role == role:
                return turns
            return [*turns[:i], Turn(role), *turns[i:]]

        return self.step(ensure_first, label=f"ensure_first({role!r})")

    def reasoning(self, keep: bool = False, template: str = "<think>\n{}\n</think>\n\n") -> PromptPipeline:
        """Drop reasoning parts (default) or keep them, each rendered with ``template`` (``{}`` is the
        reasoning text)."""

        def reasoning(turns: list[Turn], ctx: RenderContext) -> list[Turn]:
            out = []
            for turn in turns:
                if not any(isinstance(p.part, ReasoningPart) for p in turn.pieces):
                    out.append(turn)
                    continue
                pieces = [
                    (Piece(template.format(p.part.text), p.owner) if keep else None)
                    if isinstance(p.part, ReasoningPart)
                    else p
                    for p in turn.pieces
                ]
                out.append(turn.with_pieces(p for p in pieces if p is not None))
            return out

        return self.step(reasoning, label=f"reasoning(keep={keep})")

    def tool_calls(
        self,
        fmt: Literal["hermes", "json"] | Callable[[ToolCall], str] = "hermes",
        *,
        sep: str = "\n",
        text_sep: str = "\n",
    ) -> PromptPipeline:
        """Render the tool calls of assistant turns as text.

        ``fmt`` is ``"hermes"`` (``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>``, read
        back by the ``hermes`` parser), ``"json"`` (the bare JSON object) or a function of the call.
        Calls are joined with ``sep``; ``text_sep`` separates them from text before them. A malformed
        call (``error`` set) is rendered as the model wrote it (``raw``), so the model sees its mistake.
        """
        render = (
            {"hermes": hermes_tool_call, "json": _json_tool_call}.get(fmt) if isinstance(fmt, str) else fmt
        )
        if render is None:
            raise ConfigurationError(f"tool_calls format must be 'hermes', 'json' or a function, not {fmt!r}")

        def tool_calls(turns: list[Turn], ctx: RenderContext) -> list[Turn]:
            out = []
            for turn in turns:
                if not any(isinstance(p.part, ToolCall) for p in turn.pieces):
                    out.append(turn)
                    continue
                pieces: list[Piece] = []
                seen_call = False
                for p in turn.pieces:
                    if not isinstance(p.part, ToolCall):
                        pieces.append(p)
                        continue
                    if seen_call:
                        pieces.append(Piece(sep, p.owner))
                    elif any(q.text for q in pieces):
                        pieces.append(Piece(text_sep, p.owner))
                    call = p.part
                    text = call.raw if (call.is_malformed and call.raw is not None) else render(call)
                    pieces.append(Piece(text, p.owner))
                    seen_call = True
                out.append(turn.with_pieces(pieces))
            return out

        return self.step(tool_calls, label=f"tool_calls({getattr(render, '__name__', 'fmt')})")

    def tool_results(
        self, fmt: str | Callable[[Turn], str] = "{content}", role: str = "tool"
    ) -> PromptPipeline:
        """Render tool-result turns: ``fmt`` is a template with ``{content}``, ``{name}`` and
        ``{tool_call_id}``, or a function of the turn returning its new content."""

        def tool_results(turns: list[Turn], ctx: RenderContext) -> list[Turn]:
            out = []
            for turn in turns:
                if turn.role != role:
                    out.append(turn)
                    continue
                msg = turn.message
                if callable(fmt):
                    text = fmt(turn)
                else:
                    text = fmt.format(
                        content=turn.text,
                        name=(msg.name if msg else None) or "",
                        tool_call_id=(msg.tool_call_id if msg else None) or "",
                    )
                out.append(turn.with_pieces((Piece(text, turn.owner),)))
            return out

        return self.step(
            tool_results, label=f"tool_results({_short(fmt) if isinstance(fmt, str) else 'fn'!r})"
        )

    def strip(self, role: RoleSpec = None) -> PromptPipeline:
        """Strip whitespace around the text of turns of ``role`` (all turns when ``None``), never
        inside text that another message put there (a folded system prompt)."""
        roles = _roles(role)

        def strip(turns: list[Turn], ctx: RenderContext) -> list[Turn]:
            return [_strip_turn(t) if _match(t, roles) else t for t in turns]

        return self.step(strip, label=f"strip({_show(role)})")

    def merge_consecutive(
        self, role: RoleSpec, sep: str = "\n", *, sep_owner: Literal["self", "previous"] = "self"
    ) -> PromptPipeline:
        """Merge runs of adjacent turns of ``role`` into one, joined by ``sep``.

        The merged turn keeps the first turn's owner (and its wrapper, when wrapped later). With
        ``sep_owner="self"`` each later turn owns the ``sep`` before it, so adding a message to a run
        adds exactly ``sep`` and its text. With ``"previous"`` the turn before the run owns the
        separators: right for a run that answers that turn (tool results after the assistant message
        whose calls they answer, one result per call), so each result costs only its own text.
        """
        roles = _roles(role)

        def merge_consecutive(turns: list[Turn], ctx: RenderContext) -> list[Turn]:
            out: list[Turn] = []
            run_owner: Owner = None
            for turn in turns:
                if out and _match(turn, roles) and _match(out[-1], roles) and out[-1].role == turn.role:
                    prev = out[-1]
                    who = turn.owner if sep_owner == "self" else run_owner
                    out[-1] = prev.with_pieces((*prev.pieces, Piece(sep, who), *turn.pieces))
                else:
                    run_owner = out[-1].owner if out else None
                    out.append(turn)
            return out

        label = f"merge_consecutive({_show(role)}, sep={sep!r}"
        label += f", sep_owner={sep_owner!r})" if sep_owner != "self" else ")"
        return self.step(merge_consecutive, label=label)

    def wrap(
        self,
        role: RoleSpec,
        prefix: str = "",
        suffix: str = "",
        *,
        owner: Literal["self", "previous", "next"] = "self",
    ) -> PromptPipeline:
        """Put ``prefix`` before and ``suffix`` after the content of each turn of ``role``.

        ``owner`` says whose tokens the markers are: the turn's own (default), the previous turn's
        (markers that exist because that turn came before, e.g. the user wrapper of a run of tool
        results after the assistant that called them) or the next turn's (a separator that only exists
        because something follows). A missing neighbour means format overhead.
        """
        roles = _roles(role)

        def wrap(turns: list[Turn], ctx: RenderContext) -> list[Turn]:
            out = []
            for i, turn in enumerate(turns):
                if not _match(turn, roles):
                    out.append(turn)
                    continue
                if owner == "self":
                    who = turn.owner
                elif owner == "previous":
                    who = turns[i - 1].owner if i > 0 else None
                else:
                    who = turns[i + 1].owner if i + 1 < len(turns) else None
                out.append(turn.with_pieces((Piece(prefix, who), *turn.pieces, Piece(suffix, who))))
            return out

        label = f"wrap({_show(role)}, {prefix!r}, {suffix!r}" + (
            f", owner={owner!r})" if owner != "self" else ")"
        )
        return self.step(wrap, label=label)

    @property
    def labels(self) -> tuple[str, ...]:
        """A short description of each step, in order (what :meth:`explain` prints)."""
        if len(self._labels) == len(self.steps):
            return self._labels
        return tuple(getattr(s, "__name__", repr(s)) for s in self.steps)

    # -- rendering ------------------------------------------------------------------------------
    def render(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema] = (),
        *,
        generation_prefix: bool = True,
    ) -> RenderedPrompt:
        """Run the steps and join the turns: the prompt text and who owns each piece of it.

        Raises :class:`~hermitcrab.errors.ConfigurationError` when a step returns something other than
        a list of turns, or when reasoning or tool calls are left unrendered (add ``.reasoning()`` or
        ``.tool_calls()``).
        """
        turns = [_turn_of(i, m) for i, m in enumerate(messages)]
        ctx = RenderContext(tools=tuple(tools))
        for step, label in zip(self.steps, self.labels, strict=True):
            result = step(turns, ctx)
            if not isinstance(result, list) or not all(isinstance(t, Turn) for t in result):
                raise ConfigurationError(
                    f"pipeline step {label} returned {type(result).__name__}: "
                    "a step must return a list of Turn"
                )
            turns = result
        pieces: list[Piece] = []
        for turn in turns:
            for p in turn.pieces:
                if p.part is not None:
                    what = "a tool call" if isinstance(p.part, ToolCall) else "reasoning"
                    fix = ".tool_calls(...)" if isinstance(p.part, ToolCall) else ".reasoning(keep=...)"
                    raise ConfigurationError(
                        f"the {self.name} pipeline left {what} of message {p.owner} unrendered: add {fix}"
                    )
                if p.text:
                    pieces.append(p)
        if generation_prefix and self.gen_prefix:
            pieces.append(Piece(self.gen_prefix))
        return RenderedPrompt("".join(p.text for p in pieces), tuple(pieces), len(messages))

    def __call__(
        self,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema] = (),
        *,
        generation_prefix: bool = True,
    ) -> str:
        """The prompt text for ``messages`` and ``tools`` (generation prefix included by default)."""
        return self.render(messages, tools, generation_prefix=generation_prefix).text

    def render_ids(
        self,
        tokenizer: Any,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema] = (),
        *,
        generation_prefix: bool = True,
    ) -> list[int]:
        """The prompt's token ids: ``tokenizer.encode(text, add_special_tokens=False)``.

        Special tokens are written in the text (``<s>``, ``<|im_start|>``), as chat templates do, so no
        tokenizer-added BOS is wanted. Works with ``transformers`` tokenizers and ``tokenizers.Tokenizer``.
        """
        return _ids(tokenizer, self(messages, tools, generation_prefix=generation_prefix))

    def prompt_len(
        self, tokenizer: Any, messages: Sequence[Message], tools: Sequence[ToolSchema] = ()
    ) -> int:
        """Exact tokens of the prompt (generation prefix included): ``len(render_ids(...))``."""
        return len(self.render_ids(tokenizer, messages, tools))

    def token_counts(
        self,
        tokenizer: Any,
        messages: Sequence[Message],
        tools: Sequence[ToolSchema] = (),
        *,
        generation_prefix: bool = True,
    ) -> PromptCounts:
        """Exact tokens of the prompt, split by message: one render, one tokenizer call.

        Each token counts for the owner of the character it starts at, so ``total`` is exactly
        ``prompt_len`` and ``overhead + sum(per_message) == total``. With a tokenizer that gives no
        character offsets, each owner's text is tokenized on its own (exact at clean boundaries only).
        """
        rendered = self.render(messages, tools, generation_prefix=generation_prefix)
        return _count(tokenizer, rendered)

    def message_len(self, tokenizer: Any, message: Message) -> int:
        """Tokens that ``message`` adds to a prompt, measured in its steady-state position.

        The message is rendered after a short anchor history (a user message follows an exchange, an
        assistant message a user message, a tool result its call; an assistant message with tool calls
        is followed by results, since it never appears without them) and only its own tokens are
        counted. Equals its share of any prompt when the pipeline is additive (see the module docs).
        """
        before, after = _anchor(message)
        messages = [*before, message, *after]
        counts = self.token_counts(tokenizer, messages)
        return counts.per_message[len(before)]

    # -- looking at it ------------------------------------------------------------------------------
    def explain(self, file: TextIO | None = None, *, annotate: bool = False) -> str:
        """Print (and return) the steps and an example prompt, to check the format by eye.

        The example has a system prompt, a tool, a tool call with its result and a follow-up question.
        With ``annotate=True`` each piece is shown on its own line with its owner (``overhead`` or the
        example message's role and index), which is how token counts are attributed.
        """
        messages, tools = _example()
        out = io.StringIO()
        out.write(f"PromptPipeline {self.name!r}\n")
        for i, label in enumerate(self.labels, 1):
            out.write(f"  {i:>2}. {label}\n")
        out.write(f"  generation prefix: {self.gen_prefix!r}\n")
        if self.stop:
            out.write(f"  stop strings: {list(self.stop)!r}\n")
        if self.parser:
            out.write(f"  tool-call parser: {self.parser!r}\n")
        try:
            rendered = self.render(messages, tools)
        except ConfigurationError as exc:
            out.write(f"\n(the example conversation with a tool call cannot be rendered: {exc})\n")
            rendered = self.render([m for m in messages if m.role in ("system", "user")][:2])
        out.write("\nExample prompt:\n")
        if annotate:
            for p in rendered.pieces:
                who = "overhead" if p.owner is None else f"{messages[p.owner].role}[{p.owner}]"
                out.write(f"  {who:<13} {p.text!r}\n")
        else:
            out.write(rendered.text)
            out.write("\n")
        text = out.getvalue()
        print(text, end="", file=file)
        return text

    def __repr__(self) -> str:
        return (
            f"PromptPipeline({self.name!r}, {len(self.steps)} steps, generation_prefix={self.gen_prefix!r})"
        )


# -- formats for tools -----------------------------------------------------------------------------
def hermes_tool_call(call: ToolCall) -> str:
    """``<tool_call>\\n{"name": ..., "arguments": {...}}\\n</tool_call>`` (Hermes / Qwen2.5 markup)."""
    args = json.dumps(call.arguments, ensure_ascii=False)
    return f'<tool_call>\n{{"name": "{call.name}", "arguments": {args}}}\n</tool_call>'


def _json_tool_call(call: ToolCall) -> str:
    return json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)


def hermes_tools_block(tools: Sequence[ToolSchema]) -> str:
    """The tool description of the Hermes / Qwen2.5 chat template: schemas as JSON in ``<tools>``."""
    schemas = "".join("\n" + json.dumps(dict(t), ensure_ascii=False) for t in tools)
    return (
        "# Tools\n\nYou may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n<tools>"
        + schemas
        + "\n</tools>\n\nFor each function call, return a json object with function name and arguments "
        'within <tool_call></tool_call> XML tags:\n<tool_call>\n{"name": <function-name>, "arguments": '
        "<args-json-object>}\n</tool_call>"
    )


# -- presets ---------------------------------------------------------------------------------------
def chatml_pipeline(*, system: str | None = None, reasoning: bool = False) -> PromptPipeline:
    """ChatML (``<|im_start|>role\\ncontent<|im_end|>\\n``) with Hermes / Qwen2.5 tool calling.

    Renders exactly what Qwen2.5's chat template renders (without its default system prompt): tools in
    the system turn, calls as ``<tool_call>`` JSON, consecutive tool results as ``<tool_response>``
    blocks in one user turn. ``system`` is a default system prompt for conversations without one
    (Qwen2.5's is ``"You are Qwen, created by Alibaba Cloud. You are a helpful assistant."``).
    Reasoning is dropped unless ``reasoning=True`` (``<think>`` blocks). Read replies with the
    ``hermes`` parser; the turn ends at ``<|im_end|>``.
    """
    pipeline = PromptPipeline(name="chatml")
    if system is not None:
        pipeline = pipeline.default_system(system)
    return (
        pipeline.reasoning(keep=reasoning)
        .tool_calls("hermes", sep="\n", text_sep="\n")
        .tools_block(hermes_tools_block, sep="\n\n")
        .tool_results("\n<tool_response>\n{content}\n</tool_response>")
        .merge_consecutive("tool", sep="")
        .wrap("tool", "<|im_start|>user", "<|im_end|>\n", owner="previous")
        .wrap("system", "<|im_start|>system\n", "<|im_end|>\n")
        .wrap("user", "<|im_start|>user\n", "<|im_end|>\n")
        .wrap("assistant", "<|im_start|>assistant\n", "<|im_end|>\n")
        .configure(gen_prefix="<|im_start|>assistant\n", stop=("<|im_end|>",), parser="hermes")
    )


def _plain_tools_block(tools: Sequence[ToolSchema]) -> str:
    schemas = "\n".join(json.dumps(dict(t), ensure_ascii=False) for t in tools)
    return (
        "You can call these tools. To call one, answer with <tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>\n'
        f"Tools:\n{schemas}"
    )


def llama2_pipeline(*, bos: str = "<s>", eos: str = "</s>") -> PromptPipeline:
    """Llama 2 chat: ``<s>[INST] <<SYS>>\\n{system}\\n<</SYS>>\\n\\n{user} [/INST] {answer} </s>``.

    The same string as Meta's reference code and the Hugging Face Llama-2-chat template (user and
    assistant texts stripped; the system prompt folded into the first user turn). A conversation that
    does not start with a user message gets an empty first instruction, as Llama 2 needs alternating
    turns. Llama 2 has no tool format; this preset describes tools in the system prompt and writes
    calls as ``<tool_call>`` JSON (``hermes`` parser) and results as user turns.
    """
    return (
        PromptPipeline(name="llama2")
        .reasoning(keep=False)
        .tool_calls("hermes", sep="\n", text_sep="\n")
        .tools_block(_plain_tools_block, sep="\n\n")
        .tool_results("[tool result for {name}]\n{content}")
        .merge_consecutive("tool", sep="\n\n", sep_owner="previous")
        .translate_role("tool", "user")
        .merge_consecutive("user", sep="\n\n")
        .ensure_first("user")
        .fold_system("user", "<<SYS>>\n", "\n<</SYS>>\n\n")
        .strip(("user", "assistant"))
        .wrap("user", f"{bos}[INST] ", " [/INST]", owner="previous")
        .wrap("assistant", " ", f" {eos}")
        .configure(gen_prefix="", stop=(eos,), parser="hermes")
    )


VICUNA_SYSTEM = (
    "A chat between a curious user and an artificial intelligence assistant. "
    "The assistant gives helpful, detailed, and polite answers to the user's questions."
)
"""Vicuna v1.1's default system prompt (FastChat ``vicuna_v1.1``)."""


def vicuna_pipeline(*, system: str = VICUNA_SYSTEM, eos: str = "</s>") -> PromptPipeline:
    """Vicuna v1.1: ``{system} USER: {user} ASSISTANT: {answer}</s>USER: {user} ASSISTANT:``.

    The same string as FastChat's ``vicuna_v1.1`` conversation template (``system`` is used when the
    conversation has no system message). Vicuna has no tool format; this preset describes tools in the
    system prompt, writes calls as ``<tool_call>`` JSON (``hermes`` parser) and results as user turns.
    """
    return (
        PromptPipeline(name="vicuna")
        .reasoning(keep=False)
        .tool_calls("hermes", sep="\n", text_sep="\n")
        .default_system(system)
        .tools_block(_plain_tools_block, sep="\n\n")
        .tool_results("[tool result for {name}]\n{content}")
        .merge_consecutive("tool", sep="\n\n", sep_owner="previous")
        .merge_consecutive("user", sep="\n\n")
        .wrap("system", "", " ", owner="next")
        .wrap("user", "USER: ")
        .wrap("tool", "USER: ", owner="previous")
        .translate_role("tool", "user")
        .wrap("user", "", " ", owner="next")
        .wrap("assistant", "ASSISTANT: ", eos)
        .configure(gen_prefix="ASSISTANT:", stop=(eos, "USER:"), parser="hermes")
    )


# -- helpers ---------------------------------------------------------------------------------------
def _turn_of(index: int, message: Message) -> Turn:
    pieces = []
    for part in message.parts:
        if isinstance(part, TextPart):
            pieces.append(Piece(part.text, index))
        else:
            pieces.append(Piece("", index, part))
    return Turn(message.role, tuple(pieces), index, message)


def _roles(role: RoleSpec) -> frozenset[str] | None:
    if role is None:
        return None
    if isinstance(role, str):
        return frozenset((role,))
    return frozenset(role)


def _match(turn: Turn, roles: frozenset[str] | None) -> bool:
    return roles is None or turn.role in roles


def _show(role: RoleSpec) -> str:
    if role is None:
        return "all"
    if isinstance(role, str):
        return repr(role)
    return repr(tuple(role))


def _short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _strip_turn(turn: Turn) -> Turn:
    """Strip whitespace at the edges of the turn's content, stopping at text owned by another message
    (a folded system prompt keeps its text, and the user text after it keeps its leading space, as
    Llama 2's reference code and template do)."""
    pieces = list(turn.pieces)
    i = 0
    while i < len(pieces):
        p = pieces[i]
        if p.owner != turn.owner:
            break
        if p.part is None:
            stripped = p.text.lstrip()
            pieces[i] = replace(p, text=stripped)
            if stripped:
                break
        i += 1
    j = len(pieces) - 1
    while j >= 0:
        p = pieces[j]
        if p.owner != turn.owner:
            break
        if p.part is None:
            stripped = p.text.rstrip()
            pieces[j] = replace(p, text=stripped)
            if stripped:
                break
        j -= 1
    return turn.with_pieces(pieces)


def _anchor(message: Message) -> tuple[list[Message], list[Message]]:
    """The history before (and after) ``message`` that puts it in its steady-state position."""
    if message.role == "system":
        return [], []
    if message.role == "user":
        return [Message.user("a"), Message.assistant("b")], []
    if message.role == "tool":
        call = ToolCall(id=message.tool_call_id or "call_0", name=message.name or "f")
        return [Message.user("a"), Message.assistant(tool_calls=[call])], []
    # An assistant message is always followed by a turn: its tool results, or the next user message.
    after = [Message.tool_result(call, "x") for call in message.tool_calls] or [Message.user("c")]
    return [Message.user("a")], after


def _is_raw_tokenizer(tokenizer: Any) -> bool:
    """A ``tokenizers.Tokenizer`` (its ``encode`` returns an ``Encoding``) rather than a transformers one."""
    return hasattr(tokenizer, "encode_batch") and not hasattr(tokenizer, "convert_tokens_to_ids")


def _ids(tokenizer: Any, text: str) -> list[int]:
    if _is_raw_tokenizer(tokenizer):
        return list(tokenizer.encode(text, add_special_tokens=False).ids)
    return list(tokenizer.encode(text, add_special_tokens=False))


def _offsets(tokenizer: Any, text: str) -> list[tuple[int, int]] | None:
    """Character offsets of each token of ``text``, or ``None`` when the tokenizer cannot give them."""
    if _is_raw_tokenizer(tokenizer):
        return list(tokenizer.encode(text, add_special_tokens=False).offsets)
    try:
        out = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    except (NotImplementedError, ValueError, TypeError):
        return None
    offsets = out.get("offset_mapping") if hasattr(out, "get") else None
    return None if offsets is None else [tuple(o) for o in offsets]


def _count(tokenizer: Any, rendered: RenderedPrompt) -> PromptCounts:
    per = [0] * rendered.n_messages
    overhead = 0
    offsets = _offsets(tokenizer, rendered.text) if rendered.text else []
    if offsets is None:
        # No offsets: tokenize each owner's contiguous run on its own.
        runs: list[tuple[Owner, str]] = []
        for p in rendered.pieces:
            if runs and runs[-1][0] == p.owner:
                runs[-1] = (p.owner, runs[-1][1] + p.text)
            else:
                runs.append((p.owner, p.text))
        for owner, text in runs:
            n = len(_ids(tokenizer, text))
            if owner is None:
                overhead += n
            else:
                per[owner] += n
        return PromptCounts(overhead + sum(per), tuple(per), overhead)
    starts: list[int] = []
    owners: list[Owner] = []
    pos = 0
    for p in rendered.pieces:
        starts.append(pos)
        owners.append(p.owner)
        pos += len(p.text)
    for start, _end in offsets:
        owner = owners[max(0, bisect_right(starts, start) - 1)] if owners else None
        if owner is None:
            overhead += 1
        else:
            per[owner] += 1
    return PromptCounts(len(offsets), tuple(per), overhead)


def _example() -> tuple[list[Message], list[dict[str, Any]]]:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "The current weather in a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        }
    ]
    call = ToolCall(id="call_1", name="get_weather", arguments={"city": "Paris"})
    messages = [
        Message.system("You are a helpful assistant."),
        Message.user("What is the weather in Paris?"),
        Message.assistant("Let me check.", reasoning="The user wants the weather.", tool_calls=[call]),
        Message.tool_result(call, '{"temperature": 21, "sky": "sunny"}'),
        Message.assistant("It is sunny and 21 degrees in Paris."),
        Message.user("Thanks! And tomorrow?"),
    ]
    return messages, tools
