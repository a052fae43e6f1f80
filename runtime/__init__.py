"""hermitcrab.runtime."""
