"""The NodeAgent daemon (one per machine): probes resources, heartbeats to resmgr, launches, watches and
stops containers, serves their logs and localizes app files into them."""
