"""The functions of ``map`` and ``filter`` as a dataset kernel runs them: a traced function graph (a GraphDef
with one Placeholder per element component) run by a runner the kernel's function library gives
(``KernelEnv.functions``, an executor of its own), per element or, when the task layer found the function
elementwise, once per block of elements.

A function travels inside its dataset op as attrs, so a dataset runs wherever its iterator is placed:
  ``<f>``           the serialized GraphDef (a string scalar tensor attr: bytes survive the trip as they are)
  ``<f>_arguments`` the Placeholder tensor names, one per input component, in order
  ``<f>_results``   the result tensor names, one per output component
  ``<f>_elementwise`` whether running it on a block (a leading axis of elements) gives every element's result
"""

import numpy as np

from engine.errors import InvalidArgumentError
from engine.graph_util import get_attr
from engine.kernels.numpy_dataset_pipeline import row, stack
from protos import graph_pb2


def graph_attr(node, attr):
    """The GraphDef a dataset NodeDef carries in attr ``attr`` (serialized in a string scalar tensor)."""
    body = get_attr(node, attr)
    body = body.reshape(-1)[0] if isinstance(body, np.ndarray) else body
    return graph_pb2.GraphDef.FromString(bytes(body))


class DatasetFunction:
    """A traced function; ``fn(components)`` gives the result components of one element. ``runner`` runs its
    graph (``run(feeds, fetches)``, from a ``KernelEnv``'s function library)."""

    def __init__(self, runner, arguments, results, elementwise, name="function"):
        self.name = name
        self.arguments = list(arguments)
        self.results = list(results)
        self.elementwise = bool(elementwise)
        self._runner = runner

    @classmethod
    def from_node(cls, node, attr, env):
        """The function held in attr ``attr`` (and its companions) of a dataset NodeDef, run by the function
        library of the node's ``KernelEnv``."""
        runner = env.functions.instantiate(graph_attr(node, attr))
        return cls(runner, get_attr(node, f"{attr}_arguments", []), get_attr(node, f"{attr}_results"),
                   get_attr(node, f"{attr}_elementwise", False), f"{node.op} {node.name!r}")

    def __call__(self, components):
        if len(components) != len(self.arguments):
            raise InvalidArgumentError(None, None, f"{self.name}: the function takes {len(self.arguments)} "
                                                   f"components, the element has {len(components)}")
        return self._runner.run(feeds=dict(zip(self.arguments, components)), fetches=self.results)

    def call_block(self, block):
        """The results of every element of ``block``, as a block (one run when elementwise)."""
        if not self.elementwise:
            return stack([self(row(block, i)) for i in range(len(block[0]))])
        k = len(block[0])
        out = self(block)
        for value in out:
            if value.shape[:1] != (k,):  # the task layer's analysis promised this; never hand out wrong rows
                raise InvalidArgumentError(None, None, f"{self.name}: a vectorized run gave shape "
                                                       f"{list(value.shape)} for a block of {k} elements")
        return out
