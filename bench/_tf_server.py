"""One TensorFlow ``tf.compat.v1.train.Server`` task in its own process, for the benchmarks' TF rows.

Run by ``_cluster.TFServers``: ``python bench/_tf_server.py CLUSTER_JSON JOB INDEX``; prints ``serving`` once
the server listens, then serves until killed.
"""

import json
import pathlib
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from bench._peers import import_tensorflow  # noqa: E402

tf1 = import_tensorflow()
server = tf1.train.Server(tf1.train.ClusterSpec(json.loads(sys.argv[1])), job_name=sys.argv[2],
                          task_index=int(sys.argv[3]))
print("serving", flush=True)
server.join()
