"""``nodeagent``: run this machine's node agent (``python3 -m bin.nodeagent --resmgr HOST:PORT --work-dir W``)."""

import argparse
import logging
import pathlib
import signal
import sys

from nodeagent import probe
from nodeagent.daemon import NodeAgent, Settings, parse_port_range
from yarnflow import auth, config
from yarnflow.errors import YarnflowError
from yarnflow.resources import parse_memory_mb


def parse_args(argv=None):
    """The command line of the node agent."""
    p = argparse.ArgumentParser(prog="nodeagent", description="Run a yarnflow node agent on this machine.")
    p.add_argument("--resmgr", help="resmgr address HOST:PORT (default: $YARNFLOW_RESMGR, else the local cluster's)")
    p.add_argument("--work-dir", required=True, help="where container work dirs and logs live")
    p.add_argument("--host", default="127.0.0.1", help="address this node is reached at (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="ContainerManager port (0 = any free port)")
    p.add_argument("--secret-file", help="the cluster secret (default: $YARNFLOW_SECRET, else the local cluster's)")
    p.add_argument("--vcores", type=int, help="vcores to offer (default: detected)")
    p.add_argument("--memory", help="memory to offer, e.g. 8g (default: detected)")
    p.add_argument("--gpus", type=int, help="GPUs to offer (default: detected with NVML)")
    p.add_argument("--port-range", default="20000-29999", help="task ports FIRST-LAST (default 20000-29999)")
    p.add_argument("--heartbeat-interval", type=float, help="seconds between heartbeats (default 1.0)")
    return p.parse_args(argv)


def settings_from_args(args):
    """Check the arguments and turn them into daemon Settings; raises YarnflowError on bad input."""
    secret = auth.read_secret(args.secret_file, fallback_file=config.local_secret_file())
    if not secret:
        raise YarnflowError("no cluster secret: pass --secret-file (resmgr's DATA_DIR/cluster.secret) "
                            "or set YARNFLOW_SECRET")
    for name in ("vcores", "gpus"):
        if getattr(args, name) is not None and getattr(args, name) < 0:
            raise YarnflowError(f"--{name} must not be negative")
    if args.heartbeat_interval is not None and args.heartbeat_interval <= 0:
        raise YarnflowError("--heartbeat-interval must be positive")
    if not 0 <= args.port < 65536:
        raise YarnflowError(f"--port {args.port} is out of range")
    memory = parse_memory_mb(args.memory) if args.memory is not None else None
    return Settings(resmgr=config.resolve_resmgr(args.resmgr), work_dir=pathlib.Path(args.work_dir).resolve(),
                    secret=secret, host=args.host, port=args.port,
                    capability=probe.offered(vcores=args.vcores, memory_mb=memory, gpus=args.gpus),
                    port_range=parse_port_range(args.port_range), heartbeat_s=args.heartbeat_interval)


def main(argv=None):
    """Run the node agent until SIGTERM/SIGINT; exit 2 on bad arguments or a missing secret."""
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s nodeagent %(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    try:
        agent = NodeAgent(settings_from_args(args))
        agent.start_server()
    except (YarnflowError, OSError) as exc:   # bad flags, no secret, an unusable work dir or port
        print(f"nodeagent: error: {exc}", file=sys.stderr, flush=True)
        return 2
    signal.signal(signal.SIGTERM, lambda *_: agent.stop())
    signal.signal(signal.SIGINT, lambda *_: agent.stop())
    try:
        agent.run()
    except YarnflowError as exc:
        print(f"nodeagent: error: {exc}", file=sys.stderr, flush=True)
        agent.shutdown()
        return 2
    agent.shutdown()
    logging.getLogger("nodeagent").info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
