"""``tf.Session``: the TF1 front end (fetch structures, feed checks, ``with``, close) over a backend that runs
graphs, in-process (``LocalBackend``) or on a cluster (``RemoteBackend``, for ``grpc://`` targets)."""

import atexit
import collections
import contextlib
import sys
import threading
import weakref

import numpy as np

from engine.errors import InvalidArgumentError
from tasklayer import dtypes, shapes
from tasklayer.fetches import FetchPlan
from tasklayer.graph import get_default_graph
from tasklayer.session_stack import default_session, get_default_session, run_in_session  # noqa: F401 - re-exported
from tasklayer.tensor import Tensor

_CHECK_CACHE_SIZE = 256


class SessionBackend:
    """Runs graphs for a Session. ``feeds`` maps tensor names to arrays already checked and cast."""

    def run(self, graph, fetch_names, feeds, target_names, options=None):
        """Run ``graph``; the values of ``fetch_names`` as ndarrays, in order."""
        raise NotImplementedError

    def close(self):
        """Release what the backend holds."""


# target prefix -> factory(target, config) -> SessionBackend; each backend module registers its own prefix.
_TARGETS = {}


def register_session_target(prefix, factory):
    """Let ``tf.Session(target)`` run on ``factory(target, config)`` for targets starting with ``prefix``
    (``"grpc://"``; ``""`` stands for the empty, in-process target only). A backend module calls this when it
    is imported, so that this module needs none of them.

    >>> register_session_target("echo://", lambda target, config: target)
    >>> make_backend("echo://here")
    'echo://here'
    >>> del _TARGETS["echo://"]
    """
    if not isinstance(prefix, str):
        raise TypeError(f"a session target prefix must be a string like 'grpc://', got {prefix!r}")
    _TARGETS[prefix] = factory


def make_backend(target, config=None):
    """The backend for a session target: ``""`` in-process, ``grpc://host:port`` a cluster."""
    if isinstance(target, bytes):
        target = target.decode()
    if isinstance(target, str):
        for prefix in sorted(_TARGETS, key=len, reverse=True):
            if target.startswith(prefix) and (prefix or not target):
                return _TARGETS[prefix](target, config)
    raise ValueError(f"unsupported session target {target!r}: use '' (in-process) or 'grpc://host:port'")


class Session:
    """A connection to a runtime that runs a graph: ``run(fetches, feed_dict)``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, [2], name="x")
    ...     y = x * 2
    ...     with tf.Session() as sess:
    ...         sess.run({"y": y, "both": [x, y]}, feed_dict={x: [1, 2]})
    {'y': array([2., 4.], dtype=float32), 'both': [array([1., 2.], dtype=float32), array([2., 4.], dtype=float32)]}
    """

    def __init__(self, target="", graph=None, config=None):
        self._graph = graph if graph is not None else get_default_graph()
        self._target = target
        self._config = config
        self._backend = make_backend(target, config)
        self._closed = False
        self._checked = collections.OrderedDict()
        self._lock = threading.Lock()
        self._context = None
        _OPEN_SESSIONS.add(self)

    @property
    def graph(self):
        """The graph this session runs."""
        return self._graph

    @property
    def graph_def(self):
        """The session graph as a GraphDef."""
        return self._graph.as_graph_def()

    @property
    def sess_str(self):
        """The target this session connects to."""
        return self._target

    @property
    def backend(self):
        """The backend running this session's graphs (e.g. a LocalBackend, whose ``last_stats`` tests read)."""
        return self._backend

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Run what ``fetches`` needs, with ``feed_dict`` values replacing tensors; results in the shape of
        ``fetches`` (Operations give None)."""
        if self._closed:
            raise RuntimeError("Attempted to use a closed Session.")
        plan = FetchPlan(self._graph, fetches)
        feeds = self._feeds(feed_dict)
        self._check_feeds_suffice(plan, feeds)
        if not plan.tensor_names and not plan.op_names:
            return plan.rebuild([])
        # A fetched tensor that is also fed is answered with its feed, as in TF; the rest go to the backend.
        wanted = [n for n in plan.tensor_names if n not in feeds]
        computed = iter(self._backend.run(self._graph, wanted, feeds, plan.op_names, options)
                        if wanted or plan.op_names else ())
        values = [feeds[n] if n in feeds else next(computed) for n in plan.tensor_names]
        return plan.rebuild([v[()] if isinstance(v, np.ndarray) and v.ndim == 0 else v for v in values])

    def _feeds(self, feed_dict):
        feeds = {}
        for key, value in (feed_dict or {}).items():
            if hasattr(key, "_as_graph_element"):
                key = key._as_graph_element()
            try:
                tensor = self._graph.as_graph_element(key, allow_tensor=True, allow_operation=False)
            except (KeyError, ValueError, TypeError) as e:
                message = e.args[0] if e.args else str(e)
                raise TypeError(f"Cannot interpret feed_dict key as Tensor: {message}") from None
            feeds[tensor.name] = _feed_value(tensor, value)
        return feeds

    def _check_feeds_suffice(self, plan, feeds):
        """InvalidArgumentError naming the first Placeholder the run needs and nobody fed (TF's message)."""
        key = (self._graph.version, tuple(plan.tensor_names), frozenset(feeds), tuple(plan.op_names))
        if key in self._checked:
            return
        graph = self._graph
        stack = [graph.as_graph_element(n).op for n in plan.tensor_names if n not in feeds]
        stack += [graph.as_graph_element(n) for n in plan.op_names]
        seen = set()
        while stack:
            op = stack.pop()
            if op in seen:
                continue
            seen.add(op)
            if op.type == "Placeholder":
                dtype, shape = op.get_attr("dtype"), op.get_attr("shape")
                where = "" if shape.ndims is None else f" and shape {shapes.fmt(shape)}"
                raise InvalidArgumentError(None, op, f"You must feed a value for placeholder tensor '{op.name}' "
                                                     f"with dtype {dtypes.tf_name(dtype)}{where}")
            stack.extend(t.op for t in op.inputs if t.name not in feeds)
            stack.extend(op.control_inputs)
        with self._lock:
            self._checked[key] = True
            if len(self._checked) > _CHECK_CACHE_SIZE:
                self._checked.popitem(last=False)

    def close(self):
        """Release the session's resources; running it afterwards is a RuntimeError."""
        if not self._closed:
            self._closed = True
            _OPEN_SESSIONS.discard(self)
            self._backend.close()

    def as_default(self):
        """Make this the default session (for ``Tensor.eval``/``Operation.run``) inside the ``with`` block."""
        return default_session(self)

    def __enter__(self):
        stack = contextlib.ExitStack()
        stack.enter_context(self._graph.as_default())
        stack.enter_context(self.as_default())
        self._context = stack
        return self

    def __exit__(self, *exc):
        context, self._context = self._context, None
        if context is not None:
            context.close()
        self.close()
        return False

    def __del__(self):
        if sys.is_finalizing():  # too late for RPCs (no new threads); _close_open_sessions ran at exit already
            return
        try:
            self.close()
        except Exception:  # noqa: BLE001 - never raise from a finalizer
            pass


# Sessions not closed yet: closed at interpreter exit, while threads (and so gRPC calls) still work. Left to the
# garbage collector during finalization, a remote session's close could block for ever starting a thread.
_OPEN_SESSIONS = weakref.WeakSet()


@atexit.register
def _close_open_sessions():
    for session in list(_OPEN_SESSIONS):
        try:
            session.close()
        except Exception:  # noqa: BLE001 - best effort: the process is ending
            pass


class InteractiveSession(Session):
    """A Session that makes itself (and its graph) the default on creation, for shells and notebooks.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     sess = tf.InteractiveSession()
    ...     print(tf.constant(3).eval())
    ...     sess.close()
    3
    """

    def __init__(self, target="", graph=None, config=None):
        super().__init__(target, graph, config)
        self.__enter_stack = contextlib.ExitStack()
        self.__enter_stack.enter_context(self._graph.as_default())
        self.__enter_stack.enter_context(self.as_default())

    def close(self):
        """Close and stop being the default session."""
        stack, self.__enter_stack = getattr(self, "_InteractiveSession__enter_stack", None), None
        if stack is not None:
            stack.close()
        super().close()


def _feed_value(tensor, value):
    """``value`` as an array of ``tensor``'s dtype; TypeError/ValueError naming the tensor otherwise."""
    if isinstance(value, Tensor):
        raise TypeError("The value of a feed cannot be a tf.Tensor object. Acceptable feed values include "
                        "Python scalars, lists, and numpy ndarrays.")
    try:
        array = np.asarray(value)
    except ValueError:
        raise ValueError(f"Cannot feed a non-rectangular sequence for Tensor {tensor.name!r}") from None
    cast = dtypes.safe_cast(array, tensor.dtype)  # None for a value the dtype cannot hold
    if cast is None:
        raise TypeError(f"Cannot feed value of dtype {array.dtype} for Tensor {tensor.name!r}, which has dtype "
                        f"{tensor.dtype.name}")
    if not tensor.shape.is_compatible_with(cast.shape):
        raise ValueError(f"Cannot feed value of shape {shapes.fmt(cast.shape)} for Tensor {tensor.name!r}, "
                         f"which has shape {shapes.fmt(tensor.shape)}")
    return cast
