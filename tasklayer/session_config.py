"""``tf.ConfigProto`` and its parts (``GPUOptions``, ``GraphOptions``, ``OptimizerOptions``): TF1's session
configuration as plain Python objects that check their fields when set.

>>> import tasklayer as tf
>>> config = tf.ConfigProto(allow_soft_placement=True, transfer_dtype="bfloat16")
>>> config.gpu_options.allow_growth = True
>>> config
ConfigProto(allow_soft_placement=True, gpu_options=GPUOptions(allow_growth=True), transfer_dtype='bfloat16')
>>> tf.ConfigProto(operation_timeout_in_ms=-5)
Traceback (most recent call last):
...
ValueError: ConfigProto.operation_timeout_in_ms must be >= 0, got -5
"""

import math

import numpy as np

from engine.device_spec import DeviceSpec


class _Field:
    """One checked field of a message: ``check(label, value)`` returns the value to store or raises."""

    def __init__(self, check, default):
        self.check, self.default = check, default

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        return obj.__dict__[self.name]

    def __set__(self, obj, value):
        obj.__dict__[self.name] = self.check(f"{type(obj).__name__}.{self.name}", value)


class _Message:
    """A protobuf-like message: keyword construction, checked attributes, no fields but the declared ones."""

    _fields = {}

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        cls._fields = {name: f for name, f in vars(cls).items() if isinstance(f, _Field)}

    def __init__(self, **fields):
        for name, field in self._fields.items():
            self.__dict__[name] = field.default()
        for name, value in fields.items():
            if name not in self._fields:
                raise TypeError(f"{type(self).__name__}() got an unexpected keyword argument {name!r}; "
                                f"its fields are: {', '.join(self._fields)}")
            setattr(self, name, value)

    def __setattr__(self, name, value):
        if name not in self._fields:
            raise AttributeError(f"{type(self).__name__} has no field {name!r}; its fields are: "
                                 f"{', '.join(self._fields)}")
        super().__setattr__(name, value)

    def to_dict(self):
        """The fields that differ from their defaults, nested messages as dicts (``type(self)(**d)`` rebuilds)."""
        out = {}
        for name, field in self._fields.items():
            value = self.__dict__[name]
            if value != field.default():
                if isinstance(value, _Message):
                    value = value.to_dict()
                out[name] = type(value)(value) if isinstance(value, (list, dict)) else value  # a copy, not ours
        return out

    def __eq__(self, other):
        return type(other) is type(self) and other.__dict__ == self.__dict__

    __hash__ = None  # mutable, like a protobuf message

    def __repr__(self):
        shown = ", ".join(f"{name}={self.__dict__[name]!r}" for name in self._fields
                          if self.__dict__[name] != self._fields[name].default())
        return f"{type(self).__name__}({shown})"


# ---- field checks: each returns the value to store, or raises naming the field ---------------------------------

def _bool(label, value):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{label} must be a bool, got {type(value).__name__} ({value!r})")
    return bool(value)


def _int(minimum=None):
    def check(label, value):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
            raise TypeError(f"{label} must be an int, got {type(value).__name__} ({value!r})")
        if minimum is not None and value < minimum:
            raise ValueError(f"{label} must be >= {minimum}, got {value}")
        return int(value)
    return check


def _fraction(label, value):
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{label} must be a float, got {type(value).__name__} ({value!r})")
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{label} must be a finite number >= 0, got {value}")
    return float(value)


def _device_list(label, value):
    if not isinstance(value, str):
        raise TypeError(f"{label} must be a str like '0,1', got {type(value).__name__} ({value!r})")
    ids = [part.strip() for part in value.split(",")] if value.strip() else []
    if not all(part.isdigit() for part in ids):
        raise ValueError(f"{label} must be comma-separated GPU ids like '0,1', got {value!r}")
    if len(set(map(int, ids))) != len(ids):
        raise ValueError(f"{label} lists a GPU id twice: {value!r}")
    return value


def _device_filters(label, value):
    if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
        raise TypeError(f"{label} must be a list of device strings, got {type(value).__name__} ({value!r})")
    filters = list(value)
    for item in filters:
        if not isinstance(item, str):
            raise TypeError(f"{label} must hold strings, got {type(item).__name__} ({item!r})")
        try:
            DeviceSpec.parse(item)
        except ValueError as e:
            raise ValueError(f"{label}: {e}") from None
    return filters


def _device_count(label, value):
    if not isinstance(value, dict):
        raise TypeError(f"{label} must be a dict like {{'GPU': 0}}, got {type(value).__name__} ({value!r})")
    for kind, count in value.items():
        if not isinstance(kind, str):
            raise TypeError(f"{label} keys must be device types like 'GPU', got {kind!r}")
        _int(0)(f"{label}[{kind!r}]", count)
    return {kind: int(count) for kind, count in value.items()}


def _message(cls):
    def check(label, value):
        if isinstance(value, dict):
            return cls(**value)  # protobuf constructors take dicts for message fields too
        if not isinstance(value, cls):
            raise TypeError(f"{label} must be a {cls.__name__} (or a dict of its fields), "
                            f"got {type(value).__name__}")
        return value
    return check


def _optional_message(cls):
    message = _message(cls)
    return lambda label, value: None if value is None else message(label, value)


# ---- the wire dtype of lossy transfers (parsed here, where ConfigProto checks it; the runtime uses it) ------
WIRE_DTYPES = ("float16", "bfloat16")
_WIRE_OFF = (None, "", "none", "float32")


def parse_wire_dtype(value):
    """The wire dtype name ``value`` asks for (``"float16"``/``"bfloat16"``), or None when lossy transfer is
    off (None, ``""``, ``"none"``, ``"float32"``); ValueError for anything else.

    Accepts names and dtype objects with such a name (``tf.float16``, ``np.float16``, ``tf.float32``).

    >>> parse_wire_dtype("bfloat16"), parse_wire_dtype(None), parse_wire_dtype("float32")
    ('bfloat16', None, None)
    """
    if value is None:
        return None
    name = value
    if not isinstance(value, str):
        name = getattr(value, "name", None)  # engine DType and numpy dtypes both carry .name
        if name is None and isinstance(value, type) and issubclass(value, np.generic):
            name = np.dtype(value).name  # np.float16, np.float32 (types, not dtype instances)
    if isinstance(name, str) and name.lower() in _WIRE_OFF:
        return None
    if isinstance(name, str) and name.lower() in WIRE_DTYPES:
        return name.lower()
    raise ValueError(f"unsupported transfer dtype {value!r}: use 'float16', 'bfloat16' or None (off)")


def _transfer_dtype(label, value):
    try:
        return parse_wire_dtype(value)
    except ValueError as e:
        raise ValueError(f"{label}: {e}") from None


# ---- the messages -------------------------------------------------------------------------------------------

class GPUOptions(_Message):
    """TF1's ``tf.GPUOptions``: how a session uses the GPUs of its process.

    >>> GPUOptions(allow_growth=True, visible_device_list="0,1").visible_device_list
    '0,1'
    """

    allow_growth = _Field(_bool, lambda: False)
    per_process_gpu_memory_fraction = _Field(_fraction, lambda: 0.0)
    visible_device_list = _Field(_device_list, lambda: "")


class OptimizerOptions(_Message):
    """TF1's ``tf.OptimizerOptions``. Only ``opt_level=OptimizerOptions.L0`` has an effect: it turns a
    ``tf.train.Server``'s graph optimizations off (through ``ConfigProto.optimize``); the rest is accepted
    and ignored."""

    L1, L0 = 0, -1  # TF's Level enum
    DEFAULT, OFF, ON_1, ON_2 = 0, -1, 1, 2  # TF's GlobalJitLevel enum (no JIT here: ignored)

    opt_level = _Field(_int(-1), lambda: 0)
    do_common_subexpression_elimination = _Field(_bool, lambda: False)
    do_constant_folding = _Field(_bool, lambda: False)
    do_function_inlining = _Field(_bool, lambda: False)
    global_jit_level = _Field(_int(-1), lambda: 0)


class GraphOptions(_Message):
    """TF1's ``tf.GraphOptions``. ``enable_bfloat16_sendrecv`` (TF's own switch for lossy transfer) sends
    float32 tensors between tasks as bfloat16 unless ``ConfigProto.transfer_dtype`` says otherwise;
    ``optimizer_options`` is read only for ``opt_level`` L0; ``infer_shapes`` and ``place_pruned_graph`` are
    accepted and ignored."""

    optimizer_options = _Field(_optional_message(OptimizerOptions), lambda: None)
    enable_bfloat16_sendrecv = _Field(_bool, lambda: False)
    infer_shapes = _Field(_bool, lambda: False)
    place_pruned_graph = _Field(_bool, lambda: False)


class _TransferDtypeField(_Field):
    """``ConfigProto.transfer_dtype``: the value set, else ``"bfloat16"`` when TF's
    ``graph_options.enable_bfloat16_sendrecv`` is on."""

    def __get__(self, obj, owner=None):
        value = super().__get__(obj, owner)
        if obj is not None and value is None and obj.graph_options.enable_bfloat16_sendrecv:
            return "bfloat16"
        return value


class ConfigProto(_Message):
    """TF1's ``tf.ConfigProto``: options for ``tf.Session(config=...)`` and ``tf.train.Server(config=...)``.

    Read by the runtime: ``operation_timeout_in_ms`` (a step's deadline; 0 none), ``connect_timeout_in_ms``
    (how long a session waits for its master; 0 the default), ``transfer_dtype`` (``"float16"``/``"bfloat16"``:
    float32 tensors cross between tasks in that type, the TF paper's lossy compression; None, the default,
    sends them exactly), ``device_filters`` and ``graph_options``. ``allow_soft_placement``,
    ``log_device_placement``, ``device_count``, the thread counts and ``gpu_options`` are checked and kept for
    TF1 programs that set them.

    >>> ConfigProto(device_filters=["/job:ps", "/job:worker/task:1"]).device_filters
    ['/job:ps', '/job:worker/task:1']
    >>> ConfigProto(graph_options=GraphOptions(enable_bfloat16_sendrecv=True)).transfer_dtype
    'bfloat16'
    """

    allow_soft_placement = _Field(_bool, lambda: False)
    log_device_placement = _Field(_bool, lambda: False)
    device_filters = _Field(_device_filters, list)
    device_count = _Field(_device_count, dict)
    operation_timeout_in_ms = _Field(_int(0), lambda: 0)
    inter_op_parallelism_threads = _Field(_int(), lambda: 0)  # negative: run in the caller's thread, as TF
    intra_op_parallelism_threads = _Field(_int(0), lambda: 0)
    gpu_options = _Field(_message(GPUOptions), GPUOptions)
    graph_options = _Field(_message(GraphOptions), GraphOptions)
    transfer_dtype = _TransferDtypeField(_transfer_dtype, lambda: None)
    connect_timeout_in_ms = _Field(_int(0), lambda: 0)

    @property
    def optimize(self):
        """False when ``graph_options.optimizer_options.opt_level`` is ``L0`` (what ``tf.train.Server`` reads)."""
        options = self.graph_options.optimizer_options
        return options is None or options.opt_level != OptimizerOptions.L0
