"""A chat web app on hermitcrab: FastAPI, server-sent events, one shared engine, saved conversations.

Start it with ``make web`` (the demo model on http://127.0.0.1:8000, offline) or
``cd examples && python -m web_app --help``. Build it into your own service with :func:`create_app`.
See ``README.md`` beside this file for the API.
"""

from __future__ import annotations

from .app import create_app

__all__ = ("create_app",)
