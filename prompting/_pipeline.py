"""Prompt pipelines: prompts for models without a chat template, and prompt formats of your own.

A :class:`PromptPipeline` is a list of small steps over the conversation, ending in one string (or token
ids). Each message first becomes a :class:`Turn` whose content is a tuple of :class:`Piece` s (text,
reasoning or tool calls); steps rename roles, fold the system prompt into the first user turn, add a tool
block, render tool calls and results, merge turns and wrap them in their markers; the pieces are then
joined and the *generation prefix* (the text that opens the reply, e.g. ``<|im_start|>assistant\\n``) is
appended. Steps are plain callables ``step(turns, context) -> turns``, so you can write your own::

    from hermitcrab.prompting import PromptPipeline, chatml_pipeline

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

The pieces live in their own modules: the turns and pieces steps work on (``_turns``), exact token
counts per message (``_counting``), the tool formats the steps write (``_tool_formats``) and the
presets (``_presets``: :func:`chatml_pipeline`, :func:`llama2_pipeline`, :func:`vicuna_pipeline`).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TextIO

from hermitcrab.errors import ConfigurationError
from hermitcrab.messages import Message, ReasoningPart, ToolCall
from hermitcrab.prompting._counting import PromptCounts, anchor, count, ids
from hermitcrab.prompting._tool_formats import hermes_tool_call, hermes_tools_block, json_tool_call
from hermitcrab.prompting._turns import (
    Owner,
    Piece,
    RenderContext,
    RenderedPrompt,
    RoleSpec,
    Step,
    ToolSchema,
    Turn,
    turn_of,
)

__all__ = ("PromptPipeline",)


@dataclass(frozen=True)
class PromptPipeline:
    """A declarative prompt format: steps over the turns, then a join and a generation prefix.

    Builder methods return a *new* pipeline (a pipeline is immutable, so one can be shared by engines
    and threads). Call it to get the prompt text; ``prompting/_counting.py`` explains the token counts.

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
            _labels=(*self._labels, label or str(getattr(fn, "__name__", repr(fn)))),
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
            {"hermes": hermes_tool_call, "json": json_tool_call}.get(fmt) if isinstance(fmt, str) else fmt
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
        turns = [turn_of(i, m) for i, m in enumerate(messages)]
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
        return ids(tokenizer, self(messages, tools, generation_prefix=generation_prefix))

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
        return count(tokenizer, rendered)

    def message_len(self, tokenizer: Any, message: Message) -> int:
        """Tokens that ``message`` adds to a prompt, measured in its steady-state position.

        The message is rendered after a short anchor history (a user message follows an exchange, an
        assistant message a user message, a tool result its call; an assistant message with tool calls
        is followed by results, since it never appears without them) and only its own tokens are
        counted. Equals its share of any prompt when the pipeline is additive (see the module docs).
        """
        before, after = anchor(message)
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


# -- helpers ---------------------------------------------------------------------------------------
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
    _strip_edge(pieces, turn.owner, range(len(pieces)), str.lstrip)
    _strip_edge(pieces, turn.owner, range(len(pieces) - 1, -1, -1), str.rstrip)
    return turn.with_pieces(pieces)


def _strip_edge(pieces: list[Piece], owner: Owner, order: range, strip: Callable[[str], str]) -> None:
    """Strip the plain-text pieces in ``order`` until one keeps some text or a piece has another owner."""
    for i in order:
        piece = pieces[i]
        if piece.owner != owner:
            return
        if piece.part is None:
            stripped = strip(piece.text)
            pieces[i] = replace(piece, text=stripped)
            if stripped:
                return


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
