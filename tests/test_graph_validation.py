"""GraphDefs checked as TensorFlow checks them: names, inputs, attrs against input dtypes, feeds, absurd sizes."""

import time

import numpy as np
import pytest

import tasklayer as tf
from engine import dtypes
from engine.errors import InvalidArgumentError, NotFoundError, ResourceExhaustedError
from engine.executor import Executor
from engine.graph_util import make_const, make_node
from engine.graph_validation import validate_graph_def
from protos import graph_pb2

F32 = dtypes.float32


def graph(*nodes):
    return graph_pb2.GraphDef(node=list(nodes))


def test_an_add_whose_attr_says_string_on_float_inputs_is_refused_naming_the_node():
    g = graph(make_const("a", np.float32(1)), make_const("b", np.float32(2)),
              make_node("s", "Add", ["a", "b"], T=dtypes.string))
    with pytest.raises(InvalidArgumentError, match="Input 0 of node s was passed float from a:0 incompatible "
                                                   "with expected string") as info:
        Executor(g)
    assert info.value.node_name == "s"


def test_a_float_matmul_on_an_int32_input_is_refused_not_answered_in_float64():
    g = graph(make_const("a", np.int32([[1]])), make_const("b", np.float32([[2]])),
              make_node("m", "MatMul", ["a", "b"], T=F32))
    with pytest.raises(InvalidArgumentError, match="Input 0 of node m was passed int32"):
        Executor(g).run(fetches=["m:0"])


def test_a_second_input_of_the_wrong_type_is_named_by_its_index():
    g = graph(make_const("x", np.float32([1, 2])), make_const("shape", np.float32([2])),
              make_node("r", "Reshape", ["x", "shape"], T=F32, Tshape=dtypes.int32))
    with pytest.raises(InvalidArgumentError, match="Input 1 of node r was passed float from shape:0 "
                                                   "incompatible with expected int32"):
        validate_graph_def(g)


@pytest.mark.parametrize("nodes, message", [
    ([make_const("a", 1.0), make_node("", "Neg", ["a"], T=dtypes.float64)], "empty name"),
    ([make_const("a", 1.0), make_const("a", 2.0)], "Node 'a' is not unique"),
    ([make_node("n", "Neg", ["ghost"], T=F32)], "Node 'n': Unknown input node 'ghost'"),
    ([make_const("a", 1.0), make_node("n", "Neg", ["a:3"], T=dtypes.float64)],
     "Connecting to invalid output 3 of source node a which has 1 outputs"),
    ([make_const("a", 1.0), make_node("n", "Neg", ["^a", "a"], T=dtypes.float64)], "Non-control input"),
    ([make_node("bad name!", "NoOp")], "invalid characters"),
    ([make_node("_internal", "NoOp")], "invalid characters"),
    ([make_node("p", "Placeholder")], "NodeDef p \\(Placeholder\\): node 'p' \\(Placeholder\\) has no attr "
                                      "'dtype'"),
    ([make_const("a", 1.0), make_node("s", "Select", ["a", "a", "a"], T=dtypes.float64)],
     "Input 0 of node s was passed double from a:0 incompatible with expected bool"),
    ([make_const("a", 1.0), make_node("s", "Neg", ["a", "a"], T=dtypes.float64)], None),
])
def test_malformed_graphs_are_refused_with_the_node_named(nodes, message):
    if message is None:  # Neg declares "every input is T": two of them is an arity the kernel refuses, not us
        validate_graph_def(graph(*nodes))
        return
    with pytest.raises(InvalidArgumentError, match=message):
        validate_graph_def(graph(*nodes))


def test_an_unknown_op_is_not_found():
    with pytest.raises(NotFoundError, match="Op type not registered 'Frobnicate' in node 'f'"):
        validate_graph_def(graph(make_node("f", "Frobnicate")))


def test_a_pruned_partition_may_name_nodes_it_no_longer_has_and_internal_nodes():
    g = graph(make_node("_recv_x", "Placeholder", dtype=F32), make_node("n", "Neg", ["fed_elsewhere"], T=F32))
    validate_graph_def(g, partial=True)
    with pytest.raises(InvalidArgumentError):
        validate_graph_def(g)


@pytest.mark.parametrize("value, message", [
    (np.zeros(3, np.float32), r"Cannot feed value of shape \[3\] for Tensor 'p:0', which has shape \[2\]"),
    (np.zeros((2, 1), np.float32), r"Cannot feed value of shape \[2, 1\]"),
    (np.zeros(2, np.float64), "Cannot feed value of dtype float64 for Tensor 'p:0', which has dtype float32"),
    (np.array(["a", "b"], dtype=object), "Cannot feed value of dtype object"),
])
def test_a_feed_of_another_shape_or_dtype_than_the_placeholder_declares_is_refused(value, message):
    g = graph(make_node("p", "Placeholder", dtype=F32, shape=[2]), make_node("n", "Neg", ["p"], T=F32))
    executor = Executor(g)
    with pytest.raises(InvalidArgumentError, match=message):
        executor.run(fetches=["n:0"], feeds={"p:0": value})
    np.testing.assert_array_equal(executor.run(fetches=["n:0"], feeds={"p:0": np.float32([1, 2])})[0], [-1, -2])


def test_a_placeholder_of_unknown_dims_takes_any_size_along_them():
    with tf.Graph().as_default() as g:
        tf.negative(tf.placeholder(tf.float32, [None, 2], name="p"), name="n")
    executor = Executor(g.as_graph_def())
    assert executor.run(fetches=["n:0"], feeds={"p:0": np.ones((5, 2), np.float32)})[0].shape == (5, 2)
    with pytest.raises(InvalidArgumentError, match=r"which has shape \[\?,2\]"):
        executor.run(fetches=["n:0"], feeds={"p:0": np.ones((5, 3), np.float32)})


@pytest.mark.parametrize("build", [
    lambda: tf.tile(tf.constant([[1.0]]), [2**31 - 1, 2**31 - 1]),
    lambda: tf.fill([2**31 - 1, 2**31 - 1], 1.0),
    lambda: tf.range(0, 2**45, dtype=tf.int64),
])
def test_an_absurdly_large_output_fails_at_once_from_its_shape(build):
    with tf.Graph().as_default():
        t = build()
        with tf.Session() as sess:
            started = time.monotonic()
            with pytest.raises(ResourceExhaustedError, match="OOM when allocating tensor with shape"):
                sess.run(t)
            assert time.monotonic() - started < 2.0


def test_import_graph_def_refuses_what_a_task_would_refuse():
    g = graph(make_const("a", np.float32(1)), make_const("b", np.float32(2)),
              make_node("s", "Add", ["a", "b"], T=dtypes.string))
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="Input 0 of node s was passed float from a:0 incompatible with "
                                             "expected string"):
            tf.import_graph_def(g, name="")
