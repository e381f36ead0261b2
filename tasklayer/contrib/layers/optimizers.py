"""``tf.contrib.layers.optimize_loss``: a training op from a loss, an optimizer (by name, class, instance or
function) and a learning rate, with the gradient clipping, noise, multipliers and summaries of TF 1.15.

>>> import tasklayer as tf
>>> with tf.Graph().as_default(), tf.Session() as sess:
...     w = tf.Variable(3.0)
...     step = tf.train.get_or_create_global_step()
...     train = tf.contrib.layers.optimize_loss(tf.square(w), step, learning_rate=0.25, optimizer="SGD")
...     sess.run(tf.global_variables_initializer())
...     [float(sess.run(train)) for _ in range(3)], float(sess.run(w)), int(sess.run(step))
([9.0, 2.25, 0.5625], 0.375, 3)
"""

from tasklayer import initializers
from tasklayer import summary
from tasklayer.graph import GraphKeys, Tensor, get_collection
from tasklayer.ops import clip_ops, control_flow_ops, math_ops, random_ops
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.variable_scope import get_variable, variable_scope
from tasklayer.variables import assert_global_step, get_global_step, trainable_variables
from tasklayer.training import AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer

__all__ = ["optimize_loss", "OPTIMIZER_CLS_NAMES", "OPTIMIZER_SUMMARIES"]

OPTIMIZER_CLS_NAMES = {
    "Adam": AdamOptimizer,
    "Momentum": lambda learning_rate: MomentumOptimizer(learning_rate, momentum=0.9),
    "SGD": GradientDescentOptimizer,
}
_NOT_PROVIDED = ("Adagrad", "Ftrl", "RMSProp")  # TF's other names, whose optimizers tasklayer lacks

OPTIMIZER_SUMMARIES = ["learning_rate", "loss", "gradients", "gradient_norm", "global_gradient_norm"]


def optimize_loss(loss, global_step, learning_rate, optimizer, gradient_noise_scale=None, gradient_multipliers=None,
                  clip_gradients=None, learning_rate_decay_fn=None, update_ops=None, variables=None, name=None,
                  summaries=None, colocate_gradients_with_ops=False, increment_global_step=True):
    """``loss`` after one update of ``variables`` (default: the trainable ones) by ``optimizer``, run after the
    ``update_ops`` (default: ``tf.GraphKeys.UPDATE_OPS``); ``global_step`` (default: the graph's) counts the
    updates. ``optimizer``: "SGD", "Adam" or "Momentum", an ``Optimizer`` class or instance, or a function of the
    learning rate; ``clip_gradients``: a float (global norm) or a function of the (gradient, variable) pairs."""
    loss = convert_to_tensor(loss)
    if loss.shape.ndims not in (None, 0):
        raise ValueError(f"Expected scalar shape for {loss.name}, saw shape: {loss.shape}.")
    if global_step is None:
        global_step = get_global_step()
    else:
        assert_global_step(global_step)
    with variable_scope(name, "OptimizeLoss", [loss, global_step]):
        if update_ops is None:
            update_ops = list(dict.fromkeys(get_collection(GraphKeys.UPDATE_OPS)))
        if update_ops:
            loss = control_flow_ops.with_dependencies(list(update_ops), loss)
        lr = _learning_rate(learning_rate)
        if summaries is None:
            summaries = ["loss", "learning_rate", "global_gradient_norm"]
        for summ in summaries:
            if summ not in OPTIMIZER_SUMMARIES:
                raise ValueError(f"Summaries should be one of [{', '.join(OPTIMIZER_SUMMARIES)}], you provided "
                                 f"{summ}.")
        if learning_rate is not None and learning_rate_decay_fn is not None:
            if global_step is None:
                raise ValueError("global_step is required for learning_rate_decay_fn.")
            lr = learning_rate_decay_fn(lr, global_step)
            if "learning_rate" in summaries:
                summary.scalar("learning_rate", lr)
        opt = _optimizer(optimizer, lr, learning_rate)
        if variables is None:
            variables = trainable_variables()
        gradients = opt.compute_gradients(loss, variables,
                                          colocate_gradients_with_ops=colocate_gradients_with_ops)
        if gradient_noise_scale is not None:
            gradients = [(g if g is None else g + random_ops.truncated_normal(g.shape) * gradient_noise_scale, v)
                         for g, v in gradients]
        if gradient_multipliers is not None:
            gradients = _multiply_gradients(gradients, gradient_multipliers)
            if not gradients:
                raise ValueError("Empty list of (gradient, var) pairs encountered. This is most likely to be caused "
                                 "by an improper value of gradient_multipliers.")
        norms = "global_gradient_norm" in summaries or "gradient_norm" in summaries
        if norms:
            summary.scalar("global_norm/gradient_norm", clip_ops.global_norm([g for g, _ in gradients]))
        if isinstance(clip_gradients, float):
            clipped, _ = clip_ops.clip_by_global_norm([g for g, _ in gradients], clip_gradients)
            gradients = list(zip(clipped, [v for _, v in gradients]))
        elif callable(clip_gradients):
            gradients = clip_gradients(gradients)
        elif clip_gradients is not None:
            raise ValueError(f"Unknown type {type(clip_gradients)} for clip_gradients")
        if "loss" in summaries:
            summary.scalar("loss", loss)
        for gradient, variable in gradients:
            if gradient is not None:
                var_name = variable.name.replace(":", "_")
                if "gradients" in summaries:
                    summary.histogram(f"gradients/{var_name}", gradient)
                if "gradient_norm" in summaries:
                    summary.scalar(f"gradient_norm/{var_name}", clip_ops.global_norm([gradient]))
        if clip_gradients is not None and norms:
            summary.scalar("global_norm/clipped_gradient_norm", clip_ops.global_norm([g for g, _ in gradients]))
        grad_updates = opt.apply_gradients(gradients, global_step=global_step if increment_global_step else None,
                                           name="train")
        return control_flow_ops.with_dependencies([grad_updates], loss)


def _learning_rate(learning_rate):
    """A scalar tensor as it is, a float as the non-trainable variable ``learning_rate``, None as None."""
    if learning_rate is None:
        return None
    if isinstance(learning_rate, Tensor) and learning_rate.shape.ndims == 0:
        return learning_rate
    if isinstance(learning_rate, float):
        if learning_rate < 0.0:
            raise ValueError(f"Invalid learning_rate {learning_rate}.")
        return get_variable("learning_rate", [], trainable=False,
                            initializer=initializers.constant_initializer(learning_rate))
    raise ValueError(f"Learning rate should be 0d Tensor or float. Got {learning_rate} of type "
                     f"{type(learning_rate)}")


def _optimizer(optimizer, lr, learning_rate):
    """The Optimizer ``optimize_loss`` was given, made with ``lr`` where it names or builds one."""
    if isinstance(optimizer, str):
        if lr is None:
            raise ValueError(f"Learning rate is None, but should be specified if optimizer is string ({optimizer}).")
        if optimizer in _NOT_PROVIDED:
            raise NotImplementedError(f"optimize_loss: the {optimizer} optimizer is not provided by tasklayer (use "
                                      f"one of {', '.join(OPTIMIZER_CLS_NAMES)}, or pass an Optimizer)")
        if optimizer not in OPTIMIZER_CLS_NAMES:
            raise ValueError(f"Optimizer name should be one of [{', '.join(OPTIMIZER_CLS_NAMES)}], you provided "
                             f"{optimizer}.")
        return OPTIMIZER_CLS_NAMES[optimizer](learning_rate=lr)
    if isinstance(optimizer, type) and issubclass(optimizer, Optimizer):
        if lr is None:
            raise ValueError(f"Learning rate is None, but should be specified if optimizer is class ({optimizer}).")
        return optimizer(learning_rate=lr)
    if isinstance(optimizer, Optimizer):
        return optimizer
    if callable(optimizer):
        opt = optimizer(lr) if learning_rate is not None else optimizer()
        if not isinstance(opt, Optimizer):
            raise ValueError(f"Unrecognized optimizer: function should return subclass of Optimizer. Got {opt}.")
        return opt
    raise ValueError(f"Unrecognized optimizer: should be string, subclass of Optimizer, instance of subclass of "
                     f"Optimizer or function with one argument. Got {optimizer}.")


def _multiply_gradients(grads_and_vars, gradient_multipliers):
    """Each gradient of a variable named in ``gradient_multipliers`` (by variable or name) times its factor."""
    multiplied = []
    for grad, var in grads_and_vars:
        if grad is not None and (var in gradient_multipliers or var.name in gradient_multipliers):
            factor = gradient_multipliers[var if var in gradient_multipliers else var.name]
            grad = grad * math_ops.cast(factor, grad.dtype)
        multiplied.append((grad, var))
    return multiplied
