"""TF 1.15 API coverage per module: how many of TF 1.15's public symbols, and of those TF 1.x's own tutorials and
examples use, tasklayer provides (the table ``yarnflow tf-coverage`` prints).

    python bench/tf_coverage.py [--all-modules] [--namespace tensorflow.compat.v1]

``--namespace`` measures another module against the same lists: TensorFlow's own ``tensorflow.compat.v1`` (with an
interpreter that has it) checks the lists themselves, and should come out near 100% but for ``tf.estimator``, which
TF 2.16+ no longer has.
"""

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from yarnflow import tf_coverage, tf_coverage_report  # noqa: E402


def main(argv=None):
    """Print the coverage table, the goal line and how long measuring took."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--namespace", default="tasklayer", help="the module measured (default: tasklayer)")
    p.add_argument("--all-modules", action="store_true", help="a row for every module of TF 1.15's API")
    args = p.parse_args(argv)
    if args.namespace.startswith("tensorflow"):
        os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.compat.v1.layers is tf_keras's
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    t0 = time.perf_counter()
    namespace = tf_coverage.load_namespace(args.namespace)
    t1 = time.perf_counter()
    api = tf_coverage.load_api()
    modules = sorted(api.modules) if args.all_modules else tf_coverage.TABLE_MODULES
    rows = tf_coverage_report.coverage_entries(namespace, modules, api)
    t2 = time.perf_counter()
    print(f"{args.namespace} against TF 1.15's public symbols ({api.header.get('generated', '?')})")
    print("\n".join(tf_coverage_report.format_table(rows)))
    print(tf_coverage_report.goal_line(rows))
    print(f"import {args.namespace}: {t1 - t0:.2f} s; resolving {rows[-1]['total']} names: {t2 - t1:.2f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
