"""tf.gfile / tf.io.gfile with TF's semantics and errors, on local paths and on ``memory://`` through fsspec (where
installed); tf.io's TFRecord writer and reader, and write_graph."""

import os

import pytest
from google.protobuf import text_format

import tasklayer as tf
from protos import graph_pb2

gfile = tf.gfile

try:
    import fsspec
except ImportError:
    fsspec = None


@pytest.fixture
def tree(tmp_path):
    """``tmp_path`` holding ``a/f.txt`` ("hello\\nworld\\n") and the directories ``b/c/d``."""
    gfile.MakeDirs(str(tmp_path / "a"))
    gfile.MakeDirs(str(tmp_path / "b" / "c" / "d"))
    with gfile.GFile(str(tmp_path / "a" / "f.txt"), "w") as f:
        f.write("hello\nworld\n")
    return tmp_path


def test_tf_io_gfile_is_tf_gfile():
    assert tf.io.gfile is tf.gfile and gfile.Open is gfile.GFile and gfile.FastGFile is gfile.GFile
    assert tf.io.read_file is tf.read_file and tf.io.decode_csv is tf.decode_csv


def test_reading_text_and_bytes(tree):
    path = str(tree / "a" / "f.txt")
    assert gfile.GFile(path).read() == "hello\nworld\n"
    assert gfile.GFile(path, "rb").read() == b"hello\nworld\n"
    assert gfile.GFile(path).readlines() == ["hello\n", "world\n"]
    assert list(gfile.GFile(path)) == ["hello\n", "world\n"]
    f = gfile.GFile(path)
    assert (f.readline(), f.readline(), f.readline()) == ("hello\n", "world\n", "")
    f = gfile.GFile(path, "rb")
    f.seek(2)
    assert (f.tell(), f.read(3), f.tell()) == (2, b"llo", 5)
    assert (gfile.GFile(path).size(), f.name, f.mode) == (12, path, "rb")


def test_writing_appending_and_mode_errors(tree):
    path = str(tree / "a" / "g")
    with gfile.GFile(path, "w") as f:
        f.write("text ")
        f.write(b"bytes")
    with gfile.GFile(path, "a") as f:
        f.write("!")
    assert gfile.GFile(path).read() == "text bytes!"
    with pytest.raises(tf.errors.PermissionDeniedError, match="File isn't open for reading"):
        gfile.GFile(path, "w").read()
    with pytest.raises(tf.errors.PermissionDeniedError, match="File isn't open for writing"):
        gfile.GFile(path, "r").write("x")
    with pytest.raises(tf.errors.InvalidArgumentError, match="mode is not 'r' or 'w' or 'a' or 'r\\+'"):
        gfile.GFile(path, "q")


def test_missing_files_and_directories_raise_tf_errors(tree):
    missing = str(tree / "missing")
    assert not gfile.Exists(missing) and not gfile.IsDirectory(missing)
    gfile.GFile(missing)  # opened on first use, as TF
    for call in (lambda: gfile.GFile(missing).read(), lambda: gfile.Remove(missing), lambda: gfile.Stat(missing),
                 lambda: gfile.Copy(missing, missing + "2"), lambda: gfile.Rename(missing, missing + "2"),
                 lambda: gfile.GFile(str(tree / "nodir" / "z"), "w").write("x")):
        with pytest.raises(tf.errors.NotFoundError, match="; No such file or directory"):
            call()
    with pytest.raises(tf.errors.NotFoundError, match=f"{missing} not found"):
        gfile.DeleteRecursively(missing)
    with pytest.raises(tf.errors.NotFoundError, match=f"Could not find directory {missing}"):
        gfile.ListDirectory(missing)
    assert list(gfile.Walk(missing)) == []


def test_directories(tree):
    top = str(tree)
    gfile.MkDir(os.path.join(top, "new"))
    gfile.MkDir(os.path.join(top, "new"))  # exists already: nothing, as TF 2
    with pytest.raises(tf.errors.NotFoundError):
        gfile.MkDir(os.path.join(top, "x", "y"))
    for blocked in ("f.txt", os.path.join("f.txt", "z")):
        with pytest.raises(tf.errors.FailedPreconditionError, match="a/f.txt is not a directory"):
            gfile.MakeDirs(os.path.join(top, "a", blocked))
    with pytest.raises(tf.errors.FailedPreconditionError, match="Is a directory"):
        gfile.Remove(os.path.join(top, "b"))
    with pytest.raises(tf.errors.FailedPreconditionError, match="Is a directory"):
        gfile.GFile(os.path.join(top, "a")).read()
    assert sorted(gfile.ListDirectory(top)) == ["a", "b", "new"]
    assert sorted(gfile.Glob(os.path.join(top, "*"))) == [os.path.join(top, n) for n in ("a", "b", "new")]
    assert gfile.Glob(os.path.join(top, "zz*")) == []
    walk = {d: (sorted(s), sorted(f)) for d, s, f in gfile.Walk(top)}
    assert walk[top] == (["a", "b", "new"], []) and walk[os.path.join(top, "a")] == ([], ["f.txt"])
    order = [d for d, _, _ in gfile.Walk(top)]
    assert order[0] == top and order.index(os.path.join(top, "b")) < order.index(os.path.join(top, "b", "c"))
    bottom_up = [d for d, _, _ in gfile.Walk(top, in_order=False)]
    assert bottom_up[-1] == top and bottom_up.index(os.path.join(top, "b", "c")) < bottom_up.index(
        os.path.join(top, "b"))
    stat = gfile.Stat(os.path.join(top, "a", "f.txt"))
    assert (stat.length, stat.is_directory, isinstance(stat.mtime_nsec, int)) == (12, False, True)
    assert gfile.Stat(os.path.join(top, "b")).is_directory
    gfile.DeleteRecursively(os.path.join(top, "b"))
    assert not gfile.Exists(os.path.join(top, "b"))


def test_rename_and_copy_refuse_to_overwrite_unless_asked(tree):
    src, dst = str(tree / "a" / "f.txt"), str(tree / "a" / "g.txt")
    gfile.Copy(src, dst)
    with pytest.raises(tf.errors.AlreadyExistsError, match="file already exists"):
        gfile.Copy(src, dst)
    with pytest.raises(tf.errors.AlreadyExistsError, match="file already exists"):
        gfile.Rename(src, dst)
    with gfile.GFile(src, "w") as f:
        f.write("new")
    gfile.Copy(src, dst, overwrite=True)
    assert gfile.GFile(dst).read() == "new"
    gfile.Rename(dst, str(tree / "moved"))
    assert not gfile.Exists(dst) and gfile.GFile(str(tree / "moved")).read() == "new"
    gfile.Rename(str(tree / "moved"), src, overwrite=True)
    assert gfile.GFile(src).read() == "new"


def test_file_urls_are_local(tree):
    assert gfile.GFile(f"file://{tree}/a/f.txt").read() == "hello\nworld\n"


def test_an_unknown_scheme_is_unimplemented_as_in_tf():
    for call in (lambda: gfile.Exists("zz://bucket/x"), lambda: gfile.GFile("zz://bucket/x").read()):
        with pytest.raises(tf.errors.UnimplementedError, match="File system scheme 'zz' not implemented "
                                                               r"\(file: 'zz://bucket/x'\)"):
            call()


@pytest.mark.skipif(fsspec is None, reason="fsspec is not installed: scheme:// URLs need it")
def test_urls_go_through_fsspec():
    root = "memory://yarnflow-gfile-test"
    try:
        gfile.MakeDirs(f"{root}/logs/run")
        with gfile.GFile(f"{root}/logs/run/a.txt", "w") as f:
            f.write("remote\n")
        assert gfile.Exists(f"{root}/logs/run/a.txt") and gfile.IsDirectory(f"{root}/logs/run")
        assert gfile.GFile(f"{root}/logs/run/a.txt").readlines() == ["remote\n"]
        assert gfile.ListDirectory(f"{root}/logs/run") == ["a.txt"]
        assert [p.rsplit("/", 1)[-1] for p in gfile.Glob(f"{root}/logs/run/*.txt")] == ["a.txt"]
        assert gfile.Stat(f"{root}/logs/run/a.txt").length == 7
        gfile.Copy(f"{root}/logs/run/a.txt", f"{root}/logs/b.txt")
        with pytest.raises(tf.errors.AlreadyExistsError):
            gfile.Rename(f"{root}/logs/b.txt", f"{root}/logs/run/a.txt")
        walk = {d.rsplit("/", 1)[-1]: (s, f) for d, s, f in gfile.Walk(f"{root}/logs")}
        assert walk == {"logs": (["run"], ["b.txt"]), "run": ([], ["a.txt"])}
        with pytest.raises(tf.errors.NotFoundError):
            gfile.Remove(f"{root}/logs/nothing")
    finally:
        if gfile.Exists(root):
            gfile.DeleteRecursively(root)
    assert not gfile.Exists(f"{root}/logs")


@pytest.mark.skipif(fsspec is None, reason="fsspec is not installed: scheme:// URLs need it")
def test_events_files_and_records_go_to_urls_too():
    root = "memory://yarnflow-events-test"
    try:
        with tf.summary.FileWriter(f"{root}/logs") as writer:
            writer.add_summary(tf.Summary(value=[tf.Summary.Value(tag="x", simple_value=2.0)]), 4)
        [path] = gfile.Glob(f"{root}/logs/events.out.tfevents.*")
        [event] = [e for e in tf.train.summary_iterator(path) if e.HasField("summary")]
        assert (event.step, event.summary.value[0].simple_value) == (4, 2.0)
    finally:
        gfile.DeleteRecursively(root)


def test_tfrecords_round_trip_and_tf_data_reads_them(tmp_path):
    path = str(tmp_path / "data.tfrecord")
    records = [b"", b"one", bytes(range(256)) * 40, "text"]
    with tf.io.TFRecordWriter(path) as writer:
        for record in records:
            writer.write(record)
    assert list(tf.io.tf_record_iterator(path)) == records[:3] + [b"text"]
    with tf.Graph().as_default():
        next_record = tf.data.TFRecordDataset([path]).make_one_shot_iterator().get_next()
        with tf.Session() as sess:
            assert [sess.run(next_record) for _ in records] == records[:3] + [b"text"]
    with pytest.raises(tf.errors.UnimplementedError, match="compression 'GZIP'"):
        tf.io.TFRecordWriter(str(tmp_path / "z"), options=tf.io.TFRecordOptions("GZIP"))


def test_write_graph_writes_a_graph_def_import_graph_def_reads(tmp_path):
    with tf.Graph().as_default() as g:
        x = tf.placeholder(tf.float32, [], name="x")
        tf.identity(x * 3.0, name="out")
    text_path = tf.train.write_graph(g, str(tmp_path / "logs"), "graph.pbtxt")
    binary_path = tf.io.write_graph(g.as_graph_def(), str(tmp_path / "logs"), "graph.pb", as_text=False)
    assert text_path == str(tmp_path / "logs" / "graph.pbtxt")
    from_text = text_format.Parse(gfile.GFile(text_path).read(), graph_pb2.GraphDef())
    from_binary = graph_pb2.GraphDef.FromString(gfile.GFile(binary_path, "rb").read())
    assert from_text == from_binary == g.as_graph_def()
    with tf.Graph().as_default():
        feed = tf.constant(2.0)
        [out] = tf.import_graph_def(from_text, input_map={"x:0": feed}, return_elements=["out:0"])
        with tf.Session() as sess:
            assert sess.run(out) == 6.0
