"""The variable collections (global, trainable, local), their initializers, and the global step; ``Variable``
itself lives in ``tasklayer.ref_variable`` (below ``variable_scope``, which creates them) and is re-exported here.

>>> import tasklayer as tf
>>> with tf.Graph().as_default():
...     w = tf.Variable([1.0, 2.0], name="w")
...     with tf.Session() as sess:
...         sess.run(tf.global_variables_initializer())
...         [v.op.name for v in tf.global_variables()], sess.run(w).tolist()
(['w'], [1.0, 2.0])
"""

import numpy as np

from tasklayer import dtypes, initializers, state_ops, tf_logging
from tasklayer.graph import GraphKeys, Tensor, get_default_graph, name_scope
from tasklayer.ops import array_ops, control_flow_ops, math_ops, slicing_ops
from tasklayer.ref_variable import Variable, control_flow_ops_dependencies  # noqa: F401 - re-exported
from tasklayer.variable_scope import get_variable

__all__ = ["Variable", "global_variables", "trainable_variables", "local_variables", "global_variables_initializer",
           "variables_initializer", "local_variables_initializer", "is_variable_initialized",
           "report_uninitialized_variables", "get_or_create_global_step", "get_global_step", "create_global_step",
           "assert_global_step", "global_step"]


# ---------------------------------------------------------------------- collections
def global_variables(scope=None):
    """Every global variable of the default graph (optionally only those whose name matches ``scope``).

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     _ = tf.Variable(1.0, name="a"); _ = tf.Variable(2.0, name="b", trainable=False)
    ...     [v.op.name for v in tf.global_variables()], [v.op.name for v in tf.trainable_variables()]
    (['a', 'b'], ['a'])
    """
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


def trainable_variables(scope=None):
    """The variables optimizers update by default."""
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def local_variables(scope=None):
    """Variables in the LOCAL_VARIABLES collection."""
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def model_variables(scope=None):
    """Variables in the MODEL_VARIABLES collection (what ``tf.contrib.framework.model_variable`` makes)."""
    return get_default_graph().get_collection(GraphKeys.MODEL_VARIABLES, scope)


def variables_initializer(var_list, name="init"):
    """One op running the initializers of ``var_list`` (a NoOp when it is empty)."""
    var_list = list(var_list)
    if not var_list:
        return control_flow_ops.no_op(name=name)
    return control_flow_ops.group(*[v.initializer for v in var_list], name=name)


def global_variables_initializer():
    """The op initializing every global variable (run it once, after building the model and optimizer)."""
    return variables_initializer(global_variables(), name="init")


def local_variables_initializer():
    """The op initializing every local variable."""
    return variables_initializer(local_variables(), name="init_1")


def is_variable_initialized(variable):
    """A bool tensor: whether ``variable`` has a value."""
    return state_ops.is_variable_initialized(variable)


def report_uninitialized_variables(var_list=None, name="report_uninitialized_variables"):
    """A 1-D string tensor: the names of the variables of ``var_list`` (default: global) NOT initialized yet.

    As in TF1, the names are selected on the CPU of the task running the session (only the per-variable bools
    cross from the tasks holding the variables); fetched, they are ``bytes``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     w, b = tf.Variable(1.0, name="w"), tf.Variable(2.0, name="b")
    ...     report = tf.report_uninitialized_variables()
    ...     with tf.Session() as sess:
    ...         before = sess.run(report).tolist()
    ...         _ = sess.run(w.initializer)
    ...         after = sess.run(report).tolist()
    >>> before, after
    ([b'w', b'b'], [b'b'])
    """
    var_list = global_variables() if var_list is None else list(var_list)
    graph = get_default_graph()
    with name_scope(name):
        initialized = [is_variable_initialized(v) for v in var_list]
        with graph.device("/cpu:0"):  # the task the session runs on: names never cross between tasks
            names = _string_constant([v.op.name for v in var_list], "variable_names")
            if not var_list:
                return names
            uninitialized = math_ops.logical_not(array_ops.stack(initialized))
            where = array_ops.reshape(array_ops.where(uninitialized), [-1])
            return slicing_ops.gather(names, where)


def _string_constant(values, name):
    """A 1-D string Const of ``values`` (str, stored as UTF-8 bytes)."""
    array = np.empty(len(values), dtype=object)
    array[:] = [v.encode("utf-8") for v in values]
    array.setflags(write=False)
    return get_default_graph().create_op("Const", [], {"value": array, "dtype": dtypes.string},
                                         name=name).outputs[0]


# ---------------------------------------------------------------------- global step
def get_global_step(graph=None):
    """The global step of ``graph`` (default graph), as TF finds it: the one entry of the GLOBAL_STEP collection,
    else the variable named ``global_step`` (e.g. ``tf.Variable(0, name="global_step", trainable=False)``), else
    None. Several entries in the collection log an error and give None, as in TF.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     step = tf.Variable(0, name="global_step", trainable=False)
    ...     tf.train.get_global_step() is step
    True
    """
    graph = graph or get_default_graph()
    found = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(found) > 1:
        tf_logging.error("Multiple tensors in global_step collection.")
        return None
    if found:
        step = found[0]
    else:
        try:
            step = graph.get_tensor_by_name("global_step:0")
        except KeyError:
            return None
        step = _variable_of(graph, step)
    assert_global_step(step)
    return step


def _variable_of(graph, tensor):
    """The Variable whose VariableV2 output is ``tensor`` (TF gives the tensor; ours reads and updates alike),
    else ``tensor`` itself."""
    for key in (GraphKeys.GLOBAL_VARIABLES, GraphKeys.LOCAL_VARIABLES):
        for v in graph.get_collection(key):
            if isinstance(v, Variable) and v._ref() is tensor:
                return v
    return tensor


def assert_global_step(global_step_tensor):
    """TypeError unless ``global_step_tensor`` is a scalar integer Variable or Tensor (TF's checks and words)."""
    if not isinstance(global_step_tensor, (Variable, Tensor)):
        raise TypeError(f'Existing "global_step" must be a Variable or Tensor: {global_step_tensor}.')
    if not global_step_tensor.dtype.base_dtype.is_integer:
        raise TypeError(f'Existing "global_step" does not have integer type: {global_step_tensor.dtype}')
    shape = global_step_tensor.get_shape()
    if shape.ndims != 0 and shape.is_fully_defined():
        raise TypeError(f'Existing "global_step" is not scalar: {shape}')


def create_global_step(graph=None):
    """Create the int64 scalar ``global_step`` variable (ValueError if the graph has a global step already)."""
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists.')
    with graph.as_default(), graph.name_scope(None):
        return get_variable("global_step", shape=[], dtype=dtypes.int64, initializer=initializers.zeros(),
                            trainable=False, collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP])


def get_or_create_global_step(graph=None):
    """The global step variable, created on first use.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     tf.train.get_or_create_global_step() is tf.train.get_or_create_global_step()
    True
    """
    graph = graph or get_default_graph()
    step = get_global_step(graph)
    return create_global_step(graph) if step is None else step


def global_step(sess, global_step_tensor):
    """The global step's current value in ``sess``, as a Python int (``tf.train.global_step``)."""
    return int(sess.run(global_step_tensor))
