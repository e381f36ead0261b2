"""The structure of dataset elements as tf.data sees it: nested tuples and dicts of components.

Tuples (namedtuples included) and dicts are structure; everything else is a component, lists too (tf.data turns
a list into one tensor). Dict entries are ordered by key, as TF's ``nest`` orders them. An element's *spec* is
three parallel structures: the components' dtypes, their static shapes and their classes.

>>> flatten({"b": 1, "a": (2, 3)})
[2, 3, 1]
>>> pack_as({"b": 0, "a": (0, 0)}, ["x", "y", "z"])
{'b': 'z', 'a': ('x', 'y')}
"""

import collections.abc

from engine import tensor_codec
from engine.op_constants import RESOURCE, VARIANT
from tasklayer.shapes import TensorShape, as_shape
from tasklayer.tensor import Tensor

# A dataset tensor and an iterator handle (TF's ``tf.variant`` and ``tf.resource``).
variant = VARIANT
resource = RESOURCE


def is_structure(value):
    """Whether ``value`` nests components (a tuple or a dict), as opposed to being one."""
    return isinstance(value, (tuple, collections.abc.Mapping))


def _items(value):
    if isinstance(value, collections.abc.Mapping):
        return [value[k] for k in _sorted_keys(value)]
    return list(value)


def _sorted_keys(mapping):
    try:
        return sorted(mapping)
    except TypeError:
        raise TypeError(f"nest only supports dicts with sortable keys, got keys {list(mapping)!r}") from None


def flatten(value):
    """The components of ``value``, depth first (dicts by sorted key)."""
    if not is_structure(value):
        return [value]
    out = []
    for item in _items(value):
        out.extend(flatten(item))
    return out


def pack_as(structure, flat):
    """``flat`` (a sequence) rebuilt in the shape of ``structure``; ValueError when the counts differ."""
    flat = list(flat)
    packed, used = _pack(structure, flat, 0)
    if used != len(flat):
        raise ValueError(f"Structure had {used} elements, but flat_sequence had {len(flat)} elements.")
    return packed


def _pack(structure, flat, i):
    if not is_structure(structure):
        if i >= len(flat):
            raise ValueError(f"Structure had more than {len(flat)} elements, but flat_sequence had {len(flat)}.")
        return flat[i], i + 1
    items = []
    for item in _items(structure):
        packed, i = _pack(item, flat, i)
        items.append(packed)
    if isinstance(structure, collections.abc.Mapping):
        by_key = dict(zip(_sorted_keys(structure), items))  # flat order is by key; the result keeps the caller's
        pairs = [(k, by_key[k]) for k in structure]
        return (dict(pairs) if type(structure) is dict else type(structure)(pairs)), i
    if hasattr(structure, "_fields"):  # a namedtuple
        return type(structure)(*items), i
    return type(structure)(items), i


def map_structure(fn, *structures):
    """``fn`` of the matching components of ``structures`` (which must nest alike), in their structure."""
    first = structures[0]
    for other in structures[1:]:
        assert_same_structure(first, other)
    return pack_as(first, [fn(*parts) for parts in zip(*(flatten(s) for s in structures))])


def same_structure(a, b):
    """Whether ``a`` and ``b`` nest alike (same kinds of structure, same dict keys, same lengths)."""
    if is_structure(a) != is_structure(b):
        return False
    if not is_structure(a):
        return True
    if isinstance(a, collections.abc.Mapping) != isinstance(b, collections.abc.Mapping):
        return False
    if isinstance(a, collections.abc.Mapping) and _sorted_keys(a) != _sorted_keys(b):
        return False
    ia, ib = _items(a), _items(b)
    return len(ia) == len(ib) and all(same_structure(x, y) for x, y in zip(ia, ib))


def assert_same_structure(a, b):
    """TypeError (TF's words) when ``a`` and ``b`` do not nest alike."""
    if not same_structure(a, b):
        raise TypeError(f"The two structures don't have the same nested structure.\n\nFirst structure: {a!r}\n\n"
                        f"Second structure: {b!r}")


def normalize_shapes(shapes, types):
    """``shapes`` (None: all unknown) as TensorShapes in the structure of ``types``."""
    if shapes is None:
        return map_structure(lambda _: TensorShape(None), types)
    if not is_structure(types) and not is_structure(shapes):
        return as_shape(shapes)
    # A list is a shape here, not a structure: TF accepts ([None, 2], []) for a tuple of two shapes.
    return map_structure(lambda _, s: as_shape(s), types, shapes)


def tensor_classes(types):
    """``output_classes``: ``tf.Tensor`` for every component (sparse tensors are not supported)."""
    return map_structure(lambda _: Tensor, types)


def describe(structure, fmt):
    """``structure`` printed as TF1 prints dataset reprs: ``(?, 2)`` shapes, ``{a: tf.int64}`` dicts."""
    if isinstance(structure, collections.abc.Mapping):
        return "{" + ", ".join(f"{k}: {describe(structure[k], fmt)}" for k in _sorted_keys(structure)) + "}"
    if isinstance(structure, tuple):
        inner = ", ".join(describe(s, fmt) for s in structure)
        return f"({inner},)" if len(structure) == 1 else f"({inner})"
    return fmt(structure)


def shape_attr(shapes):
    """A flat list of shapes as the ``output_shapes`` attr (shape protos)."""
    return [as_shape(s).as_proto() for s in shapes]


def op_attrs(types, shapes, types_attr="output_types"):
    """The attrs of an op whose elements have these (nested) ``types`` and ``shapes``: the flat dtypes (under
    ``types_attr``) and ``output_shapes``."""
    return {types_attr: list(flatten(types)), "output_shapes": shape_attr(flatten(shapes))}


def shapes_from_attr(value):
    """The ``output_shapes`` attr of an op (protos when built here, tuples when imported) as TensorShapes."""
    out = []
    for s in value or []:
        out.append(TensorShape(tensor_codec.shape_from_proto(s)) if hasattr(s, "unknown_rank") else TensorShape(s))
    return out
