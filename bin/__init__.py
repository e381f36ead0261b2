"""Command-line entry points: thin wrappers that parse and call library functions."""
