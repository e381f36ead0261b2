"""tf.data iterators: initializable and one-shot iterators, the from_structure switch, string handles, end of
data, and iterators run by MonitoredTrainingSession and by a remote session to a tf.train.Server."""

import threading

import numpy as np
import pytest

import tasklayer as tf
from tests.distributed_helpers import free_ports


def test_an_initializable_iterator_restarts_with_fed_data():
    with tf.Graph().as_default():
        x = tf.placeholder(tf.float32, [None, 2])
        it = tf.data.Dataset.from_tensor_slices(x).batch(2).make_initializable_iterator()
        nxt = it.get_next()
        with tf.Session() as sess:
            data = np.arange(6, dtype=np.float32).reshape(3, 2)
            sess.run(it.initializer, {x: data})
            np.testing.assert_array_equal(sess.run(nxt), data[:2])
            data[2] = -1  # the dataset copied the fed array at initialization
            np.testing.assert_array_equal(sess.run(nxt), [[4, 5]])
            with pytest.raises(tf.errors.OutOfRangeError, match="End of sequence"):
                sess.run(nxt)
            with pytest.raises(tf.errors.OutOfRangeError):  # still at the end
                sess.run(nxt)
            sess.run(it.initializer, {x: np.ones([1, 2])})
            np.testing.assert_array_equal(sess.run(nxt), [[1, 1]])


def test_get_next_before_initialization_is_a_failed_precondition():
    with tf.Graph().as_default():
        nxt = tf.data.Dataset.range(3).make_initializable_iterator().get_next()
        with tf.Session() as sess, pytest.raises(tf.errors.FailedPreconditionError, match="not been initialized"):
            sess.run(nxt)


def test_each_session_has_its_own_iterator():
    with tf.Graph().as_default():
        nxt = tf.data.Dataset.range(5).make_one_shot_iterator().get_next()
        with tf.Session() as a, tf.Session() as b:
            assert [a.run(nxt), a.run(nxt), b.run(nxt), a.run(nxt)] == [0, 1, 0, 2]


def test_a_one_shot_iterator_has_no_initializer_and_ends_for_good():
    with tf.Graph().as_default():
        it = tf.data.Dataset.range(2).make_one_shot_iterator()
        with pytest.raises(ValueError, match="does not have an initializer"):
            it.initializer
        nxt = it.get_next()
        with tf.Session() as sess:
            assert [sess.run(nxt), sess.run(nxt)] == [0, 1]
            for _ in range(2):
                with pytest.raises(tf.errors.OutOfRangeError):
                    sess.run(nxt)


def test_a_one_shot_iterator_refuses_variables():
    with tf.Graph().as_default():
        v = tf.Variable([1.0, 2.0])
        with pytest.raises(ValueError, match="use `Dataset.make_initializable_iterator\\(\\)`"):
            tf.data.Dataset.from_tensor_slices(v).make_one_shot_iterator()
        it = tf.data.Dataset.from_tensor_slices(v).make_initializable_iterator()  # captured by reference: fine
        nxt = it.get_next()
        with tf.Session() as sess:
            sess.run(v.initializer)
            sess.run(it.initializer)
            assert sess.run(nxt) == 1.0


def test_from_structure_switches_between_datasets_and_checks_them():
    with tf.Graph().as_default():
        train = tf.data.Dataset.from_tensor_slices((np.zeros([4, 3], np.float32), np.arange(4))).batch(2)
        valid = tf.data.Dataset.from_tensor_slices((np.ones([3, 3], np.float32), np.arange(3) + 10)).batch(3)
        it = tf.data.Iterator.from_structure(train.output_types, train.output_shapes)
        assert it.output_shapes == (tf.TensorShape([None, 3]), tf.TensorShape([None]))
        features, labels = it.get_next()
        assert features.shape.as_list() == [None, 3]
        to_train, to_valid = it.make_initializer(train), it.make_initializer(valid)
        with pytest.raises(ValueError, match="does not have an initializer"):
            it.initializer
        with pytest.raises(TypeError, match="Expected output types"):
            it.make_initializer(tf.data.Dataset.range(3))
        with pytest.raises(TypeError, match="Expected output shapes compatible"):
            it.make_initializer(train.map(lambda x, y: (x[:, :2], y)))
        with tf.Session() as sess:
            for _ in range(2):
                sess.run(to_train)
                assert sess.run(labels).tolist() == [0, 1]
                sess.run(to_valid)
                assert sess.run(labels).tolist() == [10, 11, 12]
                with pytest.raises(tf.errors.OutOfRangeError):
                    sess.run(labels)


def test_a_string_handle_selects_the_iterator():
    with tf.Graph().as_default():
        a = tf.data.Dataset.range(3).make_one_shot_iterator()
        b = tf.data.Dataset.range(100, 103).make_one_shot_iterator()
        handle = tf.placeholder(tf.string, [])
        feedable = tf.data.Iterator.from_string_handle(handle, a.output_types, a.output_shapes)
        nxt = feedable.get_next()
        with tf.Session() as sess:
            ha, hb = sess.run([a.string_handle(), b.string_handle()])
            assert [sess.run(nxt, {handle: ha}), sess.run(nxt, {handle: hb}), sess.run(nxt, {handle: ha})] == \
                [0, 100, 1]
            with pytest.raises(tf.errors.NotFoundError, match="no iterator"):
                sess.run(nxt, {handle: b"nothing"})


def test_shared_name_shares_one_iterator():
    with tf.Graph().as_default():
        ds = tf.data.Dataset.range(4)
        one, two = (ds.make_initializable_iterator(shared_name="shared") for _ in range(2))
        first, second = one.get_next(), two.get_next()
        with tf.Session() as sess:
            sess.run(one.initializer)
            assert [sess.run(first), sess.run(second), sess.run(first)] == [0, 1, 2]


def test_get_next_is_colocated_with_its_iterator():
    with tf.Graph().as_default():
        with tf.device("/job:worker/task:0"):
            it = tf.data.Dataset.range(3).make_initializable_iterator()
        with tf.device("/job:ps/task:1"):
            nxt = it.get_next()
        assert nxt.op.device == it._iterator_resource.op.device == it.initializer.device
        assert nxt.op.get_attr("_class") == [f"loc:@{it._iterator_resource.op.name}"]


def test_threads_pulling_from_one_iterator_share_its_elements():
    with tf.Graph().as_default():
        nxt = tf.data.Dataset.range(400).make_one_shot_iterator().get_next()
        with tf.Session() as sess:
            got = [[] for _ in range(4)]

            def pull(out):
                try:
                    while True:
                        out.append(int(sess.run(nxt)))
                except tf.errors.OutOfRangeError:
                    pass
            threads = [threading.Thread(target=pull, args=(g,)) for g in got]
            for t in threads:
                t.start()
            for t in threads:
                t.join(30)
    assert sorted(v for g in got for v in g) == list(range(400))


def test_monitored_training_session_stops_at_the_end_of_the_data(tmp_path):
    with tf.Graph().as_default():
        step = tf.train.get_or_create_global_step()
        x, y = tf.data.Dataset.from_tensor_slices((np.float32([1, 2, 3, 4, 5]), np.float32([2, 4, 6, 8, 10]))) \
            .batch(2).repeat(3).make_one_shot_iterator().get_next()
        w = tf.Variable(0.0)
        loss = tf.reduce_mean(tf.square(w * x - y))
        train = tf.train.GradientDescentOptimizer(0.05).minimize(loss, global_step=step)
        runs = 0
        with tf.train.MonitoredTrainingSession(checkpoint_dir=str(tmp_path)) as sess:
            while not sess.should_stop():
                sess.run(train)
                runs += 1
        assert runs == 9  # 3 epochs of 3 batches; the 10th run's OutOfRangeError ended the loop cleanly
        assert tf.train.latest_checkpoint(str(tmp_path)).endswith("-9")  # the end hooks ran: a clean stop


@pytest.mark.integration
def test_an_iterator_runs_on_the_server_of_a_remote_session():
    server = tf.train.Server.create_local_server()
    try:
        with tf.Graph().as_default():
            ds = tf.data.Dataset.from_tensor_slices((np.arange(10.0), np.arange(10)))
            it = ds.shuffle(10, seed=4).map(lambda a, b: (a * 2, b)).batch(4).make_initializable_iterator()
            doubled, labels = it.get_next()
            lines = tf.data.Dataset.from_tensor_slices(["a", "bc"]).make_one_shot_iterator().get_next()
            with tf.Session(server.target) as sess:
                seen = []
                for _ in range(2):  # the same seed gives the same order after a restart
                    sess.run(it.initializer)
                    batches = []
                    while True:
                        try:
                            batches.append(sess.run([doubled, labels]))
                        except tf.errors.OutOfRangeError:
                            break
                    seen.append(np.concatenate([b[1] for b in batches]).tolist())
                    for d, lab in batches:
                        np.testing.assert_array_equal(d, lab * 2.0)
                assert seen[0] == seen[1] and sorted(seen[0]) == list(range(10))
                assert [sess.run(lines), sess.run(lines)] == [b"a", b"bc"]
    finally:
        server.stop()


@pytest.mark.integration
def test_a_dataset_runs_on_the_task_of_its_iterator():
    ports = free_ports(2)
    spec = {"local": [f"localhost:{p}" for p in ports]}
    servers = [tf.train.Server(spec, "local", i) for i in range(2)]
    try:
        with tf.Graph().as_default():
            scale = tf.placeholder(tf.int64, [])  # fed on task 0, sent to task 1 when the initializer runs
            ds = tf.data.Dataset.range(5).map(lambda x: x * 3).batch(2).map(lambda x: x + 0) \
                .concatenate(tf.data.Dataset.from_tensors([scale]))
            with tf.device("/job:local/task:1"):
                it = ds.make_initializable_iterator()
            total = tf.reduce_sum(it.get_next()) + 1  # computed on task 0
            assert ds._variant_tensor.op.device == it._iterator_resource.op.device
            with tf.Session(servers[0].target) as sess:
                sess.run(it.initializer, {scale: 7})
                assert [sess.run(total) for _ in range(4)] == [4, 16, 13, 8]
        assert servers[1].worker.register_count >= 1
    finally:
        for s in servers:
            s.stop()
