"""Submit-to-running latency: `submit --ps 1 --workers 4` until all 5 tasks run, on a 2-node local cluster.

    python3 -m bench.submit_latency [--runs 10]

Each task writes the moment it starts (``time.time()``) into a stamp directory; the latency of a run is
the last of the five stamps minus the moment before ``Client.submit`` (staging the files included).
Beside it, when ``ray`` is importable: Ray starting a placement group of 5 one-CPU bundles and one actor
in each, until all 5 actors answered. Medians of ``--runs``.
"""

import argparse
import pathlib
import random
import statistics
import sys
import tempfile
import time

from yarnflow import client as yc
from yarnflow import local_cluster

RAY_REFERENCE_S = 1.3  # the figure for Ray on the reference machine, used when ray is absent
RUN_TIMEOUT_S = 60.0

STAMP_APP = r'''
import os, pathlib, sys, time
started = time.time()
role, index = os.environ["YARNFLOW_JOB_NAME"], os.environ["YARNFLOW_TASK_INDEX"]
stamp = pathlib.Path(sys.argv[1]) / f"{role}_{index}"
stamp.with_suffix(".tmp").write_text(repr(started))
stamp.with_suffix(".tmp").rename(stamp)
if role == "ps":
    while True:          # a ps serves until the appmaster stops it
        time.sleep(1)
'''


def wait_for_stamps(stamp_dir, count, timeout=RUN_TIMEOUT_S):
    """The ``count`` start stamps, once all are there."""
    deadline = time.monotonic() + timeout
    while True:
        stamps = list(stamp_dir.glob("*_*[0-9]"))
        if len(stamps) >= count:
            return [float(p.read_text()) for p in stamps]
        if time.monotonic() > deadline:
            raise RuntimeError(f"only {len(stamps)} of {count} tasks started within {timeout:g} s")
        time.sleep(0.005)


def yarnflow_latencies(runs, home, ps=1, workers=4):
    """Seconds from submit to all tasks running, per run, on a fresh 2-node local cluster."""
    # task ports off the default range, which a `yarnflow local up` elsewhere on this host may hold
    info, _ = local_cluster.up(nodes=2, vcores=4, memory="4g", home=home,
                               port_base=random.randrange(24000, 30000, 2000))
    app = home / "app" / "stamp_app.py"
    app.parent.mkdir(parents=True, exist_ok=True)
    app.write_text(STAMP_APP)
    latencies = []
    try:
        with yc.Client(info["resmgr"], secret=pathlib.Path(info["secret_file"]).read_text().strip()) as client:
            for run in range(runs):
                stamp_dir = home / "stamps" / str(run)
                stamp_dir.mkdir(parents=True)
                small = yc.RoleAsk(memory="256m", vcores=1)
                spec = yc.build_spec(app.name, ps=ps, workers=workers, args=[str(stamp_dir)], worker=small,
                                     ps_ask=small, name=f"latency-{run}")
                submitted = time.time()
                app_id = client.submit(app, spec)
                stamps = wait_for_stamps(stamp_dir, ps + workers)
                latencies.append(max(stamps) - submitted)
                report = client.wait(app_id, timeout=RUN_TIMEOUT_S)  # free the nodes for the next run
                if not yc.succeeded(report):
                    raise RuntimeError(f"{app_id} ended {yc.format_report_line(report)}: {report.diagnostics}")
    finally:
        local_cluster.down(home)
    return latencies


def ray_latencies(runs, bundles=5):
    """Seconds for Ray to start a placement group of ``bundles`` CPUs with one ready actor each, or None."""
    try:
        import ray
        from ray.util.placement_group import placement_group, remove_placement_group
        from ray.util.scheduling_strategies import PlacementGroupSchedulingStrategy
    except ImportError:
        return None

    @ray.remote(num_cpus=1)
    class Task:
        def ping(self):
            return True

    ray.init(num_cpus=bundles + 1, include_dashboard=False, logging_level="ERROR")
    latencies = []
    try:
        for _ in range(runs):
            started = time.time()
            group = placement_group([{"CPU": 1}] * bundles, strategy="PACK")
            ray.get(group.ready())
            actors = [Task.options(scheduling_strategy=PlacementGroupSchedulingStrategy(group, i)).remote()
                      for i in range(bundles)]
            ray.get([a.ping.remote() for a in actors])
            latencies.append(time.time() - started)
            for actor in actors:
                ray.kill(actor)
            remove_placement_group(group)
    finally:
        ray.shutdown()
    return latencies


def row(name, latencies):
    """One table row: median, min and max in seconds."""
    if not latencies:
        return f"{name:<44} {'(ray not installed)':>19}"
    return (f"{name:<44} {statistics.median(latencies):>8.3f} s {min(latencies):>8.3f} s "
            f"{max(latencies):>8.3f} s")


def main(argv=None):
    """Measure and print the table and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="yf-bench-") as tmp:
        ours = yarnflow_latencies(args.runs, pathlib.Path(tmp))
    theirs = ray_latencies(args.runs)

    print(f"submit-to-running latency, --ps 1 --workers 4 on a 2-node local cluster, {args.runs} runs")
    print(f"{'system':<44} {'median':>10} {'min':>10} {'max':>10}")
    print(row("yarnflow: submit -> 5 tasks running", ours))
    print(row("ray: 5-actor placement group -> all ready", theirs))
    ours_median = statistics.median(ours)
    if theirs:
        ratio = statistics.median(theirs) / ours_median
        print(f"ratio ray / yarnflow: {ratio:.2f}x ({'yarnflow faster' if ratio > 1 else 'ray faster'})")
    else:
        ratio = RAY_REFERENCE_S / ours_median
        print(f"ratio against the issue's Ray figure ({RAY_REFERENCE_S} s, measured on the reference machine, not here): "
              f"{ratio:.2f}x ({'yarnflow faster' if ratio > 1 else 'ray faster'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
