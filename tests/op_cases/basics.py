"""Cases of ops that existed before the case registry: a check that the registry itself runs."""

import numpy as np

from tests.op_cases import case


@case("matmul_float32", expect=lambda: np.float32([[19, 22], [43, 50]]))
def _matmul(tf):
    return tf.matmul(tf.constant([[1.0, 2.0], [3.0, 4.0]]), tf.constant([[5.0, 6.0], [7.0, 8.0]]))


@case("softmax_rows", expect=lambda: np.float32([[0.5, 0.5], [1 / (1 + np.e), np.e / (1 + np.e)]]))
def _softmax(tf):
    return tf.nn.softmax(tf.constant([[0.0, 0.0], [0.0, 1.0]]))


@case("fed_placeholder_reduce", expect=lambda: np.float32(10))
def _fed(tf):
    x = tf.placeholder(tf.float32, [None])
    return tf.reduce_sum(x), {x: np.float32([1, 2, 3, 4])}


@case("matmul_dtype_mismatch", raises=(TypeError, "int32|float"))
def _mismatch(tf):
    return tf.matmul(tf.constant([[1, 2]]), tf.constant([[1.0], [2.0]]))


@case("empty_constants_take_any_dtype", expect=lambda: [np.zeros(0, np.int32), np.zeros((1, 0), np.int64),
                                                       np.float32(0)])
def _empty(tf):
    return [tf.constant([], tf.int32), tf.constant([[]], tf.int64), tf.zeros([])]


@case("string_zeros_are_empty_strings", expect=lambda: np.array([b"", b""], dtype=object))
def _string_zeros(tf):
    return tf.zeros([2], tf.string)
