"""TF1's ref variables: a consumer reads a variable when it runs, so reads ordered after an update see it.

The expected values are what TensorFlow 2.21's ``compat.v1`` graph mode with ref variables
(``disable_resource_variables``) prints for the same programs.
"""

import numpy as np
import pytest

import tasklayer as tf
from engine.errors import FailedPreconditionError


def test_reads_under_a_control_dependency_on_an_update_see_it():
    with tf.Graph().as_default():
        v = tf.Variable(1.0)
        with tf.control_dependencies([v.assign_add(1.0)]):
            read = v.read_value()
            ident = tf.identity(v)
            added = v + 0
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert [float(sess.run(t)) for t in (read, ident, added, v)] == [2.0, 3.0, 4.0, 4.0]


def test_a_chain_of_updates_each_reads_the_last():
    with tf.Graph().as_default():
        v = tf.Variable(0.0)
        first = v.assign_add(1.0)
        with tf.control_dependencies([first]):
            second = v.assign(v * 10)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert float(sess.run(second)) == 10.0
            assert float(sess.run(v)) == 10.0


def test_fetched_values_stay_snapshots_after_later_updates():
    with tf.Graph().as_default():
        v = tf.Variable(np.zeros(3, np.float32))
        inc = v.assign_add(np.ones(3, np.float32))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            before = sess.run(v)
            sess.run(inc)
            assert before.tolist() == [0.0, 0.0, 0.0]
            assert sess.run(v).tolist() == [1.0, 1.0, 1.0]


def test_reading_an_uninitialized_variable_names_it():
    with tf.Graph().as_default():
        v = tf.Variable(1.0, name="never_set")
        with tf.Session() as sess:
            with pytest.raises(FailedPreconditionError, match="uninitialized value never_set"):
                sess.run(v + 1)
            with pytest.raises(FailedPreconditionError, match="uninitialized value never_set"):
                sess.run(v)
