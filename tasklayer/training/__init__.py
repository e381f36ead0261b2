"""Training: optimizers (gradient descent, momentum, Adam) and the Saver (checkpoints).

``tf.train`` (owned by the distributed runtime) re-exports these names.
"""

from tasklayer.training.adam import AdamOptimizer  # noqa: F401
from tasklayer.training.gradient_descent import GradientDescentOptimizer  # noqa: F401
from tasklayer.training.momentum import MomentumOptimizer  # noqa: F401
from tasklayer.training.optimizer import Optimizer  # noqa: F401
from tasklayer.training.saver import Saver, get_checkpoint_state, latest_checkpoint  # noqa: F401
