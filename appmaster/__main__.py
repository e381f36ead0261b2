"""``python -m appmaster``: the appmaster of one app, as resmgr starts it in a container."""

import argparse
import sys

from appmaster import master


def main(argv=None):
    """Run the appmaster named by the container's environment; return the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m appmaster",
                                     description="The per-application master of a yarnflow app.")
    parser.add_argument("--wait-ms", type=int, default=2000,
                        help="how long each Allocate long-poll may wait for news (default 2000)")
    parser.add_argument("--resmgr-timeout", type=float, default=60.0,
                        help="seconds to keep retrying an unreachable resmgr before exiting (default 60)")
    args = parser.parse_args(argv)
    if not 0 < args.wait_ms <= 60000:
        parser.error(f"--wait-ms must be in 1..60000, got {args.wait_ms}")
    try:
        am = master.from_env(wait_ms=args.wait_ms, unreachable_s=args.resmgr_timeout)
    except KeyError as exc:
        print(f"appmaster: {exc.args[0]} is not set: the appmaster runs in a container that resmgr starts",
              file=sys.stderr)
        return 2
    return am.run()


if __name__ == "__main__":
    sys.exit(main())
