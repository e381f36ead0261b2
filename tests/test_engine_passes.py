"""Graph passes: prune, CSE and constant folding, checked by node counts and by unchanged results."""

import numpy as np
import pytest

from engine import dtypes
from engine.executor import Executor
from engine.graph_util import make_const, make_node, node_map
from engine.passes import common_subexpression_elimination, constant_folding, optimize, prune
from protos import graph_pb2

F = dtypes.float32


def graph(*nodes):
    return graph_pb2.GraphDef(node=list(nodes))


def names(g):
    return [n.name for n in g.node]


def sample():
    """x fed; a, b constant; two equal sums (one with swapped inputs); a random op; a dead branch."""
    return graph(
        make_node("x", "Placeholder", dtype=F),
        make_const("a", np.float32([1, 2])), make_const("b", np.float32([3, 4])),
        make_node("s1", "Add", ["a", "b"], T=F), make_node("s2", "Add", ["b", "a"], T=F),
        make_node("d1", "Sub", ["a", "b"], T=F), make_node("d2", "Sub", ["b", "a"], T=F),
        make_node("xs1", "Mul", ["x", "s1"], T=F), make_node("xs2", "Mul", ["x", "s2"], T=F),
        make_const("shape", np.int32([2])),
        make_node("noise", "RandomUniform", ["shape"], dtype=F, seed=1, seed2=2, T=dtypes.int32),
        make_node("noisy", "Mul", ["noise", "s1"], T=F),
        make_node("out", "AddN", ["xs1", "xs2", "d1", "d2"], T=F, N=4),
        make_node("dead", "Exp", ["out"], T=F))


def test_prune_keeps_what_fetches_need_and_cuts_fed_producers():
    g = sample()
    assert sorted(names(prune(g, ["xs1:0"]))) == ["a", "b", "s1", "x", "xs1"]
    assert sorted(names(prune(g, ["xs1:0"], feeds=["s1:0"]))) == ["x", "xs1"]
    assert "dead" not in names(prune(g, ["out:0"]))
    assert sorted(names(prune(g, [], targets=["s2"]))) == ["a", "b", "s2"]


def test_cse_merges_commutative_but_not_order_sensitive_or_stateful():
    g = sample()
    g.node.append(make_node("noise2", "RandomUniform", ["shape"], dtype=F, seed=1, seed2=2, T=dtypes.int32))
    g.node.append(make_node("x2", "Placeholder", dtype=F))
    out = common_subexpression_elimination(g, protected=["out"])
    kept = names(out)
    assert "s2" not in kept and "xs2" not in kept  # s2 == s1 (Add commutes), then xs2 == xs1
    assert {"d1", "d2", "noise", "noise2", "x", "x2"} <= set(kept)  # Sub does not commute; random/fed never merge
    assert list(node_map(out)["out"].input) == ["xs1", "xs1", "d1", "d2"]
    x = np.float32([1, -1])
    assert np.array_equal(Executor(out).run({"x:0": x}, ["out:0"])[0], Executor(g).run({"x:0": x}, ["out:0"])[0])


def test_cse_respects_protected_and_device_and_attrs():
    g = graph(make_const("a", np.float32(1)), make_const("b", np.float32(1)), make_const("c", np.float32(2)),
              make_node("n1", "Neg", ["a"], T=F), make_node("n2", "Neg", ["b"], T=F, device="/device:CPU:1"))
    assert names(common_subexpression_elimination(g)) == ["a", "c", "n1", "n2"]  # b merged into a
    assert names(common_subexpression_elimination(g, protected=["b:0"])) == names(g)


def test_constant_folding_replaces_constant_subgraphs_but_not_random_or_fed():
    g = sample()
    folded = constant_folding(g, protected=["out", "noisy", "x"])
    nodes = node_map(folded)
    assert nodes["s1"].op == "Const" and nodes["d1"].op == "Const"
    assert nodes["noise"].op == "RandomUniform" and nodes["x"].op == "Placeholder"
    assert "a" not in nodes and "b" not in nodes  # consumed only by folded nodes
    x = np.float32([2, 3])
    want = Executor(g).run({"x:0": x}, ["out:0"])[0]
    ex = Executor(folded)
    assert np.array_equal(ex.run({"x:0": x}, ["out:0"])[0], want)
    assert ex.last_stats.nodes_executed < Executor(g).plan_for(["out:0"], ["x:0"]).steps.__len__()


def test_fed_constant_is_not_folded_into_consumers():
    g = graph(make_const("a", np.float32(1)), make_node("n", "Neg", ["a"], T=F), make_node("y", "Exp", ["n"], T=F))
    folded = optimize(g, ["y:0"], feeds=["a:0"])
    assert Executor(folded).run({"a:0": np.float32(0)}, ["y:0"])[0] == 1.0


def test_folding_keeps_control_edges_and_skips_nodes_with_control_inputs():
    g = graph(make_node("x", "Placeholder", dtype=F), make_node("side", "Neg", ["x"], T=F),
              make_const("a", np.float32(2)), make_node("sq", "Square", ["a"], T=F),
              make_node("guarded", "Square", ["a", "^side"], T=F),
              make_node("y", "Add", ["sq", "guarded"], T=F), make_node("z", "Neg", ["x", "^sq"], T=F))
    folded = constant_folding(g, protected=["y", "z"])
    nodes = node_map(folded)
    assert nodes["sq"].op == "Const" and nodes["guarded"].op == "Square"
    assert list(nodes["guarded"].input) == ["a", "^side"] and list(nodes["z"].input) == ["x", "^sq"]
    assert Executor(folded).run({"x:0": np.float32(1)}, ["y:0", "z:0"]) == [8.0, -1.0]


def test_folding_multi_output_and_large_outputs():
    g = graph(make_const("dim", np.int32(0)), make_const("v", np.arange(4, dtype=np.float32)),
              make_node("sp", "Split", ["dim", "v"], T=F, num_split=2),
              make_node("x", "Placeholder", dtype=F), make_node("y", "Mul", ["sp:1", "x"], T=F),
              make_const("big_shape", np.int32([2048, 2048])), make_const("zero", np.float32(0)),
              make_node("big", "Fill", ["big_shape", "zero"], T=F), make_node("bx", "Add", ["big", "x"], T=F))
    folded = constant_folding(g, protected=["y", "bx", "x"])
    nodes = node_map(folded)
    assert nodes["sp/folded_1"].op == "Const" and "sp" not in nodes
    assert nodes["big"].op == "Fill"  # 16 MB: computed at run time, not stored in the GraphDef
    out = Executor(folded).run({"x:0": np.float32(2)}, ["y:0", "bx:0"])
    assert out[0].tolist() == [4.0, 6.0] and out[1].shape == (2048, 2048)


def test_optimize_counts_nodes_executed():
    g = sample()
    x = np.float32([1, 2])
    plain = Executor(g)
    want = plain.run({"x:0": x}, ["out:0"])[0]
    opt = Executor(optimize(g, ["out:0"], feeds=["x:0"]))
    assert np.array_equal(opt.run({"x:0": x}, ["out:0"])[0], want)
    # plain: a b s1 s2 d1 d2 xs1 xs2 out = 9; optimized: s1 d1 d2 (consts) xs1 out = 5
    assert plain.last_stats.nodes_executed == 9
    assert opt.last_stats.nodes_executed == 5


@pytest.mark.parametrize("fetch", ["noisy:0"])
def test_random_ops_still_advance_after_optimize(fetch):
    opt = Executor(optimize(sample(), [fetch]))
    first, second = opt.run(fetches=[fetch])[0], opt.run(fetches=[fetch])[0]
    assert not np.array_equal(first, second)
