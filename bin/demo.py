"""``./dev demo``: a local cluster, the map/reduce mean app submitted to it, the answer printed and checked."""

import pathlib
import sys
import tempfile

import click

from yarnflow import client as yf_client
from yarnflow import local_cluster
from yarnflow.errors import YarnflowError

APP = pathlib.Path(__file__).resolve().parent.parent / "examples" / "mapreduce_mean_app.py"


def run_demo(nodes=2, workers=2, values=1_000_000, echo=print):
    """Bring a throw-away local cluster up, run the mean app on it, return True when its answer checks out."""
    home = tempfile.mkdtemp(prefix="yarnflow-demo-")
    echo(f"starting a local cluster of {nodes} nodes under {home}")
    info, _ = local_cluster.up(nodes=nodes, home=home)
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
            return answer.endswith("OK")
    finally:
        local_cluster.down(home)
        echo("local cluster stopped")


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
