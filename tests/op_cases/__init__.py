"""Op cases written once against a ``tf`` module: the suite runs each on tasklayer and checks it against numpy
(``tests/test_op_cases.py``); ``bench/tf_reference.py`` runs the same cases on TensorFlow itself.

A case module (``tests/op_cases/<family>.py``) registers builders::

    @case("relu6_clips", expect=lambda: np.float32([0, 3, 6]))
    def _(tf):
        return tf.nn.relu6(tf.constant([-1.0, 3.0, 7.0]))

``build(tf)`` runs inside a fresh default graph and returns the fetches, or ``(fetches, feed_dict)``;
``expect()`` gives numpy's answer in the same structure (its dtype is checked too); ``check(values)`` asserts
what a random op's values must satisfy; ``raises=(ExceptionClass, regex)`` says building or running fails so.
"""

import dataclasses
import importlib
import pkgutil
import re

import numpy as np


@dataclasses.dataclass(frozen=True)
class OpCase:
    """One case: how to build it, and what its values (or its error) must be."""

    name: str
    build: object
    expect: object = None
    check: object = None
    raises: tuple = None
    rtol: float = 1e-5
    atol: float = 1e-6
    init: bool = False          # run the global and local variable initializers first
    check_dtype: bool = True    # numpy's answer's dtype must match exactly


_CASES = {}


def case(name, *, expect=None, check=None, raises=None, rtol=1e-5, atol=1e-6, init=False, check_dtype=True):
    """Decorator registering ``build`` as the case ``name`` (names are unique across modules)."""
    def wrap(build):
        if name in _CASES:
            raise ValueError(f"op case {name!r} is registered twice")
        _CASES[name] = OpCase(name, build, expect, check, raises, rtol, atol, init, check_dtype)
        return build
    return wrap


def all_cases():
    """Every registered case, in name order (imports every case module of this package first)."""
    for info in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{info.name}")
    return [_CASES[n] for n in sorted(_CASES)]


def run(tf, op_case):
    """The values of ``op_case`` built and run with ``tf`` (tasklayer, or TensorFlow's ``compat.v1``)."""
    with tf.Graph().as_default():
        built = op_case.build(tf)
        fetches, feeds = built if isinstance(built, tuple) and len(built) == 2 and isinstance(built[1], dict) \
            else (built, None)
        with tf.Session() as sess:
            if op_case.init:
                sess.run([tf.global_variables_initializer(), tf.local_variables_initializer()])
            return sess.run(fetches, feeds)


def assert_close(actual, expected, rtol, atol, check_dtype=True, where="value"):
    """Compare nested values (lists, tuples, dicts of arrays) with numpy's tolerance, dtypes too."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict) and sorted(actual) == sorted(expected), f"{where}: keys differ"
        for k in expected:
            assert_close(actual[k], expected[k], rtol, atol, check_dtype, f"{where}[{k!r}]")
        return
    if isinstance(expected, (list, tuple)):
        assert isinstance(actual, (list, tuple)) and len(actual) == len(expected), \
            f"{where}: expected {len(expected)} values, got {actual!r}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol, atol, check_dtype, f"{where}[{i}]")
        return
    a, e = np.asarray(actual), np.asarray(expected)
    if check_dtype and isinstance(expected, (np.ndarray, np.generic)):
        assert a.dtype == e.dtype, f"{where}: dtype {a.dtype}, expected {e.dtype}"
    assert a.shape == e.shape, f"{where}: shape {a.shape}, expected {e.shape}"
    if e.dtype.kind in "OSU":
        assert a.tolist() == e.tolist(), f"{where}: {a!r} != {e!r}"
    else:
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol, err_msg=where)


def check_raises(tf, op_case):
    """Run ``op_case`` expecting its ``raises``; the exception, or AssertionError if it did not come."""
    cls, pattern = op_case.raises
    try:
        run(tf, op_case)
    except Exception as exc:  # noqa: BLE001 - the class is compared by name across tasklayer and TensorFlow
        names = {c.__name__ for c in type(exc).__mro__}
        assert cls.__name__ in names, f"raised {type(exc).__name__}: {exc}, expected {cls.__name__}"
        assert re.search(pattern, str(exc)), f"message {str(exc)!r} does not match {pattern!r}"
        return exc
    raise AssertionError(f"{op_case.name}: expected {cls.__name__} matching {pattern!r}, nothing raised")
