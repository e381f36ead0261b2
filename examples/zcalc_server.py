"""The seed's server script: ``python examples/zcalc_server.py TASK_INDEX`` (0 or 1) serves one task."""

import sys

import tasklayer as tf

cluster = tf.train.ClusterSpec({"local": ["localhost:2222", "localhost:2223"]})
task_number = int(sys.argv[1]) if len(sys.argv) > 1 else 0  # and 1
server = tf.train.Server(cluster, job_name="local", task_index=task_number)
print("Starting server #{}".format(task_number), flush=True)
server.start()
server.join()
