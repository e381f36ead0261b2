"""A 128 MB tensor between two tasks, beside raw loopback TCP between two processes (same run).

Run: ``python3 bench/tensor_transfer.py [--mb 128] [--repeat 5]``. Task 0 is a server in this process (the
session's master); task 1 is its own process: the master pushes the fed tensor to it on the tensor channel.
TensorFlow's own ``tf.compat.v1.train.Server`` (when installed) is measured in the same run with the same
layout (task 0 in this process with the client, task 1 a process): the same fed graph as ours, and a 128 MB
variable produced on task 1 and consumed on task 0 (a pure Send/Recv between the two servers).
"""

import argparse
import multiprocessing
import socket

import numpy as np

from _cluster import TaskProcesses, TFServers, free_ports, table  # first: it puts the repository on sys.path
from bench._peers import import_tensorflow, median_of


def _tcp_sender(port, nbytes, rounds):
    data = np.random.bytes(nbytes)
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen()
    conn, _ = srv.accept()
    for _ in range(rounds):
        conn.recv(1)
        conn.sendall(data)
    conn.close()


def raw_tcp_seconds(nbytes, repeat, fresh=True):
    """Median seconds to move ``nbytes`` over loopback TCP between two processes, into one buffer (fresh
    each time, as a received tensor's is, or reused: the kernel's best case)."""
    port = free_ports(1)[0]
    proc = multiprocessing.Process(target=_tcp_sender, args=(port, nbytes, repeat + 2))
    proc.start()
    for _ in range(100):
        try:
            conn = socket.create_connection(("127.0.0.1", port))
            break
        except OSError:
            import time
            time.sleep(0.05)

    reused = memoryview(np.empty(nbytes, np.uint8))

    def once():
        view = memoryview(np.empty(nbytes, np.uint8)) if fresh else reused
        conn.sendall(b"x")
        got = 0
        while got < nbytes:
            got += conn.recv_into(view[got:], nbytes - got)
    seconds = median_of(once, repeat)
    conn.close()
    proc.join(10)
    return seconds


def yarnflow_seconds(nbytes, repeat):
    """Median seconds of a step whose only real work is moving ``nbytes`` from task 0 to task 1."""
    import tasklayer as tf
    ports = free_ports(2)
    procs = TaskProcesses({"local": 2})
    procs.spec = {"local": [f"localhost:{p}" for p in ports]}
    procs.start_task("local", 1)
    server = tf.train.Server(procs.spec, "local", 0)
    procs.wait_serving(("local", 1))
    try:
        with tf.Graph().as_default():
            x = tf.placeholder(tf.float32, [nbytes // 4])
            with tf.device("/job:local/task:1"):
                y = tf.slice(x, [nbytes // 4 - 1], [1])  # needs all of x on task 1, returns 4 bytes
            data = np.random.random(nbytes // 4).astype(np.float32)
            with tf.Session(server.target) as sess:
                assert sess.run(y, {x: data})[0] == data[-1]
                return median_of(lambda: sess.run(y, {x: data}), repeat)
    finally:
        procs.stop()
        server.stop()


def tensorflow_seconds(tf1, nbytes, repeat):
    """TensorFlow's median seconds: ``(fed on task 0, sliced on task 1; variable on task 1, sliced on task 0)``."""
    n = nbytes // 4
    data = np.random.random(n).astype(np.float32)
    with TFServers(tf1, 2, in_process=0) as servers:
        with tf1.Graph().as_default():
            x = tf1.placeholder(tf1.float32, [n])
            with tf1.device("/job:local/task:1"):
                y = tf1.slice(x, [n - 1], [1])
                v = tf1.Variable(tf1.random_uniform([n]), name="big")
            with tf1.device("/job:local/task:0"):
                last = tf1.slice(v, [n - 1], [1])  # needs all of v on task 0, returns 4 bytes
            with tf1.Session(servers.target(0)) as sess:
                assert sess.run(y, {x: data})[0] == data[-1]
                fed = median_of(lambda: sess.run(y, {x: data}), repeat)
                sess.run(v.initializer)
                assert sess.run(last)[0] == sess.run(v)[-1]
                pulled = median_of(lambda: sess.run(last), repeat)
    return fed, pulled


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    nbytes = args.mb << 20
    tcp = raw_tcp_seconds(nbytes, args.repeat)
    tcp_reused = raw_tcp_seconds(nbytes, args.repeat, fresh=False)
    ours = yarnflow_seconds(nbytes, args.repeat)
    rows = [["raw loopback TCP, reused buffer", f"{tcp_reused * 1e3:.1f}", f"{nbytes / tcp_reused / 1e9:.2f}",
             f"{tcp / tcp_reused:.2f}"],
            ["raw loopback TCP, fresh buffer (reference)", f"{tcp * 1e3:.1f}", f"{nbytes / tcp / 1e9:.2f}", "1.00"],
            ["yarnflow task -> task (tensor channel)", f"{ours * 1e3:.1f}", f"{nbytes / ours / 1e9:.2f}",
             f"{tcp / ours:.2f} ({tcp_reused / ours:.2f} of the reused-buffer row)"]]
    tf1 = import_tensorflow()
    if tf1 is None:
        rows.append(["tensorflow tf.train.Server", "-", "-", "tensorflow not installed"])
    else:
        fed, pulled = tensorflow_seconds(tf1, nbytes, args.repeat)
        rows.append(["tensorflow, same fed graph as ours (task 0 -> task 1)", f"{fed * 1e3:.1f}",
                     f"{nbytes / fed / 1e9:.2f}", f"{tcp / fed:.2f} (yarnflow vs this row: {fed / ours:.2f}x)"])
        rows.append(["tensorflow, variable on task 1 -> task 0 (Send/Recv)", f"{pulled * 1e3:.1f}",
                     f"{nbytes / pulled / 1e9:.2f}", f"{tcp / pulled:.2f}"])
    table(f"{args.mb} MB tensor between two tasks (median of {args.repeat})",
          ["path", "ms", "GB/s", "fraction of raw TCP"], rows)


if __name__ == "__main__":
    main()
