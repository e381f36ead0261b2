"""Pruning: keep only the nodes the fetches and targets need, given the feeds."""

from engine import graph_util
from protos import graph_pb2


def prune(graph_def, fetches, targets=(), feeds=()):
    """A new GraphDef with the nodes that ``fetches``/``targets`` need; a fed tensor's producer is cut.

    The result is meant to be run with the same feeds: a consumer of a fed tensor may name a producer that
    was pruned away (the executor accepts that, as TF does by turning feeds into arguments).
    """
    nodes = graph_util.node_map(graph_def)
    keep = graph_util.needed_nodes(nodes, fetches, feeds, targets)
    out = graph_pb2.GraphDef(version=graph_def.version)
    out.node.extend(n for n in graph_def.node if n.name in keep)
    return out
