"""What the kernels of stateful ops share: the ResourceMgr their Executor carries, and resources named by handle."""

import numpy as np

from engine.errors import InvalidArgumentError, NotFoundError


def node_resources(node, env, error=InvalidArgumentError):
    """The ResourceMgr of the Executor running ``node``; ``error`` naming the node when it has none."""
    if env.resources is None:
        raise error(None, None, f"{node.op} node {node.name!r} needs a ResourceMgr: build the Executor with "
                                "resources=ResourceMgr()", node_name=node.name, op_type=node.op)
    return env.resources


def handle_name(handle):
    """The resource name a string handle holds (a scalar tensor of bytes, bytes or str)."""
    key = handle.item() if isinstance(handle, np.ndarray) else handle
    return key.decode() if isinstance(key, bytes) else str(key)


def lookup_by_handle(resources, container, handle, node, what):
    """The resource ``handle`` names in ``container``; InvalidArgumentError naming the node when it is not in this
    process (an op on a ``what``, e.g. a queue, must run where that resource lives)."""
    key = handle_name(handle)
    try:
        return resources.lookup(container, key)
    except NotFoundError:
        raise InvalidArgumentError(None, None, f"{node.op} node {node.name!r}: no {what} {key!r} in this process; "
                                               f"a {what} op must run on its {what}'s device",
                                   node_name=node.name, op_type=node.op) from None
