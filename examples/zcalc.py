"""The seed's "zcalc": y1 = x - 8 on task 0, y2 = x + 1 on task 1, z = y1 * y2 fetched through task 1.

Start the two servers first (two terminals): ``python examples/zcalc_server.py 0`` and ``... 1``;
then ``python examples/zcalc.py`` prints -18.
"""

import tasklayer as tf

cluster = tf.train.ClusterSpec({"local": ["localhost:2222", "localhost:2223"]})

x = tf.constant(5)

with tf.device("/job:local/task:0"):
    y1 = x - 8

with tf.device("/job:local/task:1"):
    y2 = x + 1

z = y1 * y2

with tf.Session("grpc://localhost:2223") as sess:
    result = sess.run(z)
    print(result)
