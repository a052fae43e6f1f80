"""A model family is one class: its declarations drive get_parser, detection and constrained decoding.

The built-in families and a family of the user's own go through the same registry, so a user's class,
registered with one decorator, is found by name, detected from a chat template and constrained with
its grammar exactly like the built-in ones.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

from hermitcrab.errors import ConfigurationError
from hermitcrab.messages import Message
from hermitcrab.prompting import (
    Block,
    MarkupParser,
    TemplateMarkers,
    ToolCallParser,
    detect_format,
    detect_parser,
    get_parser,
    json_calls,
    parser_names,
    register_parser,
    unregister_parser,
)
from hermitcrab.prompting._families import HermesParser
from hermitcrab.prompting.templates import CHATML_HERMES_TEMPLATE

ACME_TEMPLATE = CHATML_HERMES_TEMPLATE + "{#- tools are announced with <|acme_tools|> -#}"
"""A ChatML template with Hermes calls and a marker of its own (as a fine-tune's template might be)."""


class AcmeParser(MarkupParser):
    """A user's family: Hermes-style JSON calls, recognised by its own template marker."""

    name: ClassVar[str] = "acme"
    aliases: ClassVar[tuple[str, ...]] = ("acme-2",)
    template_markers: ClassVar[TemplateMarkers] = ("<|acme_tools|>",)
    grammar: ClassVar[str | None] = "hermes"
    stop_markers: ClassVar[tuple[str, ...]] = ("<|im_end|>",)
    blocks: ClassVar[tuple[Block, ...]] = (
        Block("<tool_call>", "calls", end=("</tool_call>",), decode=json_calls, lenient=True),
    )


@pytest.fixture
def acme() -> Iterator[type[AcmeParser]]:
    """AcmeParser registered for one test (the registry is process-wide)."""
    register_parser(AcmeParser)
    try:
        yield AcmeParser
    finally:
        unregister_parser(AcmeParser)


def test_a_family_of_your_own_is_found_by_its_names_and_detected(acme: type[AcmeParser]) -> None:
    assert isinstance(get_parser("acme"), AcmeParser)
    assert isinstance(get_parser("ACME_2"), AcmeParser)
    assert {"acme", "acme_2"} <= set(parser_names())
    # Its template also writes Hermes' <tool_call>: the family registered last wins the tie.
    assert detect_format(ACME_TEMPLATE) == "acme"
    assert detect_format(CHATML_HERMES_TEMPLATE) == "hermes"
    parser = detect_parser(ACME_TEMPLATE)
    assert isinstance(parser, AcmeParser)
    message = parser.parse('Sure.<tool_call>{"name": "f", "arguments": {"x": 1}}</tool_call>')
    assert (message.text, message.tool_calls[0].name, message.tool_calls[0].arguments) == (
        "Sure.",
        "f",
        {"x": 1},
    )


def test_unregistering_a_family_forgets_its_names_and_markers(acme: type[AcmeParser]) -> None:
    unregister_parser(acme)
    assert "acme" not in parser_names()
    assert detect_format(ACME_TEMPLATE) == "hermes"
    with pytest.raises(ConfigurationError, match="unknown tool-call parser"):
        get_parser("acme")


def test_register_parser_is_a_class_decorator_with_or_without_arguments() -> None:
    @register_parser
    class Plain1(MarkupParser):
        name: ClassVar[str] = "test-decorated-1"

    @register_parser(names=("test-decorated-2b",))
    class Plain2(MarkupParser):
        name: ClassVar[str] = "test-decorated-2"

    try:
        assert isinstance(get_parser("test-decorated-1"), Plain1)
        assert isinstance(get_parser("test-decorated-2b"), Plain2)
    finally:
        unregister_parser(Plain1)
        unregister_parser(Plain2)


def test_family_declarations_are_not_inherited_but_behaviour_is() -> None:
    class Hermes2(HermesParser):
        name: ClassVar[str] = "test-hermes-2"

    register_parser(Hermes2)  # HermesParser's aliases are not claimed a second time
    try:
        assert type(get_parser("test-hermes-2")) is Hermes2
        assert type(get_parser("qwen3")) is HermesParser
        assert detect_format("{{ '<tool_call>' }}") == "hermes"  # nor its template markers
        assert Hermes2.grammar == "hermes"  # behaviour (grammar, blocks, stop markers) is inherited
        assert Hermes2.stop_markers == HermesParser.stop_markers
    finally:
        unregister_parser(Hermes2)


@pytest.mark.parametrize(
    ("attribute", "value", "message"),
    [
        ("template_markers", "<x>", "template_markers must be a tuple"),
        ("template_markers", (("<x>", ""),), "non-empty string"),
        ("template_markers", (3,), "non-empty string"),
        ("aliases", "x", "aliases must be a tuple"),
        ("detect_priority", "high", "detect_priority must be an int"),
        ("grammar", "", "grammar must be a grammar name"),
    ],
)
def test_malformed_family_declarations_are_refused(attribute: str, value: Any, message: str) -> None:
    cls = type("Bad", (MarkupParser,), {"name": "test-bad-family", attribute: value})
    with pytest.raises(ConfigurationError, match=message):
        register_parser(cls)
    assert "test_bad_family" not in parser_names()


def test_every_built_in_family_declares_itself_on_its_class() -> None:
    from hermitcrab.prompting import _families

    for cls_name in _families.__all__:
        cls = getattr(_families, cls_name)
        assert issubclass(cls, ToolCallParser)
        assert cls.name, cls_name
        assert type(get_parser(cls.name)) is cls, cls_name
        for alias in cls.__dict__.get("aliases", ()):
            assert type(get_parser(alias)) is cls, alias


# -- constrained like ours ------------------------------------------------------------------------------
def test_the_constraint_takes_the_grammar_and_stop_markers_from_the_family(acme: type[AcmeParser]) -> None:
    pytest.importorskip("xgrammar")
    transformers = pytest.importorskip("transformers")
    from hermitcrab.engines._constrained import ToolCallConstraint, constrained_formats

    assert "acme" in constrained_formats() and "acme_2" in constrained_formats()
    assert "hermes" in constrained_formats() and "mistral" not in constrained_formats()
    assert "deepseek_v4" not in constrained_formats()  # a subclass of deepseek_v32 that turns it off

    class Unregistered(AcmeParser):
        name: ClassVar[str] = "test-unregistered"

    tokenizer: Any = transformers.PreTrainedTokenizerFast(
        tokenizer_object=_tiny_tokenizer(), eos_token="<|im_end|>"
    )
    by_name = ToolCallConstraint(tokenizer, "acme-2")
    by_class = ToolCallConstraint(tokenizer, Unregistered())
    assert (by_name.format, by_class.format) == ("acme_2", "test_unregistered")
    assert by_name._stop_markers() == ("<|im_end|>",)
    with pytest.raises(ConfigurationError, match="no tool-call grammar"):
        ToolCallConstraint(tokenizer, "mistral")


def _tiny_tokenizer() -> Any:
    from hermitcrab.testing import train_tiny_tokenizer

    return train_tiny_tokenizer()


@pytest.fixture
def acme_model(tmp_path: Path) -> Path:
    """A tiny real model whose chat template is ACME_TEMPLATE (built outside the event loop)."""
    pytest.importorskip("xgrammar")
    pytest.importorskip("transformers")
    from hermitcrab.testing import build_tiny_chat_model

    return build_tiny_chat_model(tmp_path / "acme", chat_template=ACME_TEMPLATE)


@pytest.mark.anyio
async def test_a_family_of_your_own_is_detected_and_constrained_by_the_engine(
    acme: type[AcmeParser], acme_model: Path
) -> None:
    from hermitcrab.engines import HuggingEngine
    from hermitcrab.events import GenerationOptions

    model = acme_model
    weather = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"enum": ["Paris", "Oslo"]}},
                "required": ["city"],
            },
        },
    }
    async with HuggingEngine(model, constrained=True, max_whitespace=1, parallel_tool_calls=False) as engine:
        assert isinstance(engine.parser, AcmeParser)
        assert engine.constraint.format == "acme"
        options = GenerationOptions(max_new_tokens=40, tool_choice="required", temperature=1.0, seed=3)
        completion = await engine.generate([Message.user("Weather?")], tools=[weather], options=options)
    (call,) = completion.message.tool_calls
    assert call.error is None
    assert call.name == "get_weather" and call.arguments["city"] in ("Paris", "Oslo")


def test_the_built_in_classes_are_not_exported_but_old_imports_still_work_with_a_warning() -> None:
    import hermitcrab.prompting as prompting

    assert {name for name in prompting.__all__ if name.endswith("Parser")} == {
        "MarkupParser",
        "ToolCallParser",
    }
    with pytest.warns(DeprecationWarning, match=r"get_parser\('hermes'\)"):
        cls = prompting.HermesParser
    assert cls is HermesParser
    with pytest.raises(AttributeError):
        prompting.NoSuchParser  # noqa: B018
