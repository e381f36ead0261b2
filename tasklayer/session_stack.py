"""The default session of each thread (TF keeps this stack in ops.py, beside the default graph): what
``Tensor.eval`` and ``Operation.run`` use. ``Session.as_default`` pushes onto it; this module knows nothing of
sessions but their ``graph`` and ``run``.

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     get_default_session() is sess
True
>>> get_default_session() is None
True
"""

import contextlib
import threading

_sessions = threading.local()


def _session_stack():
    stack = getattr(_sessions, "stack", None)
    if stack is None:
        stack = _sessions.stack = []
    return stack


@contextlib.contextmanager
def default_session(session):
    """Make ``session`` this thread's default session inside the ``with`` block (TF's ``ops.default_session``)."""
    stack = _session_stack()
    stack.append(session)
    try:
        yield session
    finally:
        stack.pop()


def get_default_session():
    """The innermost default session of this thread, or None.

    >>> get_default_session() is None
    True
    """
    stack = _session_stack()
    return stack[-1] if stack else None


def run_in_session(element, feed_dict=None, session=None):
    """Run a Tensor or Operation in ``session`` or the default one (``eval``/``run``)."""
    session = session if session is not None else get_default_session()
    if session is None:
        raise ValueError("Cannot evaluate tensor using `eval()`: No default session is registered. Use "
                         "`with sess.as_default()` or pass an explicit session to `eval(session=sess)`")
    if element.graph is not session.graph:
        raise ValueError("Cannot use the given session to evaluate tensor: the tensor's graph is different "
                         "from the session's graph.")
    return session.run(element, feed_dict)
