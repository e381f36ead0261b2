"""Graph passes: pure functions GraphDef -> GraphDef (prune, CSE, constant folding; placement and partition
arrive with the distributed runtime)."""

from engine import graph_util
from engine.passes.constant_folding import constant_folding
from engine.passes.cse import common_subexpression_elimination
from engine.passes.prune import prune

__all__ = ["prune", "common_subexpression_elimination", "constant_folding", "optimize"]


def optimize(graph_def, fetches, targets=(), feeds=()):
    """Prune to the fetches/targets given the feeds, then CSE, then constant folding.

    Fetched, targeted and fed nodes are protected: never merged, replaced or treated as constant.
    """
    protected = ({graph_util.node_name(f) for f in fetches} | {graph_util.node_name(t) for t in targets}
                 | {graph_util.node_name(f) for f in feeds})
    graph_def = prune(graph_def, fetches, targets, feeds)
    graph_def = common_subexpression_elimination(graph_def, protected=protected)
    return constant_folding(graph_def, protected=protected)
