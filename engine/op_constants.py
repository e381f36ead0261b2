"""What a backend's kernels share by name with the rest of the system (the executor, graph passes, the task layer):
families of op types, the dtypes of tf.data's handles, and constants of an op's definition. They live outside
every backend, so that no module imports a backend file for a name (the backends themselves are found by the
kernel registry).

>>> sorted(QUEUE_OPS)[0], "Merge" in CONTROL_FLOW_OPS, VARIANT.name
('FIFOQueueV2', True, 'variant')
"""

import numpy as np

from engine import dtypes

# Control flow: the op types the executor gives a meaning of its own (``engine.frames``, ``engine.flow_run``).
SWITCH_OPS = frozenset({"Switch", "RefSwitch"})
MERGE_OPS = frozenset({"Merge"})
ENTER_OPS = frozenset({"Enter", "RefEnter"})
EXIT_OPS = frozenset({"Exit"})
NEXT_ITERATION_OPS = frozenset({"NextIteration"})
CONTROL_FLOW_OPS = SWITCH_OPS | MERGE_OPS | ENTER_OPS | EXIT_OPS | NEXT_ITERATION_OPS | {"LoopCond", "ControlTrigger"}

# Queues and readers: op type -> the kind TF names in its messages.
QUEUE_OPS = {"FIFOQueueV2": "FIFOQueue", "RandomShuffleQueueV2": "RandomShuffleQueue",
             "PaddingFIFOQueueV2": "PaddingFIFOQueue"}
READER_OPS = {"TextLineReaderV2": "TextLineReader", "WholeFileReaderV2": "WholeFileReader"}

# Ops that update a variable in place through its ref (input 0, and more for some optimizers).
REF_OPS = ("Assign", "AssignAdd", "AssignSub", "ApplyGradientDescent", "ApplyMomentum", "ApplyAdam")

# SELU's constants (Klambauer et al. 2017), as TF spells them: the kernel and the gradient rule must agree.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _handle_dtype(name, enum):
    """``engine.dtypes``' type of that name once it has one, else one made here (TF's enum numbers)."""
    existing = getattr(dtypes, name, None)
    if isinstance(existing, dtypes.DType):
        return existing
    return dtypes.DType(name, np.object_, enum, "V")


# A dataset tensor (``ds._variant_tensor``) and an iterator handle: Python objects held in one process.
VARIANT = _handle_dtype("variant", 21)
RESOURCE = _handle_dtype("resource", 20)
