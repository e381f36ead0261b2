"""Nested structures as TF's ``nest`` sees them (what ``tf.cond`` branches return and ``tf.while_loop`` carries):
lists, tuples, namedtuples and dicts nest; anything else (a Tensor, an Operation, a number) is one element.
Dict entries are visited in sorted key order.

>>> flatten({"b": 1, "a": [2, (3,)]})
[2, 3, 1]
>>> pack_sequence_as({"b": 0, "a": [0, (0,)]}, ["x", "y", "z"])
{'b': 'z', 'a': ['x', ('y',)]}
"""

import collections.abc

__all__ = ["is_nested", "flatten", "pack_sequence_as", "assert_same_structure", "map_structure"]


def is_nested(value):
    """Whether ``value`` is a structure (a list, tuple or dict) rather than one element."""
    return isinstance(value, (list, tuple, collections.abc.Mapping))


def _children(value):
    if isinstance(value, collections.abc.Mapping):
        return [value[k] for k in _sorted_keys(value)]
    return list(value)


def _sorted_keys(mapping):
    try:
        return sorted(mapping)
    except TypeError:
        raise TypeError(f"nest only supports dicts with sortable keys, got keys {list(mapping)!r}") from None


def flatten(structure):
    """The elements of ``structure``, depth first."""
    if not is_nested(structure):
        return [structure]
    out = []
    for child in _children(structure):
        out.extend(flatten(child))
    return out


def _rebuild(template, children):
    if isinstance(template, collections.abc.Mapping):  # values in sorted key order, keys in the template's
        by_key = dict(zip(_sorted_keys(template), children))
        return type(template)((k, by_key[k]) for k in template)
    if isinstance(template, tuple) and hasattr(template, "_fields"):  # a namedtuple
        return type(template)(*children)
    return type(template)(children)


def pack_sequence_as(structure, flat_sequence):
    """``flat_sequence`` rebuilt in the shape of ``structure``; ValueError when the counts differ."""
    flat = list(flat_sequence)
    packed, used = _pack(structure, flat, 0)
    if used != len(flat):
        raise ValueError(f"Structure had {used} elements, but flat_sequence had {len(flat)} elements.")
    return packed


def _pack(structure, flat, i):
    if not is_nested(structure):
        if i >= len(flat):
            raise ValueError(f"Structure had more than {len(flat)} elements, but flat_sequence had {len(flat)} "
                             "elements.")
        return flat[i], i + 1
    children = []
    for child in _children(structure):
        packed, i = _pack(child, flat, i)
        children.append(packed)
    return _rebuild(structure, children), i


def _same(a, b, check_types):
    if is_nested(a) != is_nested(b):
        return False
    if not is_nested(a):
        return True
    if isinstance(a, collections.abc.Mapping) != isinstance(b, collections.abc.Mapping):
        return False
    if check_types and type(a) is not type(b) and not isinstance(a, collections.abc.Mapping):
        raise TypeError(f"The two structures don't have the same nested structure.\n\nFirst structure: {a!r}\n\n"
                        f"Second structure: {b!r}\n\nMore specifically: they have different sequence types "
                        f"({type(a).__name__} and {type(b).__name__})")
    if isinstance(a, collections.abc.Mapping) and _sorted_keys(a) != _sorted_keys(b):
        return False
    ca, cb = _children(a), _children(b)
    return len(ca) == len(cb) and all(_same(x, y, check_types) for x, y in zip(ca, cb))


def assert_same_structure(a, b, check_types=True):
    """ValueError in TF's words unless ``a`` and ``b`` nest the same way; TypeError when ``check_types`` and two
    sequences at the same place have different types (a list and a tuple)."""
    if not _same(a, b, check_types):
        raise ValueError(f"The two structures don't have the same nested structure.\n\nFirst structure: {a!r}\n\n"
                         f"Second structure: {b!r}")


def map_structure(fn, *structures):
    """``fn`` applied to the elements of ``structures`` (which nest alike), in the first one's shape."""
    for other in structures[1:]:
        assert_same_structure(structures[0], other)
    flats = [flatten(s) for s in structures]
    return pack_sequence_as(structures[0], [fn(*items) for items in zip(*flats)])
