"""hermitcrab.runtime: the Conversation actor (rounds, trimming, tool dispatch)."""

from hermitcrab.runtime._conversation import Conversation, RoundStream
from hermitcrab.runtime._dispatch import ToolFailure

__all__ = ("Conversation", "RoundStream", "ToolFailure")
