"""Cross-partition kernels: _Send puts a tensor into the run's rendezvous, _Recv waits for one."""

from engine import rendezvous
from engine.errors import FailedPreconditionError
from engine.graph_util import get_attr
from engine.kernels.registry import register_kernel


def key_of(node):
    """The rendezvous key of a _Send/_Recv node, from its attrs."""
    return rendezvous.make_key(get_attr(node, "send_device"), int(get_attr(node, "send_device_incarnation", 0)),
                               get_attr(node, "recv_device"), get_attr(node, "tensor_name"))


def _need_rendezvous(ctx, node):
    if ctx.rendezvous is None:
        raise FailedPreconditionError(None, None, f"{node.op} needs a rendezvous, but the run was given none")
    return ctx.rendezvous


@register_kernel("_Send", "CPU", needs_context=True)
def send(node, env):
    """Hand the input to the rendezvous under this edge's key (never blocks)."""
    key = key_of(node)
    return lambda ctx, value: _need_rendezvous(ctx, node).send(key, value)


@register_kernel("_Recv", "CPU", needs_context=True)
def recv(node, env):
    """Wait for this edge's tensor (until the run's timeout, or an abort)."""
    key = key_of(node)

    def fn(ctx):
        return _need_rendezvous(ctx, node).recv(key, timeout=ctx.timeout)
    fn.recv_key = key  # the executor's dataflow loop waits for it by callback when the rendezvous offers one
    return fn
