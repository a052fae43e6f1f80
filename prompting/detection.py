"""Pick the tool-call parser that fits a chat template, offline, from the template's text.

Each rule names a format and the template fragments that identify it; rules are tried from the most
specific to the most generic (Qwen3-Coder templates also mention ``<tool_call>``, so they are checked
before Hermes). The fragments are the markup a template writes for past tool calls or asks the model
to write, so detection follows what the model was trained to emit.
"""

from __future__ import annotations

from hermitcrab.prompting.base import ToolCallParser
from hermitcrab.prompting.registry import get_parser

__all__ = ("detect_format", "detect_parser")

_RULES: tuple[tuple[str, tuple[tuple[str, ...], ...]], ...] = (
    # (format name, alternatives: each a tuple of fragments that must all appear), most specific first
    ("harmony", (("<|channel|>", "<|message|>"),)),
    ("kimi_k3", (("<|open|>", "<|sep|>", "argument"),)),
    ("step3", (("steptml:invoke",),)),
    ("deepseek_v4", (("DSML", "tool_calls>"),)),
    ("deepseek_v32", (("DSML", "invoke name="),)),
    ("deepseek_v3", (("tool▁calls▁begin", "```json"),)),
    ("deepseek_v31", (("tool▁calls▁begin",),)),
    ("seed_oss", (("<seed:tool_call>",),)),
    ("minimax_m2", (("<minimax:tool_call>",),)),
    ("kimi_k2", (("<|tool_calls_section_begin|>",), ("<|tool_call_begin|>",))),
    ("hy_v3", (("<tool_sep>", "<arg_key>"),)),
    ("glm4", (("<arg_key>", "<arg_value>"),)),
    ("qwen3_coder", (("<function=", "<parameter="),)),
    ("functionary_v32", ((">>>all",),)),
    ("functionary_v31", (("<function=", "</function>"),)),
    ("gemma4", (("<|tool_call>", "<tool_call|>"),)),
    ("functiongemma", (("<start_function_call>",),)),
    ("gigachat3", (("<|role_sep|>", "function call"), ("<|function_call|>",))),
    ("longcat", (("<longcat_tool_call>",),)),
    ("olmo3", (("<function_calls>",),)),
    ("command_r7b", (("<|START_ACTION|>",),)),
    ("command_r", (("Action:", "```json", "tool_name"),)),
    ("apertus", (("<|tools_prefix|>",),)),
    ("lfm2", (("<|tool_call_start|>",), ("<|tool_list_start|>",))),
    ("internlm2", (("<|action_start|>", "<|plugin|>"),)),
    ("nemotron", (("<TOOLCALL>",),)),
    ("minimax_m1", (("<tool_calls>", "<end_of_sentence>"),)),
    ("hunyuan", (("<tool_calls>",),)),
    ("mistral_v11", (("[TOOL_CALLS]", "[ARGS]"),)),
    ("mistral", (("[TOOL_CALLS]",),)),
    ("granite", (("<|tool_call|>",),)),
    ("granite_20b_fc", (("<function_call>",),)),
    ("firefunction", (("functools[", "<|start_header_id|>"),)),
    ("phi4_mini", (("functools[",),)),
    ("pythonic", (("[func_name1(",), ("<|python_start|>",), ("```tool_code",))),
    ("xlam", (('[{"name": "tool_call_name"',),)),
    ("hermes", (("<tool_call>",),)),
    ("llama3_json", (("<|python_tag|>",), ('"parameters": ', "<|start_header_id|>"))),
)
"""Each format's identifying fragments. Kept as data so a new family is one line."""

_NO_TOOLS = "plain"
"""Templates that never mention tools get the text-only parser."""


def detect_format(chat_template: str) -> str | None:
    """The registered format name that fits ``chat_template``, or ``None`` when none does."""
    for name, alternatives in _RULES:
        for fragments in alternatives:
            if all(fragment in chat_template for fragment in fragments):
                return name
    if "tool" not in chat_template and "function" not in chat_template:
        return _NO_TOOLS
    return None


def detect_parser(chat_template: str | None, *, default: str | None = "hermes") -> ToolCallParser | None:
    """A new parser for the format ``chat_template`` uses.

    When nothing in the template is recognised (or there is no template), returns
    ``get_parser(default)``, or ``None`` when ``default`` is ``None``.
    """
    name = detect_format(chat_template) if chat_template else None
    if name is None:
        name = default
    return get_parser(name) if name is not None else None
