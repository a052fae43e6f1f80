"""hermitcrab.engines."""
