"""tf.train.Saver: round trip, the documented format, max_to_keep, torn-write safety, mismatch and corruption."""

import json
import os

import numpy as np
import pytest

import tasklayer as tf
from tasklayer.training import saver as saver_lib


def _model(shape=(2, 3), extra=True):
    w = tf.Variable(np.arange(np.prod(shape), dtype=np.float32).reshape(shape), name="w")
    out = [w]
    if extra:
        out.append(tf.Variable(7, name="count", dtype=tf.int64))
    return out


def test_round_trip_and_format(tmp_path):
    with tf.Graph().as_default():
        w, count = _model()
        step = tf.train.get_or_create_global_step()
        train = tf.train.MomentumOptimizer(0.1, 0.9).minimize(tf.reduce_sum(w * w), global_step=step)
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train)
            saved = {v.op.name: sess.run(v) for v in tf.global_variables()}
            prefix = saver.save(sess, str(tmp_path / "model"), global_step=step)
        assert prefix == str(tmp_path / "model-1")
        assert tf.train.latest_checkpoint(str(tmp_path)) == prefix
        index = json.loads((tmp_path / "model-1.index.json").read_text())
        assert (index["format"], index["version"], index["global_step"]) == ("yarnflow-checkpoint", 1, 1)
        assert index["data_file"] == "model-1.npz"
        entries = {e["name"]: e for e in index["tensors"]}
        assert set(entries) == {"w", "count", "global_step", "w/Momentum"}
        assert entries["w"]["shape"] == [2, 3] and entries["count"]["dtype"] == "int64"
        assert len(entries["w"]["sha256"]) == 64
        with tf.Session() as sess:  # a fresh session: nothing initialized, everything restored
            saver.restore(sess, prefix)
            for v in tf.global_variables():
                np.testing.assert_array_equal(sess.run(v), saved[v.op.name])


def test_var_list_dict_and_max_to_keep(tmp_path):
    with tf.Graph().as_default():
        w, _ = _model()
        saver = tf.train.Saver({"renamed": w}, max_to_keep=2)
        with tf.Session() as sess:
            sess.run(w.initializer)
            paths = [saver.save(sess, str(tmp_path / "ckpt"), global_step=i) for i in range(4)]
        assert sorted(os.listdir(tmp_path)) == ["checkpoint", "ckpt-2.index.json", "ckpt-2.npz", "ckpt-3.index.json",
                                                "ckpt-3.npz"]
        state = tf.train.get_checkpoint_state(str(tmp_path))
        assert state.model_checkpoint_path == paths[3] and state.all_model_checkpoint_paths == paths[2:]
        assert list(saver_lib.read_checkpoint(paths[3])) == ["renamed"]
    assert tf.train.latest_checkpoint(str(tmp_path / "nothing_here")) is None


def _save_two(tmp_path, crash_on):
    """Save a good checkpoint, then try a second one whose rename of ``crash_on`` 'crashes'."""
    with tf.Graph().as_default():
        w, _ = _model()
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            good = saver.save(sess, str(tmp_path / "m"), global_step=1)
            sess.run(w.assign(w * 0 - 1))
            real_replace = saver_lib._replace

            def crashing_replace(src, dst):
                if dst.endswith(crash_on):
                    raise OSError("simulated crash between writing the temp file and renaming it")
                real_replace(src, dst)
            saver_lib._replace = crashing_replace
            try:
                with pytest.raises(OSError, match="simulated crash"):
                    saver.save(sess, str(tmp_path / "m"), global_step=2)
            finally:
                saver_lib._replace = real_replace
        with tf.Session() as sess:
            latest = tf.train.latest_checkpoint(str(tmp_path))
            assert latest == good
            saver.restore(sess, latest)
            assert sess.run(w)[0, 1] == 1.0  # the values of the good checkpoint, not the half-written one
    return good


def test_crash_before_data_rename_leaves_the_last_checkpoint(tmp_path):
    _save_two(tmp_path, ".npz")
    assert not (tmp_path / "m-2.npz").exists() and not (tmp_path / "m-2.index.json").exists()
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_crash_before_index_rename_is_not_a_checkpoint(tmp_path):
    _save_two(tmp_path, ".index.json")
    assert (tmp_path / "m-2.npz").exists() and not (tmp_path / "m-2.index.json").exists()
    with tf.Graph().as_default():
        _model()
        with tf.Session() as sess, pytest.raises(saver_lib.CheckpointError, match="m-2.index.json does not exist"):
            tf.train.Saver().restore(sess, str(tmp_path / "m-2"))


def test_mismatch_lists_names_and_shapes(tmp_path):
    with tf.Graph().as_default():
        w, _ = _model()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = tf.train.Saver().save(sess, str(tmp_path / "m"))
    with tf.Graph().as_default():
        _model(shape=(3, 3), extra=False)
        tf.Variable(1.0, name="bias")
        with tf.Session() as sess, pytest.raises(saver_lib.CheckpointMismatchError) as err:
            tf.train.Saver().restore(sess, prefix)
    message = str(err.value)
    assert "not found in the checkpoint: bias" in message
    assert "w: checkpoint has float32[2, 3], variable is float32[3, 3]" in message


def _saved(tmp_path):
    with tf.Graph().as_default():
        _model()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            return tf.train.Saver().save(sess, str(tmp_path / "m"))


def _restore(prefix):
    with tf.Graph().as_default():
        _model()
        with tf.Session() as sess:
            tf.train.Saver().restore(sess, prefix)


@pytest.mark.parametrize("damage", ["flip", "truncate"])
def test_corrupt_data_file_is_named(tmp_path, damage):
    prefix = _saved(tmp_path)
    data = tmp_path / "m.npz"
    raw = bytearray(data.read_bytes())
    if damage == "flip":
        # Flip bytes inside w's stored values (np.savez stores arrays uncompressed).
        pos = raw.find(np.arange(6, dtype=np.float32).tobytes())
        assert pos > 0
        raw[pos + 4:pos + 8] = bytes(b ^ 0xFF for b in raw[pos + 4:pos + 8])
    else:
        raw = raw[:len(raw) // 2]
    data.write_bytes(bytes(raw))
    with pytest.raises(saver_lib.CorruptCheckpointError, match=str(data)):
        _restore(prefix)


def test_corrupt_index_and_state_files_are_named(tmp_path):
    prefix = _saved(tmp_path)
    (tmp_path / "m.index.json").write_text("{not json")
    with pytest.raises(saver_lib.CorruptCheckpointError, match="m.index.json"):
        _restore(prefix)
    (tmp_path / "checkpoint").write_text("garbage line\n")
    with pytest.raises(saver_lib.CorruptCheckpointError, match="checkpoint state file"):
        tf.train.latest_checkpoint(str(tmp_path))


def test_bad_arguments():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="No variables to save"):
            tf.train.Saver()
        w, _ = _model()
        saver = tf.train.Saver([w])
        with tf.Session() as sess:
            with pytest.raises(ValueError, match="None"):
                saver.restore(sess, None)
            sess.run(w.initializer)
            with pytest.raises(ValueError, match="doesn't exist"):
                saver.save(sess, "/nonexistent/dir/model")
