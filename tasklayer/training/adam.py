"""``tf.train.AdamOptimizer`` (Kingma & Ba), computed as TF1 does: slots ``m``/``v`` per variable and two
non-slot variables ``beta1_power``/``beta2_power`` updated once per step after every variable's update."""

from tasklayer import dtypes
from tasklayer.graph import colocate_with, control_dependencies
from tasklayer.ops import control_flow_ops
from tasklayer.training import training_ops
from tasklayer.training.optimizer import Optimizer, hyper


class AdamOptimizer(Optimizer):
    """Adam: ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``; ``var -= lr_t * m / (sqrt(v) + epsilon)``.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default():
    ...     w = tf.Variable(1.0)
    ...     step = tf.train.AdamOptimizer(0.1).minimize(w * w)
    ...     with tf.Session() as sess:
    ...         sess.run(tf.global_variables_initializer()); sess.run(step)
    ...         print(round(float(sess.run(w)), 4))
    0.9
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, use_locking=False, name="Adam"):
        super().__init__(use_locking, name)
        self._lr, self._beta1, self._beta2, self._epsilon = learning_rate, beta1, beta2, epsilon

    def _create_slots(self, var_list):
        first = min(var_list, key=lambda v: v.op.name)
        # float32 like TF1's (a Python float's dtype), cast to each variable's dtype where used: same numbers.
        self._non_slot("beta1_power", self._beta1, first, dtypes.float32)
        self._non_slot("beta2_power", self._beta2, first, dtypes.float32)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", f"{self._name}_1")

    def _powers(self, graph):
        return self._get_non_slot("beta1_power", graph), self._get_non_slot("beta2_power", graph)

    def _apply_dense(self, grad, var):
        b1p, b2p = self._powers(var.graph)
        dt = var.dtype
        lr, beta1, beta2, epsilon = (hyper(x, dt, n) for x, n in ((self._lr, "learning_rate"), (self._beta1, "beta1"),
                                                                   (self._beta2, "beta2"), (self._epsilon, "epsilon")))
        return training_ops.apply_adam(var, self.get_slot(var, "m"), self.get_slot(var, "v"),
                                       hyper(b1p, dt, "beta1_power"), hyper(b2p, dt, "beta2_power"), lr, beta1, beta2,
                                       epsilon, grad).op

    def _finish(self, update_ops, name):
        b1p, b2p = self._powers(update_ops[0].graph)
        with control_dependencies(update_ops), colocate_with(b1p.op, ignore_existing=True):
            update_b1 = b1p.assign(b1p.value() * hyper(self._beta1, b1p.dtype, "beta1"), name="update_beta1")
            update_b2 = b2p.assign(b2p.value() * hyper(self._beta2, b2p.dtype, "beta2"), name="update_beta2")
        return control_flow_ops.group(*update_ops, update_b1, update_b2, name=name)

