"""Static shapes: ``TensorShape`` (unknown dims are None) and the inference rules ops build on.

Helpers take ``who``, a label like ``"MatMul 'matmul_1'"``, so a shape error at graph-building time names
the op and the shapes involved. Shapes inside the helpers are tuples of int/None, or None for unknown rank.
"""

import math

from engine import tensor_codec


class Dimension:
    """One dimension of a TensorShape: ``value`` is an int or None (unknown), as in TF1.

    >>> Dimension(3).value, int(Dimension(3)), Dimension(None).value
    (3, 3, None)
    """

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = None if value is None else int(value.value if isinstance(value, Dimension) else value)

    def __int__(self):
        if self.value is None:
            raise ValueError("cannot convert an unknown Dimension to an int")
        return self.value

    __index__ = __int__

    def __eq__(self, other):
        other = other.value if isinstance(other, Dimension) else other
        if self.value is None or other is None:
            return None
        return self.value == other

    def __hash__(self):
        return hash(self.value)

    def _arith(self, other, fn):
        other = other.value if isinstance(other, Dimension) else other
        return Dimension(None if self.value is None or other is None else fn(self.value, other))

    def __add__(self, other):
        return self._arith(other, lambda a, b: a + b)

    def __sub__(self, other):
        return self._arith(other, lambda a, b: a - b)

    def __mul__(self, other):
        return self._arith(other, lambda a, b: a * b)

    def __floordiv__(self, other):
        return self._arith(other, lambda a, b: a // b)

    __radd__, __rmul__ = __add__, __mul__

    def __repr__(self):
        return f"Dimension({self.value})"

    def __str__(self):
        return "?" if self.value is None else str(self.value)


class TensorShape:
    """A static shape, possibly partial: ``dims`` known or None, or the whole rank unknown.

    >>> s = TensorShape([None, 3])
    >>> s.as_list(), s.ndims, str(s), s.is_fully_defined()
    ([None, 3], 2, '(?, 3)', False)
    """

    __slots__ = ("_dims",)

    def __init__(self, dims):
        if isinstance(dims, TensorShape):
            dims = dims._dims
        elif dims is not None and not isinstance(dims, (list, tuple)):
            dims = [dims]  # TF accepts a bare int for a 1-D shape, e.g. placeholder(tf.float32, 100)
        if dims is None:
            self._dims = None
        else:
            out = []
            for d in dims:
                d = d.value if isinstance(d, Dimension) else d
                if d is not None and (int(d) != d or int(d) < -1):
                    raise ValueError(f"bad dimension {d!r} in shape {list(dims)}")
                out.append(None if d is None or d == -1 else int(d))
            self._dims = tuple(out)

    @property
    def dims(self):
        """The dimensions as ``Dimension`` objects (None when the rank is unknown)."""
        return None if self._dims is None else [Dimension(d) for d in self._dims]

    @property
    def ndims(self):
        """The rank, or None when unknown."""
        return None if self._dims is None else len(self._dims)

    rank = ndims

    def as_list(self):
        """The dims as a list of int/None; ValueError when the rank is unknown."""
        if self._dims is None:
            raise ValueError("as_list() is not defined on an unknown TensorShape.")
        return list(self._dims)

    def as_tuple(self):
        """The dims as a tuple of int/None, or None when the rank is unknown (the helpers' form)."""
        return self._dims

    def is_fully_defined(self):
        """Whether the rank and every dim are known."""
        return self._dims is not None and all(d is not None for d in self._dims)

    def num_elements(self):
        """The number of elements, or None when not fully defined."""
        return math.prod(self._dims) if self.is_fully_defined() else None

    def is_compatible_with(self, other):
        """Whether some concrete shape could match both."""
        other = as_shape(other)
        if self._dims is None or other._dims is None:
            return True
        return len(self._dims) == len(other._dims) and all(
            a is None or b is None or a == b for a, b in zip(self._dims, other._dims))

    def assert_is_compatible_with(self, other):
        """ValueError when the shapes cannot match."""
        if not self.is_compatible_with(other):
            raise ValueError(f"Shapes {self} and {as_shape(other)} are incompatible")

    def merge_with(self, other):
        """The most specific shape compatible with both; ValueError when they conflict."""
        other = as_shape(other)
        self.assert_is_compatible_with(other)
        if self._dims is None:
            return other
        if other._dims is None:
            return self
        return TensorShape([a if a is not None else b for a, b in zip(self._dims, other._dims)])

    def concatenate(self, other):
        """The dims of this shape followed by those of ``other``."""
        other = as_shape(other)
        if self._dims is None or other._dims is None:
            return TensorShape(None)
        return TensorShape(self._dims + other._dims)

    def with_rank(self, rank):
        """This shape with its rank checked (or set, when unknown)."""
        if self._dims is None:
            return TensorShape([None] * rank)
        if len(self._dims) != rank:
            raise ValueError(f"Shape {self} must have rank {rank}")
        return self

    def as_proto(self):
        """As a ``TensorShapeProto``."""
        return tensor_codec.shape_to_proto(self._dims)

    def __len__(self):
        if self._dims is None:
            raise ValueError("Cannot take the length of Shape with unknown rank.")
        return len(self._dims)

    def __iter__(self):
        if self._dims is None:
            raise ValueError("Cannot iterate over a shape with unknown rank.")
        return iter(Dimension(d) for d in self._dims)

    def __getitem__(self, key):
        if self._dims is None:
            return TensorShape(None) if isinstance(key, slice) else Dimension(None)
        if isinstance(key, slice):
            return TensorShape(self._dims[key])
        return Dimension(self._dims[key])

    def __eq__(self, other):
        try:
            other = as_shape(other)
        except (TypeError, ValueError):
            return NotImplemented
        return self._dims == other._dims

    def __hash__(self):
        return hash(self._dims)

    def __bool__(self):
        return self._dims is not None

    def __repr__(self):
        return "TensorShape(None)" if self._dims is None else f"TensorShape({list(self._dims)})"

    def __str__(self):
        if self._dims is None:
            return "<unknown>"
        if len(self._dims) == 1:
            return f"({_dim_str(self._dims[0])},)"
        return "(" + ", ".join(_dim_str(d) for d in self._dims) + ")"


def as_shape(shape):
    """A TensorShape from a TensorShape, list/tuple, int or None."""
    return shape if isinstance(shape, TensorShape) else TensorShape(shape)


def unknown_shape(rank=None):
    """A shape of unknown rank, or of known rank with every dim unknown."""
    return TensorShape(None if rank is None else [None] * rank)


def _dim_str(d):
    return "?" if d is None else str(d)


def fmt(shape):
    """A shape tuple as the compact text errors use: ``[2,?]``, ``<unknown>``."""
    if isinstance(shape, TensorShape):
        shape = shape.as_tuple()
    if shape is None:
        return "<unknown>"
    return "[" + ",".join(_dim_str(d) for d in shape) + "]"


# ---------------------------------------------------------------- inference helpers (tuples in, tuples out)

def _axis(who, axis, rank):
    """A non-negative axis in ``[0, rank)``; ValueError naming the op otherwise."""
    if not -rank <= axis < rank:
        raise ValueError(f"{who}: axis {axis} is out of range for a tensor of rank {rank}")
    return axis % rank


def broadcast(who, *shapes):
    """The numpy-broadcast shape of ``shapes``; unknown dims stay unknown unless the other side decides."""
    if any(s is None for s in shapes):
        return None
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(rank):
        dims = [s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0]
        known = {d for d in dims if d is not None and d != 1}
        if len(known) > 1:
            raise ValueError(f"{who}: dimensions must be equal or 1 to broadcast: "
                             + " vs ".join(fmt(s) for s in shapes))
        if known:
            out.append(known.pop())
        elif any(d is None for d in dims):
            out.append(None)
        else:
            out.append(1)
    return tuple(out)


def same_shape(who, *shapes):
    """The merge of shapes that must be equal (AddN, Select's branches); ValueError when they conflict."""
    out = None
    for s in shapes:
        if s is None:
            continue
        if out is None:
            out = s
            continue
        if len(out) != len(s) or any(a is not None and b is not None and a != b for a, b in zip(out, s)):
            raise ValueError(f"{who}: shapes must be equal: " + " vs ".join(fmt(x) for x in shapes))
        out = tuple(a if a is not None else b for a, b in zip(out, s))
    return out


def reduce(who, shape, axes, keepdims):
    """Shape after reducing ``axes`` (None = all, or unknown axes -> partial answer)."""
    if shape is None:
        return None
    rank = len(shape)
    if axes is None:  # the reduction axes are not known statically
        return (None,) * rank if keepdims else None
    axes = {_axis(who, int(a), rank) if rank else _scalar_axis(who, a) for a in axes}
    if keepdims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def _scalar_axis(who, axis):
    if axis not in (0, -1):
        raise ValueError(f"{who}: axis {axis} is out of range for a tensor of rank 0")
    return 0


def matmul(who, a, b, transpose_a=False, transpose_b=False):
    """``[m,k] x [k,n] -> [m,n]`` with the transposes applied; inner dims must agree."""
    for name, s in (("a", a), ("b", b)):
        if s is not None and len(s) != 2:
            raise ValueError(f"{who}: Shape must be rank 2 but is rank {len(s)} for input {name} {fmt(s)}")
    a2 = a if a is not None else (None, None)
    b2 = b if b is not None else (None, None)
    m, ka = (a2[1], a2[0]) if transpose_a else a2
    kb, n = (b2[1], b2[0]) if transpose_b else b2
    if ka is not None and kb is not None and ka != kb:
        ta = " (transposed)" if transpose_a else ""
        tb = " (transposed)" if transpose_b else ""
        raise ValueError(f"{who}: inner dimensions must agree: {fmt(a)}{ta} x {fmt(b)}{tb}")
    return (m, n)


def reshape(who, shape, target):
    """Shape of reshaping ``shape`` to ``target`` (a tuple that may hold one -1 and None for unknown)."""
    if target is None:
        return None
    if sum(1 for d in target if d == -1) > 1:
        raise ValueError(f"{who}: only one dimension of the new shape can be -1, got {list(target)}")
    if any(d is not None and d < -1 for d in target):
        raise ValueError(f"{who}: bad dimension in new shape {list(target)}")
    known = [d for d in target if d is not None and d != -1]
    size = math.prod(known)
    total = math.prod(shape) if shape is not None and all(d is not None for d in shape) else None
    if -1 in target:
        inferred = None
        if total is not None and None not in target:
            if size == 0 or total % size:
                raise ValueError(f"{who}: Cannot reshape a tensor with {total} elements to shape "
                                 f"{list(target)}")
            inferred = total // size
        return tuple(inferred if d == -1 else d for d in target)
    if total is not None and None not in target and total != size:
        raise ValueError(f"{who}: Cannot reshape a tensor with {total} elements to shape {list(target)} "
                         f"({size} elements)")
    return tuple(target)


def transpose(who, shape, perm):
    """Shape of ``shape`` permuted by ``perm`` (None = unknown perm)."""
    if shape is None:
        return None if perm is None else (None,) * len(perm)
    if perm is None:
        return (None,) * len(shape)
    if sorted(int(p) % max(len(shape), 1) for p in perm) != list(range(len(shape))):
        raise ValueError(f"{who}: perm {list(perm)} is not a permutation of the {len(shape)} dims of "
                         f"{fmt(shape)}")
    return tuple(shape[int(p)] for p in perm)


def expand_dims(who, shape, axis):
    """Shape with a 1 inserted at ``axis`` (negative counts from the end of the result)."""
    if shape is None:
        return None
    if axis is None:
        return (None,) * (len(shape) + 1)
    axis = _axis(who, axis, len(shape) + 1)
    return shape[:axis] + (1,) + shape[axis:]


def squeeze(who, shape, axes):
    """Shape with size-1 dims removed (only ``axes`` when given; those must be 1)."""
    if shape is None:
        return None
    if not axes:
        if any(d is None for d in shape):
            return None  # which unknown dims are 1 is not known until run time
        return tuple(d for d in shape if d != 1)
    axes = {_axis(who, a, len(shape)) for a in axes}
    for a in axes:
        if shape[a] is not None and shape[a] != 1:
            raise ValueError(f"{who}: Can not squeeze dim[{a}], expected a dimension of 1, got {shape[a]} "
                             f"for shape {fmt(shape)}")
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def tile(who, shape, multiples):
    """Shape of tiling ``shape`` by ``multiples``."""
    if shape is None:
        return None if multiples is None else (None,) * len(multiples)
    if multiples is None:
        return (None,) * len(shape)
    if len(multiples) != len(shape):
        raise ValueError(f"{who}: multiples {list(multiples)} must have one entry per dim of {fmt(shape)}")
    return tuple(None if d is None or m is None else d * m for d, m in zip(shape, multiples))


def concat(who, shapes, axis):
    """Shape of concatenating ``shapes`` along ``axis``; other dims must agree."""
    known = [s for s in shapes if s is not None]
    if not known:
        return None
    rank = len(known[0])
    if any(len(s) != rank for s in known):
        raise ValueError(f"{who}: Shapes must have equal rank: " + ", ".join(fmt(s) for s in shapes))
    if rank == 0:
        raise ValueError(f"{who}: cannot concatenate scalars (use stack)")
    if axis is None:
        return (None,) * rank
    axis = _axis(who, axis, rank)
    out = []
    for i in range(rank):
        dims = [s[i] for s in known]
        if i == axis:
            out.append(None if len(known) < len(shapes) or None in dims else sum(dims))
            continue
        vals = {d for d in dims if d is not None}
        if len(vals) > 1:
            raise ValueError(f"{who}: Dimension {i} in both shapes must be equal: "
                             + ", ".join(fmt(s) for s in shapes))
        out.append(vals.pop() if vals else None)
    return tuple(out)


def split(who, shape, axis, num):
    """Shape of each of ``num`` equal pieces of ``shape`` along ``axis``."""
    if shape is None:
        return None
    if axis is None:
        return (None,) * len(shape)
    axis = _axis(who, axis, len(shape))
    d = shape[axis]
    if d is not None and d % num:
        raise ValueError(f"{who}: Dimension {axis} of {fmt(shape)} ({d}) is not divisible by num_split {num}")
    return shape[:axis] + (None if d is None else d // num,) + shape[axis + 1:]


def pack(who, shapes, axis):
    """Shape of stacking ``shapes`` (which must agree) along a new ``axis``."""
    common = same_shape(who, *shapes)
    if common is None:
        return None
    axis = _axis(who, axis, len(common) + 1)
    return common[:axis] + (len(shapes),) + common[axis:]


def unpack(who, shape, axis):
    """(number of pieces or None, shape of each piece) of unstacking ``shape`` along ``axis``."""
    if shape is None:
        return None, None
    axis = _axis(who, axis, len(shape))
    return shape[axis], shape[:axis] + shape[axis + 1:]


def gather(who, params, indices, axis):
    """Shape of ``gather(params, indices, axis)``: params[:axis] + indices + params[axis+1:]."""
    if params is None or indices is None:
        return None
    if axis is None:
        return (None,) * (len(params) + len(indices) - 1)
    axis = _axis(who, axis, len(params))
    return params[:axis] + tuple(indices) + params[axis + 1:]


def one_hot(who, indices, depth, axis):
    """Shape of ``one_hot(indices, depth, axis)`` (axis -1 = last)."""
    if indices is None:
        return None
    axis = len(indices) if axis == -1 else _axis(who, axis, len(indices) + 1)
    return indices[:axis] + (depth,) + indices[axis:]


def slice_(who, shape, begin, size):
    """Shape of ``slice(x, begin, size)`` (size -1 = to the end); bounds checked when known."""
    if shape is None:
        return None if size is None else tuple(None if s == -1 else s for s in size)
    if begin is not None and len(begin) != len(shape) or size is not None and len(size) != len(shape):
        raise ValueError(f"{who}: begin and size must have one entry per dim of {fmt(shape)}, got "
                         f"begin={_lst(begin)} size={_lst(size)}")
    if size is None:
        return (None,) * len(shape)
    out = []
    for i, (d, s) in enumerate(zip(shape, size)):
        b = None if begin is None else begin[i]
        if b is not None and (b < 0 or d is not None and b > d):
            raise ValueError(f"{who}: begin {b} out of range for dim {i} of {fmt(shape)}")
        if s == -1:
            out.append(None if d is None or b is None else d - b)
        else:
            if s < -1 or d is not None and b is not None and b + s > d:
                raise ValueError(f"{who}: slice begin={_lst(begin)} size={_lst(size)} is out of bounds "
                                 f"for {fmt(shape)}")
            out.append(s)
    return tuple(out)


def _lst(v):
    return "?" if v is None else list(v)


def strided_slice(who, shape, begin, end, strides, begin_mask=0, end_mask=0, ellipsis_mask=0,
                  new_axis_mask=0, shrink_axis_mask=0):
    """Shape of a StridedSlice with TF's mask semantics; begin/end/strides may be None (unknown values)."""
    n = None
    for spec in (begin, end, strides):
        if spec is not None:
            n = len(spec)
    if shape is None or n is None:
        return None
    if strides is not None and any(s == 0 for s in strides):
        raise ValueError(f"{who}: strides must be non-zero, got {list(strides)}")
    if bin(ellipsis_mask).count("1") > 1:
        raise ValueError(f"{who}: only one ellipsis (...) is allowed in a slice")
    # Expand the sparse spec (with its one ellipsis, implicit at the end if absent) to one entry per dim.
    bits = [(ellipsis_mask >> i) & 1 for i in range(n)]
    if not any(bits):
        bits.append(1)
    out = []
    dim = 0
    for i, is_ellipsis in enumerate(bits):
        if is_ellipsis:
            later_real = sum(1 for j in range(i + 1, n) if not (new_axis_mask >> j) & 1)
            stop = max(dim, len(shape) - later_real)
            out.extend(shape[dim:stop])
            dim = stop
            continue
        if (new_axis_mask >> i) & 1:
            out.append(1)
            continue
        if dim >= len(shape):
            raise ValueError(f"{who}: too many indices for a tensor of shape {fmt(shape)}")
        d = shape[dim]
        b = None if begin is None else begin[i]
        e = None if end is None else end[i]
        s = 1 if strides is None else strides[i]
        if (shrink_axis_mask >> i) & 1:
            if d is not None and b is not None and not -d <= b < d:
                raise ValueError(f"{who}: slice index {b} of dimension {dim} out of bounds for shape "
                                 f"{fmt(shape)}")
        elif d is None or strides is None or (b is None and not (begin_mask >> i) & 1) or \
                (e is None and not (end_mask >> i) & 1):
            out.append(None)
        else:
            start = None if (begin_mask >> i) & 1 else b
            stop = None if (end_mask >> i) & 1 else e
            out.append(len(range(d)[slice(start, stop, s)]))
        dim += 1
    return tuple(out)
