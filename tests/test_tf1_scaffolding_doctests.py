"""The runnable examples of the TF1 scaffolding (app, flags, logging), dtypes, random ops and initializers."""

import doctest
import importlib

import pytest

MODULES = ["tasklayer.app", "tasklayer.flags", "tasklayer.tf_logging", "tasklayer.tf_random", "tasklayer.initializers",
           "tasklayer.ops.linalg_ops", "tasklayer.variables", "engine.dtypes", "engine.tensor_codec"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} docstring examples failed in {name}"
    assert result.attempted > 0
