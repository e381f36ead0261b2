"""Control kernels: NoOp (``tf.group`` is a NoOp with control inputs)."""

from engine.kernels.registry import register_kernel


@register_kernel("NoOp", "CPU", xp_generic=True)
def no_op(node, env, xp=None):
    """Does nothing; it exists to hang control dependencies on."""
    return lambda *inputs: None
