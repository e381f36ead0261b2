"""The two layers together: the map/reduce mean app submitted to a real test cluster."""

import pathlib
import re

import pytest

from tests.cluster import LocalTestCluster
from yarnflow import client as yc

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

APP = pathlib.Path(__file__).resolve().parent.parent / "examples" / "mapreduce_mean_app.py"
ASK = yc.RoleAsk(memory="1g", vcores=1)


@pytest.mark.parametrize("ps", [0, 1])
def test_mapreduce_mean_app_through_submit(tmp_path, ps):
    with LocalTestCluster(tmp_path / "cluster") as cluster:
        cluster.add_node(vcores=4, memory="4g")
        cluster.add_node(vcores=4, memory="4g")
        cluster.wait_for_nodes(2)
        spec = yc.build_spec(APP.name, workers=3, ps=ps, worker=ASK, ps_ask=ASK,
                             args=["--values", "200000"])
        with cluster.client() as client:
            app_id = client.submit(APP, spec)
            report = client.wait(app_id, timeout=90)
            assert yc.succeeded(report), f"{report.diagnostics}\n{cluster.log_tails()}"
            answer = client.log_text(app_id, "worker:0")
            # every other task served its part and exited 0 when task 0 was done
            others = [c for c in report.containers if c.role != "appmaster" and
                      (c.role, c.task_index) != ("worker", 0)]
            assert len(others) == 2 + ps and all(c.status.exit_code == 0 for c in others)
    match = re.search(r"mean of 200000 values over 3 workers: ([\d.]+) \(numpy: ([\d.]+)\) OK", answer)
    assert match, answer
    assert abs(float(match.group(1)) - 0.5) < 0.01
