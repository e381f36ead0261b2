"""tf.train.Saver: round trip, the documented format, max_to_keep, torn-write safety, mismatch and corruption."""

import json
import os
import pathlib
import re

import numpy as np
import pytest

import tasklayer as tf
from tasklayer.training import saver as saver_lib


def _data_file(prefix):
    """The data file checkpoint ``prefix``'s index names (a name unique to the save that wrote it)."""
    index = json.loads(open(str(prefix) + ".index.json").read())
    return os.path.join(os.path.dirname(str(prefix)), index["data_file"])


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
        assert re.fullmatch(r"model-1\.data-[0-9a-f]{12}\.npz", index["data_file"])
        assert (tmp_path / index["data_file"]).is_file()
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
        names = sorted(re.sub(r"\.data-[0-9a-f]{12}\.", ".data-X.", n) for n in os.listdir(tmp_path))
        assert names == ["checkpoint", "ckpt-2.data-X.npz", "ckpt-2.index.json", "ckpt-3.data-X.npz",
                         "ckpt-3.index.json"]
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
    assert not [p for p in os.listdir(tmp_path) if p.startswith("m-2")]
    assert not [p for p in os.listdir(tmp_path) if ".tmp-" in p]


def test_crash_before_index_rename_is_not_a_checkpoint(tmp_path):
    _save_two(tmp_path, ".index.json")
    assert [p for p in os.listdir(tmp_path) if p.startswith("m-2.data-")]  # the uncommitted data, orphaned
    assert not (tmp_path / "m-2.index.json").exists()
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
    data = pathlib.Path(_data_file(prefix))
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


def test_a_crash_while_saving_over_a_checkpoint_leaves_it_whole(tmp_path):
    """Saving again to an existing prefix (the end hook after a periodic save at the same step): the data goes
    to a new file and the index rename commits, so a crash before that commit leaves the old checkpoint whole."""
    with tf.Graph().as_default():
        w, _ = _model()
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = saver.save(sess, str(tmp_path / "m"), global_step=5)
            first_data = _data_file(prefix)
            sess.run(w.assign(w * 0 + 9))
            real_replace = saver_lib._replace

            def crashing_replace(src, dst):
                if dst.endswith(".index.json"):
                    raise OSError("simulated crash before the index rename")
                real_replace(src, dst)
            saver_lib._replace = crashing_replace
            try:
                with pytest.raises(OSError, match="simulated crash"):
                    saver.save(sess, str(tmp_path / "m"), global_step=5)
            finally:
                saver_lib._replace = real_replace
            np.testing.assert_array_equal(saver_lib.read_checkpoint(prefix)["w"], np.arange(6).reshape(2, 3))
            assert saver.save(sess, str(tmp_path / "m"), global_step=5) == prefix  # now it completes
        assert saver_lib.read_checkpoint(prefix)["w"][0, 0] == 9
        assert not os.path.exists(first_data)  # the superseded data file goes once the new index is committed
        saver_lib.delete_checkpoint(prefix)  # also takes the data file the crashed save left behind
        assert not [p for p in os.listdir(tmp_path) if p.startswith("m-5")]


def test_a_checkpoint_with_the_old_data_file_name_still_restores(tmp_path):
    prefix = _saved(tmp_path)
    legacy = str(tmp_path / "m.npz")  # how data files were named before each save got its own
    os.rename(_data_file(prefix), legacy)
    index = json.loads((tmp_path / "m.index.json").read_text())
    index["data_file"] = "m.npz"
    (tmp_path / "m.index.json").write_text(json.dumps(index))
    with tf.Graph().as_default():
        w, _ = _model()
        saver = tf.train.Saver()
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            assert sess.run(w)[1, 2] == 5
            saver.save(sess, prefix)
    assert not os.path.exists(legacy) and _data_file(prefix) != legacy


def _with_index(tmp_path, change):
    prefix = _saved(tmp_path)
    index = json.loads((tmp_path / "m.index.json").read_text())
    change(index)
    (tmp_path / "m.index.json").write_text(json.dumps(index))
    return prefix


@pytest.mark.parametrize("change, problem", [
    (lambda i: i.pop("data_file"), "it names no data_file"),
    (lambda i: i.update(data_file="../elsewhere.npz"),
     r"data_file '\.\./elsewhere\.npz' is not a file name in the checkpoint's directory"),
    (lambda i: i.update(tensors=[1]), r"tensors\[0\] is 1, not an object"),
    (lambda i: i.update(tensors={"w": 1}), "tensors is dict, not a list"),
    (lambda i: i["tensors"][0].pop("sha256"), r"tensors\[0\] \('count'\) has no sha256"),
    (lambda i: i["tensors"][0].update(shape="2x3"), r"tensors\[0\] \('count'\) has a str as its shape"),
    (lambda i: i["tensors"][0].update(dtype="float99"), r"tensors\[0\] \('count'\) has an unknown dtype 'float99'"),
    (lambda i: i.update(tensors=i["tensors"] * 2), r"tensors\[2\] repeats the name 'count'"),
    (lambda i: i.clear(), "not a yarnflow checkpoint index"),
])
def test_a_malformed_index_is_corrupt_naming_the_file_and_the_problem(tmp_path, change, problem):
    prefix = _with_index(tmp_path, change)
    with pytest.raises(saver_lib.CorruptCheckpointError, match=r"checkpoint index .*m\.index\.json is corrupt: "
                                                               + problem):
        _restore(prefix)


def test_a_data_file_with_its_first_bytes_overwritten_is_not_an_archive(tmp_path):
    prefix = _saved(tmp_path)
    data = _data_file(prefix)
    with open(data, "r+b") as f:
        f.write(b"garbage")
    with pytest.raises(saver_lib.CorruptCheckpointError) as err:
        _restore(prefix)
    assert f"checkpoint data file {data} is corrupt: it is not an .npz (zip) archive" in str(err.value)
    assert "pickle" not in str(err.value)


def test_recover_last_checkpoints_adopts_those_that_still_exist(tmp_path):
    with tf.Graph().as_default():
        w, _ = _model()
        first = tf.train.Saver(max_to_keep=5)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            paths = [first.save(sess, str(tmp_path / "m"), global_step=i) for i in range(3)]
            saver_lib.delete_checkpoint(paths[0])  # as another process might meanwhile
            restarted = tf.train.Saver(max_to_keep=2)
            state = tf.train.get_checkpoint_state(str(tmp_path))
            restarted.recover_last_checkpoints(state.all_model_checkpoint_paths)
            assert restarted.last_checkpoints == paths[1:]
            newest = restarted.save(sess, str(tmp_path / "m"), global_step=3)
    assert not saver_lib.checkpoint_exists(paths[1])  # max_to_keep deletes the adopted ones too
    assert tf.train.get_checkpoint_state(str(tmp_path)).all_model_checkpoint_paths == [paths[2], newest]
