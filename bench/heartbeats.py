"""How many node heartbeats per second the resmgr absorbs over real gRPC on loopback.

Starts a real resmgr (``python3 -m bin.resmgr``) and, as the reference, a no-op gRPC server of the same
ResourceTracker service (NodeHeartbeat answers an empty reply: the raw gRPC ceiling of this machine);
registers N simulated nodes and has several client processes send NodeHeartbeat as fast as they can for
a fixed time against each, then prints heartbeats/s of both and their ratio. Goal of issue 2: 5,000/s.

    python3 -m bench.heartbeats [--nodes 1000] [--procs 4] [--threads 8] [--seconds 4] [--containers 0]
"""

import argparse
import multiprocessing
import pathlib
import subprocess
import sys
import tempfile
import threading
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from protos import common_pb2, resmgr_pb2, resmgr_pb2_grpc  # noqa: E402
from yarnflow import auth, rpc  # noqa: E402

GOAL = 5000


class _NoopTracker(resmgr_pb2_grpc.ResourceTrackerServicer):
    """The reference: NodeHeartbeat that does nothing at all."""

    def NodeHeartbeat(self, request, context):
        return resmgr_pb2.NodeHeartbeatResponse()


def _serve_noop(port_queue, stop_event):
    """Child process: run the no-op server until told to stop."""
    server = rpc.make_server(max_workers=64)
    resmgr_pb2_grpc.add_ResourceTrackerServicer_to_server(_NoopTracker(), server)
    port_queue.put(rpc.bind(server, "127.0.0.1", 0))
    server.start()
    stop_event.wait()
    server.stop(0)


def _heartbeat(node_id, seq, containers):
    usage = resmgr_pb2.NodeUsage(cpu_percent=12.5, memory_used_mb=2048, memory_total_mb=16384,
                                 vcores_total=8)
    statuses = [common_pb2.ContainerStatus(container_id=f"{node_id}-c{k}", app_id="app_0_0001",
                                           state=common_pb2.CONTAINER_RUNNING, pid=1000 + k)
                for k in range(containers)]
    return resmgr_pb2.NodeHeartbeatRequest(node_id=node_id, usage=usage, containers=statuses, sequence=seq)


def _client(address, secret, node_ids, threads, start_at, seconds, containers, result_queue):
    """Child process: ``threads`` threads send heartbeats of ``node_ids`` in turn until the time is up."""
    stub = resmgr_pb2_grpc.ResourceTrackerStub(rpc.channel(address, auth.member_metadata(secret)))
    requests = [_heartbeat(n, 0, containers) for n in node_ids]
    counts, errors = [0] * threads, [0] * threads

    def run(k):
        while time.time() < start_at:
            time.sleep(0.001)
        end = start_at + seconds
        i = k
        while time.time() < end:
            try:
                stub.NodeHeartbeat(requests[i % len(requests)], timeout=10)
                counts[k] += 1
            except Exception:
                errors[k] += 1
            i += threads
    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    result_queue.put((sum(counts), sum(errors)))


def measure(address, secret, node_ids, procs, threads, seconds, containers):
    """Heartbeats per second (and errors) that ``procs`` client processes get through ``address``."""
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    start_at = time.time() + 2.0  # every client is up before the clock starts
    shards = [node_ids[i::procs] for i in range(procs)]
    children = [ctx.Process(target=_client, args=(address, secret, shard, threads, start_at, seconds,
                                                  containers, results)) for shard in shards]
    for c in children:
        c.start()
    got = [results.get(timeout=seconds + 60) for _ in children]
    for c in children:
        c.join()
    return sum(n for n, _ in got) / seconds, sum(e for _, e in got)


class _Context:
    """Just enough of a gRPC server context to call the servicer directly."""

    def __init__(self, metadata):
        self._metadata = metadata

    def invocation_metadata(self):
        return self._metadata

    def code(self):
        return None

    def abort(self, code, details):
        raise RuntimeError(f"{code}: {details}")


def handler_rate(seconds=1.0):
    """Heartbeats/s of the resmgr's own NodeHeartbeat path, called in-process without gRPC (parse included)."""
    from resmgr.daemon import ResourceManager
    from resmgr.model import Res
    from resmgr.service import ResourceTrackerServicer

    with tempfile.TemporaryDirectory() as data_dir:
        rm = ResourceManager(data_dir)
        try:
            rm.register_node("n1:1", "n1", Res(8, 16384), 20000, 30000, [])
            servicer, ctx = ResourceTrackerServicer(rm), _Context(auth.member_metadata(rm.secret))
            raw = _heartbeat("n1:1", 0, 0).SerializeToString()
            n, end = 0, time.perf_counter() + seconds
            while time.perf_counter() < end:
                for _ in range(100):
                    request = resmgr_pb2.NodeHeartbeatRequest.FromString(raw)
                    servicer.NodeHeartbeat(request, ctx).SerializeToString()
                n += 100
            return n / seconds
        finally:
            rm.store.close()


def start_resmgr(data_dir):
    """A real resmgr subprocess on a free loopback port; returns (process, address, secret)."""
    proc = subprocess.Popen([sys.executable, "-m", "bin.resmgr", "--port", "0", "--data-dir", str(data_dir),
                             "--node-expiry", "600", "--log-level", "WARNING"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("resmgr listening on "):
        proc.kill()
        raise SystemExit(f"resmgr did not start: {line!r}")
    secret = auth.load_or_create_secret(data_dir)
    return proc, line.rsplit(" ", 1)[1], secret


def register_nodes(address, secret, n):
    """Register ``n`` simulated nodes; returns their ids."""
    stub = resmgr_pb2_grpc.ResourceTrackerStub(rpc.channel(address, auth.member_metadata(secret)))
    ids = [f"10.0.{i // 250}.{i % 250 + 1}:45454" for i in range(n)]
    for node_id in ids:
        stub.RegisterNode(resmgr_pb2.RegisterNodeRequest(
            node_id=node_id, hostname=node_id.split(":")[0], port_range_start=20000, port_range_end=30000,
            capability=common_pb2.Resource(vcores=8, memory_mb=16384)))
    return ids


def main(argv=None):
    """Run both measurements and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--procs", type=int, default=4, help="client processes")
    p.add_argument("--threads", type=int, default=8, help="threads per client process")
    p.add_argument("--seconds", type=float, default=4.0, help="measuring time per server")
    p.add_argument("--containers", type=int, default=0, help="container statuses per heartbeat")
    args = p.parse_args(argv)

    ctx = multiprocessing.get_context("spawn")
    ports, stop = ctx.Queue(), ctx.Event()
    noop = ctx.Process(target=_serve_noop, args=(ports, stop))
    noop.start()
    try:
        noop_address = f"127.0.0.1:{ports.get(timeout=30)}"
        # the same credentials metadata as for resmgr, so both sides pay for it alike
        ceiling, ceiling_errors = measure(noop_address, "0" * 64, [f"n{i}" for i in range(args.nodes)], args.procs,
                                          args.threads, args.seconds, args.containers)
    finally:
        stop.set()
        noop.join(10)

    with tempfile.TemporaryDirectory() as data_dir:
        proc, address, secret = start_resmgr(data_dir)
        try:
            node_ids = register_nodes(address, secret, args.nodes)
            absorbed, errors = measure(address, secret, node_ids, args.procs, args.threads, args.seconds,
                                       args.containers)
        finally:
            proc.terminate()
            proc.wait(10)

    in_process = handler_rate()
    print(f"\nheartbeats over real gRPC on loopback: {args.nodes} nodes, {args.procs} client processes x "
          f"{args.threads} threads, {args.seconds:g} s each, {args.containers} containers/heartbeat")
    print(f"{'server':<34}{'heartbeats/s':>14}{'errors':>8}")
    print(f"{'no-op gRPC server (ceiling)':<34}{ceiling:>14,.0f}{ceiling_errors:>8}")
    print(f"{'resmgr NodeHeartbeat':<34}{absorbed:>14,.0f}{errors:>8}")
    print(f"{'resmgr handler alone, no gRPC':<34}{in_process:>14,.0f}{'':>8}")
    print(f"{'resmgr / ceiling':<34}{absorbed / ceiling if ceiling else 0:>14.2f}")
    print(f"goal {GOAL:,}/s: {'met' if absorbed >= GOAL else 'not met'} on this machine "
          f"({multiprocessing.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
