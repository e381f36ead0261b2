"""``tf.logging``: TF 1.x's logging functions, on Python's ``logging`` logger named ``"tensorflow"``.

As in TF, the logger prints ``LEVEL:tensorflow:message`` to stderr (stdout in an interactive shell) unless the
root logger already has handlers; its threshold is WARN until ``set_verbosity`` changes it, and records name
the caller's file and line, not this module's. ``fatal`` logs at FATAL and returns (it does not exit).

>>> import tasklayer as tf
>>> tf.logging.set_verbosity(tf.logging.ERROR)
>>> tf.logging.get_verbosity() == tf.logging.ERROR
True
>>> tf.logging.set_verbosity(tf.logging.WARN)
"""

import logging as _logging
import os
import sys
import threading
import time
import traceback
from logging import DEBUG, ERROR, FATAL, INFO, WARN  # noqa: F401 - tf.logging.INFO and friends

_logger = None
_logger_lock = threading.Lock()
_level_names = {FATAL: "FATAL", ERROR: "ERROR", WARN: "WARN", INFO: "INFO", DEBUG: "DEBUG"}
_log_counter_per_token = {}


def _get_caller(offset=3):
    """``(code, frame)`` of the nearest caller outside this file."""
    f = sys._getframe(offset)
    our_file = f.f_code.co_filename
    f = f.f_back
    while f:
        if f.f_code.co_filename != our_file:
            return f.f_code, f
        f = f.f_back
    return None, None


def _logger_find_caller(stack_info=False, stacklevel=1):
    """``Logger.findCaller`` that skips this module's frames, so records name the user's file and line."""
    code, frame = _get_caller(4)
    sinfo = "\n".join(traceback.format_stack()) if stack_info else None
    if code:
        return code.co_filename, frame.f_lineno, code.co_name, sinfo
    return "(unknown file)", 0, "(unknown function)", sinfo


def get_logger():
    """The ``"tensorflow"`` logger, given a handler on first use when the root logger has none.

    >>> get_logger().name
    'tensorflow'
    """
    global _logger
    if _logger:
        return _logger
    with _logger_lock:
        if _logger:
            return _logger
        logger = _logging.getLogger("tensorflow")
        logger.findCaller = _logger_find_caller
        if not _logging.getLogger().handlers:
            interactive = bool(getattr(sys, "ps1", None)) or bool(sys.flags.interactive)
            if interactive:  # a shell shows INFO, on stdout
                logger.setLevel(INFO)
            handler = _logging.StreamHandler(sys.stdout if interactive else sys.stderr)
            handler.setFormatter(_logging.Formatter(_logging.BASIC_FORMAT, None))
            logger.addHandler(handler)
        _logger = logger
        return _logger


def log(level, msg, *args, **kwargs):
    """Log ``msg % args`` at ``level``."""
    get_logger().log(level, msg, *args, **kwargs)


def debug(msg, *args, **kwargs):
    """Log at DEBUG."""
    get_logger().debug(msg, *args, **kwargs)


def info(msg, *args, **kwargs):
    """Log at INFO."""
    get_logger().info(msg, *args, **kwargs)


def warning(msg, *args, **kwargs):
    """Log at WARN."""
    get_logger().warning(msg, *args, **kwargs)


warn = warning


def error(msg, *args, **kwargs):
    """Log at ERROR."""
    get_logger().error(msg, *args, **kwargs)


def fatal(msg, *args, **kwargs):
    """Log at FATAL (the program goes on, as in TF)."""
    get_logger().fatal(msg, *args, **kwargs)


def vlog(level, msg, *args, **kwargs):
    """Log at ``level`` (TF's verbose log is a plain ``log``)."""
    get_logger().log(level, msg, *args, **kwargs)


def log_if(level, msg, condition, *args):
    """Log ``msg % args`` at ``level`` when ``condition`` holds."""
    if condition:
        vlog(level, msg, *args)


def _next_count(token):
    """How many times ``token`` was counted before (0 the first time)."""
    _log_counter_per_token[token] = 1 + _log_counter_per_token.get(token, -1)
    return _log_counter_per_token[token]


def _call_site():
    """``(file, line)`` of the code that called ``log_every_n``/``log_first_n``: their counters are per call site
    (TF 1.x's own lookup lands one frame too far out, so all its call sites under one caller share a counter)."""
    f = sys._getframe(2)
    return f.f_code.co_filename, f.f_lineno


def _file_and_line():
    code, f = _get_caller()
    return ("<unknown>", 0) if not code else (code.co_filename, f.f_lineno)


def log_every_n(level, msg, n, *args):
    """Log ``msg % args`` at ``level`` on the 1st, (n+1)th, (2n+1)th... call from the same line.

    >>> import tasklayer as tf
    >>> tf.logging.set_verbosity(tf.logging.INFO)
    >>> for i in range(5):
    ...     tf.logging.log_every_n(tf.logging.INFO, "step %d", 2, i)  # steps 0, 2 and 4
    >>> tf.logging.set_verbosity(tf.logging.WARN)
    """
    log_if(level, msg, not (_next_count(_call_site()) % n), *args)


def log_first_n(level, msg, n, *args):
    """Log ``msg % args`` at ``level`` on the first ``n`` calls from the same line only."""
    log_if(level, msg, _next_count(_call_site()) < n, *args)


def get_verbosity():
    """The logger's effective threshold (WARN unless set)."""
    return get_logger().getEffectiveLevel()


def set_verbosity(v):
    """Log only messages at ``v`` (``tf.logging.INFO``...) or above."""
    get_logger().setLevel(v)


def flush():
    """TF 1.x raises NotImplementedError here, and so does this."""
    raise NotImplementedError()


def TaskLevelStatusMessage(msg):  # noqa: N802 - TF's name
    """Log ``msg`` at ERROR (TF's status message)."""
    error(msg)


def google2_log_prefix(level, timestamp=None, file_and_line=None):
    """The glog-style prefix ``I0102 03:04:05.000006 thread file.py:7] `` of a log line."""
    now = timestamp or time.time()
    t = time.localtime(now)
    filename, line = file_and_line or _file_and_line()
    severity = _level_names.get(level, "INFO")[0]
    return "%c%02d%02d %02d:%02d:%02d.%06d %5d %s:%d] " % (
        severity, t[1], t[2], t[3], t[4], t[5], int(1e6 * (now % 1.0)), threading.get_ident() & (2 * sys.maxsize + 1),
        os.path.basename(filename), line)
