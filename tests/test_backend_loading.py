"""Kernel backends are found, never imported by name: ``engine.op_defs`` loads them when it meets an op type it
does not know, and a kernel that runs a function graph gets its runner from ``KernelEnv.functions``, which the
executor fills (so no kernel imports the executor)."""

import doctest
import importlib
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from engine import dtypes
from engine.errors import FailedPreconditionError
from engine.executor import Executor, FunctionLibrary
from engine.graph_util import make_const, make_node
from engine.kernels.context import KernelEnv
from engine.kernels.registry import register_kernel
from engine.op_defs import register_op
from engine.resource_mgr import ResourceMgr
from protos import graph_pb2

ROOT = pathlib.Path(__file__).resolve().parent.parent
F = dtypes.float32

# A function graph: y = x * 3.
TIMES_THREE = graph_pb2.GraphDef(node=[
    make_node("x", "Placeholder", dtype=F),
    make_const("three", np.float32(3.0)),
    make_node("y", "Mul", ["x", "three"], T=F),
])
ENVS = []

# A test-only op whose kernel runs TIMES_THREE on its input through its env's function library.
register_op("TestCallTimesThree", "T")


@register_kernel("TestCallTimesThree", "CPU")
def _call_times_three(node, env):
    ENVS.append(env)
    runner = env.functions.instantiate(TIMES_THREE)
    return lambda x: runner.run(feeds={"x:0": x}, fetches=["y:0"])[0]


def test_a_kernel_runs_a_function_graph_through_its_executors_library():
    resources = ResourceMgr()
    g = graph_pb2.GraphDef(node=[make_const("a", np.float32(2.0)), make_node("call", "TestCallTimesThree", ["a"],
                                                                             T=F)])
    ENVS.clear()
    ex = Executor(g, resources=resources)
    assert ex.run(fetches=["call:0"])[0] == np.float32(6.0)
    [env] = ENVS
    assert env.functions is ex.functions and isinstance(ex.functions, FunctionLibrary)
    # The function runs on the resources of the process that runs its op (variables, queues, iterators).
    assert ex.functions.instantiate(TIMES_THREE).resources is resources


def test_a_kernel_env_built_outside_an_executor_runs_no_function_graph():
    with pytest.raises(FailedPreconditionError, match="no function library"):
        KernelEnv().functions.instantiate(TIMES_THREE)


def test_a_backends_op_definition_is_found_without_importing_the_backend():
    """In a fresh process, importing ``engine.op_defs`` is enough: asking for an op a backend declares loads the
    backends (none is imported before), and an op nobody declares stays unknown."""
    code = ("import sys\nfrom engine import op_defs\n"
            "before = sorted(m for m in sys.modules if m.startswith('engine.kernels.numpy_'))\n"
            "print(before, op_defs.is_known('QueueDequeueV2'), op_defs.lookup('IteratorGetNext').stateful,\n"
            "      op_defs.is_stateful('TextLineReaderV2'), op_defs.is_known('NoSuchOp'),\n"
            "      'engine.kernels.numpy_queues' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["[]", "True", "True", "True", "False", "True"]


@pytest.mark.parametrize("name", ["engine.op_defs", "engine.op_constants", "engine.kernels.util", "engine.executor"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0
