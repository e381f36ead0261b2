"""``resmgr``: run the yarnflow ResourceManager daemon (``python3 -m bin.resmgr --data-dir D``)."""

import sys

from resmgr.daemon import main as _main


def main(argv=None):
    """Entry point of the ``resmgr`` command."""
    return _main(sys.argv[1:] if argv is None else argv)


if __name__ == "__main__":
    sys.exit(main())
