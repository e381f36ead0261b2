"""A dead tensor: what an untaken output of a Switch carries (TensorFlow's "dead" values).

An op with a dead data or control input does not run and its outputs are dead too; a Merge forwards its first
live input. ``DEAD`` is the one object that stands for such a value in a run's slots, in a rendezvous and on the
wire, so the executor tells it apart by identity (``value is DEAD``), never by comparing arrays.

>>> import pickle
>>> pickle.loads(pickle.dumps(DEAD)) is DEAD, repr(DEAD)
(True, 'DEAD')
"""

__all__ = ["DEAD", "is_dead"]


class _Dead:
    """The type of ``DEAD`` (there is one instance)."""

    __slots__ = ()

    def __repr__(self):
        return "DEAD"

    def __reduce__(self):
        return "DEAD"  # unpickles as this module's DEAD, so identity survives a copy


DEAD = _Dead()


def is_dead(value):
    """Whether ``value`` is a dead tensor."""
    return value is DEAD
