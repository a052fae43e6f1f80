"""hermitcrab: an async, actor-style agent runtime for local Hugging Face models with tool calling."""

from hermitcrab.errors import *  # noqa: F403
from hermitcrab.errors import __all__ as _errors_all
from hermitcrab.events import *  # noqa: F403
from hermitcrab.events import __all__ as _events_all
from hermitcrab.messages import *  # noqa: F403
from hermitcrab.messages import __all__ as _messages_all

__version__ = "0.1.0"

__all__ = (*_errors_all, *_events_all, *_messages_all)
