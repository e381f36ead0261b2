"""Translation between protobuf messages and the resmgr's plain values."""

from protos import common_pb2, resmgr_pb2
from resmgr.model import ContainerStatus, Res


def res_from_proto(r):
    """A Resource message as Res."""
    return Res(r.vcores, r.memory_mb, r.gpus)


def res_to_proto(r):
    """A Res as a Resource message."""
    return common_pb2.Resource(vcores=r.vcores, memory_mb=r.memory_mb, gpus=r.gpus)


def status_from_proto(s):
    """A ContainerStatus message as the plain ContainerStatus."""
    return ContainerStatus(s.container_id, s.app_id, s.state, s.exit_code, s.diagnostics, s.pid,
                           s.started_at, s.finished_at)


def status_to_proto(s):
    """A plain ContainerStatus as its message."""
    return common_pb2.ContainerStatus(container_id=s.container_id, app_id=s.app_id, state=s.state,
                                      exit_code=s.exit_code, diagnostics=s.diagnostics, pid=s.pid,
                                      started_at=s.started_at, finished_at=s.finished_at)


def allocation_to_proto(p, token):
    """A scheduler Placement as an Allocation message carrying its container token."""
    return resmgr_pb2.Allocation(ask_id=p.ask_id, container_id=p.container_id, node_id=p.node_id,
                                 host=p.hostname, port=p.port, resource=res_to_proto(p.resource),
                                 container_token=token, gpu_indices=list(p.gpu_indices))


def app_report(app, waiting=""):
    """An AppRecord as an ApplicationReport message; ``waiting`` (why a gang of a live app is not placed yet,
    see ``Scheduler.waiting_reason``) joins its diagnostics, as YARN reports an app still waiting."""
    diagnostics = app.diagnostics
    if waiting and not app.terminal:
        diagnostics = f"{diagnostics}; {waiting}" if diagnostics else waiting
    report = resmgr_pb2.ApplicationReport(
        app_id=app.app_id, name=app.name, queue=app.queue, state=app.state,
        final_status=app.final_status, diagnostics=diagnostics, submitted_at=app.submitted_at,
        started_at=app.started_at, finished_at=app.finished_at, am_host=app.am_host,
        am_attempt=app.am_attempt, tasks_running=app.tasks_running, tasks_total=app.tasks_total)
    if app.spec is not None:
        report.spec.CopyFrom(app.spec)
    for c in app.containers.values():
        report.containers.add(container_id=c.container_id, node_id=c.node_id, role=c.role,
                              task_index=c.task_index, attempt=c.attempt, host=c.host, port=c.port,
                              status=status_to_proto(c.status))
    return report


def node_report(record, used):
    """A NodeRecord (with the resources allocated on it) as a NodeReport message."""
    report = resmgr_pb2.NodeReport(node_id=record.node_id, hostname=record.hostname, state=record.state,
                                   capability=res_to_proto(record.capability), used=res_to_proto(used),
                                   num_containers=len(record.expected), last_heartbeat=record.last_heartbeat)
    if record.usage is not None:
        report.usage.CopyFrom(record.usage)
    return report
