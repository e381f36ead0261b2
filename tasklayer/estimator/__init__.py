"""``tf.estimator``: ``Estimator``, ``EstimatorSpec``, ``ModeKeys``, ``RunConfig`` (from ``TF_CONFIG``),
``train_and_evaluate`` with ``TrainSpec``/``EvalSpec``, and ``inputs.numpy_input_fn``.

In a yarnflow app (ps and worker tasks, no chief), worker 0 is the chief: see ``RunConfig``.
"""

from tasklayer.estimator import inputs  # noqa: F401
from tasklayer.estimator.estimator import Estimator, WarmStartSettings  # noqa: F401
from tasklayer.estimator.model_fn import EstimatorSpec, ModeKeys  # noqa: F401
from tasklayer.estimator.run_config import RunConfig, TaskType  # noqa: F401
from tasklayer.estimator.training import EvalSpec, TrainSpec, train_and_evaluate  # noqa: F401
