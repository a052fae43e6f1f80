"""hermitcrab.tools."""
