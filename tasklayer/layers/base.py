"""``tf.layers.Layer``: what every TF1 layer class shares. A layer makes its variables in a variable scope of its
own (``dense``, ``dense_1``, ...) on its first call, and every later call reuses that scope and those variables.

>>> import tasklayer as tf
>>> class Scale(tf.layers.Layer):
...     def build(self, input_shape):
...         self.factor = self.add_weight("factor", [input_shape[-1]], initializer=tf.ones_initializer())
...     def call(self, inputs):
...         return inputs * self.factor
>>> with tf.Graph().as_default():
...     layer = Scale(name="scale")
...     y1, y2 = layer(tf.zeros([2, 3])), layer(tf.ones([4, 3]))
...     layer.built, [v.name for v in layer.variables], len(tf.trainable_variables())
(True, ['scale/factor:0'], 1)
"""

from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.variable_scope import AUTO_REUSE, get_variable, variable_scope

__all__ = ["Layer"]


class Layer:
    """TF1's ``tf.layers.Layer``: subclasses make their variables in ``build(input_shape)`` with ``add_weight``
    and compute in ``call(inputs, ...)``; ``layer(inputs)`` (or ``layer.apply``) runs both in the layer's scope.

    ``name`` (default the class's ``default_name``) is made unique on the first call; ``_reuse`` (True or
    ``tf.AUTO_REUSE``) takes the variables of that scope made before, as the layer functions' ``reuse`` does;
    ``_scope`` (a ``VariableScope``, TF1's private argument that ``tf.contrib.layers`` passes) is the scope to use
    instead of making one, so that its variables and ops go straight under it.
    """

    default_name = "layer"

    def __init__(self, trainable=True, name=None, dtype=None, _reuse=None, _scope=None, **kwargs):
        self.trainable = trainable
        self.dtype = dtype
        self._name, self._reuse, self._scope, self._built = name, _reuse, _scope, False
        self._trainable_weights, self._non_trainable_weights = [], []

    @property
    def name(self):
        """The layer's name: its variable scope's last part once called (``dense_1``), else the name given."""
        if self._scope is not None:
            return self._scope.name.rsplit("/", 1)[-1]
        return self._name or self.default_name

    @property
    def built(self):
        """Whether the layer was called (and made its variables)."""
        return self._built

    @property
    def trainable_variables(self):
        """The variables an optimizer updates (none with ``trainable=False``), in the order they were made."""
        return list(self._trainable_weights)

    @property
    def non_trainable_variables(self):
        """The other variables (moving statistics, or all of them with ``trainable=False``)."""
        return list(self._non_trainable_weights)

    @property
    def variables(self):
        """Every variable of the layer, the trainable ones first; empty before the first call."""
        return self.trainable_variables + self.non_trainable_variables

    # The Keras names that TF1's layers also answer to.
    weights, trainable_weights, non_trainable_weights = variables, trainable_variables, non_trainable_variables

    def add_weight(self, name, shape, dtype=None, initializer=None, regularizer=None, trainable=True,
                   constraint=None):
        """A variable ``<layer scope>/name`` (of the layer's dtype unless given), kept among the layer's
        trainable variables when both it and the layer are trainable."""
        trainable = bool(trainable) and bool(self.trainable)
        variable = get_variable(name, shape, dtype=dtype if dtype is not None else self.dtype, initializer=initializer,
                                regularizer=regularizer, trainable=trainable, constraint=constraint)
        (self._trainable_weights if trainable else self._non_trainable_weights).append(variable)
        return variable

    add_variable = add_weight  # TF1's older name

    def __call__(self, inputs, *args, **kwargs):
        """The layer applied to ``inputs`` (further arguments go to ``call``, e.g. ``training``)."""
        x = convert_to_tensor(inputs, name="inputs")
        self._check_input(x)
        if not self._built:
            reuse = AUTO_REUSE if self._reuse is AUTO_REUSE else (True if self._reuse else None)
            first = (variable_scope(self._scope, reuse=reuse) if self._scope is not None
                     else variable_scope(self._name, default_name=self.default_name, reuse=reuse))
            with first as scope:
                if self.dtype is None:
                    self.dtype = x.dtype
                self.build(x.shape)
                self._scope, self._built = scope, True
                return self.call(x, *args, **kwargs)
        with variable_scope(self._scope, reuse=True):
            return self.call(x, *args, **kwargs)

    apply = __call__  # TF1's Layer.apply

    def _check_input(self, x):
        """Raise ValueError, in TF's words, when ``x`` does not fit the layer (checked on every call)."""

    def build(self, input_shape):
        """Make the layer's variables (in its scope, at the first call) for inputs of ``input_shape``."""

    def call(self, inputs, *args, **kwargs):
        """The layer's computation on the ``inputs`` tensor."""
        raise NotImplementedError(f"{type(self).__name__} must define call()")
