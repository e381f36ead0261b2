"""`yarnflow nodes | apps | status APP | logs APP | kill APP | local up/down`: look at and steer a cluster;
`yarnflow tf-coverage [PROGRAM...]`: how much of TF 1.15's API tasklayer provides, and what a program lacks."""

import datetime
import json
import sys
import time

import click
import grpc

from yarnflow import client as yc
from yarnflow import local_cluster, resources, rpc
from yarnflow import tf_coverage as tf_coverage_lib
from yarnflow import tf_coverage_report
from yarnflow.errors import YarnflowError

RESMGR_HELP = "resmgr HOST:PORT (default: $YARNFLOW_RESMGR, else the local cluster's)"
SECRET_HELP = "file holding the cluster secret (default: $YARNFLOW_SECRET, else the local cluster's)"


def run_command(command, argv=None, prog_name=None, obj=None):
    """Run a click command so that every user error is one line on stderr and a non-zero exit."""
    prog_name = prog_name or command.name
    try:
        return command.main(args=argv, prog_name=prog_name, obj=obj, standalone_mode=False) or 0
    except click.exceptions.Abort:
        click.echo(f"{prog_name}: interrupted", err=True)
        return 130
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.format_message(), err=True)
        return exc.exit_code
    except click.ClickException as exc:
        click.echo(f"{prog_name}: error: {exc.format_message()}", err=True)
        return exc.exit_code
    except YarnflowError as exc:
        click.echo(f"{prog_name}: error: {exc}", err=True)
        return 1
    except grpc.RpcError as exc:
        click.echo(f"{prog_name}: error: {rpc.describe_rpc_error(exc)}", err=True)
        return 1
    except KeyboardInterrupt:
        click.echo(f"{prog_name}: interrupted", err=True)
        return 130
    except BrokenPipeError:
        return 1


def connection_options(fn):
    """The --resmgr and --secret-file options every command that talks to resmgr takes."""
    fn = click.option("--secret-file", default=None, help=SECRET_HELP)(fn)
    return click.option("--resmgr", default=None, metavar="HOST:PORT", help=RESMGR_HELP)(fn)


def table(rows, headers):
    """Print ``rows`` under ``headers`` as aligned columns."""
    rows = [[str(c) for c in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    for row in [headers, *rows]:
        click.echo("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())


def when(ts):
    """A unix time as local HH:MM:SS (or ``-``)."""
    return datetime.datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M:%S") if ts else "-"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    """Look at and steer a yarnflow cluster."""


@cli.command()
@connection_options
def nodes(resmgr, secret_file):
    """List the cluster's nodes: state, containers, resources used of capability, probed usage."""
    with yc.Client(resmgr, secret_file) as client:
        reports = client.nodes()
    now = time.time()
    rows = [[n.node_id, yc.node_state_name(n.state), n.num_containers,
             f"{n.used.vcores}/{n.capability.vcores}",
             f"{resources.format_memory_mb(n.used.memory_mb)}/{resources.format_memory_mb(n.capability.memory_mb)}",
             f"{n.used.gpus}/{n.capability.gpus}", f"{n.usage.cpu_percent:.0f}%",
             f"{now - n.last_heartbeat:.1f}s ago" if n.last_heartbeat else "-"]
            for n in sorted(reports, key=lambda n: n.node_id)]
    table(rows, ["NODE", "STATE", "CONTAINERS", "VCORES", "MEMORY", "GPUS", "CPU", "HEARTBEAT"])


@cli.command()
@connection_options
def apps(resmgr, secret_file):
    """List the cluster's applications."""
    with yc.Client(resmgr, secret_file) as client:
        reports = client.apps()
    rows = [[a.app_id, a.name, a.queue, yc.app_state_name(a.state), yc.final_status_name(a.final_status),
             f"{a.tasks_running}/{a.tasks_total}", when(a.submitted_at)]
            for a in sorted(reports, key=lambda a: a.app_id)]
    table(rows, ["APP", "NAME", "QUEUE", "STATE", "FINAL", "TASKS", "SUBMITTED"])


@cli.command()
@click.argument("app_id")
@connection_options
def status(app_id, resmgr, secret_file):
    """Show one application and every container it has had."""
    with yc.Client(resmgr, secret_file) as client:
        report = client.report(app_id)
    click.echo(f"app          {report.app_id} ({report.name}, queue {report.queue})")
    click.echo(f"state        {yc.app_state_name(report.state)}, final status "
               f"{yc.final_status_name(report.final_status)}")
    if not yc.is_terminal(report):
        click.echo(f"tasks        {report.tasks_running}/{report.tasks_total} running")
    click.echo(f"submitted    {when(report.submitted_at)}; started {when(report.started_at)}; "
               f"finished {when(report.finished_at)}")
    click.echo(f"appmaster    attempt {report.am_attempt} on {report.am_host or '-'}")
    if report.diagnostics:
        click.echo(f"diagnostics  {report.diagnostics}")
    rows = [[yc.task_name(c), c.attempt, c.container_id, c.node_id, f"{c.host}:{c.port}" if c.port else "-",
             yc.container_state_name(c.status.state),
             c.status.exit_code if c.status.state == yc.common_pb2.CONTAINER_COMPLETE else "-"]
            for c in report.containers]
    if rows:
        click.echo("")
        table(rows, ["TASK", "ATTEMPT", "CONTAINER", "NODE", "ENDPOINT", "STATE", "EXIT"])


@cli.command()
@click.argument("app_id")
@click.option("--task", default=None, metavar="ROLE:INDEX",
              help="one task (worker:2, ps:0, appmaster, or a container id); default: every container")
@click.option("--stderr", "use_stderr", is_flag=True, help="read stderr instead of stdout")
@click.option("-f", "--follow", is_flag=True, help="keep printing as the task writes (default task: appmaster)")
@connection_options
def logs(app_id, task, use_stderr, follow, resmgr, secret_file):
    """Print the logs of an application's containers, read from their node agents."""
    stream = "stderr" if use_stderr else "stdout"
    out = sys.stdout.buffer
    with yc.Client(resmgr, secret_file) as client:
        if follow:
            containers = [client.wait_for_container(app_id, task)]
        elif task:
            containers = [client.find_container(app_id, task)]
        else:
            containers = list(client.report(app_id).containers)
        for container in containers:
            if len(containers) == 1:
                _copy(client.read_log(app_id, container, stream, follow=follow), out)
                continue
            out.write(f"==> {yc.task_name(container)} attempt {container.attempt} "
                      f"({container.container_id} on {container.node_id}) {stream} <==\n".encode())
            try:
                _copy(client.read_log(app_id, container, stream), out)
            except YarnflowError as exc:  # an attempt that never started has no log: say so, show the others
                out.write(f"(no log: {exc})\n".encode())
                out.flush()


def _copy(chunks, out):
    for data in chunks:
        out.write(data)
        out.flush()


@cli.command()
@click.argument("app_id")
@connection_options
def kill(app_id, resmgr, secret_file):
    """Kill an application: stop its appmaster and every task."""
    with yc.Client(resmgr, secret_file) as client:
        killed = client.kill(app_id)
    click.echo(f"{app_id}: killed" if killed else f"{app_id}: had already finished")


@cli.group()
def local():
    """A whole cluster on this machine, in the background."""


@local.command("up")
@click.option("--nodes", default=2, show_default=True, type=int, help="how many node agents")
@click.option("--vcores", default=None, type=int, help="vcores per node (default: detected)")
@click.option("--memory", default=None, help="memory per node, like 8g (default: detected)")
@click.option("--port-base", default=local_cluster.LOCAL_PORT_BASE, show_default=True, type=int,
              help=f"task ports of node i come from BASE + (i-1)*{local_cluster.LOCAL_PORTS_PER_NODE} on")
def local_up(nodes, vcores, memory, port_base):
    """Start resmgr and node agents under ~/.yarnflow/local (or $YARNFLOW_HOME/local)."""
    if memory is not None:
        resources.parse_memory_mb(memory)  # a malformed size fails here, before anything starts
    info, started = local_cluster.up(nodes=nodes, vcores=vcores, memory=memory, port_base=port_base)
    if not started:
        click.echo(f"a local cluster is already up: resmgr at {info['resmgr']} "
                   f"({len(info['processes']) - 1} nodes); `yarnflow local down` stops it")
        return
    click.echo(f"local cluster up: resmgr at {info['resmgr']}, {nodes} node(s)")
    click.echo(f"  data and logs in {info['dir']}; secret in {info['secret_file']}")


@local.command("down")
def local_down():
    """Stop the local cluster and its containers."""
    count = local_cluster.down()
    click.echo(f"local cluster down ({count} daemon(s) stopped)" if count else "no local cluster is running")


@cli.command("tf-coverage")
@click.argument("programs", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="print JSON instead of text")
@click.option("--missing", "missing_module", default=None, metavar="MODULE",
              help="list the names of one TF 1.15 module (tf.nn, or nn) that tasklayer lacks")
@click.option("--all-modules", is_flag=True, help="a row for every module of TF 1.15's API, not only the main ones")
def tf_coverage(programs, as_json, missing_module, all_modules):
    """How much of TF 1.15's API tasklayer provides, per module; given PROGRAMS (files or directories), the TF1
    symbols they use that tasklayer lacks, with file:line (exit status 1 when any is missing)."""
    try:
        namespace = tf_coverage_lib.load_namespace()
        if programs:
            report = tf_coverage_report.scan_report(programs, namespace)
            lines = tf_coverage_report.format_scan(report, programs)
            status = 1 if report["missing"] else 0
        elif missing_module:
            report = tf_coverage_report.missing_entries(namespace, missing_module)
            lines, status = tf_coverage_report.format_missing(report), 0
        else:
            api = tf_coverage_lib.load_api()
            modules = sorted(api.modules) if all_modules else tf_coverage_lib.TABLE_MODULES
            rows = tf_coverage_report.coverage_entries(namespace, modules, api)
            report = {"modules": rows, "goal": tf_coverage_report.goal_line(rows)}
            lines, status = [*tf_coverage_report.format_table(rows), report["goal"]], 0
    except tf_coverage_lib.ProgramError as exc:
        raise click.UsageError(str(exc)) from None
    click.echo(json.dumps(report, indent=1) if as_json else "\n".join(lines))
    return status


def main(argv=None):
    """Entry point of `yarnflow`."""
    sys.exit(run_command(cli, argv, prog_name="yarnflow"))


if __name__ == "__main__":
    main()
