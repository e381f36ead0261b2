"""``tf.train``: cluster specs, servers and device functions for distributed graphs."""

from tasklayer.train.cluster_spec import ClusterSpec  # noqa: F401
from tasklayer.train.device_setter import replica_device_setter  # noqa: F401

from tasklayer.train.server import Server  # noqa: F401
