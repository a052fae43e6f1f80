"""Every engine in this repository passes hermitcrab.testing's engine conformance suite, and the suite
fails engines that break the Engine interface's promises."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import anyio
import pytest

from hermitcrab.engines import Engine, ToolSchema
from hermitcrab.errors import EngineError
from hermitcrab.events import Completion, EngineEvent, GenerationOptions, TextDelta, Usage
from hermitcrab.messages import Message
from hermitcrab.testing import EngineConformance, Fail, ScriptedEngine

CHECKS = EngineConformance.checks()
LONG_STORY = " ".join(f"word{i}" for i in range(400))
FAIL_PROMPT = [Message.user("please fail")]


def test_the_suite_has_the_checks_the_interface_promises() -> None:
    assert CHECKS == [
        "check_cancelling_the_consumer_stops_the_reply",
        "check_close_mid_reply_raises_conversation_closed_error",
        "check_closing_the_stream_early_stops_the_reply",
        "check_counts_tokens",
        "check_errors_are_engine_errors",
        "check_generate_returns_the_completion",
        "check_serves_several_streams_at_once",
        "check_stream_ends_with_one_completion",
        "check_usage_is_reported",
    ]


# -- ScriptedEngine ----------------------------------------------------------------------------------
class ScriptedConformance(EngineConformance):
    async def make_engine(self) -> Engine:
        def reply(messages: Sequence[Message], tools: Sequence[ToolSchema]) -> Any:
            if messages[-1].text == "please fail":
                return Fail(EngineError("scripted failure"), after="Once upon")
            return LONG_STORY

        return ScriptedEngine(reply, chunk_size=4)

    async def failing_request(self, engine: Engine) -> tuple[Sequence[Message], GenerationOptions]:
        return FAIL_PROMPT, self.options


@pytest.mark.anyio
@pytest.mark.parametrize("check", CHECKS)
async def test_scripted_engine_conforms(check: str) -> None:
    await ScriptedConformance().run(check)


# -- HuggingEngine -----------------------------------------------------------------------------------
class _Slow:
    """A pass-through logits processor that slows every decoding step (a reply long enough to
    interrupt), or raises (a failing generation)."""

    def __init__(self, delay: float = 0.0, fail: bool = False) -> None:
        self.delay = delay
        self.fail = fail

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.fail:
            raise RuntimeError("a logits processor failed")
        threading.Event().wait(self.delay)
        return scores


class HuggingConformance(EngineConformance):
    def __init__(self, model: Path) -> None:
        self.model = model
        self.options = GenerationOptions(max_new_tokens=8, temperature=0)

    async def make_engine(self) -> Engine:
        from hermitcrab.engines import HuggingEngine

        engine = HuggingEngine(self.model)
        free = {"suppress_tokens": sorted(engine.end_token_ids)}  # keep going until interrupted
        self.long_options = GenerationOptions(
            max_new_tokens=2000, extra={"logits_processor": [_Slow(0.005)], **free}
        )
        return engine

    async def failing_request(self, engine: Engine) -> tuple[Sequence[Message], GenerationOptions]:
        return self.messages, GenerationOptions(
            max_new_tokens=4, extra={"logits_processor": [_Slow(fail=True)]}
        )


@pytest.fixture(scope="module")
def chat_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("transformers")
    from hermitcrab.testing import build_tiny_chat_model

    return build_tiny_chat_model(tmp_path_factory.mktemp("conformance") / "chat")


@pytest.mark.anyio
@pytest.mark.parametrize("check", CHECKS)
async def test_hugging_engine_conforms(check: str, chat_model: Path) -> None:
    await HuggingConformance(chat_model).run(check)


# -- OpenAIEngine ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def chat_server() -> Iterator[Any]:
    pytest.importorskip("httpx")
    from openai_server import ChatServer

    with ChatServer() as server:
        yield server


class OpenAIConformance(EngineConformance):
    exact_usage = False  # the server counts
    messages = (Message.user(" ".join(f"w{i}" for i in range(40))),)
    long_options = GenerationOptions(max_new_tokens=64, extra={"echo_delay": 0.05})

    def __init__(self, server: Any) -> None:
        self.server = server

    async def make_engine(self) -> Engine:
        from hermitcrab.engines import OpenAIEngine

        return OpenAIEngine(self.server.base_url, "tiny-test-model", max_retries=0, backoff=0.001)

    async def failing_request(self, engine: Engine) -> tuple[Sequence[Message], GenerationOptions]:
        from openai_server import Status

        self.server.script(Status(400, '{"error": {"message": "bad request"}}'))
        return self.messages, self.options


@pytest.mark.anyio
@pytest.mark.parametrize("check", CHECKS)
async def test_openai_engine_conforms(check: str, chat_server: Any) -> None:
    chat_server.reset()
    await OpenAIConformance(chat_server).run(check)


# -- the suite can fail ------------------------------------------------------------------------------
class _Careless(Engine):
    """Breaks promises on request: a Completion in the middle, close() ignored, raw errors."""

    max_context_size = 1000

    def __init__(self, *, early_completion: bool = False) -> None:
        self.early_completion = early_completion
        self._closed = False

    def message_len(self, message: Message) -> int:
        return 1 + len(message.text.split())

    def prompt_len(self, messages: Sequence[Message], tools: Sequence[ToolSchema] = ()) -> int:
        return 2 + sum(self.message_len(m) for m in messages)

    async def stream(
        self,
        messages: Sequence[Message],
        *,
        tools: Sequence[ToolSchema] = (),
        options: GenerationOptions = GenerationOptions(),
    ) -> AsyncIterator[EngineEvent]:
        if messages[-1].text == "please fail":
            raise RuntimeError("not an EngineError")
        usage = Usage(self.prompt_len(messages), 3, 0, 1)
        for word in ("never", "stops", "talking"):
            await anyio.sleep(0.01)
            yield TextDelta(word)
            if self.early_completion:
                yield Completion(Message.assistant(word), usage)
        yield Completion(Message.assistant("neverstopstalking"), usage)


class CarelessConformance(EngineConformance):
    def __init__(self, **kwargs: Any) -> None:
        self.kwargs = kwargs

    async def make_engine(self) -> Engine:
        return _Careless(**self.kwargs)

    async def failing_request(self, engine: Engine) -> tuple[Sequence[Message], GenerationOptions]:
        return FAIL_PROMPT, self.options


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("check", "kwargs", "broken"),
    [
        ("check_stream_ends_with_one_completion", {"early_completion": True}, "exactly one Completion"),
        ("check_close_mid_reply_raises_conversation_closed_error", {}, "must raise ConversationClosedError"),
        ("check_errors_are_engine_errors", {}, "must raise EngineError"),
    ],
)
async def test_the_suite_fails_an_engine_that_breaks_a_promise(
    check: str, kwargs: dict[str, Any], broken: str
) -> None:
    with pytest.raises(AssertionError, match=broken):
        await CarelessConformance(**kwargs).run(check)
    await CarelessConformance().run("check_usage_is_reported")  # the promises it keeps pass


@pytest.mark.anyio
async def test_an_unknown_check_is_refused() -> None:
    with pytest.raises(ValueError, match="no check named"):
        await ScriptedConformance().run("check_nothing")
