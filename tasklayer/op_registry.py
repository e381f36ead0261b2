"""Which op types the task layer can build, and how each one's output dtypes and shapes follow from it.

An op type is registered once with an ``infer`` function: given the new ``Operation`` (its ``inputs``,
``type``, ``name`` and attrs via ``get_attr``) it returns one ``(DType, shape)`` per output, or raises
ValueError/TypeError naming the op. Later issues add ops (variables, optimizer updates) the same way.
"""

import dataclasses


@dataclasses.dataclass(frozen=True)
class OpSpec:
    """What the graph needs to know about an op type."""

    op_type: str
    infer: object           # callable(Operation) -> list[(DType, TensorShape | tuple | None)]
    stateful: bool = False  # random and state-changing ops (the passes never fold or merge them)


_SPECS = {}


def register_op(op_type, infer, *, stateful=False):
    """Register ``op_type`` with its inference function (re-registering replaces it)."""
    _SPECS[op_type] = OpSpec(op_type, infer, stateful)


def lookup(op_type):
    """The ``OpSpec`` of ``op_type``; ValueError naming it when unknown."""
    try:
        return _SPECS[op_type]
    except KeyError:
        raise ValueError(f"unknown op type {op_type!r}: no op of that type is registered") from None


def is_registered(op_type):
    """Whether ``op_type`` has been registered."""
    return op_type in _SPECS
