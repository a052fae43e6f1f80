"""The chat web app (``examples/web_app``): its HTTP API, on the ASGI app and on uvicorn over loopback.

Most tests run a :class:`ScriptedEngine` that answers by the user's words (``tests/web_app_server.py``):
fast and deterministic, with hangs and failures on cue. Streaming behaviour that needs a real socket
(a client that disconnects, two rounds at once, a server killed mid-round) runs against uvicorn on
127.0.0.1; one server serves the whole module. The last tests run the real demo model, through the
``python -m web_app`` command that ``make web`` runs.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
sys.path.insert(0, str(EXAMPLES))
pytest.importorskip("fastapi", reason="the web extra is not installed: pip install -e '.[web]'")

from httpx_sse import EventSource, ServerSentEvent, aconnect_sse  # noqa: E402
from weather_bot import get_weather  # noqa: E402
from web_app.app import UNKNOWN_ID  # noqa: E402
from web_app_server import FAIL_TEXT, HANG_TEXT, scenario_app, scenario_engine, serve_in_thread  # noqa: E402

from hermitcrab import ScriptedEngine  # noqa: E402

DEMO_MODEL = EXAMPLES / "demo_model" / "model"

Event = tuple[str, dict[str, Any]]


# -- helpers ---------------------------------------------------------------------------------------
async def new_conversation(client: httpx.AsyncClient) -> str:
    response = await client.post("/conversations")
    assert response.status_code == 201, response.text
    return response.json()["id"]


async def run_round(client: httpx.AsyncClient, conversation_id: str, text: str) -> list[Event]:
    """POST a message and collect its server-sent events as ``(event name, data)``."""
    async with aconnect_sse(
        client, "POST", f"/conversations/{conversation_id}/messages", json={"text": text}
    ) as source:
        assert source.response.status_code == 200
        assert source.response.headers["content-type"].startswith("text/event-stream")
        return [(sse.event, json.loads(sse.data)) async for sse in source.aiter_sse()]


async def history(client: httpx.AsyncClient, conversation_id: str) -> list[tuple[str, Any]]:
    response = await client.get(f"/conversations/{conversation_id}")
    assert response.status_code == 200, response.text
    return [(m["role"], m["content"]) for m in response.json()["messages"]]


async def read_until(source: EventSource, stop: Callable[[ServerSentEvent], bool]) -> list[Event]:
    """Read events until ``stop(event)`` is true, then stop reading (the connection stays open until
    the caller leaves ``aconnect_sse``). Cancelling, rather than ``break``, unwinds httpx's chain of
    async generators at once, which trio insists on."""
    events: list[Event] = []
    with anyio.CancelScope() as scope:
        async for sse in source.aiter_sse():
            events.append((sse.event, json.loads(sse.data)))
            if stop(sse):
                scope.cancel()
    return events


def texts(events: list[Event]) -> str:
    return "".join(data["text"] for name, data in events if name == "text_delta")


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "conversations"


@pytest.fixture
async def asgi(folder: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app itself (no socket), on the test's own event loop (asyncio or trio)."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(scenario_app(folder)), base_url="http://app"
    ) as client:
        yield client


@pytest.fixture(scope="module")
def served_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("served") / "conversations"


@pytest.fixture(scope="module")
def served_engine() -> ScriptedEngine:
    return scenario_engine()


@pytest.fixture(scope="module")
def server(served_folder: Path, served_engine: ScriptedEngine) -> Iterator[str]:
    """The scenario app under uvicorn on 127.0.0.1, one for the whole module."""
    with serve_in_thread(scenario_app(served_folder, served_engine)) as url:
        yield url


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server, timeout=20) as client:
        yield client


# -- the API on the ASGI app --------------------------------------------------------------------------
@pytest.mark.anyio
async def test_a_round_streams_its_events_in_order_then_done(asgi: httpx.AsyncClient) -> None:
    conversation_id = await new_conversation(asgi)
    events = await run_round(asgi, conversation_id, "weather in Oslo")
    names = [name for name, _ in events]
    first_text = names.index("text_delta")
    assert names[:first_text] == ["message", "tool_call", "message", "tool_result", "message"]
    assert set(names[first_text:-2]) == {"text_delta"} and len(names[first_text:-2]) > 1
    assert names[-2:] == ["message", "done"]

    result = get_weather("Oslo")
    assert events[0][1]["message"] == {
        **events[0][1]["message"],
        "role": "user",
        "content": "weather in Oslo",
    }
    call = events[1][1]["call"]
    assert (call["name"], call["arguments"]) == ("get_weather", {"city": "Oslo"})
    assert events[3][1]["message"]["content"] == result
    assert events[3][1]["call"]["id"] == call["id"] == events[3][1]["message"]["tool_call_id"]
    assert texts(events) == f"Here you go: {result}." == events[-2][1]["message"]["content"]
    done = events[-1][1]
    assert done["finish_reason"] == "stop"
    assert done["usage"]["requests"] == 2 and done["usage"]["completion_tokens"] > 0


@pytest.mark.anyio
async def test_events_carry_increasing_ids(server: str) -> None:
    async with httpx.AsyncClient(base_url=server) as client:
        conversation_id = await new_conversation(client)
        async with aconnect_sse(
            client, "POST", f"/conversations/{conversation_id}/messages", json={"text": "hello"}
        ) as source:
            ids = [int(sse.id) async for sse in source.aiter_sse()]
    assert ids == list(range(1, len(ids) + 1))


@pytest.mark.anyio
async def test_history_holds_each_committed_round(asgi: httpx.AsyncClient) -> None:
    conversation_id = await new_conversation(asgi)
    assert await history(asgi, conversation_id) == []
    await run_round(asgi, conversation_id, "hello")
    await run_round(asgi, conversation_id, "weather in Lima")
    roles = [role for role, _ in await history(asgi, conversation_id)]
    assert roles == ["user", "assistant", "user", "assistant", "tool", "assistant"]
    body = (await asgi.get(f"/conversations/{conversation_id}")).json()
    assert body["id"] == conversation_id and body["usage"]["requests"] == 3


@pytest.mark.anyio
async def test_conversation_ids_are_unguessable_and_distinct(asgi: httpx.AsyncClient) -> None:
    ids = {await new_conversation(asgi) for _ in range(5)}
    assert len(ids) == 5
    assert all(len(i) == 22 for i in ids)  # 128 random bits, URL-safe


@pytest.mark.anyio
async def test_a_failed_round_ends_with_an_error_event_and_changes_nothing(
    asgi: httpx.AsyncClient, folder: Path
) -> None:
    conversation_id = await new_conversation(asgi)
    await run_round(asgi, conversation_id, "hello")
    saved = (folder / f"{conversation_id}.json").read_bytes()
    events = await run_round(asgi, conversation_id, "fail")
    assert events[0][0] == "message"
    assert texts(events) == FAIL_TEXT
    assert events[-1] == ("error", {"error": "EngineError", "detail": events[-1][1]["detail"]})
    assert "the model fell over" in events[-1][1]["detail"]
    assert "done" not in [name for name, _ in events]
    assert await history(asgi, conversation_id) == [("user", "hello"), ("assistant", "You said: hello")]
    assert (folder / f"{conversation_id}.json").read_bytes() == saved


@pytest.mark.anyio
async def test_restarting_the_app_keeps_every_committed_round(folder: Path) -> None:
    first = scenario_app(folder)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(first), base_url="http://a") as client:
        conversation_id = await new_conversation(client)
        await run_round(client, conversation_id, "weather in Kyiv")
        before = await history(client, conversation_id)
    engine = scenario_engine()
    second = scenario_app(folder, engine)  # a new process would see exactly this: files only
    async with httpx.AsyncClient(transport=httpx.ASGITransport(second), base_url="http://b") as client:
        assert await history(client, conversation_id) == before
        await run_round(client, conversation_id, "thanks")
        assert len(await history(client, conversation_id)) == len(before) + 2
    assert len(engine.requests[0].messages) == 1 + len(before) + 1  # system, the old rounds, the new message


@pytest.mark.anyio
async def test_delete_removes_the_conversation_and_its_file(asgi: httpx.AsyncClient, folder: Path) -> None:
    conversation_id = await new_conversation(asgi)
    assert (folder / f"{conversation_id}.json").is_file()
    assert (await asgi.delete(f"/conversations/{conversation_id}")).status_code == 204
    assert not (folder / f"{conversation_id}.json").exists()
    assert (await asgi.get(f"/conversations/{conversation_id}")).status_code == 404
    assert (await asgi.delete(f"/conversations/{conversation_id}")).status_code == 404


@pytest.mark.anyio
async def test_the_page_is_served_at_the_root(asgi: httpx.AsyncClient) -> None:
    response = await asgi.get("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<script>" in response.text and "/conversations" in response.text


# -- bad input: a clear error, and nothing changes ------------------------------------------------------
def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


@pytest.mark.anyio
async def test_unknown_ids_get_404(asgi: httpx.AsyncClient, folder: Path) -> None:
    await new_conversation(asgi)
    before = snapshot(folder)
    unknown = "A" * 22  # well-formed, never created
    for method, path, body in [
        ("GET", f"/conversations/{unknown}", None),
        ("POST", f"/conversations/{unknown}/messages", {"text": "hi"}),
        ("DELETE", f"/conversations/{unknown}", None),
    ]:
        response = await asgi.request(method, path, json=body)
        assert response.status_code == 404, (method, response.text)
        assert response.json() == {"detail": UNKNOWN_ID}
    assert snapshot(folder) == before


async def raw_status(
    server: str, method: str, target: str, body: bytes = b"", *, chunked: bool = False
) -> int:
    """Send one request with its target exactly as written (clients such as httpx and browsers
    resolve ``..`` before sending; an attacker does not) and return the response's status code."""
    host, port = server.removeprefix("http://").split(":")
    request = (
        f"{method} {target} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {len(body)}\r\n")
        + "Connection: close\r\n\r\n"
    ).encode() + body
    async with await anyio.connect_tcp(host, int(port)) as stream:
        await stream.send(request)
        reply = b""
        with anyio.fail_after(10):
            while b"\r\n" not in reply:
                reply += await stream.receive()
    return int(reply.split(b" ", 2)[1])


@pytest.mark.anyio
@pytest.mark.parametrize(
    "bad_id",
    [
        "..",
        "../..",
        "..%2F..%2Fsecret",
        "%2E%2E%2Fsecret",
        "..%5C..%5Csecret",
        ".hidden-file-name-is-22",
        "a" * 21,
        "a" * 23,
        "secret.json",
        "%00" * 22,
    ],
)
async def test_ids_that_could_name_another_file_are_refused(
    server: str, served_folder: Path, http: httpx.AsyncClient, bad_id: str
) -> None:
    outside = served_folder.parent / "secret.json"
    outside.write_text('{"format": "hermitcrab.conversation", "version": 1, "history": []}')
    conversation_id = await new_conversation(http)
    before = snapshot(served_folder)
    for method, suffix, body in [
        ("GET", "", b""),
        ("POST", "/messages", b'{"text": "hi"}'),
        ("DELETE", "", b""),
    ]:
        status = await raw_status(server, method, f"/conversations/{bad_id}{suffix}", body)
        assert status in (404, 422), (bad_id, method, status)
    assert snapshot(served_folder) == before
    assert outside.read_text().startswith('{"format"')
    assert await history(http, conversation_id) == []


def test_the_store_never_maps_an_id_outside_its_folder(folder: Path) -> None:
    from web_app.store import ConversationStore, UnknownConversationError

    store = ConversationStore(ScriptedEngine(), folder)
    for bad_id in ["..", "../secret", "a/b", "/etc/passwd", "x" * 21 + "/", "." * 22, "a" * 21 + "\n"]:
        with pytest.raises(UnknownConversationError):
            store.path(bad_id)
    assert store.path("A" * 22) == folder.resolve() / f"{'A' * 22}.json"


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("content", "headers"),
    [
        (b'{"text": "hi"', {"content-type": "application/json"}),  # not JSON
        (b"[1, 2]", {"content-type": "application/json"}),  # not an object
        (b"{}", {"content-type": "application/json"}),  # no text
        (b'{"text": 42}', {"content-type": "application/json"}),
        (b'{"text": "   "}', {"content-type": "application/json"}),  # nothing to say
        (b'{"text": "hi", "role": "system"}', {"content-type": "application/json"}),  # unknown field
        (json.dumps({"text": "x" * 8001}).encode(), {"content-type": "application/json"}),  # too long
    ],
)
async def test_malformed_messages_get_422_and_change_nothing(
    asgi: httpx.AsyncClient, folder: Path, content: bytes, headers: dict[str, str]
) -> None:
    conversation_id = await new_conversation(asgi)
    before = snapshot(folder)
    response = await asgi.post(f"/conversations/{conversation_id}/messages", content=content, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]
    assert snapshot(folder) == before
    assert await history(asgi, conversation_id) == []


@pytest.mark.anyio
async def test_oversized_bodies_get_413(asgi: httpx.AsyncClient, folder: Path) -> None:
    conversation_id = await new_conversation(asgi)
    before = snapshot(folder)
    big = json.dumps({"text": "x" * 70_000}).encode()
    url = f"/conversations/{conversation_id}/messages"
    response = await asgi.post(url, content=big, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert snapshot(folder) == before
    assert await history(asgi, conversation_id) == []


@pytest.mark.anyio
async def test_oversized_chunked_bodies_get_413_too(
    server: str, served_folder: Path, http: httpx.AsyncClient
) -> None:
    conversation_id = await new_conversation(http)
    before = snapshot(served_folder)
    big = json.dumps({"text": "x" * 70_000}).encode()
    # No Content-Length: the body is counted as it arrives.
    chunked = b"".join(
        b"%x\r\n%s\r\n" % (len(big[i : i + 8192]), big[i : i + 8192]) for i in range(0, len(big), 8192)
    )
    target = f"/conversations/{conversation_id}/messages"
    status = await raw_status(server, "POST", target, chunked + b"0\r\n\r\n", chunked=True)
    assert status == 413
    assert snapshot(served_folder) == before
    assert await history(http, conversation_id) == []


@pytest.mark.anyio
async def test_a_token_keeps_everyone_else_out(folder: Path) -> None:
    app = scenario_app(folder, token="s3cret-token")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://app") as client:
        for headers in [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret-token"}]:
            response = await client.post("/conversations", headers=headers)
            assert response.status_code == 401, headers
            assert response.headers["www-authenticate"] == "Bearer"
        assert not folder.exists() or list(folder.iterdir()) == []
        good = {"Authorization": "Bearer s3cret-token"}
        conversation_id = (await client.post("/conversations", headers=good)).json()["id"]
        assert (await client.get(f"/conversations/{conversation_id}")).status_code == 401
        stranger = await client.post(f"/conversations/{conversation_id}/messages", json={"text": "hi"})
        assert stranger.status_code == 401
        assert (await client.get(f"/conversations/{conversation_id}", headers=good)).json()["messages"] == []
        assert (await client.get("/")).status_code == 200  # the page itself holds nothing secret


# -- streaming over a real socket ---------------------------------------------------------------------
@pytest.mark.anyio
async def test_a_client_that_disconnects_cancels_its_round(http: httpx.AsyncClient) -> None:
    conversation_id = await new_conversation(http)
    await run_round(http, conversation_id, "hello")
    async with aconnect_sse(
        http, "POST", f"/conversations/{conversation_id}/messages", json={"text": "hang"}
    ) as source:
        events = await read_until(source, lambda sse: sse.event == "text_delta")
    # Leaving the block closed the connection mid-round.
    assert texts(events) and HANG_TEXT.startswith(texts(events))
    # The hung round held the conversation: a new round can only run once it has been cancelled.
    with anyio.fail_after(10):
        events = await run_round(http, conversation_id, "after")
    assert texts(events) == "You said: after"
    assert await history(http, conversation_id) == [
        ("user", "hello"),
        ("assistant", "You said: hello"),
        ("user", "after"),
        ("assistant", "You said: after"),
    ]


@pytest.mark.anyio
async def test_two_messages_to_one_conversation_queue_and_never_interleave(
    http: httpx.AsyncClient, served_engine: ScriptedEngine
) -> None:
    conversation_id = await new_conversation(http)
    one, two = f"slow one {conversation_id}", f"slow two {conversation_id}"  # unique in the shared engine
    results: dict[str, list[Event]] = {}
    times: dict[str, float] = {}
    first_started = anyio.Event()

    async def first() -> None:
        async with aconnect_sse(
            http, "POST", f"/conversations/{conversation_id}/messages", json={"text": one}
        ) as source:
            results["one"] = []
            async for sse in source.aiter_sse():
                results["one"].append((sse.event, json.loads(sse.data)))
                if sse.event == "text_delta":
                    first_started.set()
            times["one done"] = time.monotonic()

    async def second() -> None:
        await first_started.wait()
        times["two sent"] = time.monotonic()
        results["two"] = await run_round(http, conversation_id, two)

    with anyio.fail_after(20):
        async with anyio.create_task_group() as tg:
            tg.start_soon(first)
            tg.start_soon(second)
    assert times["two sent"] < times["one done"]  # the second message came in during the first round
    assert texts(results["one"]) == f"{one} " * 20
    assert texts(results["two"]) == f"{two} " * 20
    assert await history(http, conversation_id) == [
        ("user", one),
        ("assistant", f"{one} " * 20),
        ("user", two),
        ("assistant", f"{two} " * 20),
    ]
    # The model saw the second message only with the first round complete before it.
    (request,) = [r for r in served_engine.requests if r.messages[-1].text == two]
    assert [m.text for m in request.messages[-3:]] == [one, f"{one} " * 20, two]


@pytest.mark.anyio
async def test_rounds_of_different_conversations_run_at_the_same_time(http: httpx.AsyncClient) -> None:
    hung, other = await new_conversation(http), await new_conversation(http)
    async with aconnect_sse(http, "POST", f"/conversations/{hung}/messages", json={"text": "hang"}) as source:
        await read_until(source, lambda sse: sse.event == "text_delta")
        with anyio.fail_after(10):  # the hung round blocks only its own conversation
            assert texts(await run_round(http, other, "hi")) == "You said: hi"


@pytest.mark.anyio
async def test_deleting_a_conversation_cancels_its_running_round(http: httpx.AsyncClient) -> None:
    conversation_id = await new_conversation(http)
    events: list[str] = []
    async with aconnect_sse(
        http, "POST", f"/conversations/{conversation_id}/messages", json={"text": "hang"}
    ) as source:
        async for sse in source.aiter_sse():
            events.append(sse.event)
            if sse.event == "text_delta" and "deleted" not in events:
                events.append("deleted")
                with anyio.fail_after(10):
                    assert (await http.delete(f"/conversations/{conversation_id}")).status_code == 204
            if sse.event == "error":
                assert json.loads(sse.data)["error"] == "ConversationDeleted"
    assert events[-1] == "error"
    assert (await http.get(f"/conversations/{conversation_id}")).status_code == 404


def test_a_server_killed_mid_round_loses_only_that_round(folder: Path) -> None:
    folder.mkdir(parents=True)
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "web_app_server.py"), str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    timer = threading.Timer(60, proc.kill)  # never hang the suite
    timer.start()
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().split()[-1]
        with httpx.Client(base_url=url, timeout=20) as client:
            for _ in range(100):  # the socket is bound before uvicorn accepts on it
                try:
                    conversation_id = client.post("/conversations").json()["id"]
                    break
                except httpx.TransportError:
                    threading.Event().wait(0.05)
            done = client.post(f"/conversations/{conversation_id}/messages", json={"text": "one"})
            assert "event: done" in done.text
            with client.stream(
                "POST", f"/conversations/{conversation_id}/messages", json={"text": "hang"}
            ) as response:
                for line in response.iter_lines():
                    if line.startswith("event: text_delta"):
                        proc.send_signal(signal.SIGKILL)  # no shutdown, no cleanup
                        break
        proc.wait(timeout=10)
    finally:
        timer.cancel()
        proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()

    async def reopen() -> list[tuple[str, Any]]:
        app = scenario_app(folder)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://app") as client:
            return await history(client, conversation_id)

    assert anyio.run(reopen) == [("user", "one"), ("assistant", "You said: one")]


# -- the real demo model -----------------------------------------------------------------------------
needs_demo_model = pytest.mark.skipif(
    not (DEMO_MODEL / "model.safetensors").is_file(), reason="the demo model is missing"
)


@needs_demo_model
@pytest.mark.anyio
async def test_the_demo_model_reports_a_reply_cut_at_max_new_tokens(folder: Path) -> None:
    from weather_bot import SYSTEM, TOOLS
    from web_app import create_app

    from hermitcrab import HuggingEngine

    async with HuggingEngine(DEMO_MODEL) as engine:
        app = create_app(
            engine, folder, system=SYSTEM, tools=TOOLS, conversation_options={"max_new_tokens": 3}
        )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://app") as client:
            conversation_id = await new_conversation(client)
            events = await run_round(client, conversation_id, "Hello!")
    assert events[-1][0] == "done"
    assert events[-1][1]["finish_reason"] == "length"
    assert events[-1][1]["usage"]["completion_tokens"] == 3


@needs_demo_model
def test_python_m_web_app_serves_the_demo_model_end_to_end(tmp_path: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "web_app", "--port", "0", "--folder", str(tmp_path / "saved")],
        cwd=EXAMPLES,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    timer = threading.Timer(120, proc.kill)
    timer.start()
    try:
        assert proc.stdout is not None
        url = next(line for line in proc.stdout if line.startswith("serving on ")).split()[2]
        with httpx.Client(base_url=url, timeout=60) as client:
            for _ in range(100):
                try:
                    conversation_id = client.post("/conversations").json()["id"]
                    break
                except httpx.TransportError:
                    threading.Event().wait(0.05)
            body = client.post(
                f"/conversations/{conversation_id}/messages", json={"text": "What's the weather in Lisbon?"}
            ).text
            messages = client.get(f"/conversations/{conversation_id}").json()["messages"]
    finally:
        timer.cancel()
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=20)
        finally:
            proc.kill()
            for pipe in (proc.stdout, proc.stderr):
                if pipe is not None:
                    pipe.close()
    names = [line.removeprefix("event: ") for line in body.splitlines() if line.startswith("event: ")]
    assert names[0] == "message" and names[-1] == "done"
    assert names.index("tool_call") < names.index("tool_result") < len(names) - 1
    assert names.count("text_delta") > 1  # the answer arrives in pieces
    assert get_weather("Lisbon") in body
    assert [m["role"] for m in messages] == ["user", "assistant", "tool", "assistant"]
    assert messages[1]["content"][0]["arguments"] == {"city": "Lisbon"}
