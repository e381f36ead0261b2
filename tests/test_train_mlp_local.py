"""End to end in one process: a 2-layer MLP written like a TF1 program learns a non-linear (XOR-like) problem."""

import numpy as np

import tasklayer as tf


def _xor_data(n, seed):
    """Points in the four quadrants, away from the axes; the label says whether x and y have the same sign."""
    rng = np.random.default_rng(seed)
    points = rng.uniform(0.15, 1.0, (n, 2)) * rng.choice([-1.0, 1.0], (n, 2))
    labels = (points[:, 0] * points[:, 1] > 0).astype(np.int64)
    noise = rng.standard_normal((n, 6)) * 0.1  # extra features that carry nothing
    return np.hstack([points, noise]).astype(np.float32), labels


def test_mlp_reaches_95_percent_on_held_out_data(tmp_path):
    train_x, train_y = _xor_data(1000, seed=1)
    test_x, test_y = _xor_data(500, seed=2)
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        x = tf.placeholder(tf.float32, [None, 8], name="x")
        y = tf.placeholder(tf.int64, [None], name="y")
        hidden = tf.layers.dense(x, 32, activation=tf.nn.relu, name="hidden")
        logits = tf.layers.dense(hidden, 2, name="logits")
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.one_hot(y, 2), logits=logits))
        step = tf.train.get_or_create_global_step()
        train = tf.train.AdamOptimizer(0.02).minimize(loss, global_step=step)
        accuracy = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(logits, 1), y), tf.float32))
        saver = tf.train.Saver(max_to_keep=1)
        rng = np.random.default_rng(3)
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            first_loss = sess.run(loss, {x: train_x, y: train_y})
            for _ in range(300):
                batch = rng.choice(len(train_x), 64, replace=False)
                sess.run(train, {x: train_x[batch], y: train_y[batch]})
            assert sess.run(step) == 300
            final_loss, held_out = sess.run([loss, accuracy], {x: test_x, y: test_y})
            assert final_loss < first_loss / 3
            assert held_out >= 0.95, held_out
            path = saver.save(sess, str(tmp_path / "mlp"), global_step=step)
        with tf.Session() as sess:  # the checkpoint carries the trained model
            saver.restore(sess, tf.train.latest_checkpoint(str(tmp_path)))
            assert path.endswith("mlp-300")
            assert sess.run(accuracy, {x: test_x, y: test_y}) == held_out
