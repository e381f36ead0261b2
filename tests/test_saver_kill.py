"""tf.train.Saver under real crashes: a process saving in a loop (new checkpoints, saves over existing ones,
max_to_keep deletions) is SIGKILLed at arbitrary moments; the latest checkpoint must always restore cleanly."""

import os
import random
import subprocess
import sys
import threading

import numpy as np

import tasklayer as tf
from tests.polling import wait_until

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = 200_000  # big enough that a save spends real time writing, so kills land inside it

# The child sets every element of w and n to its save counter, saves, then prints the counter. Steps go
# 0,0,1,1,2,2,3,3,0,0,...: every other save is over an existing checkpoint, and max_to_keep=2 deletes others.
CHILD = f"""
import os, sys
import numpy as np
import tasklayer as tf
directory, counter = sys.argv[1], int(sys.argv[2])
with tf.Graph().as_default():
    w = tf.Variable(np.zeros({SIZE}, np.float32), name="w")
    n = tf.Variable(0, dtype=tf.int64, name="n")
    w_value, n_value = tf.placeholder(tf.float32, [{SIZE}]), tf.placeholder(tf.int64, [])
    set_both = tf.group(w.assign(w_value), n.assign(n_value))
    saver = tf.train.Saver(max_to_keep=2)
    state = tf.train.get_checkpoint_state(directory)
    if state is not None:
        saver.recover_last_checkpoints(state.all_model_checkpoint_paths)
    with tf.Session() as sess:
        while True:
            counter += 1
            sess.run(set_both, {{w_value: np.full({SIZE}, counter, np.float32), n_value: counter}})
            saver.save(sess, os.path.join(directory, "m"), global_step=counter // 2 % 4)
            print(counter, flush=True)
"""


def _start_saving(directory, counter):
    """The child process and the list its printed counters are appended to (by a reader thread)."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(directory), str(counter)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    printed = []

    def read():
        for line in proc.stdout:
            printed.append(int(line))
    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    return proc, printed, reader


def _restore_latest(directory):
    """``(n, w)`` restored from the latest checkpoint of ``directory``."""
    with tf.Graph().as_default():
        w = tf.Variable(np.zeros(SIZE, np.float32), name="w")
        n = tf.Variable(0, dtype=tf.int64, name="n")
        saver = tf.train.Saver()
        with tf.Session() as sess:
            latest = tf.train.latest_checkpoint(str(directory))
            assert latest is not None, os.listdir(directory)
            saver.restore(sess, latest)
            return int(sess.run(n)), sess.run(w)


def test_sigkill_while_saving_in_a_loop_always_leaves_a_good_latest_checkpoint(tmp_path):
    rng = random.Random(1234)
    for round_ in range(10):
        start = round_ * 1000
        proc, printed, reader = _start_saving(tmp_path, start)
        try:
            saves = rng.randint(2, 7)
            wait_until(lambda: len(printed) >= saves or proc.poll() is not None, timeout=60,
                       what=f"{saves} saves by the child")
            assert proc.poll() is None, proc.stderr.read()
            proc.kill()  # SIGKILL: mid-save, most of the time
            proc.wait(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)
        reader.join(timeout=30)
        last = printed[-1]
        n, w = _restore_latest(tmp_path)
        # The newest save the child reported, or the one it had committed (index and state) but not reported.
        assert n in (last, last + 1), (round_, n, last)
        np.testing.assert_array_equal(w, np.full(SIZE, n, np.float32))
