"""Every TF1 dtype: as_dtype, DType properties, GraphDef and codec round trips, feed and constant rules, casts."""

import ml_dtypes
import numpy as np
import pytest

import tasklayer as tf
from engine import tensor_codec
from protos import graph_pb2

NEW = [(tf.int8, np.int8, 6), (tf.int16, np.int16, 5), (tf.uint16, np.uint16, 17), (tf.uint32, np.uint32, 22),
       (tf.uint64, np.uint64, 23), (tf.complex64, np.complex64, 8), (tf.complex128, np.complex128, 18),
       (tf.bfloat16, ml_dtypes.bfloat16, 14), (tf.float16, np.float16, 19)]


@pytest.mark.parametrize("dtype,np_type,enum", NEW, ids=[d.name for d, _, _ in NEW])
def test_as_dtype_from_names_numpy_and_tf_enum_numbers(dtype, np_type, enum):
    assert tf.as_dtype(dtype.name) is dtype and tf.as_dtype(np_type) is dtype and tf.as_dtype(np.dtype(np_type))
    assert tf.as_dtype(enum) is dtype and dtype.as_datatype_enum == enum == graph_pb2.DataType.Value(
        "DT_" + {"float16": "HALF"}.get(dtype.name, dtype.name.upper()))
    assert dtype.as_numpy_dtype is np_type and tf.as_dtype(dtype.name + "_ref") is dtype


def test_as_dtype_aliases_and_errors():
    assert (tf.as_dtype("float"), tf.as_dtype("double"), tf.as_dtype("half"), tf.as_dtype("complex")) == (
        tf.float32, tf.float64, tf.float16, tf.complex128)
    assert (tf.as_dtype(float), tf.as_dtype(bool), tf.as_dtype(complex), tf.as_dtype(np.dtype("S4"))) == (
        tf.float32, tf.bool, tf.complex128, tf.string)
    for bad in ("float99", 99, [1]):
        with pytest.raises(TypeError, match="Cannot convert value .* to a TensorFlow DType"):
            tf.as_dtype(bad)


def test_dtype_properties_as_tf():
    assert [d.size for d in (tf.int8, tf.int16, tf.uint16, tf.bfloat16, tf.complex64, tf.complex128, tf.string)] \
        == [1, 2, 2, 2, 8, 16, 0]
    assert (tf.int8.min, tf.int8.max, tf.uint16.min, tf.uint16.max) == (-128, 127, 0, 65535)
    assert float(tf.bfloat16.max) == pytest.approx(3.38953e38, rel=1e-5) and tf.float16.max == 65504
    assert tf.bfloat16.is_floating and not tf.bfloat16.is_integer and not tf.complex64.is_floating
    assert tf.complex64.is_complex and tf.uint16.is_unsigned and not tf.int16.is_unsigned and tf.int8.is_integer
    assert (tf.complex64.real_dtype, tf.complex128.real_dtype, tf.int8.real_dtype) == (tf.float32, tf.float64, tf.int8)
    for d in (tf.complex64, tf.bool, tf.string):
        with pytest.raises(TypeError, match="Cannot find minimum value"):
            d.min  # noqa: B018 - the property raises


def test_dtypes_compare_with_what_as_dtype_accepts():
    assert tf.float32 == "float32" and tf.float32 == np.float32 and tf.int8 != tf.uint8 and tf.float32 != None  # noqa
    assert tf.float32 != "no such type" and len({tf.float32, tf.as_dtype("float"), tf.float64}) == 2
    assert tf.int8.is_compatible_with("int8") and not tf.int8.is_compatible_with(tf.int16)


@pytest.mark.parametrize("value", [np.int8([[-128, 127]]), np.uint16([0, 65535]), np.int16(-3),
                                   np.complex64([1 + 2j]), np.complex128([[3j]]), np.uint64([2**64 - 1]),
                                   np.array([1.5, -2.25], ml_dtypes.bfloat16)], ids=lambda v: v.dtype.name)
def test_graphdef_round_trip_keeps_every_dtype(value):
    with tf.Graph().as_default() as g:
        tf.identity(tf.constant(value), name="out")
        graph_def = g.as_graph_def()
    proto = tensor_codec.to_proto(value)
    assert tensor_codec.from_proto(graph_pb2.TensorProto.FromString(proto.SerializeToString())).dtype == value.dtype
    with tf.Graph().as_default() as g2:
        tf.import_graph_def(graph_pb2.GraphDef.FromString(graph_def.SerializeToString()), name="")
        out = g2.get_tensor_by_name("out:0")
        with tf.Session() as sess:
            got = sess.run(out)
    assert out.dtype == tf.as_dtype(value.dtype) and got.dtype == value.dtype
    np.testing.assert_array_equal(got, value)


def test_feeds_follow_the_safe_cast_rules():
    with tf.Graph().as_default(), tf.Session() as sess:
        i8 = tf.placeholder(tf.int8, [None])
        assert sess.run(i8, {i8: [1, -2]}).dtype == np.int8
        with pytest.raises(TypeError, match="Cannot feed value of dtype int64 for Tensor .* which has dtype int8"):
            sess.run(i8, {i8: [300]})
        c = tf.placeholder(tf.complex64, [None])
        assert sess.run(c, {c: [1.5, 2]}).tolist() == [1.5 + 0j, 2 + 0j]
        f = tf.placeholder(tf.float32, [None])
        with pytest.raises(TypeError, match="Cannot feed value of dtype complex128"):
            sess.run(f, {f: [1j]})
        s = tf.placeholder(tf.string, [None])
        assert sess.run(s, {s: np.array(["ab", "é"])}).tolist() == [b"ab", "é".encode()]
        with pytest.raises(TypeError, match="Cannot feed value of dtype int64 for Tensor .* which has dtype string"):
            sess.run(s, {s: [1, 2]})
        b = tf.placeholder(tf.bfloat16, [2])
        assert sess.run(b, {b: np.float64([1.0, 3.14159])}).astype(np.float32).tolist() == [1.0, 3.140625]


def test_constants_of_text_and_complex():
    with tf.Graph().as_default():
        assert tf.constant(1 + 2j).dtype == tf.complex128 and tf.constant([1.0], dtype=tf.complex64).dtype == \
            tf.complex64
        assert tf.constant("a").dtype == tf.string and tf.constant([], dtype=tf.string).shape.as_list() == [0]
        with pytest.raises(TypeError, match="Expected string"):
            tf.constant(1, dtype=tf.string)
        with pytest.raises(TypeError, match="Expected int8"):
            tf.constant(300, dtype=tf.int8)


def test_casts_name_their_ops_as_tf1_and_refuse_strings():
    with tf.Graph().as_default():
        x = tf.constant([1, 2])
        assert [(t.op.name, t.dtype) for t in (tf.to_float(x), tf.to_double(x), tf.to_int64(x), tf.to_bfloat16(x))] \
            == [("ToFloat", tf.float32), ("ToDouble", tf.float64), ("ToInt64", tf.int64), ("ToBFloat16", tf.bfloat16)]
        assert tf.to_int32(x) is x  # already int32: no op, as tf.cast
        with pytest.raises(TypeError, match="Cast string to float is not supported"):
            tf.cast(tf.constant("1.5"), tf.float32)


def test_op_dtype_lists_follow_tf():
    with tf.Graph().as_default():
        i8, c = tf.constant(np.int8([1])), tf.constant([1j])
        assert (i8 * i8).dtype == tf.int8 and tf.reduce_sum(c).dtype == tf.complex128 and tf.exp(c).dtype == \
            tf.complex128
        assert (tf.constant(np.uint32([1])) / 2).dtype == tf.float64 and (i8 / i8).dtype == tf.float32
        with pytest.raises(TypeError, match="'Maximum' has DataType complex128"):
            tf.maximum(c, c)
        with pytest.raises(TypeError, match="'RandomStandardNormal' has DataType int32"):
            tf.random_normal([2], dtype=tf.int32)
