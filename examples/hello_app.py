"""A plain yarnflow app: every task says who it is and the cluster spec it sees.

    submit examples/hello_app.py --ps 1 --workers 4 --wait
    yarnflow logs APP --task worker:2

Workers print and exit 0 (after ``--work-seconds``, default 0); ps tasks wait until the appmaster stops
them, as parameter servers do.
"""

import argparse
import json
import os
import signal
import sys
import time


def main(argv=None):
    """Print this task's role, index, attempt and cluster spec; a ps task then waits to be stopped."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work-seconds", type=float, default=0.0, help="how long each worker 'works'")
    args = parser.parse_args(argv)

    role = os.environ.get("YARNFLOW_JOB_NAME", "unknown")
    index = int(os.environ.get("YARNFLOW_TASK_INDEX", "0"))
    cluster = json.loads(os.environ.get("YARNFLOW_CLUSTER", "{}"))
    peers = cluster.get(role, [])
    endpoint = peers[index] if index < len(peers) else None
    print(f"hello from {role}:{index} (attempt {os.environ.get('YARNFLOW_ATTEMPT', '?')}) at {endpoint}")
    print(f"cluster spec: {json.dumps(cluster, sort_keys=True)}", flush=True)

    if role == "ps":
        # a parameter server serves until it is told to stop (SIGTERM from its node agent)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        while True:
            time.sleep(3600)
    time.sleep(args.work_seconds)
    print(f"{role}:{index} done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
