"""``tf.train.MomentumOptimizer``: ``accum = momentum * accum + grad; var -= lr * accum`` (or Nesterov's)."""

from tasklayer.training import training_ops
from tasklayer.training.optimizer import Optimizer, hyper


class MomentumOptimizer(Optimizer):
    """Gradient descent with momentum; one ``momentum`` slot (named ``<var>/Momentum``) per variable.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable(1.0)
    ...     step = tf.train.MomentumOptimizer(0.1, momentum=0.5).minimize(w * w)
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer()); sess.run(step); sess.run(step)
    ...         print(round(float(sess.run(w)), 4))
    0.54
    """

    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum", use_nesterov=False):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = use_nesterov

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _apply_dense(self, grad, var):
        lr = hyper(self._learning_rate, var.dtype, "learning_rate")
        momentum = hyper(self._momentum, var.dtype, "momentum")
        accum = self.get_slot(var, "momentum")
        return training_ops.apply_momentum(var, accum, lr, grad, momentum, use_nesterov=self._use_nesterov).op
