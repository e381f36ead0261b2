"""The seed's map/reduce mean: the mean of 100 fed values, half on each of two tasks.

Needs the two servers of ``examples/zcalc_server.py`` (tasks 0 and 1) running.
"""

import numpy as np

import tasklayer as tf

x = tf.placeholder(tf.float32, 100)

with tf.device("/job:local/task:1"):
    first_batch = tf.slice(x, [0], [50])
    mean1 = tf.reduce_mean(first_batch)

with tf.device("/job:local/task:0"):
    second_batch = tf.slice(x, [50], [-1])
    mean2 = tf.reduce_mean(second_batch)
    mean = (mean1 + mean2) / 2

with tf.Session("grpc://localhost:2222") as sess:
    result = sess.run(mean, feed_dict={x: np.random.random(100)})
    print(result)
