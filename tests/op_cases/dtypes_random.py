"""Cases of the TF1 dtypes (int8/int16/uint16, bfloat16, complex, string), the casts, and the random ops and
initializers (checked on their statistics and on TF1's seed rules, never bitwise)."""

import numpy as np

from tests.op_cases import case

N = 20000  # samples for the statistics checks: the mean of N unit normals is within 4/sqrt(N) = 0.03


# ---------------------------------------------------------------- dtypes: arithmetic, constants, feeds
@case("dtype_int8_add_wraps", expect=lambda: np.int8([-56, 56, 2]))
def _int8_add(tf):
    x = tf.constant(np.int8([100, -100, 1]))
    return x + x


@case("dtype_int16_mul_and_neg", expect=lambda: np.int16([-600, 30000, 0]))
def _int16_mul(tf):
    x = tf.constant(np.int16([20, -1000, 0]))
    return -(x * tf.constant(np.int16([30, 30, 7])))


@case("dtype_uint16_sub_max", expect=lambda: (np.uint16([65535, 1]), np.uint16([65535, 2])))
def _uint16(tf):
    x = tf.placeholder(tf.uint16, [2])
    return (x - tf.constant(np.uint16([0, 1])), tf.maximum(x, tf.constant(np.uint16([3, 2])))), \
        {x: np.uint16([65535, 2])}


@case("dtype_complex128_from_python", expect=lambda: np.complex128([-3 + 4j, -1 + 1j]))
def _complex128(tf):
    c = tf.constant([1 + 2j, 1j])
    return c * c + tf.constant([0j, 1 + 1j]) - tf.constant([0j, 1 + 0j])


@case("dtype_complex64_fed_mul_sum", expect=lambda: np.complex64(1 + 5j))
def _complex64(tf):
    z = tf.placeholder(tf.complex64, [2])
    return tf.reduce_sum(z * tf.constant([1 + 1j, 2 + 0j], dtype=tf.complex64)), {z: np.complex64([2 + 1j, 1j])}


@case("dtype_bfloat16_cast_round_trip", expect=lambda: np.float32([1.0, 3.140625, -300.0]))
def _bfloat16(tf):
    return tf.cast(tf.cast(tf.constant([1.0, 3.14159, -300.7]), tf.bfloat16), tf.float32)


@case("dtype_bfloat16_fed_arithmetic", expect=lambda: np.float32([4.0, 6.0]), check_dtype=False)
def _bfloat16_fed(tf):
    x = tf.placeholder(tf.bfloat16, [2])
    return x * tf.constant(2.0, dtype=tf.bfloat16), {x: np.float32([2.0, 3.0])}


@case("dtype_string_constant_and_equal", expect=lambda: (np.array([b"ab", b"c"], dtype=object),
                                                          np.array([True, False])))
def _string(tf):
    s = tf.constant(["ab", b"c"])
    return s, tf.equal(s, tf.constant("ab"))


@case("dtype_string_feed", expect=lambda: np.array([[b"x"], [b"yz"]], dtype=object))
def _string_feed(tf):
    s = tf.placeholder(tf.string, [None, 1])
    return tf.identity(s), {s: [["x"], [b"yz"]]}


@case("dtype_truediv_small_ints_to_float32", expect=lambda: (np.float32(3.5), np.float64(3.5)))
def _truediv(tf):
    return (tf.truediv(tf.constant(np.int16(7)), tf.constant(np.int16(2))),
            tf.truediv(tf.constant(7), tf.constant(2)))


@case("dtype_matmul_int8_refused", raises=(TypeError, "int8"))
def _matmul_int8(tf):
    x = tf.constant(np.int8([[1]]))
    return tf.matmul(x, x)


@case("dtype_less_complex_refused", raises=(TypeError, "complex"))
def _less_complex(tf):
    return tf.less(tf.constant([1j]), tf.constant([2j]))


# ---------------------------------------------------------------- casts
@case("cast_to_helpers", expect=lambda: (np.float32([1, 2]), np.float64([1, 2]), np.int32([1, -1]),
                                         np.int64([1, -1])))
def _to(tf):
    return (tf.to_float([1, 2]), tf.to_double([1, 2]), tf.to_int32([1.9, -1.9]), tf.to_int64([1.9, -1.9]))


@case("cast_to_bfloat16", expect=lambda: np.float32([1.0, 3.140625]))
def _to_bfloat16(tf):
    return tf.to_float(tf.to_bfloat16([1.0, 3.14159]))


@case("cast_between_small_types", expect=lambda: (np.int8([1, -1, 127]), np.uint16([7, 0]),
                                                  np.complex64([1.5 + 0j, -2 + 0j]), np.float32([1.5, -2])))
def _small_casts(tf):
    return (tf.cast(tf.constant([1.7, -1.7, 127.0]), tf.int8),
            tf.cast(tf.constant(np.int16([7, 0])), tf.uint16),
            tf.cast(tf.constant([1.5, -2.0]), tf.complex64),
            tf.cast(tf.constant([1.5 + 3j, -2 + 0j], dtype=tf.complex64), tf.float32))


@case("cast_saturate", expect=lambda: (np.uint8([0, 255, 7]), np.int8([-128, 127])))
def _saturate(tf):
    return (tf.saturate_cast([-5, 300, 7], tf.uint8), tf.saturate_cast([-1000.0, 1000.0], tf.int8))


# ---------------------------------------------------------------- random ops: statistics and seeds
def _near(value, target, tol):
    assert abs(float(value) - target) < tol, f"{value} is not within {tol} of {target}"


def _check_truncated(v):
    assert v.shape == (N,) and v.dtype == np.float32
    assert v.min() >= 1.0 - 1e-6 and v.max() <= 9.0 + 1e-6, "values beyond two stddevs"
    _near(v.mean(), 5.0, 0.05)
    _near(v.std(), 2.0 * 0.8796, 0.05)  # a unit normal cut at two stddevs keeps a stddev of 0.8796


@case("random_truncated_normal_redraws_beyond_two_stddevs", check=_check_truncated)
def _truncated(tf):
    return tf.truncated_normal([N], mean=5.0, stddev=2.0, seed=1)


def _check_normal(v):
    assert v.shape == (N,) and v.dtype == np.float64
    _near(v.mean(), -1.0, 0.05)
    _near(v.std(), 0.5, 0.02)
    assert np.abs(v + 1.0).max() > 2 * 0.5, "a plain normal reaches beyond two stddevs"


@case("random_normal_float64_moments", check=_check_normal)
def _normal(tf):
    return tf.random_normal([N], mean=-1.0, stddev=0.5, dtype=tf.float64, seed=2)


def _check_uniform_int(v):
    assert v.dtype == np.int64 and v.min() >= -3 and v.max() < 4
    assert set(np.unique(v).tolist()) == set(range(-3, 4))


@case("random_uniform_int64_range", check=_check_uniform_int)
def _uniform_int(tf):
    return tf.random_uniform([2000], -3, 4, dtype=tf.int64, seed=3)


def _check_uniform_float(v):
    assert v.shape == (4, N // 4) and v.min() >= 2.0 and v.max() < 6.0
    _near(v.mean(), 4.0, 0.05)


@case("random_uniform_float_range", check=_check_uniform_float)
def _uniform_float(tf):
    return tf.random.uniform([4, N // 4], 2.0, 6.0, seed=4)


def _check_shuffle(v):
    assert sorted(v[:, 0].tolist()) == list(range(50)) and (v[:, 1] == v[:, 0] * 10).all()
    assert v[:, 0].tolist() != list(range(50)), "50 rows left in order"


@case("random_shuffle_moves_rows_whole", check=_check_shuffle)
def _shuffle(tf):
    rows = np.stack([np.arange(50), np.arange(50) * 10], axis=1).astype(np.int32)
    return tf.random_shuffle(rows, seed=5)


def _check_crop(v):
    assert v.shape == (3, 2)
    r0, c0 = divmod(int(v[0, 0]), 10)
    np.testing.assert_array_equal(v, 10 * (r0 + np.arange(3))[:, None] + c0 + np.arange(2))


@case("random_crop_takes_a_block", check=_check_crop)
def _crop(tf):
    grid = (10 * np.arange(5)[:, None] + np.arange(4)).astype(np.int32)  # value 10 * row + column
    return tf.random_crop(grid, [3, 2], seed=3)


def _check_multinomial(v):
    first, second = v
    assert first.shape == (3, 4000) and first.dtype == np.int64 and second.dtype == np.int32
    assert (first[1] == 2).all(), "a -inf logit was drawn"
    assert set(np.unique(first[0]).tolist()) == {0, 1, 2}
    _near((first[0] == 2).mean(), 0.5, 0.03)  # probabilities 1/4, 1/4, 1/2
    assert (first[2] == 0).all()
    assert ((second >= 0) & (second < 2)).all()


@case("random_multinomial_follows_logits", check=_check_multinomial)
def _multinomial(tf):
    logits = tf.constant([[0.0, 0.0, np.log(2.0)], [-np.inf, -np.inf, 0.0], [0.0, -np.inf, -np.inf]])
    return (tf.multinomial(logits, 4000, seed=6),
            tf.random.categorical([[1.0, 1.0]], 10, dtype=tf.int32, seed=7))


def _check_seed_rules(v):
    a, b, c, d = v
    assert not np.array_equal(a, b), "two ops with no op seed under one graph seed must differ"
    np.testing.assert_array_equal(c, d)  # the same (graph seed, op seed): the same sequence


@case("random_seed_rules_in_one_graph", check=_check_seed_rules)
def _seed_rules(tf):
    tf.set_random_seed(42)
    return (tf.random_uniform([8]), tf.random_uniform([8]), tf.random_normal([8], seed=9),
            tf.random_normal([8], seed=9))


# ---------------------------------------------------------------- initializers
def _check_variance(target, limit=None):
    def check(v):
        _near(v.var() / target, 1.0, 0.06)
        if limit is not None:
            assert np.abs(v).max() <= limit * (1 + 1e-6)
    return check


@case("init_variance_scaling_truncated_keeps_variance",
      check=_check_variance(2.0 / 300, 2 * np.sqrt(2.0 / 300) / 0.8796))
def _vs_truncated(tf):
    return tf.variance_scaling_initializer(2.0, seed=1)([300, 100])


@case("init_variance_scaling_fan_avg_uniform", check=_check_variance(1.0 / 200, np.sqrt(3.0 / 200)))
def _vs_uniform(tf):
    return tf.variance_scaling_initializer(1.0, mode="fan_avg", distribution="uniform", seed=2)([100, 300])


@case("init_glorot_normal_conv_fans", check=_check_variance(2.0 / (3 * 3 * 16 + 3 * 3 * 32)))
def _glorot_normal(tf):
    return tf.glorot_normal_initializer(seed=3)([3, 3, 16, 32])


@case("init_he_uniform_bound", check=_check_variance(2.0 / 400, np.sqrt(6.0 / 400)))
def _he_uniform(tf):
    return tf.initializers.he_uniform(seed=4)([400, 50])


@case("init_lecun_normal", check=_check_variance(1.0 / 250))
def _lecun_normal(tf):
    return tf.initializers.lecun_normal(seed=5)([250, 80])


@case("init_truncated_normal_bounds", check=lambda v: (_near(v.std(), 0.1 * 0.8796, 0.005),
                                                       np.testing.assert_array_less(np.abs(v), 0.2 + 1e-6)))
def _truncated_init(tf):
    return tf.truncated_normal_initializer(stddev=0.1, seed=6)([N])


def _check_orthogonal(v):
    wide, tall = v
    np.testing.assert_allclose(wide @ wide.T, 2.0**2 * np.eye(3), atol=1e-4)
    np.testing.assert_allclose(tall.reshape(-1, 4).T @ tall.reshape(-1, 4), np.eye(4), atol=1e-4)


@case("init_orthogonal_rows_and_columns", check=_check_orthogonal)
def _orthogonal(tf):
    return (tf.orthogonal_initializer(gain=2.0, seed=7)([3, 5]), tf.orthogonal_initializer(seed=8)([2, 3, 4]))
