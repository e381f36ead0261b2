"""Initializers beyond their statistics (tests/op_cases/dtypes_random.py): names, configs, errors, partitions."""

import collections

import numpy as np
import pytest

import tasklayer as tf

Partition = collections.namedtuple("Partition", "full_shape var_offset")


def test_tf1_and_keras_names_are_the_same_classes():
    assert tf.variance_scaling_initializer is tf.initializers.variance_scaling is tf.initializers.VarianceScaling
    assert tf.glorot_normal_initializer is tf.initializers.GlorotNormal
    assert tf.truncated_normal_initializer is tf.initializers.TruncatedNormal
    he = tf.initializers.he_normal(seed=3)
    assert (he.scale, he.mode, he.distribution, he.seed) == (2.0, "fan_in", "truncated_normal", 3)
    assert tf.initializers.lecun_uniform().get_config() == {"scale": 1.0, "mode": "fan_in", "distribution": "uniform",
                                                            "seed": None, "dtype": "float32"}


def test_config_round_trip():
    init = tf.variance_scaling_initializer(0.5, "fan_out", "untruncated_normal", seed=4, dtype=tf.float64)
    again = tf.variance_scaling_initializer.from_config(init.get_config())
    assert again.get_config() == init.get_config() and again.dtype == tf.float64


def test_bad_arguments_say_what_is_wrong():
    with pytest.raises(ValueError, match="`scale` must be positive float."):
        tf.variance_scaling_initializer(0.0)
    with pytest.raises(ValueError, match="Invalid `distribution` argument: 'gaussian'"):
        tf.variance_scaling_initializer(distribution="gaussian")
    with pytest.raises(ValueError, match="Expected floating point type, got tf.int32"):
        tf.truncated_normal_initializer(dtype=tf.int32)
    with pytest.raises(ValueError, match="at least two-dimensional"):
        tf.orthogonal_initializer()([3])
    with pytest.raises(ValueError, match="only be used for 2D matrices"):
        tf.initializers.identity()([2, 2, 2])


def _value(init, shape, partition_info=None):
    with tf.Graph().as_default(), tf.Session() as sess:
        return sess.run(init(shape, partition_info=partition_info))


def test_a_partition_takes_its_fans_and_its_slice_from_the_whole_variable():
    part = Partition(full_shape=[4, 3], var_offset=[2, 0])
    np.testing.assert_array_equal(_value(tf.initializers.identity(gain=3.0), [2, 3], part), [[0, 0, 3], [0, 0, 0]])
    init = tf.variance_scaling_initializer(distribution="uniform", seed=1)
    # The same draws (same seeds), scaled by fan_in 4 of the whole variable instead of the partition's 2.
    np.testing.assert_allclose(_value(init, [2, 3], part), _value(init, [2, 3]) / np.sqrt(2), rtol=1e-6)


def test_get_variable_uses_them():
    with tf.Graph().as_default(), tf.Session() as sess:
        w = tf.get_variable("w", [3, 5], initializer=tf.orthogonal_initializer(seed=2))
        sess.run(tf.initializers.global_variables())
        value = sess.run(w)
        np.testing.assert_allclose(value @ value.T, np.eye(3), atol=1e-5)
