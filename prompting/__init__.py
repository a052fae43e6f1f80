"""hermitcrab.prompting."""
