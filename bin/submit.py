"""`submit app.py --ps 1 --workers 4 [--wait] [--args ...]`: upload an app and run it on the cluster."""

import sys

import click

from bin.yarnflow import connection_options, run_command
from yarnflow import client as yc

ARGS_MARKER = "--args"


def split_script_args(argv):
    """Split ``argv`` at ``--args``: (submit's own, the script's)."""
    argv = list(argv)
    if ARGS_MARKER in argv:
        i = argv.index(ARGS_MARKER)
        return argv[:i], argv[i + 1:]
    return argv, []


def role_options(role, default_count):
    """--ROLEs, --ROLE-memory, --ROLE-vcores, --ROLE-gpus."""
    def decorate(fn):
        fn = click.option(f"--{role}-gpus", default=0, show_default=True, type=int,
                          help=f"GPUs per {role} task")(fn)
        fn = click.option(f"--{role}-vcores", default=yc.DEFAULT_VCORES, show_default=True, type=int,
                          help=f"vcores per {role} task")(fn)
        fn = click.option(f"--{role}-memory", default=yc.DEFAULT_MEMORY, show_default=True,
                          help=f"memory per {role} task, like 512m or 2g")(fn)
        count_flag = "--ps" if role == "ps" else f"--{role}s"
        return click.option(count_flag, f"{role}_count", default=default_count, show_default=True, type=int,
                            help=f"how many {role} tasks")(fn)
    return decorate


@click.command(context_settings={"help_option_names": ["-h", "--help"]},
               epilog="Everything after --args is passed to the script, e.g. "
                      "`submit train.py --workers 2 --args --epochs 3`.")
@click.argument("path", type=click.Path())
@click.option("--entry", default=None, help="the script to run when PATH is a directory (relative to it)")
@role_options("ps", 0)
@role_options("worker", 1)
@click.option("--name", default=None, help="the app's name (default: the script's)")
@click.option("--queue", default="default", show_default=True, help="the queue to submit to")
@click.option("--max-task-attempts", default=2, show_default=True, type=int,
              help="how many times a task may be started before the app fails")
@click.option("--wait", is_flag=True, help="stream the app's state until it ends; exit 0 only if it SUCCEEDED")
@connection_options
@click.pass_obj
def submit(obj, path, entry, ps_count, ps_memory, ps_vcores, ps_gpus, worker_count, worker_memory,
           worker_vcores, worker_gpus, name, queue, max_task_attempts, wait, resmgr, secret_file):
    """Upload PATH (a script, or a directory with --entry) and run it as a ps/worker app."""
    # everything is checked here, before any RPC
    root, entry = yc.resolve_entry(path, entry)
    spec = yc.build_spec(
        entry, workers=worker_count, ps=ps_count, args=(obj or {}).get("script_args", ()),
        worker=yc.RoleAsk(memory=worker_memory, vcores=worker_vcores, gpus=worker_gpus),
        ps_ask=yc.RoleAsk(memory=ps_memory, vcores=ps_vcores, gpus=ps_gpus),
        name=name, queue=queue, max_task_attempts=max_task_attempts)
    with yc.Client(resmgr, secret_file) as client:
        app_id = client.submit(root, spec)
        click.echo(app_id)
        if not wait:
            return 0
        try:
            report = client.wait(app_id, on_change=lambda r: click.echo(yc.format_report_line(r)))
        except KeyboardInterrupt:
            click.echo(f"stopped waiting; {app_id} goes on (`yarnflow kill {app_id}` stops it)", err=True)
            return 130
    if yc.succeeded(report):
        return 0
    if report.diagnostics:
        click.echo(f"diagnostics: {report.diagnostics}", err=True)
    return 1


def main(argv=None):
    """Entry point of `submit`."""
    own, script_args = split_script_args(sys.argv[1:] if argv is None else argv)
    sys.exit(run_command(submit, own, prog_name="submit", obj={"script_args": script_args}))


if __name__ == "__main__":
    main()
