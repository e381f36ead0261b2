"""``tf.train.SyncReplicasOptimizer``: gradients of N replicas for one step averaged and applied once.

TF1's design. Beside every trainable variable (on its ps) a conditional accumulator takes the workers'
gradients tagged with their local step and drops stale ones (local step < the accumulator's step). A worker's
train op adds its gradients, then takes a token from a queue beside the global step and makes it its local
step: it waits there until the chief applied the step. The chief's ``sync op`` (run in a loop by a thread that
the hook starts) takes the average of ``replicas_to_aggregate`` gradients from every accumulator, applies it
with the wrapped optimizer once, bumps the global step, and puts ``max(total_num_replicas,
replicas_to_aggregate)`` tokens holding the new global step into the queue.

A sync step is all or nothing across the variables: ``sync_op`` first waits until *every* accumulator holds
enough gradients (``sync_ready_op``, which consumes nothing) and only then takes from all of them, so a step that
times out waiting leaves the accumulators, the variables and the global step as they were. The chief's loop
polls ``sync_ready_op`` with its short timeout and runs ``sync_op`` only once it succeeded, so the deadline never
falls between the takes of different ps tasks.

Start-up, as TF's hook does it (``make_session_run_hook(is_chief).after_create_session(sess, None)`` does all
of this after the variables are initialized):
  chief:     ``sess.run(opt.chief_init_op)`` (local step and accumulators = global step), then
             ``sess.run(opt.get_init_tokens_op(num_tokens))``, then a thread running ``opt.sync_op`` in a loop
             (``opt.get_chief_queue_runner()``);
  others:    ``sess.run(opt.local_step_init_op)``.
With ``num_tokens=-1`` (TF's default) the queue starts with ``replicas_to_aggregate`` tokens, so workers may
run one step ahead; ``num_tokens=0`` (allowed when ``replicas_to_aggregate <= total_num_replicas``) makes
every step strictly one gradient per worker at the current weights.

A chief whose session is made at a global step above 0 (a restarted chief that restored a checkpoint, or one
recovering from a lost ps) puts at least ``total_num_replicas - 1`` tokens instead: its ``chief_init_op`` moved
the accumulators to the restored step and dropped what they held, so a worker blocked waiting for the token of
a step the lost chief never applied would otherwise wait forever. Each such worker may then run one step ahead
once.

>>> import tasklayer as tf
>>> opt = tf.train.SyncReplicasOptimizer(tf.train.GradientDescentOptimizer(0.1), replicas_to_aggregate=2)
>>> opt._total_num_replicas
2
"""

import logging
import threading

import numpy as np

from tasklayer import dtypes, state_ops, variables as variables_lib
from tasklayer.errors import CancelledError, DeadlineExceededError
from tasklayer.graph import GraphKeys, colocate_with, control_dependencies, name_scope
from tasklayer.op_registry import register_op
from tasklayer.ops import array_ops, control_flow_ops, math_ops
from tasklayer.ops._build import make_op
from tasklayer.ops.constant_op import convert_to_tensor
from tasklayer.shapes import TensorShape
from tasklayer.training.monitored_session import SessionRunHook
from tasklayer.training.optimizer import Optimizer

log = logging.getLogger(__name__)

register_op("AccumulatorApplyGradient", lambda op: [], stateful=True)
register_op("AccumulatorWaitForGradients", lambda op: [], stateful=True)
register_op("AccumulatorTakeGradient", lambda op: [(op.get_attr("dtype"), op.get_attr("shape"))], stateful=True)
register_op("AccumulatorNumAccumulated", lambda op: [(dtypes.int32, ())], stateful=True)
register_op("AccumulatorSetGlobalStep", lambda op: [], stateful=True)
register_op("TokenQueueEnqueueMany", lambda op: [], stateful=True)
register_op("TokenQueueDequeue", lambda op: [(dtypes.int64, ())], stateful=True)
register_op("TokenQueueSize", lambda op: [(dtypes.int32, ())], stateful=True)


class ConditionalAccumulator:
    """Gradients of one variable, gathered on the variable's device (see ``engine/kernels/numpy_accumulators``).

    The ops are built inside ``colocate_with(var)``; ``shared_name`` names the accumulator in the ps process.
    """

    def __init__(self, dtype, shape, shared_name, colocate_op):
        self.dtype = dtypes.as_dtype(dtype)
        self.shape = TensorShape(shape)
        self.shared_name = shared_name
        self._colocate_op = colocate_op

    def _op(self, op_type, inputs, name):
        attrs = {"dtype": self.dtype, "shape": self.shape, "shared_name": self.shared_name}
        with colocate_with(self._colocate_op, ignore_existing=True):
            return make_op(op_type, inputs, attrs, name)

    def apply_grad(self, grad, local_step, name=None):
        """Add ``grad`` for ``local_step`` (dropped when older than the accumulator's step); an Operation."""
        grad = convert_to_tensor(grad, dtype=self.dtype, name="grad")
        return self._op("AccumulatorApplyGradient", [_int64(local_step), grad], name or "AccumulatorApplyGradient")

    def wait_for_grads(self, num_required, name=None):
        """An Operation that blocks until ``num_required`` gradients wait for the current step; takes none."""
        return self._op("AccumulatorWaitForGradients", [self._num(num_required)],
                        name or "AccumulatorWaitForGradients")

    def take_grad(self, num_required, name=None):
        """The average of ``num_required`` gradients (blocks until they arrived); bumps the accumulator's step."""
        return self._op("AccumulatorTakeGradient", [self._num(num_required)],
                        name or "AccumulatorTakeGradient").outputs[0]

    def _num(self, num_required):
        # Built outside any control_dependencies block, so the block's control inputs go on the op itself: had
        # this constant taken them, the op would skip them as implied, and a graph pass may fold the constant.
        with control_dependencies(None), colocate_with(self._colocate_op, ignore_existing=True):
            return convert_to_tensor(num_required, dtype=dtypes.int32, name="num_required")

    def num_accumulated(self, name=None):
        """How many gradients wait for the current step (int32 scalar)."""
        return self._op("AccumulatorNumAccumulated", [], name or "AccumulatorNumAccumulated").outputs[0]

    def set_global_step(self, new_global_step, name=None):
        """Set the accumulator's step (older gradients are dropped from then on); an Operation."""
        return self._op("AccumulatorSetGlobalStep", [_int64(new_global_step)], name or "AccumulatorSetGlobalStep")


class TokenQueue:
    """A FIFO of int64 tokens on one device (TF uses a FIFOQueue for the sync tokens)."""

    def __init__(self, shared_name, colocate_op):
        self.shared_name = shared_name
        self._colocate_op = colocate_op

    def _op(self, op_type, inputs, name):
        with colocate_with(self._colocate_op, ignore_existing=True):
            return make_op(op_type, inputs, {"shared_name": self.shared_name}, name)

    def enqueue_many(self, tokens, name=None):
        """Append every token of a 1-D int64 tensor; an Operation."""
        return self._op("TokenQueueEnqueueMany", [_int64(tokens)], name or "TokenQueueEnqueueMany")

    def dequeue(self, name=None):
        """Take the oldest token (blocks until there is one)."""
        return self._op("TokenQueueDequeue", [], name or "TokenQueueDequeue").outputs[0]

    def size(self, name=None):
        """How many tokens wait (int32 scalar)."""
        return self._op("TokenQueueSize", [], name or "TokenQueueSize").outputs[0]


def _int64(t):
    t = t.value() if isinstance(t, variables_lib.Variable) else convert_to_tensor(t)
    return t if t.dtype == dtypes.int64 else math_ops.cast(t, dtypes.int64)


class SyncReplicasOptimizer(Optimizer):
    """Wraps an optimizer so that ``replicas_to_aggregate`` gradients per step are averaged and applied once.

    ``SyncReplicasOptimizer(opt, replicas_to_aggregate, total_num_replicas=None)`` (default: as many replicas
    as gradients to aggregate). Use ``minimize``/``apply_gradients(..., global_step=...)`` as with any optimizer,
    then ``make_session_run_hook(is_chief)`` (see the module docstring for what it runs).
    """

    def __init__(self, opt, replicas_to_aggregate, total_num_replicas=None, variable_averages=None,
                 variables_to_average=None, use_locking=False, name="sync_replicas"):
        if variable_averages is not None:
            raise NotImplementedError("SyncReplicasOptimizer(variable_averages=...) is not supported")
        if not isinstance(opt, Optimizer):
            raise TypeError(f"SyncReplicasOptimizer wraps an Optimizer, got {opt!r}")
        replicas_to_aggregate = int(replicas_to_aggregate)
        if replicas_to_aggregate < 1:
            raise ValueError(f"replicas_to_aggregate must be >= 1, got {replicas_to_aggregate}")
        if total_num_replicas is None:
            total_num_replicas = replicas_to_aggregate
        total_num_replicas = int(total_num_replicas)
        if total_num_replicas < 1:
            raise ValueError(f"total_num_replicas must be >= 1, got {total_num_replicas}")
        super().__init__(use_locking, name)
        self._opt = opt
        self._replicas_to_aggregate = replicas_to_aggregate
        self._total_num_replicas = total_num_replicas
        self._tokens_per_step = max(total_num_replicas, replicas_to_aggregate)
        self._gradients_applied = False
        self._global_step = None
        self._sync_token_queue = None
        self._accumulator_list = []
        self._local_step = None
        self.local_step_init_op = None
        self.chief_init_op = None
        self.ready_for_local_init_op = None
        self.sync_ready_op = None
        self.sync_op = None

    def compute_gradients(self, *args, **kwargs):
        """The wrapped optimizer's gradients (each worker computes its own)."""
        return self._opt.compute_gradients(*args, **kwargs)

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """The worker's train op: add its gradients to the accumulators, then wait for the step's token.

        Also builds the chief's ``sync_ready_op`` (wait until every accumulator has its gradients) and
        ``sync_op`` (after that wait, take the averages, apply them once, hand out tokens).
        """
        if not grads_and_vars:
            raise ValueError("Must supply at least one variable")
        if global_step is None:
            raise ValueError("Global step is required to check staleness")
        if self._gradients_applied:
            raise ValueError("apply_gradients of a SyncReplicasOptimizer may be called only once")
        grads_and_vars = [(g, v) for g, v in grads_and_vars]
        self._global_step = global_step
        graph = global_step.graph
        with graph.as_default():
            # The local step lives on this worker (TF colocates it with a local no-op so that a
            # replica_device_setter does not send it to a ps, where all workers would share it).
            with control_dependencies(None):
                local_anchor = control_flow_ops.no_op(name="sync_rep_local_anchor")
                with colocate_with(local_anchor, ignore_existing=True):
                    self._local_step = variables_lib.Variable(
                        np.zeros((), np.int64), trainable=False, collections=[GraphKeys.LOCAL_VARIABLES],
                        dtype=dtypes.int64, name="sync_rep_local_step")
                self.local_step_init_op = state_ops.assign(self._local_step, _int64(global_step),
                                                           name="sync_rep_local_step_init").op
            chief_init_ops = [self.local_step_init_op]
            train_ops, waits, scopes = [], [], []
            with name_scope(name, self._name) as scope:
                for grad, var in grads_and_vars:
                    if grad is None:
                        continue
                    accum = ConditionalAccumulator(var.dtype, var.shape, f"{var.op.name}/grad_accum", var.op)
                    with name_scope(f"accum_{var.op.name}") as accum_scope:
                        train_ops.append(accum.apply_grad(grad, self._local_step))
                        with control_dependencies(None):
                            chief_init_ops.append(accum.set_global_step(global_step, name="SetGlobalStep"))
                            waits.append(accum.wait_for_grads(self._replicas_to_aggregate))
                    self._accumulator_list.append((accum, var))
                    scopes.append(accum_scope)
                if not train_ops:
                    raise ValueError(f"No gradients provided for any variable: "
                                     f"{[v.op.name for _, v in grads_and_vars]}.")
                with control_dependencies(None):
                    self.sync_ready_op = control_flow_ops.group(*waits, name="sync_ready")
                # No accumulator is taken from before every one holds its gradients: a take that finished beside
                # one that timed out would apply half an update and leave the other's gradients stale for good.
                averages = {}
                with control_dependencies(waits):
                    for (accum, var), accum_scope in zip(self._accumulator_list, scopes):
                        with name_scope(accum_scope):
                            averages[id(var)] = accum.take_grad(self._replicas_to_aggregate)
                aggregated = [(averages.get(id(var)) if grad is not None else None, var)
                              for grad, var in grads_and_vars]
                update_op = self._opt.apply_gradients(aggregated, global_step)
                queue = TokenQueue(f"{scope}sync_token_q", global_step.op)
                self._sync_token_queue = queue
                with control_dependencies(train_ops):
                    token = queue.dequeue()
                train_op = state_ops.assign(self._local_step, token, name="sync_rep_local_step_update").op
                # The new global step comes from the update itself: a fresh read of the variable could be a
                # value fetched before the update ran in this step.
                new_step = update_op.outputs[0] if update_op.outputs else global_step
                with colocate_with(global_step.op, ignore_existing=True):
                    tokens = array_ops.fill([self._tokens_per_step], _int64(new_step))
                self.sync_op = queue.enqueue_many(tokens, name="sync_op")
            with control_dependencies(None):
                self.chief_init_op = control_flow_ops.group(*chief_init_ops, name="sync_rep_chief_init")
                self.ready_for_local_init_op = variables_lib.report_uninitialized_variables(
                    variables_lib.global_variables())
        self._gradients_applied = True
        return train_op

    # ------------------------------------------------------------------ chief side
    def get_chief_queue_runner(self):
        """A ``SyncQueueRunner`` that runs ``sync_op`` in a loop on the chief."""
        self._check_applied("get_chief_queue_runner")
        return SyncQueueRunner(self.sync_op, ready_op=self.sync_ready_op)

    def get_init_tokens_op(self, num_tokens=-1):
        """Put ``num_tokens`` tokens (default ``replicas_to_aggregate``) holding the global step in the queue."""
        self._check_applied("get_init_tokens_op")
        tokens_needed = self._replicas_to_aggregate - self._total_num_replicas
        if num_tokens == -1:
            num_tokens = self._replicas_to_aggregate
        elif num_tokens < tokens_needed:
            raise ValueError(f"Too few tokens to finish the first step: {num_tokens} (given) vs "
                             f"{tokens_needed} (needed)")
        if num_tokens <= 0:
            return control_flow_ops.no_op(name="no_init_tokens")
        graph = self._global_step.graph
        with graph.as_default(), colocate_with(self._global_step.op, ignore_existing=True):
            tokens = array_ops.fill([num_tokens], _int64(self._global_step))
            return self._sync_token_queue.enqueue_many(tokens, name="init_tokens")

    def make_session_run_hook(self, is_chief, num_tokens=-1):
        """A hook that initializes the sync machinery (see the module docstring)."""
        return SyncReplicasHook(self, is_chief, num_tokens)

    def _check_applied(self, what):
        if not self._gradients_applied:
            raise ValueError(f"{what} should be called after apply_gradients().")

    # ------------------------------------------------------------------ what the wrapped optimizer owns
    def get_slot(self, *args, **kwargs):
        """The wrapped optimizer's slot."""
        return self._opt.get_slot(*args, **kwargs)

    def get_slot_names(self, *args, **kwargs):
        """The wrapped optimizer's slot names."""
        return self._opt.get_slot_names(*args, **kwargs)

    def variables(self):
        """The wrapped optimizer's variables."""
        return self._opt.variables()

    def accumulators(self):
        """``[(ConditionalAccumulator, variable)]``, one per variable with a gradient."""
        return list(self._accumulator_list)

    def token_queue(self):
        """The queue of sync tokens (on the global step's device)."""
        return self._sync_token_queue


class SyncQueueRunner:
    """Runs the chief's ``sync_op`` in a loop on a daemon thread until ``stop()``.

    Each round waits on the ps for the step's gradients (``ready_op``, which consumes nothing) with a bounded
    timeout; a DeadlineExceededError (no gradients yet) just tries again, so ``stop()`` takes effect within about
    ``poll_seconds``. Only then does it run ``sync_op``, with the session's own deadline: its waits pass at once,
    and a short deadline can no longer end the step between the takes of different ps tasks.
    """

    def __init__(self, sync_op, poll_seconds=1.0, ready_op=None):
        self.sync_op = sync_op
        self.ready_op = ready_op
        self.poll_seconds = poll_seconds
        self.steps_applied = 0
        self.polls_timed_out = 0  # rounds that found the step's gradients not all there yet
        self.error = None
        self._stop = threading.Event()
        self._thread = None

    def start(self, session):
        """Start the loop on ``session`` (its own thread); a loop still running on an earlier session (one
        that a recovering ``MonitoredTrainingSession`` replaced) is stopped first."""
        self.stop()
        self._stop.clear()
        self.error = None
        self._thread = threading.Thread(target=self._loop, args=(session,), name="sync-replicas-chief",
                                        daemon=True)
        self._thread.start()
        return self._thread

    def create_threads(self, sess, coord=None, daemon=False, start=False):
        """``tf.train.QueueRunner``'s interface (what ``Supervisor.start_queue_runners`` calls, as
        ``mnist_replica.py`` does with the chief's queue runner): the loop's thread and, with ``coord``, one that
        stops the loop when ``coord`` asks to stop; both registered with ``coord``, started when ``start``. An
        error of the loop is reported to ``coord``."""
        self.stop()
        self._stop.clear()
        self.error = None
        self._thread = threading.Thread(target=self._loop, args=(sess, coord), name="sync-replicas-chief",
                                        daemon=daemon)
        threads = [self._thread]
        if coord is not None:
            threads.append(threading.Thread(target=self._stop_on_request, args=(coord,), daemon=True,
                                            name="sync-replicas-chief-stopper"))
            for t in threads:
                coord.register_thread(t)
        if start:
            for t in threads:
                t.start()
        return threads

    def _stop_on_request(self, coord):
        while not self._stop.is_set():
            if coord.wait_for_stop(0.2):
                self._stop.set()
                return

    def _loop(self, session, coord=None):
        options = {"timeout_in_ms": int(self.poll_seconds * 1000)}
        while not self._stop.is_set():
            try:
                if self.ready_op is None:
                    session.run(self.sync_op, options=options)
                else:
                    session.run(self.ready_op, options=options)
                    session.run(self.sync_op)
                self.steps_applied += 1
            except (DeadlineExceededError, CancelledError):
                self.polls_timed_out += 1
                continue
            except Exception as e:  # a closed session, a dead ps: report it and stop
                if not self._stop.is_set():
                    self.error = e
                    log.warning("sync replicas chief loop stopped: %s", e)
                    if coord is not None:
                        coord.request_stop(e)
                return

    def stop(self, timeout=None):
        """Ask the loop to end and wait for it (True if it ended)."""
        self._stop.set()
        if self._thread is None or self._thread is threading.current_thread():
            return True
        self._thread.join(timeout if timeout is not None else 2 * self.poll_seconds + 5)
        return not self._thread.is_alive()


class SyncReplicasHook(SessionRunHook):
    """TF's ``_SyncReplicasOptimizerHook``: ``after_create_session(session, coord)`` initializes the local step
    (and on the chief the accumulators, the first tokens, and the sync loop); ``end(session)`` stops the loop."""

    def __init__(self, sync_optimizer, is_chief, num_tokens=-1):
        self._opt = sync_optimizer
        self._is_chief = bool(is_chief)
        self._num_tokens = num_tokens
        self.queue_runner = None

    def begin(self):
        """Check that the optimizer was applied and build the chief's ops."""
        self._opt._check_applied("SyncReplicasOptimizer hook")
        if self._is_chief:
            opt = self._opt
            self._init_tokens_op = opt.get_init_tokens_op(self._num_tokens)
            first = opt._replicas_to_aggregate if self._num_tokens == -1 else self._num_tokens
            self._resume_tokens_op = opt.get_init_tokens_op(max(first, opt._total_num_replicas - 1))
            self.queue_runner = opt.get_chief_queue_runner()

    def after_create_session(self, session, coord=None):
        """Run the local-step (and chief) init ops; the chief starts its sync loop (resuming past step 0, it
        releases the workers that waited for a step its predecessor never applied: module docstring)."""
        if self._is_chief and self.queue_runner is None:
            self.begin()
        if self._is_chief:
            session.run(self._opt.chief_init_op)
            resuming = int(session.run(self._opt._global_step)) > 0
            session.run(self._resume_tokens_op if resuming else self._init_tokens_op)
            self.queue_runner.start(session)
        else:
            session.run(self._opt.local_step_init_op)

    def end(self, session=None):
        """Stop the chief's sync loop."""
        if self.queue_runner is not None:
            self.queue_runner.stop()
