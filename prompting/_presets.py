"""Prompt pipelines for well-known formats without a usable chat template: ChatML (with Hermes tool
calls), Llama 2 chat and Vicuna v1.1. Each renders exactly what its reference renders (see each
docstring) and names the parser that reads its replies."""

from __future__ import annotations

from hermitcrab.prompting._pipeline import PromptPipeline
from hermitcrab.prompting._tool_formats import hermes_tools_block, plain_tools_block

__all__ = ("VICUNA_SYSTEM", "chatml_pipeline", "llama2_pipeline", "vicuna_pipeline")


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
        .tools_block(plain_tools_block, sep="\n\n")
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
        .tools_block(plain_tools_block, sep="\n\n")
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
