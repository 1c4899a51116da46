"""Plot helpers, one module per step. Each takes `ax=None`, draws, and returns the Axes."""
