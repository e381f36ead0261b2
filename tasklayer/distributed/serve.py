"""Serve one task from the command line (tests and scripts): ``python -m tasklayer.distributed.serve
--cluster '{"local": ["localhost:2222", "localhost:2223"]}' --job local --task 0``.

Prints ``serving /job:J/task:I on HOST:PORT`` (flushed) once ready; SIGTERM or a Shutdown RPC stops it.
"""

import argparse
import json
import signal
import sys

from tasklayer.distributed.cluster_spec import ClusterSpec
from tasklayer.distributed.server import TaskServer
from yarnflow.errors import YarnflowError


def main(argv=None):
    """Parse the flags, start the server, block until it stops."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cluster", required=True, help="the cluster spec as JSON")
    parser.add_argument("--job", required=True)
    parser.add_argument("--task", type=int, required=True)
    args = parser.parse_args(argv)
    try:
        server = TaskServer(ClusterSpec(json.loads(args.cluster)), args.job, args.task)
        server.start()
    except (ValueError, TypeError, YarnflowError) as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: server.shutdown_soon())
    print(f"serving /job:{args.job}/task:{args.task} on {server.address}", flush=True)
    server.join()
    return 0


if __name__ == "__main__":
    sys.exit(main())
