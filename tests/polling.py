"""Waiting in tests: poll a condition with a deadline, never a bare sleep."""

import time


def wait_until(predicate, timeout=10.0, what="condition", interval=0.02):
    """Poll ``predicate`` until it returns something truthy (returned), or fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")
        time.sleep(interval)
