"""``./dev demo`` (the README's first command, ``python -m bin.demo``): a throw-away local cluster runs the
map/reduce mean app, prints its answer and exits 0."""

import random
import re

from bin import demo
from yarnflow import local_cluster

# `yarnflow local up` gives its nodes task ports from LOCAL_PORT_BASE (21000) on, and so would the demo: a
# developer's running local cluster could hand out the same ports. Take another range, as tests/cluster.py does.
DEMO_PORT_BASES = range(23000, 30000, 2 * local_cluster.LOCAL_PORTS_PER_NODE)


def test_demo_prints_the_answer_and_keeps_nothing(tmp_path):
    lines = []
    ok = demo.run_demo(values=10000, echo=lines.append, home=tmp_path / "home",
                       port_base=random.choice(DEMO_PORT_BASES))
    output = "\n".join(lines)
    assert ok, output
    assert re.search(r"worker:0 says: mean of 10000 values over 2 workers: 0\.\d+ \(numpy: 0\.\d+\) OK", output), output
    assert "local cluster stopped" in output


def test_demo_command_exits_1_with_a_one_line_error_on_bad_input():
    from click.testing import CliRunner
    result = CliRunner().invoke(demo.main, ["--nodes", "0"])
    assert result.exit_code == 1
    assert result.output.strip() == "demo: --nodes must be >= 1, got 0"
    result = CliRunner().invoke(demo.main, ["--workers", "3", "--values", "2"])
    assert result.exit_code == 1 and result.output.strip() == "demo: --values must be >= 3, got 2"
