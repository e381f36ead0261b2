"""The Graph: thread-safe op creation with TF's unique names, scopes, collections, a version and a GraphDef.

Scopes (name, device, control dependencies) belong to the thread that opened them; op creation and the
name table are guarded by the graph's lock, so several threads may build one graph at once.
"""

import contextlib
import re
import threading

from engine import device_spec
from protos import graph_pb2
from tasklayer import node_defs, op_registry
from tasklayer.tensor import Operation, Tensor

__all__ = ["Graph", "Operation", "Tensor", "get_default_graph", "reset_default_graph", "name_scope",
           "device", "control_dependencies", "init_scope", "colocate_with", "graph_of", "add_to_collection",
           "get_collection", "get_collection_ref", "GraphKeys"]

_VALID_OP_NAME = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9_.\-/>]*$")
_VALID_SCOPE_NAME = re.compile(r"^[A-Za-z0-9_.\-/>]*$")


class GraphKeys:
    """Standard collection names (TF1's).

    >>> GraphKeys.TRAINABLE_VARIABLES
    'trainable_variables'
    """

    GLOBAL_VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    GLOBAL_STEP = "global_step"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    SUMMARIES = "summaries"
    INIT_OP = "init_op"
    TRAIN_OP = "train_op"
    SAVERS = "savers"
    METRIC_VARIABLES = "metric_variables"
    MODEL_VARIABLES = "model_variables"
    REGULARIZATION_LOSSES = "regularization_losses"
    QUEUE_RUNNERS = "queue_runners"
    READY_OP = "ready_op"
    READY_FOR_LOCAL_INIT_OP = "ready_for_local_init_op"
    LOCAL_INIT_OP = "local_init_op"
    SUMMARY_OP = "summary_op"
    ACTIVATIONS = "activations"
    WEIGHTS = "weights"
    BIASES = "biases"


class _Scopes(threading.local):
    """One thread's scope stacks for one graph."""

    def __init__(self):
        self.name_stack = ""
        self.device_stack = []   # device functions, innermost last; None resets (tf.device(None))
        self.control_stack = []  # _Controller objects, innermost last
        self.control_flow_context = None  # the tf.cond branch / tf.while_loop body being built (innermost)


class _Controller:
    """One ``control_dependencies`` block: its control inputs and the ops created inside it."""

    def __init__(self, ops):
        self.control_inputs = ops
        self.created = set()


class Graph:
    """A dataflow graph of Operations, built lazily and run by a Session.

    >>> g = Graph()
    >>> with g.as_default():
    ...     import tasklayer as tf
    ...     a = tf.constant(1, name="a"); b = a + 1; c = a + 2
    >>> [op.name for op in g.get_operations()], g.version
    (['a', 'add/y', 'add', 'add_1/y', 'add_1'], 5)
    """

    def __init__(self):
        self._lock = threading.RLock()
        self._ops = []
        self._ops_by_name = {}
        self._names_in_use = {}
        self._version = 0
        self._finalized = False
        self._collections = {}
        self._scopes = _Scopes()
        self._graph_def_cache = None
        self.seed = None  # graph-level random seed (tf.set_random_seed)

    # ------------------------------------------------------------------ identity and state
    @property
    def version(self):
        """An int that grows whenever the graph changes (ops added, control inputs added)."""
        return self._version

    @property
    def _last_id(self):
        return len(self._ops)

    def _bump_version(self):
        with self._lock:
            self._version += 1

    @property
    def finalized(self):
        """Whether the graph is read-only."""
        return self._finalized

    def finalize(self):
        """Make the graph read-only: creating an op afterwards is a RuntimeError."""
        self._finalized = True

    def _unsafe_unfinalize(self):
        self._finalized = False

    @contextlib.contextmanager
    def as_default(self):
        """Make this the default graph of the current thread inside the ``with`` block."""
        _default_stack().append(self)
        try:
            yield self
        finally:
            _default_stack().pop()

    # ------------------------------------------------------------------ names
    def unique_name(self, name, mark_as_used=True):
        """``name`` under the current name scope, made unique like TF (``add``, ``add_1``, ...).

        Uniqueness ignores case, as in TensorFlow.
        """
        with self._lock:
            if self._scopes.name_stack:
                name = f"{self._scopes.name_stack}/{name}"
            key = name.lower()
            i = self._names_in_use.get(key, 0)
            if mark_as_used:
                self._names_in_use[key] = i + 1
            if i > 0:
                base = key
                while key in self._names_in_use:
                    key = f"{base}_{i}"
                    i += 1
                if mark_as_used:
                    self._names_in_use[key] = 1
                name = f"{name}_{i - 1}"
            return name

    def get_name_scope(self):
        """The current name scope (``""`` at the root)."""
        return self._scopes.name_stack

    @contextlib.contextmanager
    def name_scope(self, name):
        """Open a name scope; yields its prefix (``"outer/inner/"``).

        ``None``/``""`` goes back to the root; a name ending in ``/`` re-enters that exact scope; otherwise
        the name is made unique (a second ``name_scope("a")`` is ``"a_1/"``).
        """
        scopes = self._scopes
        old = scopes.name_stack
        if not name:
            new = ""
        elif name.endswith("/"):
            new = name[:-1]
        else:
            pattern = _VALID_SCOPE_NAME if old else _VALID_OP_NAME
            if not pattern.match(name):
                raise ValueError(f"'{name}' is not a valid scope name")
            new = self.unique_name(name)
        scopes.name_stack = new
        try:
            yield f"{new}/" if new else ""
        finally:
            scopes.name_stack = old

    # ------------------------------------------------------------------ devices
    @contextlib.contextmanager
    def device(self, device_name_or_function):
        """Place ops created inside on a device: a string/DeviceSpec (merged, inner fields win), a
        function ``op -> device string`` (e.g. ``replica_device_setter``), or None to clear outer scopes."""
        dev = device_name_or_function
        if dev is None:
            func = None
        elif callable(dev) and not isinstance(dev, (str, device_spec.DeviceSpec)):
            func = dev
        else:
            spec = device_spec.canonical(dev if isinstance(dev, str) else dev.to_string())

            def func(op, _spec=spec):
                return device_spec.merge(op.device, _spec)
        stack = self._scopes.device_stack
        stack.append(func)
        try:
            yield
        finally:
            stack.pop()

    @contextlib.contextmanager
    def colocate_with(self, op, ignore_existing=False):
        """Put ops created inside on the device of ``op`` (a Tensor or Operation)."""
        target = getattr(op, "op", op)
        stack = self._scopes.device_stack
        if ignore_existing:
            stack.append(None)
        stack.append(lambda _op: target.device)
        try:
            yield
        finally:
            stack.pop()
            if ignore_existing:
                stack.pop()

    def _apply_device_functions(self, op):
        # Innermost first: each function sees the device the inner ones chose (so inner fields win).
        for func in reversed(self._scopes.device_stack):
            if func is None:
                break
            op._set_device(func(op))

    # ------------------------------------------------------------------ control dependencies
    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        """Ops created inside run after ``control_inputs`` (Operations or Tensors); None clears the stack."""
        scopes = self._scopes
        if control_inputs is None:  # as in TF1, this also leaves any tf.cond branch or tf.while_loop body
            saved, scopes.control_stack = scopes.control_stack, []
            saved_flow, scopes.control_flow_context = scopes.control_flow_context, None
            try:
                yield
            finally:
                scopes.control_stack = saved
                scopes.control_flow_context = saved_flow
            return
        ops = []
        for c in control_inputs:
            c = c.op if isinstance(c, Tensor) else c
            if not isinstance(c, Operation):
                raise TypeError(f"Control input must be an Operation or a Tensor: {c!r}")
            if c.graph is not self:
                raise ValueError(f"Control input {c.name!r} is from a different graph than this one")
            if c not in ops:
                ops.append(c)
        scopes.control_stack.append(_Controller(ops))
        try:
            yield
        finally:
            scopes.control_stack.pop()

    # ------------------------------------------------------------------ control flow (tasklayer.ops.cond, while_loop)
    def _get_control_flow_context(self):
        """The control-flow construct (a branch of ``tf.cond``, a ``tf.while_loop``) ops are built in, or None."""
        return self._scopes.control_flow_context

    def _set_control_flow_context(self, context):
        """Build the following ops (of this thread) in ``context`` (None: outside any construct)."""
        self._scopes.control_flow_context = context

    def _update_input(self, op, index, tensor):
        """Make ``tensor`` data input ``index`` of ``op`` (a loop's Merge gets its NextIteration once the body is
        built, as in TF)."""
        with self._lock:
            inputs = list(op.inputs)
            inputs[index] = tensor
            op._inputs = tuple(inputs)
            self._version += 1

    def _control_inputs_for(self, input_ops):
        out = []
        for controller in self._scopes.control_stack:
            # An input created inside the same block already depends on its control inputs.
            if any(op in controller.created for op in input_ops):
                continue
            out.extend(c for c in controller.control_inputs if c not in input_ops and c not in out)
        return out

    # ------------------------------------------------------------------ op creation
    def create_op(self, op_type, inputs, attrs=None, name=None, control_inputs=(), device=None):
        """Add an op of a registered type; returns the Operation (its outputs are typed and shaped).

        ``name`` defaults to the op type and is made unique; a name ending in ``/`` (a scope name) is
        used as is. ``device`` is the op's own device, which the ``tf.device`` scopes then complete.
        Errors: unknown op type, tensors from another graph, a finalized graph, bad shapes.
        """
        spec = op_registry.lookup(op_type)
        inputs = list(inputs)
        for t in inputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"{op_type}: inputs must be Tensors, got {t!r}")
            if t.graph is not self:
                raise ValueError(f"{op_type}: input {t} must be from the same graph as the op being created "
                                 "(it comes from a different graph)")
        with self._lock:
            if self._finalized:
                raise RuntimeError("Graph is finalized and cannot be modified.")
            name = name or op_type
            if name.endswith("/"):
                name = name[:-1]
            else:
                name = self.unique_name(name)
            if not _VALID_OP_NAME.match(name):
                raise ValueError(f"'{name}' is not a valid node name")
            if name in self._ops_by_name:
                raise ValueError(f"Duplicate node name in graph: '{name}'")
            input_ops = [t.op for t in inputs]
            ctrl = self._control_inputs_for(input_ops)
            for c in control_inputs:
                c = getattr(c, "op", c)
                if c not in ctrl:
                    ctrl.append(c)
            flow = self._scopes.control_flow_context
            if flow is not None:  # in a tf.cond branch or tf.while_loop body: outside values enter it (TF's AddOp)
                inputs, ctrl = flow.admit(op_type, inputs, ctrl)
            op = Operation(self, op_type, name, inputs, attrs, ctrl)
            op._control_flow_context = flow
            outputs = spec.infer(op)
            op._outputs = tuple(Tensor(op, i, dt, shape) for i, (dt, shape) in enumerate(outputs))
            if device:
                op._set_device(device)
            self._apply_device_functions(op)
            self._add_op(op)
            for controller in self._scopes.control_stack:
                controller.created.add(op)
        return op

    def _add_op(self, op):
        """Register a fully built op (creation and import both end here)."""
        self._names_in_use.setdefault(op.name.lower(), 1)
        self._ops.append(op)
        self._ops_by_name[op.name] = op
        self._version += 1

    # ------------------------------------------------------------------ lookup
    def get_operations(self):
        """All ops, in creation order."""
        with self._lock:
            return list(self._ops)

    def get_operation_by_name(self, name):
        """The op called ``name``; KeyError when there is none."""
        return self.as_graph_element(name, allow_tensor=False, allow_operation=True)

    def get_tensor_by_name(self, name):
        """The tensor called ``"op:index"``; KeyError/ValueError saying what is missing."""
        return self.as_graph_element(name, allow_tensor=True, allow_operation=False)

    def as_graph_element(self, obj, allow_tensor=True, allow_operation=True):
        """The Tensor or Operation ``obj`` names (a name string, or one of ours); TF's errors otherwise."""
        types = " or ".join(t for t, ok in (("Tensor", allow_tensor), ("Operation", allow_operation)) if ok)
        if isinstance(obj, str):
            if ":" in obj:
                if not allow_tensor:
                    raise ValueError(f"Name {obj!r} appears to refer to a Tensor, not a {types}.")
                op_name, _, idx = obj.rpartition(":")
                try:
                    idx = int(idx)
                except ValueError:
                    raise ValueError(f"The name {obj!r} looks like a Tensor name, but is not a valid one. "
                                     "Tensor names must be of the form \"<op_name>:<output_index>\".") from None
                op = self._ops_by_name.get(op_name)
                if op is None:
                    raise KeyError(f"The name {obj!r} refers to a Tensor which does not exist. The operation, "
                                   f"{op_name!r}, does not exist in the graph.")
                if not 0 <= idx < len(op.outputs):
                    raise KeyError(f"The name {obj!r} refers to a Tensor which does not exist. The operation, "
                                   f"{op_name!r}, exists but only has {len(op.outputs)} outputs.")
                return op.outputs[idx]
            op = self._ops_by_name.get(obj)
            if op is None:
                raise KeyError(f"The name {obj!r} refers to an Operation not in the graph.")
            if not allow_operation:
                raise ValueError(f"The name {obj!r} refers to an Operation, not a {types}. Tensor names must "
                                 "be of the form \"<op_name>:<output_index>\".")
            return op
        if isinstance(obj, Tensor) and allow_tensor or isinstance(obj, Operation) and allow_operation:
            if obj.graph is not self:
                kind = "Tensor" if isinstance(obj, Tensor) else "Operation"
                raise ValueError(f"{kind} {obj} is not an element of this graph.")
            return obj
        raise TypeError(f"Can not convert a {type(obj).__name__} into a {types}.")

    # ------------------------------------------------------------------ collections
    def add_to_collection(self, name, value):
        """Append ``value`` to collection ``name``."""
        with self._lock:
            self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value):
        """Append ``value`` to each collection in ``names``."""
        for name in ([names] if isinstance(names, str) else names):
            self.add_to_collection(name, value)

    def get_collection_ref(self, name):
        """The live list of collection ``name`` (created empty when missing)."""
        with self._lock:
            return self._collections.setdefault(name, [])

    def get_collection(self, name, scope=None):
        """A copy of collection ``name``; with ``scope``, only items whose ``name`` matches it from the start."""
        with self._lock:
            items = list(self._collections.get(name, []))
        if scope is None:
            return items
        pattern = re.compile(scope)
        return [v for v in items if isinstance(getattr(v, "name", None), str) and pattern.match(v.name)]

    def get_all_collection_keys(self):
        """Names of the non-empty collections."""
        with self._lock:
            return [k for k, v in self._collections.items() if v]

    def clear_collection(self, name):
        """Remove collection ``name``."""
        with self._lock:
            self._collections.pop(name, None)

    # ------------------------------------------------------------------ serialization
    def as_graph_def(self):
        """This graph as a ``GraphDef`` proto (a copy the caller may change).

        >>> g = Graph()
        >>> with g.as_default():
        ...     import tasklayer as tf
        ...     _ = tf.constant(5) - 8
        >>> [n.name for n in g.as_graph_def().node]
        ['Const', 'sub/y', 'sub']
        """
        out = graph_pb2.GraphDef()
        out.CopyFrom(self.cached_graph_def())
        return out

    def cached_graph_def(self):
        """This graph as a GraphDef built once per ``version`` and shared: callers must not change it."""
        with self._lock:
            cached = self._graph_def_cache
            if cached is None or cached[0] != self._version:
                cached = self._graph_def_cache = (self._version, node_defs.graph_to_graph_def(self))
            return cached[1]

    def __repr__(self):
        return f"<tf.Graph ops={len(self._ops)} version={self._version}>"


# ---------------------------------------------------------------------- the default graph
_global_default = Graph()
_thread_stacks = threading.local()


def _default_stack():
    stack = getattr(_thread_stacks, "stack", None)
    if stack is None:
        stack = _thread_stacks.stack = []
    return stack


def get_default_graph():
    """The graph new ops go into: the innermost ``as_default()`` of this thread, else the global one.

    >>> get_default_graph() is get_default_graph()
    True
    """
    stack = _default_stack()
    return stack[-1] if stack else _global_default


def reset_default_graph():
    """Replace the global default graph with a new empty one (not allowed inside ``as_default()``).

    >>> old = get_default_graph(); reset_default_graph(); get_default_graph() is old
    False
    """
    global _global_default
    if _default_stack():
        raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs. If you need a "
                             "cleared graph, exit the nesting and create a new graph.")
    _global_default = Graph()


def graph_of(values):
    """The graph that ``values`` (Tensors/Operations, possibly in lists) belong to; ValueError if several."""
    found = first = None
    for v in _flatten(values):
        if isinstance(v, (Tensor, Operation)):
            if found is None:
                found, first = v.graph, v
            elif v.graph is not found:
                raise ValueError(f"{v} must be from the same graph as {first} (they belong to different graphs).")
    return found if found is not None else get_default_graph()


def _flatten(values):
    for v in values if isinstance(values, (list, tuple)) else [values]:
        if isinstance(v, (list, tuple)):
            yield from _flatten(v)
        else:
            yield v


@contextlib.contextmanager
def name_scope(name, default_name=None, values=None):
    """Open a name scope in the graph of ``values`` (default graph if none); yields ``"scope/"``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     with tf.name_scope("layer"):
    ...         tf.constant(1.0).op.name
    'layer/Const'
    """
    n = default_name if name is None else name
    if n is None and values is not None:
        raise ValueError(f"At least one of name ({name}) and default_name ({default_name}) must be provided.")
    g = graph_of(values) if values is not None else get_default_graph()
    with g.as_default(), g.name_scope(n) as scope:
        yield scope


def device(device_name_or_function):
    """``tf.device``: place ops created inside (string, DeviceSpec or function op -> device string).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     with tf.device("/job:ps"), tf.device("/task:1"):
    ...         tf.constant(1).device
    '/job:ps/task:1'
    """
    return get_default_graph().device(device_name_or_function)


def control_dependencies(control_inputs):
    """``tf.control_dependencies``: ops created inside run after ``control_inputs``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     a = tf.no_op(name="a")
    ...     with tf.control_dependencies([a]):
    ...         b = tf.constant(1)
    >>> [op.name for op in b.op.control_inputs]
    ['a']
    """
    return get_default_graph().control_dependencies(control_inputs)


@contextlib.contextmanager
def init_scope():
    """``tf.init_scope``: build ops outside every ``tf.cond`` branch, ``tf.while_loop`` body and control dependency
    (where TF1 builds variables: created in a branch, they still exist whichever branch runs).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     with tf.control_dependencies([tf.no_op(name="first")]), init_scope():
    ...         tf.constant(1).op.control_inputs
    ()
    """
    with get_default_graph().control_dependencies(None):
        yield


def colocate_with(op, ignore_existing=False):
    """Put ops created inside on the device of ``op``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     with tf.device("/job:ps/task:1"):
    ...         v = tf.constant(1.0)
    ...     with tf.colocate_with(v):
    ...         tf.identity(v).device
    '/job:ps/task:1'
    """
    return get_default_graph().colocate_with(op, ignore_existing)


def add_to_collection(name, value):
    """Append ``value`` to collection ``name`` of the default graph.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.add_to_collection("losses", 0.5); tf.get_collection("losses")
    [0.5]
    """
    get_default_graph().add_to_collection(name, value)


def get_collection(name, scope=None):
    """A copy of collection ``name`` of the default graph.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.add_to_collection("things", 1); tf.get_collection("things")
    [1]
    """
    return get_default_graph().get_collection(name, scope)


def get_collection_ref(name):
    """The live list of collection ``name`` of the default graph.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.get_collection_ref("steps").append(1); tf.get_collection("steps")
    [1]
    """
    return get_default_graph().get_collection_ref(name)
