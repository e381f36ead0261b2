"""Errors a user sees as one clear line."""


class YarnflowError(Exception):
    """A user-facing error: its message is the whole story, no traceback needed."""
