"""``tf.flags`` / ``tf.app.flags``: absl's flags (as TF 1.x wraps them), with ``FLAGS`` parsed from ``sys.argv``
on first read when nothing parsed it yet.

Everything absl.flags has is here (``DEFINE_string``, ``DEFINE_integer``, ``DEFINE_float``, ``DEFINE_boolean`` /
``DEFINE_bool``, ``DEFINE_list``, ``DEFINE_enum``, ``mark_flag_as_required``...). As in TF 1.x, the DEFINE
functions also take the old keyword names ``flag_name``, ``default_value`` and ``docstring``; ``--name=value``,
``--name value`` and, for booleans, ``--name`` / ``--noname`` all parse; ``tf.app.run`` parses first and passes the
arguments it does not know on to ``main``.

>>> import tasklayer as tf
>>> fv = tf.flags.FlagValues()
>>> _ = tf.flags.DEFINE_integer("batch_size", 32, "Examples per step.", flag_values=fv)
>>> _ = tf.flags.DEFINE_boolean("fake_data", False, "Use fake data.", flag_values=fv)
>>> fv(["prog", "--batch_size", "64", "--fake_data"])
['prog']
>>> fv.batch_size, fv.fake_data, fv.flag_values_dict()["batch_size"]
(64, True, 64)
"""

import functools
import logging
import sys

from absl.flags import *  # noqa: F401,F403 - tf.flags is absl.flags plus the wrappers below
from absl.flags import (DEFINE_boolean, DEFINE_enum, DEFINE_float, DEFINE_integer, DEFINE_list,  # noqa: F401
                        DEFINE_string, FLAGS, disclaim_key_flags)

# Flags defined through this module belong to the caller's module (what --help lists under the program).
disclaim_key_flags()

_RENAMED_ARGUMENTS = {"flag_name": "name", "default_value": "default", "docstring": "help"}


def _wrap_define_function(original):
    """``original`` (an absl DEFINE function) also accepting TF's old keyword names."""
    @functools.wraps(original)
    def wrapper(*args, **kwargs):
        renamed = False
        for old, new in _RENAMED_ARGUMENTS.items():
            if old in kwargs:
                kwargs[new] = kwargs.pop(old)
                renamed = True
        if renamed:
            logging.warning(  # on the root logger, as TF 1.x does
                "Use of the keyword argument names (flag_name, default_value, docstring) is deprecated, please "
                "use (name, default, help) instead.")
        return original(*args, **kwargs)
    return wrapper


class _FlagValuesWrapper:
    """absl's ``FLAGS``, except that reading a flag before anything parsed the command line parses ``sys.argv``
    (absl would raise UnparsedFlagAccessError), as TF 1.x's ``tf.flags.FLAGS`` does."""

    def __init__(self, flags_object):
        self.__dict__["__wrapped"] = flags_object

    def __getattribute__(self, name):
        if name == "__dict__":
            return super().__getattribute__(name)
        return self.__dict__["__wrapped"].__getattribute__(name)

    def __getattr__(self, name):
        wrapped = self.__dict__["__wrapped"]
        # Tools probing for dunders (doctest, inspect, copy) must not parse the command line of pytest & co.
        if not wrapped.is_parsed() and not (name.startswith("__") and name.endswith("__")):
            wrapped(sys.argv)
        return wrapped.__getattr__(name)

    def __setattr__(self, name, value):
        return self.__dict__["__wrapped"].__setattr__(name, value)

    def __delattr__(self, name):
        return self.__dict__["__wrapped"].__delattr__(name)

    def __dir__(self):
        return self.__dict__["__wrapped"].__dir__()

    def __getitem__(self, name):
        return self.__dict__["__wrapped"].__getitem__(name)

    def __setitem__(self, name, flag):
        return self.__dict__["__wrapped"].__setitem__(name, flag)

    def __len__(self):
        return self.__dict__["__wrapped"].__len__()

    def __iter__(self):
        return self.__dict__["__wrapped"].__iter__()

    def __str__(self):
        return self.__dict__["__wrapped"].__str__()

    def __call__(self, *args, **kwargs):
        return self.__dict__["__wrapped"].__call__(*args, **kwargs)


DEFINE_string = _wrap_define_function(DEFINE_string)
DEFINE_boolean = _wrap_define_function(DEFINE_boolean)
DEFINE_bool = DEFINE_boolean
DEFINE_float = _wrap_define_function(DEFINE_float)
DEFINE_integer = _wrap_define_function(DEFINE_integer)
DEFINE_list = _wrap_define_function(DEFINE_list)
DEFINE_enum = _wrap_define_function(DEFINE_enum)

FLAGS = _FlagValuesWrapper(FLAGS)
