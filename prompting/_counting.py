"""Exact token counts of a rendered prompt, split by the message that owns each token.

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

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from hermitcrab.messages import Message, ToolCall
from hermitcrab.prompting._turns import Owner, RenderedPrompt

__all__ = ("PromptCounts", "anchor", "count", "ids")


@dataclass(frozen=True, slots=True)
class PromptCounts:
    """Exact token counts of one prompt: ``total == overhead + sum(per_message)``."""

    total: int
    per_message: tuple[int, ...]
    overhead: int
    """Tokens of format overhead: default system prompt, tool block, generation prefix, inserted turns."""


def anchor(message: Message) -> tuple[list[Message], list[Message]]:
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


def ids(tokenizer: Any, text: str) -> list[int]:
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


def count(tokenizer: Any, rendered: RenderedPrompt) -> PromptCounts:
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
            n = len(ids(tokenizer, text))
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
