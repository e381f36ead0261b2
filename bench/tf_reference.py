"""The op cases of ``tests/op_cases`` run on tasklayer and on TensorFlow itself, compared value by value.

The suite checks every case against numpy; this script (outside the suite: TensorFlow is not a test
dependency) checks the same cases against TensorFlow's ``compat.v1`` with all of TF 1.x's behaviour (ref variables,
control flow v1), when it is importable; ``tf.layers`` cases need ``tf_keras`` beside it.
Random cases compare nothing bitwise: their ``check`` runs on TensorFlow's values too, which tests the check.

    python bench/tf_reference.py [--only SUBSTRING] [--verbose]
"""

import argparse
import os
import sys
import traceback

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import tasklayer  # noqa: E402
from bench._peers import import_tensorflow  # noqa: E402
from tests import op_cases  # noqa: E402


def compare(tf1, op_case):
    """``("same" | "differs" | "error", detail)`` for one case."""
    try:
        if op_case.raises:
            ours = op_cases.check_raises(tasklayer, op_case)
            theirs = op_cases.check_raises(tf1, op_case)
            return "same", f"both raise: {type(ours).__name__} / {type(theirs).__name__}"
        ours = op_cases.run(tasklayer, op_case)
        theirs = op_cases.run(tf1, op_case)
        if op_case.check is not None:
            op_case.check(theirs)
        if op_case.expect is not None:
            op_cases.assert_close(ours, theirs, op_case.rtol, op_case.atol, check_dtype=False)
        return "same", ""
    except AssertionError as exc:
        return "differs", str(exc).strip().splitlines()[0] if str(exc).strip() else "assertion failed"
    except Exception as exc:  # noqa: BLE001 - a report, not a test: every case gets its row
        return "error", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def main(argv=None):
    """Print one row per case and a summary line."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", default="", help="run the cases whose name contains this")
    p.add_argument("--verbose", action="store_true", help="print the traceback of every error")
    args = p.parse_args(argv)
    cases = [c for c in op_cases.all_cases() if args.only in c.name]
    tf1 = import_tensorflow(v1_behavior=True)
    print(f"{'case':<48} {'vs TensorFlow':<14} detail")
    if tf1 is None:
        for c in cases:
            print(f"{c.name:<48} {'not installed':<14}")
        print(f"{len(cases)} cases; TensorFlow is not installed in this interpreter ({sys.executable})")
        return 0
    counts = {"same": 0, "differs": 0, "error": 0}
    for c in cases:
        verdict, detail = compare(tf1, c)
        counts[verdict] += 1
        print(f"{c.name:<48} {verdict:<14} {detail[:100]}")
        if args.verbose and verdict == "error":
            traceback.print_exc()
    print(f"{len(cases)} cases against TensorFlow {tf1.VERSION}: {counts['same']} same, {counts['differs']} "
          f"differ, {counts['error']} error")
    return 0 if counts["same"] == len(cases) else 1


if __name__ == "__main__":
    sys.exit(main())
