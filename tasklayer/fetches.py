"""What ``Session.run`` fetches: nested lists/tuples/namedtuples/dicts of Tensors, Operations and names,
flattened into unique tensor and op names and rebuilt into the same structure from the results."""

from tasklayer.tensor import Operation, Tensor


class FetchPlan:
    """The flat fetch and target names of one ``fetches`` structure, and how to rebuild it.

    >>> import tasklayer as tf
    >>> with tf.Graph().as_default() as g:
    ...     a = tf.constant(1, name="a")
    ...     plan = FetchPlan(g, {"x": a, "y": [a, "a:0", a.op]})
    >>> plan.tensor_names, plan.op_names, plan.rebuild([7])
    (['a:0'], ['a'], {'x': 7, 'y': [7, 7, None]})
    """

    def __init__(self, graph, fetches):
        self.tensor_names = []
        self.op_names = []
        self._tensor_index = {}
        self._rebuild = self._mapper(graph, fetches)

    def rebuild(self, values):
        """The fetch structure with each tensor replaced by its value (ops by None)."""
        return self._rebuild(values)

    def _element(self, graph, fetch):
        if hasattr(fetch, "_as_graph_element"):
            fetch = fetch._as_graph_element()
        try:
            return graph.as_graph_element(fetch, allow_tensor=True, allow_operation=True)
        except (KeyError, ValueError) as e:
            message = e.args[0] if e.args else str(e)
            raise ValueError(f"Fetch argument {fetch!r} cannot be interpreted as a Tensor. ({message})") from None

    def _mapper(self, graph, fetch):
        if fetch is None:
            raise TypeError(f"Fetch argument None has invalid type {type(None)}")
        if isinstance(fetch, (Tensor, Operation, str)) or hasattr(fetch, "_as_graph_element"):
            element = self._element(graph, fetch)
            if isinstance(element, Operation):
                if element.name not in self.op_names:
                    self.op_names.append(element.name)
                return lambda values: None
            index = self._tensor_index.get(element.name)
            if index is None:
                index = self._tensor_index[element.name] = len(self.tensor_names)
                self.tensor_names.append(element.name)
            return lambda values: values[index]
        if isinstance(fetch, dict):
            parts = [(key, self._mapper(graph, value)) for key, value in fetch.items()]

            def rebuild_dict(values):
                out = _empty_like(fetch)
                for key, part in parts:
                    out[key] = part(values)
                return out
            return rebuild_dict
        if isinstance(fetch, (list, tuple)):
            parts = [self._mapper(graph, item) for item in fetch]
            kind = type(fetch)
            if isinstance(fetch, tuple) and hasattr(fetch, "_fields"):  # a namedtuple
                return lambda values: kind(*[part(values) for part in parts])
            return lambda values: kind(part(values) for part in parts)
        raise TypeError(f"Fetch argument {fetch!r} has invalid type {type(fetch)}, must be a string or Tensor. "
                        f"(Can not convert a {type(fetch).__name__} into a Tensor or Operation.)")


def _empty_like(mapping):
    try:
        return type(mapping)()
    except TypeError:  # e.g. a defaultdict needs its factory
        out = mapping.copy()
        out.clear()
        return out
