"""hermitcrab.testing: the shipped test doubles, the tiny-model builder, and the old import paths."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

import hermitcrab
import hermitcrab.testing as testing
from hermitcrab.messages import Message


def test_the_scripted_engine_moved_to_hermitcrab_testing_and_stays_on_the_facade() -> None:
    assert hermitcrab.ScriptedEngine is testing.ScriptedEngine
    assert (hermitcrab.Fail, hermitcrab.Hang) == (testing.Fail, testing.Hang)
    assert testing.ScriptedEngine.__module__ == "hermitcrab.testing._scripted"


@pytest.mark.parametrize("name", ["ScriptedEngine", "Fail", "Hang", "Reply", "ScriptedRequest"])
def test_the_old_engines_imports_still_work_with_a_deprecation_warning(name: str) -> None:
    engines = importlib.import_module("hermitcrab.engines")
    with pytest.warns(DeprecationWarning, match=f"hermitcrab.engines.{name} moved to hermitcrab.testing"):
        assert getattr(engines, name) is getattr(testing, name)
    scripted = importlib.import_module("hermitcrab.engines.scripted")
    with pytest.warns(DeprecationWarning, match="moved to hermitcrab.testing"):
        assert getattr(scripted, name) is getattr(testing, name)


def test_names_that_never_existed_are_still_attribute_errors() -> None:
    with pytest.raises(AttributeError):
        importlib.import_module("hermitcrab.engines").NoSuchEngine  # noqa: B018
    with pytest.raises(AttributeError):
        importlib.import_module("hermitcrab.engines.scripted").NoSuchThing  # noqa: B018


def test_a_tiny_model_is_built_with_the_chat_template_it_is_given(tmp_path: Path) -> None:
    transformers = pytest.importorskip("transformers")
    template = "{% for m in messages %}<<{{ m.role }}>>{{ m.content }}{% endfor %}<<assistant>>"
    path = testing.build_tiny_chat_model(tmp_path / "m", chat_template=template)
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)
    assert tokenizer.chat_template == template
    rendered = tokenizer.apply_chat_template([Message.user("hi").to_dict()], tokenize=False)
    assert rendered == "<<user>>hi<<assistant>>"
    testing.check_round_trip(tokenizer)
    model = transformers.AutoModelForCausalLM.from_pretrained(path)
    assert model.config.model_type == "qwen2"
