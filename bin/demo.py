"""``./dev demo``: a local cluster, the map/reduce mean app submitted to it, the answer printed and checked."""

import pathlib
import shutil
import sys
import tempfile

import click

from yarnflow import client as yf_client
from yarnflow import local_cluster
from yarnflow.errors import YarnflowError

APP = pathlib.Path(__file__).resolve().parent.parent / "examples" / "mapreduce_mean_app.py"


def run_demo(nodes=2, workers=2, values=1_000_000, echo=print, home=None, port_base=local_cluster.LOCAL_PORT_BASE):
    """Bring a throw-away local cluster up (under ``home``, else a fresh temporary folder, removed when the
    answer checks out), run the mean app on it, return True when its answer checks out."""
    for name, value, least in (("--nodes", nodes, 1), ("--workers", workers, 1), ("--values", values, workers)):
        if value < least:
            raise YarnflowError(f"{name} must be >= {least}, got {value}")
    throwaway = home is None
    home = tempfile.mkdtemp(prefix="yarnflow-demo-") if throwaway else str(home)
    echo(f"starting a local cluster of {nodes} nodes under {home}")
    info, _ = local_cluster.up(nodes=nodes, home=home, port_base=port_base)
    ok = False
    try:
        with yf_client.Client(resmgr=info["resmgr"], secret_file=info["secret_file"]) as client:
            root, entry = yf_client.resolve_entry(APP)
            spec = yf_client.build_spec(entry, workers=workers, args=["--values", str(values)],
                                        name="mapreduce-mean")
            app_id = client.submit(root, spec)
            echo(f"submitted {APP.name} --workers {workers} as {app_id}")
            report = client.wait(app_id, on_change=lambda r: echo(yf_client.format_report_line(r)),
                                 timeout=300)
            answer = client.log_text(app_id, "worker:0").strip()
            echo(f"worker:0 says: {answer.splitlines()[-1] if answer else '(nothing)'}")
            if not yf_client.succeeded(report):
                echo(f"the app did not succeed: {report.diagnostics}")
                return False
            ok = answer.endswith("OK")
            return ok
    finally:
        local_cluster.down(home)
        if throwaway and ok:
            shutil.rmtree(home, ignore_errors=True)
            echo("local cluster stopped and removed")
        else:
            echo(f"local cluster stopped; its logs stay under {home}")


@click.command()
@click.option("--nodes", default=2, show_default=True, help="node agents in the local cluster")
@click.option("--workers", default=2, show_default=True, help="worker tasks of the app")
@click.option("--values", default=1_000_000, show_default=True, help="how many values the map feeds")
def main(nodes, workers, values):
    """Run the map/reduce mean example on a throw-away local cluster and check its answer."""
    try:
        ok = run_demo(nodes, workers, values)
    except YarnflowError as exc:
        click.echo(f"demo: {exc}", err=True)
        sys.exit(1)
    click.echo("demo: OK" if ok else "demo: FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
