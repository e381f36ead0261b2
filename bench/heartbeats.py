"""How many node heartbeats per second the resmgr absorbs over real gRPC on loopback, unary and streamed.

Starts a real resmgr (``python3 -m bin.resmgr``) and, as references, a no-op server of the same
ResourceTracker service on the same gRPC stack (grpc.aio: NodeHeartbeat and HeartbeatStream answer an
empty reply, the raw gRPC ceiling of this machine for each path). It registers N simulated nodes; then
several client processes (grpc.aio, so that one process keeps every node busy) act as the nodes, each
with one heartbeat outstanding at a time, on each path in turn for a fixed time: unary NodeHeartbeat
calls, then one long-lived HeartbeatStream per node. It prints heartbeats/s per path, the server's CPU
use meanwhile, and ratios. Goal of issue 2: 5,000/s (a 5,000-node cluster at YARN's 1 s interval).

    python3 -m bench.heartbeats [--nodes 1000] [--procs 4] [--seconds 3] [--containers 0] [--thread-refs]

``--thread-refs`` adds the no-op references on the thread-pool ``grpc.server`` (where resmgr ran before
it moved to grpc.aio), to show what that stack does with a thousand open streams.
"""

import argparse
import asyncio
import multiprocessing
import pathlib
import subprocess
import sys
import tempfile
import time

import psutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from protos import common_pb2, resmgr_pb2, resmgr_pb2_grpc  # noqa: E402
from yarnflow import auth, rpc  # noqa: E402

GOAL = 5000
WARMUP_S = 0.3     # heartbeats of the first moments of a phase are not counted (connections, streams opening)
GAP_S = 0.4        # between phases, for the previous phase's streams to close
NOOP_SECRET = "0" * 64


class _AioNoopTracker(resmgr_pb2_grpc.ResourceTrackerServicer):
    """The reference on grpc.aio: heartbeats that do nothing at all."""

    async def NodeHeartbeat(self, request, context):
        return resmgr_pb2.NodeHeartbeatResponse()

    async def HeartbeatStream(self, request_iterator, context):
        async for _ in request_iterator:
            yield resmgr_pb2.NodeHeartbeatResponse()


class _ThreadNoopTracker(resmgr_pb2_grpc.ResourceTrackerServicer):
    """The reference on the thread-pool grpc.server."""

    def NodeHeartbeat(self, request, context):
        return resmgr_pb2.NodeHeartbeatResponse()

    def HeartbeatStream(self, request_iterator, context):
        for _ in request_iterator:
            yield resmgr_pb2.NodeHeartbeatResponse()


def _serve_noop(stack, workers, port_queue, stop_event):
    """Child process: run a no-op server on ``stack`` ("aio" or "threads") until told to stop."""
    if stack == "threads":
        server = rpc.make_server(max_workers=workers)   # a stream holds a thread: one per node, and some
        resmgr_pb2_grpc.add_ResourceTrackerServicer_to_server(_ThreadNoopTracker(), server)
        port_queue.put(rpc.bind(server, "127.0.0.1", 0))
        server.start()
        stop_event.wait()
        server.stop(0)
        return

    async def serve():
        server = _aio_server()
        resmgr_pb2_grpc.add_ResourceTrackerServicer_to_server(_AioNoopTracker(), server)
        port_queue.put(rpc.bind(server, "127.0.0.1", 0))
        await server.start()
        while not stop_event.is_set():
            await asyncio.sleep(0.1)
        await server.stop(0)
    asyncio.run(serve())


def _aio_server():
    """A grpc.aio server with the options resmgr's has."""
    import grpc
    return grpc.aio.server(options=rpc.CHANNEL_OPTIONS + [("grpc.so_reuseport", 0)])


def _heartbeat(node_id, seq, containers):
    usage = resmgr_pb2.NodeUsage(cpu_percent=12.5, memory_used_mb=2048, memory_total_mb=16384,
                                 vcores_total=8)
    statuses = [common_pb2.ContainerStatus(container_id=f"{node_id}-c{k}", app_id="app_0_0001",
                                           state=common_pb2.CONTAINER_RUNNING, pid=1000 + k)
                for k in range(containers)]
    return resmgr_pb2.NodeHeartbeatRequest(node_id=node_id, usage=usage, containers=statuses, sequence=seq)


async def _run_phase(stub, metadata, mode, requests, start_at, seconds):
    """Every node of ``requests`` heartbeats on ``mode`` until the phase ends: (counted heartbeats, errors)."""
    counted_from, end = start_at + WARMUP_S, start_at + seconds
    counts, errors = [0] * len(requests), [0] * len(requests)

    async def unary(k, request):
        while time.time() < end:
            try:
                await stub.NodeHeartbeat(request, metadata=metadata, timeout=10)
            except Exception:
                errors[k] += 1
                continue
            if counted_from <= time.time() < end:
                counts[k] += 1

    async def stream(k, request):
        call = stub.HeartbeatStream(metadata=metadata)
        try:
            while time.time() < end:
                await call.write(request)
                await call.read()
                if counted_from <= time.time() < end:
                    counts[k] += 1
            await call.done_writing()
        except Exception:
            errors[k] += 1   # a broken stream ends this node's phase
        finally:
            call.cancel()

    await asyncio.sleep(max(0.0, start_at - time.time()))
    node = unary if mode == "unary" else stream
    await asyncio.gather(*[node(k, r) for k, r in enumerate(requests)])
    return sum(counts), sum(errors)


def _client(node_ids, containers, ready_queue, phase_queue, result_queue):
    """Child process: act as ``node_ids`` through every phase ``(address, secret, mode, start_at, seconds)``."""
    import grpc

    async def run():
        requests = [_heartbeat(n, 0, containers) for n in node_ids]
        ready_queue.put(True)
        phases = phase_queue.get()
        results = []
        for address, secret, mode, start_at, seconds in phases:
            async with grpc.aio.insecure_channel(address, options=rpc.CHANNEL_OPTIONS) as channel:
                await channel.channel_ready()
                stub = resmgr_pb2_grpc.ResourceTrackerStub(channel)
                results.append(await _run_phase(stub, auth.member_metadata(secret), mode, requests,
                                                start_at, seconds))
        result_queue.put(results)
    asyncio.run(run())


class _Context:
    """Just enough of a gRPC server context to call the servicer directly."""

    def __init__(self, metadata):
        self._metadata = metadata

    def invocation_metadata(self):
        return self._metadata

    def abort(self, code, details):
        raise RuntimeError(f"{code}: {details}")


def handler_rate(seconds=1.0):
    """Heartbeats/s of the resmgr's own heartbeat handler, called in-process without gRPC (parse included)."""
    from resmgr.daemon import ResourceManager
    from resmgr.model import Res
    from resmgr.service import ResourceTrackerServicer

    with tempfile.TemporaryDirectory() as data_dir:
        rm = ResourceManager(data_dir)
        try:
            rm.register_node("n1:1", "n1", Res(8, 16384), 20000, 30000, [])
            servicer = ResourceTrackerServicer(rm)
            auth.authenticate(_Context(auth.member_metadata(rm.secret)), rm.secret, allow_app=False)
            raw = _heartbeat("n1:1", 0, 0).SerializeToString()
            n, end = 0, time.perf_counter() + seconds
            while time.perf_counter() < end:
                for _ in range(100):
                    request = resmgr_pb2.NodeHeartbeatRequest.FromString(raw)
                    servicer.heartbeat_reply(request).SerializeToString()
                n += 100
            return n / seconds
        finally:
            rm.stop(grace=0)


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
    futures = [stub.RegisterNode.future(resmgr_pb2.RegisterNodeRequest(
        node_id=node_id, hostname=node_id.split(":")[0], port_range_start=20000, port_range_end=30000,
        capability=common_pb2.Resource(vcores=8, memory_mb=16384)), timeout=60) for node_id in ids]
    for f in futures:
        f.result()
    return ids


def start_noop(ctx, stack, workers):
    """A no-op reference server process; returns (process, stop event, address)."""
    ports, stop = ctx.Queue(), ctx.Event()
    proc = ctx.Process(target=_serve_noop, args=(stack, workers, ports, stop))
    proc.start()
    return proc, stop, f"127.0.0.1:{ports.get(timeout=30)}"


def _cpu_seconds(pid):
    t = psutil.Process(pid).cpu_times()
    return t.user + t.system


def measure(ctx, targets, node_ids, procs, seconds, containers):
    """Run every target ``(label, pid, address, secret, mode)`` in turn; one row (label, rate, errors, cpu%) each."""
    ready, schedule, results = ctx.Queue(), ctx.Queue(), ctx.Queue()
    children = [ctx.Process(target=_client, args=(node_ids[i::procs], containers, ready, schedule, results))
                for i in range(procs)]
    for c in children:
        c.start()
    for _ in children:   # the clock starts once every client process is up
        ready.get(timeout=60)
    start = time.time() + 0.5
    phases = [(address, secret, mode, start + i * (seconds + GAP_S), seconds)
              for i, (_, _, address, secret, mode) in enumerate(targets)]
    for _ in children:
        schedule.put(phases)
    cpu = []
    for (_, pid, *_), (_, _, _, start_at, _) in zip(targets, phases):
        time.sleep(max(0.0, start_at + WARMUP_S - time.time()))
        before = _cpu_seconds(pid)
        time.sleep(max(0.0, start_at + seconds - time.time()))
        cpu.append(100.0 * (_cpu_seconds(pid) - before) / (seconds - WARMUP_S))
    got = [results.get(timeout=len(targets) * (seconds + GAP_S) + 60) for _ in children]
    for c in children:
        c.join()
    counted_s = seconds - WARMUP_S
    return [(label, sum(g[i][0] for g in got) / counted_s, sum(g[i][1] for g in got), cpu[i])
            for i, (label, *_) in enumerate(targets)]


def main(argv=None):
    """Run every measurement and print the table."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--procs", type=int, default=4, help="client processes")
    p.add_argument("--seconds", type=float, default=3.0, help="measuring time per path and server")
    p.add_argument("--containers", type=int, default=0, help="container statuses per heartbeat")
    p.add_argument("--thread-refs", action="store_true",
                   help="also measure no-op references on the thread-pool grpc.server")
    args = p.parse_args(argv)
    if args.nodes < 1 or args.procs < 1 or args.seconds <= WARMUP_S:
        p.error(f"--nodes and --procs must be >= 1 and --seconds > {WARMUP_S}")

    began = time.time()
    ctx = multiprocessing.get_context("spawn")
    noops = [start_noop(ctx, "aio", 0)]
    if args.thread_refs:
        noops.append(start_noop(ctx, "threads", args.nodes + 16))
    with tempfile.TemporaryDirectory() as data_dir:
        proc, address, secret = start_resmgr(data_dir)
        try:
            node_ids = register_nodes(address, secret, args.nodes)
            (aio, _, aio_address) = noops[0]
            targets = [("no-op unary (grpc.aio)", aio.pid, aio_address, NOOP_SECRET, "unary"),
                       ("no-op stream (grpc.aio)", aio.pid, aio_address, NOOP_SECRET, "stream")]
            if args.thread_refs:
                (threads, _, threads_address) = noops[1]
                targets += [("no-op unary (grpc.server)", threads.pid, threads_address, NOOP_SECRET, "unary"),
                            ("no-op stream (grpc.server)", threads.pid, threads_address, NOOP_SECRET, "stream")]
            targets += [("resmgr NodeHeartbeat (unary)", proc.pid, address, secret, "unary"),
                        ("resmgr HeartbeatStream", proc.pid, address, secret, "stream")]
            rows = measure(ctx, targets, node_ids, args.procs, args.seconds, args.containers)
        finally:
            proc.terminate()
            proc.wait(10)
            for noop, stop, _ in noops:
                stop.set()
                noop.join(10)
    in_process = handler_rate(0.5)
    print_table(args, rows, in_process, time.time() - began)
    return 0


def print_table(args, rows, in_process, took_s):
    """The figures, with each resmgr path against its no-op reference."""
    rate = {label: r for label, r, _, _ in rows}
    ref = {"resmgr NodeHeartbeat (unary)": rate["no-op unary (grpc.aio)"],
           "resmgr HeartbeatStream": rate["no-op stream (grpc.aio)"]}
    print(f"\nheartbeats over real gRPC on loopback: {args.nodes} nodes, each with one heartbeat outstanding, "
          f"in {args.procs} client processes; {args.seconds:g} s per path; {args.containers} containers/heartbeat")
    print(f"{'path':<32}{'heartbeats/s':>14}{'errors':>8}{'server CPU':>12}{'per core':>10}{'/ no-op':>9}")
    for label, r, errors, cpu in rows:
        ratio = f"{r / ref[label]:.2f}" if label in ref and ref[label] else ""
        per_core = f"{r / (cpu / 100):,.0f}" if cpu > 0 else ""
        print(f"{label:<32}{r:>14,.0f}{errors:>8}{cpu:>11.0f}%{per_core:>10}{ratio:>9}")
    print(f"{'resmgr handler alone, no gRPC':<32}{in_process:>14,.0f}")
    unary, stream = rate["resmgr NodeHeartbeat (unary)"], rate["resmgr HeartbeatStream"]
    print("(server CPU: the server process's CPU use while measured, 100% = one core; per core: heartbeats/s "
          "it would take at one core of its own, the clients share this machine's cores with it)")
    print(f"resmgr stream / unary: {stream / unary if unary else 0:.2f}x")
    print(f"goal {GOAL:,}/s: {'met' if stream >= GOAL else 'not met'} by HeartbeatStream on this machine "
          f"({multiprocessing.cpu_count()} CPUs); whole run {took_s:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
