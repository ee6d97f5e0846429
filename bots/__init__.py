"""Front ends: thin adapters from a platform's events to core calls."""
