"""``tf.ConfigProto`` and its parts: TF1 construction, checked fields, and sessions that take one."""

import doctest

import numpy as np
import pytest

import tasklayer as tf
from tasklayer import session_config


def test_module_examples():
    assert doctest.testmod(session_config).failed == 0


def test_defaults_match_tf1():
    config = tf.ConfigProto()
    assert config.allow_soft_placement is False and config.log_device_placement is False
    assert config.device_filters == [] and config.device_count == {}
    assert config.operation_timeout_in_ms == 0 and config.connect_timeout_in_ms == 0
    assert config.inter_op_parallelism_threads == 0 and config.intra_op_parallelism_threads == 0
    assert config.transfer_dtype is None  # lossy transfer is off by default
    assert config.gpu_options == tf.GPUOptions() and config.gpu_options.allow_growth is False
    assert config.gpu_options.per_process_gpu_memory_fraction == 0.0 and config.gpu_options.visible_device_list == ""
    assert config.graph_options.optimizer_options is None and config.optimize is True
    assert repr(config) == "ConfigProto()" and config.to_dict() == {}


def test_tf1_keyword_construction():
    config = tf.ConfigProto(
        allow_soft_placement=True, log_device_placement=False, device_filters=("/job:ps", "/job:worker/task:3"),
        operation_timeout_in_ms=np.int64(5000), inter_op_parallelism_threads=2, intra_op_parallelism_threads=4,
        gpu_options=tf.GPUOptions(allow_growth=True, per_process_gpu_memory_fraction=0.4, visible_device_list="1,0"),
        graph_options=tf.GraphOptions(optimizer_options=tf.OptimizerOptions(opt_level=tf.OptimizerOptions.L1)),
        transfer_dtype="float16", connect_timeout_in_ms=2500, device_count={"GPU": 0})
    assert config.allow_soft_placement is True
    assert config.device_filters == ["/job:ps", "/job:worker/task:3"]  # kept as a list, like a repeated field
    assert type(config.operation_timeout_in_ms) is int and config.operation_timeout_in_ms == 5000
    assert (config.inter_op_parallelism_threads, config.intra_op_parallelism_threads) == (2, 4)
    assert config.gpu_options.per_process_gpu_memory_fraction == 0.4
    assert config.gpu_options.visible_device_list == "1,0"
    assert config.transfer_dtype == "float16" and config.connect_timeout_in_ms == 2500
    assert config.device_count == {"GPU": 0} and config.optimize is True


def test_attributes_are_settable_and_nested_messages_mutable():
    config = tf.ConfigProto()
    config.gpu_options.allow_growth = True
    config.device_filters.append("/job:ps")
    config.operation_timeout_in_ms = 100
    config.transfer_dtype = tf.float16
    assert config.gpu_options.allow_growth is True and config.device_filters == ["/job:ps"]
    assert config.operation_timeout_in_ms == 100 and config.transfer_dtype == "float16"
    config.transfer_dtype = "float32"  # an "off" spelling
    assert config.transfer_dtype is None


def test_dicts_build_nested_messages_and_to_dict_round_trips():
    config = tf.ConfigProto(gpu_options={"allow_growth": True},
                            graph_options={"optimizer_options": {"opt_level": -1}}, device_filters=["/job:ps"])
    assert isinstance(config.gpu_options, tf.GPUOptions) and config.gpu_options.allow_growth
    assert isinstance(config.graph_options.optimizer_options, tf.OptimizerOptions)
    as_dict = config.to_dict()
    assert as_dict == {"device_filters": ["/job:ps"], "gpu_options": {"allow_growth": True},
                       "graph_options": {"optimizer_options": {"opt_level": -1}}}
    as_dict["device_filters"].append("/job:worker")  # a copy: the config is not changed through it
    assert config.device_filters == ["/job:ps"]
    assert tf.ConfigProto(**config.to_dict()) == config and tf.ConfigProto() != config


def test_opt_level_l0_turns_server_optimization_off():
    options = tf.OptimizerOptions(opt_level=tf.OptimizerOptions.L0)
    assert tf.ConfigProto(graph_options=tf.GraphOptions(optimizer_options=options)).optimize is False
    # What tf.train.Server reads: getattr(config, "optimize", True).
    assert getattr(tf.ConfigProto(), "optimize", True) is True


def test_enable_bfloat16_sendrecv_is_tfs_switch_for_lossy_transfer():
    config = tf.ConfigProto(graph_options=tf.GraphOptions(enable_bfloat16_sendrecv=True))
    assert config.transfer_dtype == "bfloat16"
    config.transfer_dtype = "float16"  # an explicit transfer_dtype wins
    assert config.transfer_dtype == "float16"
    assert config.to_dict()["transfer_dtype"] == "float16"


@pytest.mark.parametrize("name, default", [("operation_timeout_in_ms", 0), ("connect_timeout_in_ms", 0),
                                           ("transfer_dtype", None)])
def test_runtime_reads_the_names_it_expects(name, default):
    """The distributed session reads ``getattr(config, name, default) or default``: the names must match."""
    assert name in tf.ConfigProto._fields
    config = tf.ConfigProto(**{name: "bfloat16" if name == "transfer_dtype" else 1234})
    assert (getattr(config, name, default) or default) == ("bfloat16" if name == "transfer_dtype" else 1234)
    assert (getattr(tf.ConfigProto(), name, default) or default) == default


@pytest.mark.parametrize("cls", [tf.ConfigProto, tf.GPUOptions, tf.GraphOptions, tf.OptimizerOptions])
def test_unknown_keyword_is_a_type_error_naming_it(cls):
    with pytest.raises(TypeError, match=rf"{cls.__name__}\(\) got an unexpected keyword argument 'no_such_opt'"):
        cls(no_such_opt=1)


def test_unknown_attribute_cannot_be_set():
    config = tf.ConfigProto()
    with pytest.raises(AttributeError, match="ConfigProto has no field 'allow_soft_placment'"):
        config.allow_soft_placment = True  # a typo must not pass silently
    with pytest.raises(AttributeError, match="GPUOptions has no field 'allow_grow'"):
        config.gpu_options.allow_grow = True


@pytest.mark.parametrize("kwargs, error, message", [
    ({"allow_soft_placement": 1}, TypeError, r"ConfigProto.allow_soft_placement must be a bool, got int"),
    ({"log_device_placement": "yes"}, TypeError, r"ConfigProto.log_device_placement must be a bool"),
    ({"operation_timeout_in_ms": 1.5}, TypeError, r"ConfigProto.operation_timeout_in_ms must be an int"),
    ({"operation_timeout_in_ms": True}, TypeError, r"ConfigProto.operation_timeout_in_ms must be an int"),
    ({"operation_timeout_in_ms": -1}, ValueError, r"ConfigProto.operation_timeout_in_ms must be >= 0, got -1"),
    ({"connect_timeout_in_ms": -3}, ValueError, r"ConfigProto.connect_timeout_in_ms must be >= 0, got -3"),
    ({"intra_op_parallelism_threads": -2}, ValueError, r"ConfigProto.intra_op_parallelism_threads must be >= 0"),
    ({"inter_op_parallelism_threads": "4"}, TypeError, r"ConfigProto.inter_op_parallelism_threads must be an int"),
    ({"device_filters": "/job:ps"}, TypeError, r"ConfigProto.device_filters must be a list of device strings"),
    ({"device_filters": ["/job:ps", 3]}, TypeError, r"ConfigProto.device_filters must hold strings, got int"),
    ({"device_filters": ["/job:ps/bogus:1"]}, ValueError, r"ConfigProto.device_filters: malformed device string"),
    ({"device_count": {"GPU": -1}}, ValueError, r"ConfigProto.device_count\['GPU'\] must be >= 0"),
    ({"device_count": ["GPU"]}, TypeError, r"ConfigProto.device_count must be a dict"),
    ({"gpu_options": 0.5}, TypeError, r"ConfigProto.gpu_options must be a GPUOptions"),
    ({"gpu_options": {"allow_growth": "true"}}, TypeError, r"GPUOptions.allow_growth must be a bool"),
    ({"graph_options": tf.GPUOptions()}, TypeError, r"ConfigProto.graph_options must be a GraphOptions"),
    ({"transfer_dtype": "int8"}, ValueError,
     r"ConfigProto.transfer_dtype: unsupported transfer dtype 'int8': use 'float16', 'bfloat16' or None"),
    ({"transfer_dtype": tf.float64}, ValueError, r"ConfigProto.transfer_dtype: unsupported transfer dtype"),
])
def test_config_fields_are_checked(kwargs, error, message):
    with pytest.raises(error, match=message):
        tf.ConfigProto(**kwargs)
    config = tf.ConfigProto()  # the same check guards assignment after construction
    (name, value), = kwargs.items()
    with pytest.raises(error, match=message):
        setattr(config, name, value)
    assert getattr(config, name) == getattr(tf.ConfigProto(), name)  # a refused value leaves the old one


FRACTION = "per_process_gpu_memory_fraction"


@pytest.mark.parametrize("kwargs, error, message", [
    ({FRACTION: -0.1}, ValueError, rf"GPUOptions.{FRACTION} must be a finite number >= 0, got -0.1"),
    ({FRACTION: float("nan")}, ValueError, rf"GPUOptions.{FRACTION} must be a finite number"),
    ({FRACTION: "0.5"}, TypeError, rf"GPUOptions.{FRACTION} must be a float"),
    ({"visible_device_list": 0}, TypeError, r"GPUOptions.visible_device_list must be a str"),
    ({"visible_device_list": "0,gpu1"}, ValueError, r"GPUOptions.visible_device_list must be comma-separated GPU ids"),
    ({"visible_device_list": "-1"}, ValueError, r"GPUOptions.visible_device_list must be comma-separated GPU ids"),
    ({"visible_device_list": "1,1"}, ValueError, r"GPUOptions.visible_device_list lists a GPU id twice"),
])
def test_gpu_options_are_checked(kwargs, error, message):
    with pytest.raises(error, match=message):
        tf.GPUOptions(**kwargs)


def test_graph_and_optimizer_options_are_checked():
    with pytest.raises(TypeError, match=r"GraphOptions.optimizer_options must be a OptimizerOptions"):
        tf.GraphOptions(optimizer_options="L0")
    with pytest.raises(ValueError, match=r"OptimizerOptions.opt_level must be >= -1, got -2"):
        tf.OptimizerOptions(opt_level=-2)
    with pytest.raises(TypeError, match=r"GraphOptions.enable_bfloat16_sendrecv must be a bool"):
        tf.GraphOptions(enable_bfloat16_sendrecv=None)


def test_local_session_takes_a_config():
    config = tf.ConfigProto(allow_soft_placement=True, gpu_options=tf.GPUOptions(allow_growth=True),
                            operation_timeout_in_ms=60000, transfer_dtype="bfloat16")
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [3], name="x")
        y = x * 2.0 + 1.0
        with tf.Session(config=config) as sess:
            out = sess.run(y, feed_dict={x: [1.0, 2.0, 3.14159]})
    # In-process there is no transfer between tasks: the result is exact float32, not bfloat16-rounded.
    np.testing.assert_array_equal(out, np.array([3.0, 5.0, 7.28318], np.float32))
