"""``tf.train.GradientDescentOptimizer``: ``var -= learning_rate * grad``."""

from tasklayer.training import training_ops
from tasklayer.training.optimizer import Optimizer, hyper


class GradientDescentOptimizer(Optimizer):
    """Plain gradient descent.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable(1.0)
    ...     step = tf.train.GradientDescentOptimizer(0.25).minimize(w * w)
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer()); sess.run(step)
    ...         print(sess.run(w))
    0.5
    """

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate

    def _apply_dense(self, grad, var):
        lr = hyper(self._learning_rate, var.dtype, "learning_rate")
        return training_ops.apply_gradient_descent(var, lr, grad).op
