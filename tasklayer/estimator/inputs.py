"""``tf.estimator.inputs.numpy_input_fn``: an ``input_fn`` that gives batches of numpy arrays.

Each call of the returned ``input_fn`` (each ``train``/``evaluate``/``predict``) starts again from the first
example. The batches are fed: the input_fn's graph holds placeholders, and a hook that the Estimator runs
feeds the next batch into every ``run`` (so the arrays never become graph constants, and the batches of a
worker come from its own process). After ``num_epochs`` passes the next run raises ``tf.errors.OutOfRangeError``
(the last batch may be smaller), which ends ``train``/``evaluate``/``predict`` as TF's queue-fed input does;
``num_epochs=None`` repeats forever.

>>> import numpy as np, tasklayer as tf
>>> fn = numpy_input_fn({"x": np.arange(5.0)}, np.arange(5), batch_size=2, shuffle=False)
>>> with tf.Graph().as_default():
...     features, labels = fn()
...     features["x"].shape.as_list(), labels.dtype.name
([None], 'int64')
"""

import collections
import re

import numpy as np

from tasklayer import dtypes, errors
from tasklayer.graph import get_default_graph, name_scope
from tasklayer.ops.array_ops import placeholder
from tasklayer.training.monitored_session import SessionRunArgs, SessionRunHook

__all__ = ["numpy_input_fn", "INPUT_HOOKS"]

# Hooks an input_fn adds here are run by the Estimator with the session it trains, evaluates or predicts in.
INPUT_HOOKS = "estimator_input_hooks"
_DIRECT_KEY = "__direct_np_input_key__"


class _NumpyFeedHook(SessionRunHook):
    """Feeds the next batch of ``arrays`` into ``placeholders`` before every run; OutOfRangeError at the end."""

    def __init__(self, placeholders, arrays, batch_size, num_epochs, shuffle, seed):
        self._placeholders, self._arrays = placeholders, arrays
        self._batch_size, self._num_epochs, self._shuffle = batch_size, num_epochs, shuffle
        self._rng = np.random.RandomState(seed)
        self._length = len(next(iter(arrays.values())))
        self._epoch, self._order, self._position = 0, None, 0

    def _next_indices(self):
        """The indices of the next batch, taken across epoch ends (as a queue does) until the last epoch."""
        indices = []
        while len(indices) < self._batch_size:
            if self._order is None or self._position >= self._length:
                if self._order is not None:
                    self._epoch += 1
                if self._num_epochs is not None and self._epoch >= self._num_epochs:
                    break
                self._order = self._rng.permutation(self._length) if self._shuffle else np.arange(self._length)
                self._position = 0
            take = min(self._batch_size - len(indices), self._length - self._position)
            indices.extend(self._order[self._position:self._position + take])
            self._position += take
        if not indices:
            raise errors.OutOfRangeError(None, None, f"numpy_input_fn is exhausted: all {self._num_epochs} "
                                                     f"epoch(s) of {self._length} examples were given")
        return np.asarray(indices)

    def before_run(self, run_context):
        indices = self._next_indices()
        return SessionRunArgs(fetches=None, feed_dict={self._placeholders[key]: array[indices]
                                                       for key, array in self._arrays.items()})


def _op_name(key):
    """A placeholder name for the array under ``key`` (``x``/``y`` for plain arrays)."""
    key = key.replace("__y__", "y_").replace("y_" + _DIRECT_KEY, "y").replace(_DIRECT_KEY, "x")
    key = re.sub(r"[^A-Za-z0-9_.\-]", "_", key)
    return key if re.match(r"[A-Za-z0-9.]", key) else "input" + key


def _as_ordered_dict(value, what):
    if isinstance(value, dict):
        return collections.OrderedDict((k, np.asarray(value[k])) for k in sorted(value))
    if isinstance(value, np.ndarray):
        return collections.OrderedDict([(_DIRECT_KEY, value)])
    raise TypeError(f"{what} must be a dict or array; got {type(value).__name__}")


def numpy_input_fn(x, y=None, batch_size=128, num_epochs=1, shuffle=None, queue_capacity=1000, num_threads=1):
    """An ``input_fn`` giving ``(features, labels)`` batches of ``x`` (an array, or a dict of arrays: the
    features are then a dict of tensors) and ``y`` (None: the features only). ``shuffle`` must be given."""
    if not isinstance(shuffle, bool):
        raise ValueError("shuffle must be provided and explicitly set as boolean (it is recommended to set it as "
                         f"True for training); got {shuffle}")
    if batch_size is None or int(batch_size) <= 0:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size}")
    if num_epochs is not None and int(num_epochs) <= 0:
        raise ValueError(f"num_epochs must be None or a positive integer; got {num_epochs}")

    def input_fn():
        features = _as_ordered_dict(x, "x")
        labels = _as_ordered_dict(y, "y") if y is not None else collections.OrderedDict()
        shared = set(features) & set(labels)
        if shared:
            raise ValueError(f"{len(shared)} duplicate keys are found in both x and y: {sorted(shared)}")
        arrays = collections.OrderedDict(list(features.items()) + [("__y__" + k, v) for k, v in labels.items()])
        lengths = {len(a) for a in arrays.values()}
        if len(lengths) != 1:
            raise ValueError("Length of tensors in x and y is mismatched. All elements in dict x and y must have the "
                             f"same length.\nLengths: {({k: len(a) for k, a in arrays.items()})}")
        graph = get_default_graph()
        with name_scope("numpy_input"):
            placeholders = collections.OrderedDict(
                (key, placeholder(dtypes.as_dtype(a.dtype), [None] + list(a.shape[1:]), name=_op_name(key)))
                for key, a in arrays.items())
        hook = _NumpyFeedHook(placeholders, arrays, int(batch_size), num_epochs, shuffle, seed=None)
        graph.add_to_collection(INPUT_HOOKS, hook)
        feature_tensors = {k: placeholders[k] for k in features}
        label_tensors = {k: placeholders["__y__" + k] for k in labels}
        out_x = feature_tensors[_DIRECT_KEY] if _DIRECT_KEY in feature_tensors else feature_tensors
        if y is None:
            return out_x
        out_y = label_tensors[_DIRECT_KEY] if _DIRECT_KEY in label_tensors else label_tensors
        return out_x, out_y

    return input_fn
