"""Graphs to and from protobuf ``GraphDef`` (never pickle): ``import_graph_def`` here; the writing half
(``node_def_of``, ``graph_to_graph_def``) lives in ``tasklayer.node_defs`` and is re-exported."""

from engine import errors, graph_util, graph_validation, tensor_codec
from protos import graph_pb2
from tasklayer import graph as graph_lib
from tasklayer.node_defs import graph_to_graph_def, node_def_of  # noqa: F401 - graph_io's public names
from tasklayer.shapes import TensorShape
from tasklayer.tensor import Tensor


def _attr_from_proto(av):
    if av.WhichOneof("value") == "shape":
        return TensorShape(tensor_codec.shape_from_proto(av.shape))
    return graph_util.attr_value(av)


def import_graph_def(graph_def, input_map=None, return_elements=None, name=None):
    """Import a GraphDef into the default graph under the scope ``name`` (default ``"import"``; ``""`` for
    none). ``input_map`` maps tensor names of ``graph_def`` to Tensors of this graph that replace them;
    ``return_elements`` names ops (``"a"``) or tensors (``"a:0"``) of ``graph_def`` to return.

    >>> import tasklayer as tf
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     _ = tf.constant(5, name="x") + 1
    >>> with tf.Graph().as_default():
    ...     y = tf.constant(10, name="y")
    ...     [out] = tf.import_graph_def(g.as_graph_def(), input_map={"x:0": y}, return_elements=["add:0"])
    ...     with tf.Session() as sess:
    ...         out.name, int(sess.run(out))
    ('import/add:0', 11)
    """
    if not isinstance(graph_def, graph_pb2.GraphDef):
        raise TypeError(f"graph_def must be a GraphDef proto, got {type(graph_def).__name__}")
    mapping = {}
    for key, value in (input_map or {}).items():
        if not isinstance(key, str):
            raise TypeError(f"input_map keys must be tensor names (strings), got {key!r}")
        if not isinstance(value, Tensor):
            raise TypeError(f"input_map values must be Tensors, got {value!r} for {key!r}")
        mapping[graph_util.tensor_name(key)] = value
    try:  # names, inputs, attrs and input dtypes, as TF's importer checks them
        graph_validation.validate_graph_def(graph_def)
    except errors.OpError as e:
        raise ValueError(f"import_graph_def: {e.message}") from None
    nodes = {node.name: node for node in graph_def.node}
    order = _stable_topological_order(nodes)

    g = graph_lib.graph_of(list(mapping.values()))
    created = {}
    used = set()
    with graph_lib.name_scope(name, "import", list(mapping.values())) as scope:
        for node_name in order:
            node = nodes[node_name]
            inputs, controls = [], []
            for inp in node.input:
                src, idx, is_control = graph_util.parse_input(inp)
                if is_control:
                    controls.append(created[src])
                    continue
                produced = _output(created[src], idx, node, inp)
                key = f"{src}:{idx}"
                if key in mapping:
                    used.add(key)
                    mapped = mapping[key]
                    if mapped.dtype != produced.dtype:
                        raise ValueError(f"import_graph_def: input {len(inputs)} of node {node.name!r} was passed "
                                         f"{mapped.dtype.name} from {mapped.name} incompatible with expected "
                                         f"{produced.dtype.name}")
                    produced = mapped
                inputs.append(produced)
            attrs = {k: _attr_from_proto(v) for k, v in node.attr.items()}
            try:
                created[node_name] = g.create_op(node.op, inputs, attrs, name=f"{scope}{node.name}/",
                                                 control_inputs=controls, device=node.device)
            except (ValueError, TypeError) as e:
                raise ValueError(f"import_graph_def: node {node.name!r} ({node.op}): {e}") from None
    unused = sorted(set(mapping) - used)
    if unused:
        raise ValueError(f"Attempted to map inputs that were not found in graph_def: {unused}")
    if return_elements is None:
        return None
    out = []
    for element in return_elements:
        op_name, sep, idx = element.partition(":")
        if op_name not in created:
            raise ValueError(f"Requested return_element {element!r} not found in graph_def.")
        out.append(_output(created[op_name], int(idx), None, element) if sep else created[op_name])
    return out


def _output(op, idx, node, ref):
    if not 0 <= idx < len(op.outputs):
        where = f"node {node.name!r}: " if node is not None else ""
        raise ValueError(f"import_graph_def: {where}{ref!r} names output {idx} but {op.type} "
                         f"{op.name!r} has {len(op.outputs)} outputs")
    return op.outputs[idx]


def _stable_topological_order(nodes):
    """Node names with every node after its inputs, keeping the given order where it already is one
    (so a graph's own GraphDef imports op for op in the same order); ValueError naming a cycle."""
    order, state = [], {}  # state: 1 = on the current path, 2 = placed

    def deps(name):
        return iter([graph_util.node_name(i) for i in nodes[name].input])
    for root in nodes:
        if state.get(root) == 2:
            continue
        state[root] = 1
        stack = [(root, deps(root))]
        while stack:
            name, pending = stack[-1]
            for dep in pending:
                if state.get(dep) is None:
                    state[dep] = 1
                    stack.append((dep, deps(dep)))
                    break
                if state[dep] == 1:
                    raise ValueError(f"import_graph_def: graph_def has a cycle through node {dep!r}")
            else:
                stack.pop()
                state[name] = 2
                order.append(name)
    return order
