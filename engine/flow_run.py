"""Running a plan that has a ``FlowPlan`` (``engine.frames``): dead tensors, and while loops one iteration at a
time. The executor's fast serial loop never comes here; its dataflow loop asks ``settle`` about each step.

``dead`` is the run's list of step deadness (for control edges: a step that did not run because it was dead,
a Merge all of whose inputs were dead, a _Send that sent ``DEAD``, a _Recv that received it).
"""

import time

from engine.dead import DEAD
from engine.errors import CancelledError, DeadlineExceededError
from engine.frames import LOOP, MERGE, NORMAL, RECV, TRIGGER
from engine.plan import step_error


def run_serial(plan, vals, dead, cancel):
    """Run the plan's top-level units in order; how many steps ran (a loop's steps once per iteration)."""
    return run_units(plan, plan.flow.units, vals, dead, cancel)


def run_units(plan, units, vals, dead, cancel):
    """Run ``units`` (steps, or loop units) in order; how many steps ran. The common case (an op that dies with
    any dead input) is inlined: a loop runs these lines once per op and iteration."""
    table = plan.flow.table
    check = cancel is not None
    ran = 0
    for i in units:
        if check and cancel.is_set():
            raise CancelledError(None, None, "run cancelled")
        fn, ins, out, nout, policy, ctrl = table[i]
        if policy != NORMAL:
            ran += run_step(plan, i, vals, dead, cancel)
            continue
        args = [vals[j] for j in ins]
        live = True
        for a in args:
            if a is DEAD:
                live = False
                break
        if live:
            for p in ctrl:
                if dead[p]:
                    live = False
                    break
        if not live:
            kill(plan, i, vals, dead)
            continue
        try:
            result = fn(*args)
        except CancelledError:
            raise
        except Exception as e:
            raise step_error(plan, i, vals, e) from None
        _store(plan, i, vals, out, nout, result)
        dead[i] = False
        ran += 1
    return ran


def run_step(plan, i, vals, dead, cancel):
    """Run step ``i`` as its policy says (or kill it); how many steps ran."""
    if settle(plan, i, vals, dead, cancel):
        return 1 if plan.flow.policy[i] == LOOP else 0
    fn, ins, out, nout, policy, _ = plan.flow.table[i]
    args = [vals[j] for j in ins]
    try:
        result = fn(*args)
    except CancelledError:
        raise
    except Exception as e:
        raise step_error(plan, i, vals, e) from None
    _store(plan, i, vals, out, nout, result)
    dead[i] = result is DEAD and policy == RECV
    return 1


def _store(plan, i, vals, out, nout, result):
    if nout == 1:
        vals[out] = result
    elif nout:
        if len(result) != nout:
            raise step_error(plan, i, vals, ValueError(f"kernel returned {len(result)} outputs, expected {nout}"))
        vals[out:out + nout] = result


def settle(plan, i, vals, dead, cancel):
    """Deal with step ``i`` when deadness decides it: kill it (dead inputs), send ``DEAD`` (a dead _Send), or run
    a whole loop unit. True when the step is settled; False when its kernel should run on its inputs as usual."""
    flow = plan.flow
    policy = flow.policy[i]
    if policy == LOOP:
        run_loop(plan, flow.loops[i], vals, dead, cancel)
        dead[i] = False
        return True
    if policy in (RECV, TRIGGER):
        dead[i] = False
        return False
    ins = plan.steps[i][1]
    if policy == MERGE:
        if all(vals[j] is DEAD for j in ins):
            kill(plan, i, vals, dead)
            return True
        dead[i] = False
        return False
    if any(vals[j] is DEAD for j in ins) or any(dead[p] for p in flow.control_preds[i]):
        if policy == NORMAL:
            kill(plan, i, vals, dead)
            return True
        # SEND: the receiving partition must learn that the tensor is dead.
        fn = plan.steps[i][0]
        try:
            fn(*([vals[j] for j in ins[:-1]] + [DEAD]))
        except Exception as e:
            raise step_error(plan, i, vals, e) from None
        dead[i] = True
        return True
    dead[i] = False
    return False


def kill(plan, i, vals, dead):
    """Step ``i`` does not run: its outputs are dead."""
    dead[i] = True
    _, _, out, _, nout = plan.steps[i]
    if nout == 1:
        vals[out] = DEAD
    elif nout:
        vals[out:out + nout] = [DEAD] * nout


def run_loop(plan, loop, vals, dead, cancel):
    """Run one while loop: its Enters once, then its body until no NextIteration yields a live value; its Exits
    then hold their live values (dead when the loop itself was dead, e.g. in an untaken branch)."""
    timeout = vals[0].timeout  # the run's deadline bounds a loop that would not end
    deadline = None if timeout is None else time.monotonic() + timeout
    for i in loop.enters:
        run_step(plan, i, vals, dead, cancel)
    for _, merge_slot in loop.back_edges:
        vals[merge_slot] = DEAD
    results = [DEAD] * len(loop.exits)
    first = True
    while True:
        run_units(plan, loop.body, vals, dead, cancel)
        for k, (_, slot) in enumerate(loop.exits):
            if vals[slot] is not DEAD:
                results[k] = vals[slot]
        if first:  # a loop variable's Enter feeds its Merge in the first iteration only
            for slot in loop.variable_enter_slots:
                vals[slot] = DEAD
            first = False
        live = False
        for next_slot, merge_slot in loop.back_edges:
            value = vals[next_slot]
            vals[merge_slot] = value
            live = live or value is not DEAD
        if not live:
            break
        if deadline is not None and time.monotonic() > deadline:
            raise DeadlineExceededError(None, None, f"while loop {loop.frame!r} still running after the run's "
                                                    f"timeout of {timeout} s")
    for (step, slot), value in zip(loop.exits, results):
        vals[slot] = value
        dead[step] = value is DEAD
