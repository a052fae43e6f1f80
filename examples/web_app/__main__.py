"""Serve the chat app with uvicorn: the demo model's weather bot by default, offline.

    make web                                    # http://127.0.0.1:8000, saved in web_app/conversations
    cd examples && python -m web_app --port 0   # any free port (printed)
    cd examples && python -m web_app --token s3cret --model Qwen/Qwen2.5-0.5B-Instruct

Every conversation has the weather bot's system prompt and tools (``examples/weather_bot.py``), the
ones the demo model was trained with.
"""

from __future__ import annotations

import argparse
import os
import socket
from collections.abc import Sequence

import uvicorn

__all__ = ("main",)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the command line, load the model and serve until Ctrl-C."""
    parser = argparse.ArgumentParser(
        prog="python -m web_app", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="TCP port (0: any free port; default 8000)")
    parser.add_argument("--folder", default="conversations", help="where conversations are saved")
    parser.add_argument(
        "--token",
        default=os.environ.get("HERMITCRAB_WEB_TOKEN"),
        help="require 'Authorization: Bearer TOKEN' on the API (default: $HERMITCRAB_WEB_TOKEN, or none)",
    )
    parser.add_argument("--model", help="a Hugging Face model id or local folder (default: the demo model)")
    parser.add_argument(
        "--load-in-4bit", action="store_true", help="quantize the model to 4 bits at load time"
    )
    parser.add_argument(
        "--constrained",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="grammar-constrained tool calls (default: on for the demo model when xgrammar is installed)",
    )
    parser.add_argument("--log-level", default="warning", help="uvicorn's log level (default: warning)")
    args = parser.parse_args(argv)

    # The example bots' helpers and tools live one folder up (examples/), which is on sys.path when
    # this runs as `python -m web_app` from there.
    from _common import load_engine
    from weather_bot import SYSTEM, TOOLS

    from web_app import create_app

    engine = load_engine(args.model, load_in_4bit=args.load_in_4bit, constrained=args.constrained)
    app = create_app(engine, args.folder, system=SYSTEM, tools=TOOLS, token=args.token)
    listener = socket.create_server((args.host, args.port))  # bound here, so port 0 can be printed
    port = listener.getsockname()[1]
    fragment = f"#token={args.token}" if args.token else ""
    print(f"serving on http://{args.host}:{port}/{fragment}  (Ctrl-C stops)", flush=True)
    config = uvicorn.Config(app, log_level=args.log_level, timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[listener])


if __name__ == "__main__":
    main()
