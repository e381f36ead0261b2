"""``tf.contrib.framework.arg_scope``: default keyword arguments for the functions decorated with
``add_arg_scope`` (every ``tf.contrib.layers`` layer), set for a ``with`` block, as TF 1.x's contrib has them.

>>> import tasklayer as tf
>>> @tf.contrib.framework.add_arg_scope
... def scaled(x, factor=1, offset=0):
...     return x * factor + offset
>>> with tf.contrib.framework.arg_scope([scaled], factor=10):
...     with tf.contrib.framework.arg_scope([scaled], offset=1):
...         inner = scaled(2), scaled(2, factor=3)
...     outer = scaled(2)
>>> inner, outer, scaled(2)
((21, 7), 20, 2)
"""

import contextlib
import functools
import threading

__all__ = ["arg_scope", "add_arg_scope", "current_arg_scope", "has_arg_scope", "arg_scoped_arguments",
           "arg_scope_func_key"]

# The keyword names arg_scope may set, per decorated function (by key): TF's ``_DECORATED_OPS``.
_DECORATED = {}


class _Stack(threading.local):
    """The arg scopes entered, innermost last. Per thread, as this package's variable and name scopes are, so that
    graphs built on two threads at once do not see each other's defaults (TF keeps one stack per process)."""

    def __init__(self):
        self.scopes = [{}]


_stack = _Stack()


def current_arg_scope():
    """The innermost arg scope: a dict ``{function key: {argument: value}}``."""
    return _stack.scopes[-1]


def arg_scope_func_key(op):
    """The key of ``op`` in an arg scope (the same for a decorated function and the one it wraps)."""
    return getattr(op, "_key_op", str(op))


def _keyword_names(func):
    """The names of ``func``'s arguments that have defaults (TF's ``_kwarg_names``)."""
    defaults = len(func.__defaults__) if func.__defaults__ else 0
    return func.__code__.co_varnames[func.__code__.co_argcount - defaults:func.__code__.co_argcount]


@contextlib.contextmanager
def arg_scope(list_ops_or_scope, **kwargs):
    """Within the block, ``kwargs`` are the default keyword arguments of each function of ``list_ops_or_scope``
    (all decorated with ``add_arg_scope``), on top of the enclosing arg scope's; arguments given in a call win.
    A dict yielded by an earlier ``arg_scope`` re-enters that scope (``kwargs`` must then be empty)."""
    if isinstance(list_ops_or_scope, dict):
        if kwargs:
            raise ValueError("When attempting to re-use a scope by suppling a dictionary, kwargs must be empty.")
        scope = list_ops_or_scope.copy()
    else:
        if not isinstance(list_ops_or_scope, (list, tuple)):
            raise TypeError("list_ops_or_scope must either be a list/tuple or reused scope (i.e. dict)")
        scope = current_arg_scope().copy()
        for op in list_ops_or_scope:
            if not has_arg_scope(op):
                name = getattr(op, "__name__", repr(op))
                raise ValueError(f"{getattr(op, '__module__', '')}.{name} is not decorated with @add_arg_scope")
            key = arg_scope_func_key(op)
            scope[key] = {**scope.get(key, {}), **kwargs}
    _stack.scopes.append(scope)
    try:
        yield scope
    finally:
        _stack.scopes.pop()


def add_arg_scope(func):
    """Decorate ``func`` so that the enclosing ``arg_scope`` blocks supply its keyword arguments."""
    key = arg_scope_func_key(func)

    @functools.wraps(func)
    def func_with_args(*args, **kwargs):
        scoped = current_arg_scope().get(key)
        return func(*args, **({**scoped, **kwargs} if scoped else kwargs))

    _DECORATED[key] = _keyword_names(func)
    func_with_args._key_op = key
    return func_with_args


def has_arg_scope(func):
    """Whether ``func`` was decorated with ``add_arg_scope``."""
    return arg_scope_func_key(func) in _DECORATED


def arg_scoped_arguments(func):
    """The keyword arguments an arg scope can set for ``func`` (decorated with ``add_arg_scope``): those with
    defaults (TF's own slice of ``co_varnames`` gives a wrong subset for a function with local variables)."""
    if not has_arg_scope(func):
        raise ValueError(f"{getattr(func, '__name__', func)} is not decorated with @add_arg_scope")
    return _DECORATED[arg_scope_func_key(func)]
