"""Container logs on disk: where they are, and reading them from an offset with optional follow."""

import os
import pathlib
import time

STREAMS = ("stdout", "stderr")
CHUNK_BYTES = 64 * 1024
FOLLOW_POLL_S = 0.1


def log_dir(work_root, app_id, container_id):
    """``W/logs/<app_id>/<container_id>/``: outlives the process and its work dir."""
    return pathlib.Path(work_root) / "logs" / app_id / container_id


def read_log(path, offset, follow=False, has_ended=lambda: True, is_active=lambda: True,
             chunk_bytes=CHUNK_BYTES, poll_s=FOLLOW_POLL_S):
    """Yield ``(data, offset, eof)`` from the file at ``path`` starting at ``offset`` (negative = that
    many bytes before the end).

    Without ``follow`` it yields what is there now. With ``follow`` it keeps reading until
    ``has_ended()`` and the file is drained, or ``is_active()`` turns false (the reader left). ``eof``
    is set on the last piece when the container has ended and everything was read.
    """
    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        pos = max(size + offset, 0) if offset < 0 else min(offset, size)
        f.seek(pos)
        while is_active():
            ended = has_ended()        # read before draining, so no byte written before the end is missed
            data = f.read(chunk_bytes)
            if data:
                yield data, pos, False
                pos += len(data)
                continue
            if ended or not follow:
                yield b"", pos, ended
                return
            time.sleep(poll_s)
