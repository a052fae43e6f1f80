"""hermitcrab.testing: test doubles and test tools for applications built on hermitcrab.

Three kinds of help, for the tests of an agent (or of an engine of your own):

- :class:`ScriptedEngine`: a deterministic engine that plays scripted replies (raw model text with
  tool-call markup, ready messages, :class:`Fail` and :class:`Hang` for faults, or a function of the
  prompt), counts tokens with a fixed rule and records every request. No model, no torch.
- Tiny *real* models built offline in a fraction of a second (:func:`build_tiny_chat_model` with any
  chat template, :func:`build_tiny_base_model`), and :class:`ForcedTokensLogitsProcessor` to script
  what they say. They need the ``hf`` extra.
- :class:`EngineConformance`: the behaviour every :class:`~hermitcrab.Engine` must have, as checks to
  run against an engine of your own (the engines shipped here pass them).

Example::

    from hermitcrab import Conversation
    from hermitcrab.testing import ScriptedEngine

    engine = ScriptedEngine(['<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>', "3"])
    conv = Conversation(engine, tools=[add])
    assert (await conv.send("1 + 2?")).text == "3"
    assert engine.requests[1].messages[-1].role == "tool"
"""

from __future__ import annotations

from hermitcrab.testing._conformance import EngineConformance
from hermitcrab.testing._scripted import Fail, Hang, Reply, ReplyFunction, ScriptedEngine, ScriptedRequest
from hermitcrab.testing._tiny import (
    BASE_TEXT,
    END_OF_TURN,
    TOOL_TOKENS,
    ForcedTokensLogitsProcessor,
    build_tiny_base_model,
    build_tiny_chat_model,
    build_tiny_model,
    check_round_trip,
    train_tiny_tokenizer,
)

__all__ = (
    "BASE_TEXT",
    "END_OF_TURN",
    "TOOL_TOKENS",
    "EngineConformance",
    "Fail",
    "ForcedTokensLogitsProcessor",
    "Hang",
    "Reply",
    "ReplyFunction",
    "ScriptedEngine",
    "ScriptedRequest",
    "build_tiny_base_model",
    "build_tiny_chat_model",
    "build_tiny_model",
    "check_round_trip",
    "train_tiny_tokenizer",
)
