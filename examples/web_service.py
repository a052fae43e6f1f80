"""An asyncio web service that streams a tool-calling model's answer, event by event, as it is made.

A stdlib-only HTTP server (``asyncio.start_server``) on 127.0.0.1 shares one engine between all
requests; each request gets its own :class:`~hermitcrab.Conversation` and streams it with
``async for``, writing one JSON object per line (NDJSON) as soon as each event arrives::

    python examples/web_service.py                     # demo model on http://127.0.0.1:8000
    python examples/web_service.py --port 0            # any free port (printed on start)
    python examples/web_service.py --model Qwen/Qwen2.5-0.5B-Instruct

    curl -N 'http://127.0.0.1:8000/ask?q=What%27s+the+weather+in+Lisbon%3F'
    {"type": "text", "text": "..."}
    {"type": "tool_call", "name": "get_weather", "arguments": {"city": "Lisbon"}}
    {"type": "tool_result", "name": "get_weather", "content": "12°C, cloudy in Lisbon"}
    {"type": "text", "text": "It is 12°C, cloudy in Lisbon right now."}
    {"type": "done", "answer": "It is 12°C, cloudy in Lisbon right now."}

A client that disconnects cancels its round (the generation stops at the next token). Concurrent
requests are served concurrently; the engine runs one ``generate`` at a time, in FIFO order.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

from weather_bot import SYSTEM, TOOLS

from hermitcrab import Conversation, Engine, TextDelta, ToolCallEvent, ToolResultEvent

__all__ = ("handle", "serve")


async def answer_events(engine: Engine, question: str) -> Any:
    """The NDJSON events of one round for ``question`` (an async generator of dicts)."""
    async with Conversation(engine, system=SYSTEM, tools=TOOLS) as conv:
        final = ""
        async for event in conv.stream(question):
            if isinstance(event, TextDelta):
                yield {"type": "text", "text": event.text}
            elif isinstance(event, ToolCallEvent):
                yield {"type": "tool_call", "name": event.call.name, "arguments": event.call.arguments}
            elif isinstance(event, ToolResultEvent):
                yield {"type": "tool_result", "name": event.call.name, "content": event.message.text}
        if conv.history:
            final = conv.history[-1].text
        yield {"type": "done", "answer": final}


async def handle(engine: Engine, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Serve one HTTP/1.1 request: ``GET /ask?q=...`` streams NDJSON; anything else is a 404/400."""
    try:
        request = await reader.readuntil(b"\r\n\r\n")
        method, target, _ = request.split(b"\r\n", 1)[0].decode("latin-1").split(" ", 2)
        url = urlsplit(target)
        question = (parse_qs(url.query).get("q") or [""])[0].strip()
        if method != "GET" or url.path != "/ask":
            await _respond(writer, "404 Not Found", b"try GET /ask?q=your+question\n")
            return
        if not question:
            await _respond(writer, "400 Bad Request", b"missing ?q=your+question\n")
            return
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/x-ndjson; charset=utf-8\r\n"
            b"Cache-Control: no-cache\r\nConnection: close\r\n\r\n"
        )
        async for item in answer_events(engine, question):
            writer.write(json.dumps(item, ensure_ascii=False).encode("utf-8") + b"\n")
            await writer.drain()  # raises if the client went away: the round is cancelled
    except (asyncio.IncompleteReadError, ConnectionError, ValueError):
        pass
    finally:
        writer.close()
        try:
            await writer.wait_closed()
        except ConnectionError:
            pass


async def _respond(writer: asyncio.StreamWriter, status: str, body: bytes) -> None:
    writer.write(
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}\r\n"
        "Connection: close\r\n\r\n".encode("latin-1")
        + body
    )
    await writer.drain()


async def serve(engine: Engine, port: int = 8000, host: str = "127.0.0.1") -> asyncio.Server:
    """Start the server (not yet serving forever); ``server.sockets[0].getsockname()[1]`` is the port."""
    return await asyncio.start_server(lambda r, w: handle(engine, r, w), host, port)


async def main(args: argparse.Namespace) -> None:
    from _common import load_engine

    async with load_engine(args.model, load_in_4bit=args.load_in_4bit) as engine:
        server = await serve(engine, args.port)
        port = server.sockets[0].getsockname()[1]
        print(f"listening on http://127.0.0.1:{port}  (try: curl -N 'http://127.0.0.1:{port}/ask?q=Hello')")
        sys.stdout.flush()
        async with server:
            await server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=8000, help="TCP port on 127.0.0.1 (0: any free port)")
    parser.add_argument("--model", help="a Hugging Face model id or local folder (default: the demo model)")
    parser.add_argument(
        "--load-in-4bit", action="store_true", help="quantize the model to 4 bits at load time"
    )
    try:
        asyncio.run(main(parser.parse_args()))
    except KeyboardInterrupt:
        pass
