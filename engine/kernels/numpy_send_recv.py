"""Cross-partition kernels: _Send puts a tensor into the run's rendezvous, _Recv waits for one.

A dead tensor (``engine.dead.DEAD``, an untaken branch's value) crosses too: the executor runs a _Send whose input
is dead with ``DEAD`` (TF's dead marker), and the _Recv's output is then dead in the receiving partition."""

from engine.errors import FailedPreconditionError
from engine.kernels.registry import register_kernel
from engine.rendezvous import key_of


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
