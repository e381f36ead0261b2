"""The helpers stateful kernels share (engine/kernels/resources.py): the ResourceMgr of a node's Executor, and a
resource named by a string handle, with errors that name the node."""

import numpy as np
import pytest

from engine.errors import FailedPreconditionError, InvalidArgumentError
from engine.graph_util import make_node
from engine.kernels.context import KernelEnv
from engine.kernels.resources import handle_name, lookup_by_handle, node_resources
from engine.resource_mgr import ResourceMgr


def test_node_resources_names_the_node_when_the_executor_has_none():
    node = make_node("q", "FIFOQueueV2")
    rm = ResourceMgr()
    assert node_resources(node, KernelEnv(resources=rm)) is rm
    with pytest.raises(InvalidArgumentError, match=r"FIFOQueueV2 node 'q' needs a ResourceMgr") as info:
        node_resources(node, KernelEnv())
    assert (info.value.node_name, info.value.op_type) == ("q", "FIFOQueueV2")
    with pytest.raises(FailedPreconditionError, match="needs a ResourceMgr"):
        node_resources(node, KernelEnv(), FailedPreconditionError)


@pytest.mark.parametrize("handle", [np.array(b"shared", dtype=object), b"shared", "shared"])
def test_handles_of_every_form_find_their_resource(handle):
    rm = ResourceMgr()
    rm.create("_queues", "shared", "the queue")
    assert handle_name(handle) == "shared"
    assert lookup_by_handle(rm, "_queues", handle, make_node("deq", "QueueDequeueV2"), "queue") == "the queue"


def test_a_handle_to_a_resource_of_another_process_names_the_node():
    node = make_node("read", "ReaderReadV2")
    with pytest.raises(InvalidArgumentError, match="ReaderReadV2 node 'read': no reader 'r' in this process; a "
                                                   "reader op must run on its reader's device"):
        lookup_by_handle(ResourceMgr(), "_readers", np.array(b"r", dtype=object), node, "reader")
