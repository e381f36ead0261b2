"""tf.train.get_global_step finds the global step as TF does: the GLOBAL_STEP collection, else by its name."""

import logging

import pytest

import tasklayer as tf


def test_a_variable_named_global_step_is_the_global_step():
    with tf.Graph().as_default():
        step = tf.Variable(0, name="global_step", trainable=False)
        assert tf.train.get_global_step() is step and tf.train.get_or_create_global_step() is step
        with pytest.raises(ValueError, match='"global_step" already exists.'):
            tf.train.create_global_step()
        x = tf.Variable(3.0)
        train = tf.train.GradientDescentOptimizer(0.1).minimize(x * x, global_step=tf.train.get_global_step())
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train)
            sess.run(train)
            assert tf.train.global_step(sess, step) == 2


def test_the_collection_comes_first_and_names_inside_scopes_do_not_count():
    with tf.Graph().as_default():
        with tf.variable_scope("model"):
            tf.Variable(0, name="global_step", trainable=False)
        assert tf.train.get_global_step() is None  # it is "model/global_step"
        created = tf.train.get_or_create_global_step()
        assert created.op.name == "global_step" and created.dtype == tf.int64
        assert tf.train.get_global_step() is created


def test_two_global_steps_in_the_collection_log_an_error_and_give_none(caplog):
    with tf.Graph().as_default() as g:
        tf.train.create_global_step()
        g.add_to_collection(tf.GraphKeys.GLOBAL_STEP, tf.Variable(0, name="another_step"))
        with caplog.at_level(logging.ERROR, logger="tensorflow"):
            assert tf.train.get_global_step() is None
        assert "Multiple tensors in global_step collection." in caplog.text


def test_a_global_step_that_is_no_scalar_integer_is_refused():
    with tf.Graph().as_default():
        tf.Variable(0.5, name="global_step")
        with pytest.raises(TypeError, match='Existing "global_step" does not have integer type'):
            tf.train.get_global_step()
    with tf.Graph().as_default():
        tf.Variable([1, 2], name="global_step")
        with pytest.raises(TypeError, match='Existing "global_step" is not scalar'):
            tf.train.get_global_step()
    with pytest.raises(TypeError, match='must be a Variable or Tensor'):
        tf.train.assert_global_step(3)
