"""hermitcrab.runtime: the Conversation actor (rounds, trimming, tool dispatch)."""

from hermitcrab.runtime._conversation import Conversation, RoundStream

__all__ = ("Conversation", "RoundStream")
