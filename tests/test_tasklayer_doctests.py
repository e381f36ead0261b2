"""The runnable examples in the task layer's docstrings stay true."""

import doctest
import importlib

import pytest

MODULES = ["tasklayer", "tasklayer.dtypes", "tasklayer.fetches", "tasklayer.graph", "tasklayer.graph_io",
           "tasklayer.session", "tasklayer.shapes", "tasklayer.tensor", "tasklayer.ops.array_ops",
           "tasklayer.ops.constant_op", "tasklayer.ops.control_flow_ops", "tasklayer.ops.math_ops",
           "tasklayer.ops.nn_ops", "tasklayer.ops.random_ops", "tasklayer.ops.reduction_ops",
           "tasklayer.ops.slicing_ops", "tasklayer.train.task_control", "tasklayer.training.monitored_session",
           "tasklayer.node_defs", "tasklayer.session_stack"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring examples failed in {name}"
    assert result.attempted > 0 or name == "tasklayer.dtypes"


def test_every_public_function_has_a_docstring():
    import tasklayer as tf
    missing = [n for n in dir(tf) if not n.startswith("_") and callable(getattr(tf, n))
               and not isinstance(getattr(tf, n), tf.DType) and not (getattr(tf, n).__doc__ or "").strip()]
    assert not missing, missing
