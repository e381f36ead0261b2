"""Reference values (TF1's ref tensors): what a VariableV2 outputs, read by each consumer when *it* runs.

A variable's consumers must see the value at the moment they execute, not when the variable node ran: under
``control_dependencies([v.assign_add(1)])`` a read of ``v`` sees the update. So a variable node outputs its
``Ref`` (the variable's state), ref ops (Assign, Apply*) take it as is, and the plan gives every other consumer
``read(value)`` of it at call time (``engine.plan``); a fetch reads it last.

>>> class Box(Ref):
...     def __init__(self, value): self.value = value
...     def read(self): return self.value
>>> box = Box(1); box.value = 2; read(box), read(3)
(2, 3)
"""


class Ref:
    """A value read through ``read()`` when it is used (a variable's state)."""

    __slots__ = ()

    def read(self):
        """The current value."""
        raise NotImplementedError


def read(value):
    """``value.read()`` for a ``Ref``, else ``value`` itself."""
    return value.read() if isinstance(value, Ref) else value


def reading(fn, positions):
    """``fn`` with the arguments at ``positions`` read (``read``) at each call: a non-ref consumer of a ref."""
    positions = tuple(positions)
    if len(positions) == 1:
        (p,) = positions

        def read_one(*args):
            args = list(args)
            args[p] = read(args[p])
            return fn(*args)
        return _keep_marks(read_one, fn)

    def read_many(*args):
        args = list(args)
        for q in positions:
            args[q] = read(args[q])
        return fn(*args)
    return _keep_marks(read_many, fn)


def _keep_marks(wrapper, fn):
    # The executor reads attributes kernels set on their callables (a _Recv's key, runs_on_gpu): keep them.
    for attr, value in getattr(fn, "__dict__", {}).items():
        setattr(wrapper, attr, value)
    return wrapper
