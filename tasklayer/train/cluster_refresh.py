"""Where each task of the app runs now; it lives in ``tasklayer.distributed.cluster_refresh``, below
``tf.train``, so that ``tasklayer.training`` can use it too."""

from tasklayer.distributed.cluster_refresh import (RPC_TIMEOUT_S, application_report,  # noqa: F401
                                                   cluster_from_report, current_cluster, update_server_cluster)
