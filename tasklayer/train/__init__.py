"""``tf.train``: cluster specs, servers and device functions for distributed graphs."""

from tasklayer.train.cluster_spec import ClusterSpec  # noqa: F401
from tasklayer.train.device_setter import replica_device_setter  # noqa: F401

from tasklayer.train.server import Server  # noqa: F401
from tasklayer.train.task_control import shutdown_tasks, unreachable_tasks, wait_for_tasks  # noqa: F401

# ---- issue 5 (optimizers, checkpoints, global step): appended by the training helper -------------------------
from tasklayer.training import (AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer,  # noqa: E402,F401
                                Optimizer, Saver, get_checkpoint_state, latest_checkpoint)
from tasklayer.variables import create_global_step, get_global_step, get_or_create_global_step  # noqa: E402,F401

# ---- issue 5 (MonitoredTrainingSession, hooks): appended by the monitored-session helper ----------------------
from tasklayer.training.monitored_session import (CheckpointSaverHook, MonitoredTrainingSession,  # noqa: E402,F401
                                                  Scaffold, SessionRunArgs, SessionRunContext, SessionRunHook,
                                                  SessionRunValues, StopAtStepHook)
from tasklayer.training.sync_replicas import SyncReplicasOptimizer  # noqa: E402,F401 (issue 5: sync replicas)

# ---- issue 10 (global step by name) ----
from tasklayer.variables import assert_global_step, global_step  # noqa: E402,F401

# ---- issue 10 (Supervisor, SessionManager, session hooks) ----
from tasklayer.training.basic_hooks import (CheckpointSaverListener, FeedFnHook, FinalOpsHook,  # noqa: E402,F401
                                            GlobalStepWaiterHook, LoggingTensorHook, NanLossDuringTrainingError,
                                            NanTensorHook, SecondOrStepTimer, StepCounterHook)
from tasklayer.training.session_manager import SessionManager  # noqa: E402,F401
from tasklayer.training.supervisor import Supervisor  # noqa: E402,F401

# ---- issue 10 (queues and queue-based input) ----
from tasklayer.training import queue_runner  # noqa: E402,F401 (tf.train.queue_runner.QueueRunner)
from tasklayer.training.coordinator import Coordinator, LooperThread  # noqa: E402,F401
from tasklayer.training.input import (batch, batch_join, input_producer, limit_epochs,  # noqa: E402,F401
                                      match_filenames_once, range_input_producer, shuffle_batch,
                                      shuffle_batch_join, slice_input_producer, string_input_producer)
from tasklayer.training.queue_runner import QueueRunner, add_queue_runner, start_queue_runners  # noqa: E402,F401

# ---- issue 10 (tf.summary in the training loops) ----
from tasklayer.io import write_graph  # noqa: E402,F401
from tasklayer.summary import summary_iterator  # noqa: E402,F401
from tasklayer.training.basic_hooks import SummarySaverHook  # noqa: E402,F401
