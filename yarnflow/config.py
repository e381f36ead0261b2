"""Where things are: the resmgr address and the local cluster's home."""

import json
import os
import pathlib

from yarnflow.errors import YarnflowError

RESMGR_ENV = "YARNFLOW_RESMGR"
HOME_ENV = "YARNFLOW_HOME"


def yarnflow_home():
    """The per-user directory of yarnflow (``$YARNFLOW_HOME``, default ``~/.yarnflow``)."""
    return pathlib.Path(os.environ.get(HOME_ENV) or pathlib.Path.home() / ".yarnflow")


def local_cluster_dir():
    """Where ``yarnflow local up`` keeps its daemons' data, logs and address."""
    return yarnflow_home() / "local"


def local_cluster_info():
    """The running local cluster's facts (address, secret file, pids) or None."""
    path = local_cluster_dir() / "cluster.json"
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def resolve_resmgr(address=None):
    """The resmgr address: ``address`` if given, else ``$YARNFLOW_RESMGR``, else the local cluster's."""
    if address:
        return validate_address(address)
    if os.environ.get(RESMGR_ENV):
        return validate_address(os.environ[RESMGR_ENV])
    info = local_cluster_info()
    if info and info.get("resmgr"):
        return info["resmgr"]
    raise YarnflowError("no resmgr address: pass --resmgr HOST:PORT, set YARNFLOW_RESMGR, "
                        "or start a local cluster with `yarnflow local up`")


def local_secret_file():
    """The local cluster's secret file, if one runs."""
    info = local_cluster_info()
    return info.get("secret_file") if info else None


def validate_address(address):
    """Check ``host:port`` and return it, or raise a clear error."""
    host, sep, port = str(address).rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise YarnflowError(f"malformed address {address!r}: expected HOST:PORT")
    return address
