"""tf.layers.Layer, the base of the tf.layers classes: names made unique at the first call, variables made once in
the layer's scope and reused after, trainable and non-trainable variables, reuse of another layer's scope."""

import doctest

import pytest

import tasklayer as tf
from tasklayer.layers import base


class Scale(tf.layers.Layer):
    """``inputs * factor + shift``: a trainable factor and a shift that is never trained."""

    default_name = "scale"

    def build(self, input_shape):
        self.factor = self.add_weight("factor", [input_shape[-1]], initializer=tf.ones_initializer())
        self.shift = self.add_weight("shift", [input_shape[-1]], initializer=tf.zeros_initializer(), trainable=False)

    def call(self, inputs, negate=False):
        out = inputs * self.factor + self.shift
        return -out if negate else out


@pytest.fixture(autouse=True)
def fresh_graph():
    with tf.Graph().as_default() as g:
        yield g


def test_docstring_examples():
    result = doctest.testmod(base, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_variables_are_made_once_in_a_unique_scope_and_reused():
    first, second = Scale(), Scale()
    assert (first.name, first.built, first.variables) == ("scale", False, [])
    first(tf.zeros([2, 3]))
    y = first(tf.ones([4, 3]), negate=True)  # call's own arguments pass through
    second(tf.zeros([1, 5]))
    assert first.built and (first.name, second.name) == ("scale", "scale_1")
    assert [v.name for v in first.variables] == ["scale/factor:0", "scale/shift:0"]
    assert first.trainable_variables == first.trainable_weights == [first.factor]
    assert first.non_trainable_variables == first.non_trainable_weights == [first.shift]
    assert first.weights == first.variables and len(tf.global_variables()) == 4
    assert y.shape.as_list() == [4, 3] and first.dtype == tf.float32


def test_a_layer_that_is_not_trainable_trains_nothing():
    layer = Scale(trainable=False)
    layer(tf.zeros([2, 3]))
    assert layer.trainable_variables == [] and layer.non_trainable_variables == [layer.factor, layer.shift]
    assert tf.trainable_variables() == []


@pytest.mark.parametrize("reuse", [True, tf.AUTO_REUSE])
def test_reuse_takes_the_variables_of_the_scope_made_before(reuse):
    made = Scale(name="shared")
    made(tf.zeros([2, 3]))
    again = Scale(name="shared", _reuse=reuse)
    again(tf.zeros([2, 3]))
    assert again.variables == made.variables and len(tf.global_variables()) == 2


def test_call_must_be_defined():
    with pytest.raises(NotImplementedError, match="Layer must define call"):
        tf.layers.Layer()(tf.zeros([1]))


@pytest.mark.parametrize("make,shape", [
    (lambda: tf.layers.Dense(2), [3, 4]),
    (lambda: tf.layers.Conv2D(2, 3), [1, 5, 5, 2]),
    (lambda: tf.layers.Conv2DTranspose(2, 3), [1, 5, 5, 2]),
    (lambda: tf.layers.MaxPooling2D(2, 2), [1, 4, 4, 2]),
    (lambda: tf.layers.AveragePooling2D(2, 2), [1, 4, 4, 2]),
    (lambda: tf.layers.BatchNormalization(), [3, 4]),
    (lambda: tf.layers.Flatten(), [3, 2, 2]),
    (lambda: tf.layers.Dropout(0.5), [3, 4]),
])
def test_every_layer_class_is_a_layer_and_keeps_its_scope(make, shape):
    layer = make()
    assert isinstance(layer, tf.layers.Layer) and not layer.built
    layer(tf.zeros(shape))
    made = list(tf.global_variables())
    layer(tf.ones(shape))
    assert layer.built and layer.name == layer.default_name
    assert tf.global_variables() == made == layer.variables  # the second call made nothing
    assert layer.variables == layer.trainable_variables + layer.non_trainable_variables


def test_dropout_keeps_its_name_and_puts_every_call_in_its_scope():
    layer = tf.layers.Dropout(0.5, name="drop")
    training = tf.placeholder(tf.bool, [])
    kept, cond, dropped = layer(tf.ones([2, 3])), layer(tf.ones([2, 3]), training=training), layer([[1.0]], True)
    assert layer.name == "drop" and [t.op.type for t in (kept, cond, dropped)] == ["Identity", "Merge", "Mul"]
    assert all(t.name.startswith("drop/") for t in (kept, cond, dropped)), [t.name for t in (kept, cond, dropped)]
    with tf.Session() as sess:
        assert sess.run(cond, {training: False}).tolist() == [[1.0] * 3] * 2
        assert set(sess.run(cond, {training: True}).ravel()) <= {0.0, 2.0}
