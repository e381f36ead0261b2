"""TF1 API coverage: the scanner finds what a program uses however it imports TF, names resolve (stubs and modules
are not symbols), percentages add up, the symbol lists are well-formed, the corpus needs nothing we lack, and
`yarnflow tf-coverage` answers as a script expects."""

import doctest
import importlib
import json
import keyword
import os
import pathlib
import subprocess
import sys
import textwrap
import types

import pytest

from bin import yarnflow as yarnflow_cli
from yarnflow import tf_coverage as cov
from yarnflow import tf_coverage_report as report
from yarnflow import tf_scan

REPO = pathlib.Path(__file__).resolve().parent.parent


def uses(source):
    """``[(line, "tf.x.y", kind)]`` the scanner finds in ``source``."""
    return [(u.line, tf_scan.dotted(u.path), u.kind) for u in tf_scan.scan_source(textwrap.dedent(source))]


def names(source):
    return [name for _, name, _ in uses(source)]


# ---------------------------------------------------------------- the scanner

def test_import_tensorflow_as_tf_collects_whole_chains():
    found = uses("""\
        import tensorflow as tf
        x = tf.placeholder(tf.float32, [None, 3])
        cell = tf.nn.rnn_cell.BasicLSTMCell(4)
        opt = tf.train.AdamOptimizer(0.1).minimize(x)
        """)
    assert found == [(2, "tf.placeholder", "attribute"), (2, "tf.float32", "attribute"),
                     (3, "tf.nn.rnn_cell.BasicLSTMCell", "attribute"), (4, "tf.train.AdamOptimizer", "attribute")]


@pytest.mark.parametrize("imports", [
    "import tensorflow.compat.v1 as tf",
    "from tensorflow.compat import v1 as tf",
    "import tasklayer as tf",
])
def test_every_way_of_importing_the_v1_api_is_its_root(imports):
    assert names(imports + "\ny = tf.nn.relu(tf.layers.dense(x, 3))\n") == ["tf.nn.relu", "tf.layers.dense"]


def test_rebinding_an_imported_name_keeps_the_imports_meaning():
    # TF 2's idiom: the right-hand side is a use (tasklayer must have tf.compat.v1), and tf stays the root
    assert names("import tensorflow as tf\ntf = tf.compat.v1\ntf.placeholder\n") == \
        ["tf.compat.v1", "tf.placeholder"]


def test_plain_import_tensorflow_and_compat_v1_chains():
    assert names("import tensorflow\ntensorflow.train.Saver()\n") == ["tf.train.Saver"]
    assert names("import tensorflow as tf\ntf.compat.v1.placeholder\n") == ["tf.compat.v1.placeholder"]


def test_from_imports_and_aliases_are_followed():
    found = uses("""\
        from tensorflow import nn as tnn, layers
        from tensorflow.contrib import slim
        import tensorflow.contrib.layers as cl
        tnn.relu(x)
        layers.dense(x, 2)
        slim.conv2d(x)
        cl.flatten(x)
        """)
    assert found == [
        (1, "tf.nn", "import"), (1, "tf.layers", "import"),
        (2, "tf.contrib", "import"), (2, "tf.contrib.slim", "import"),
        (3, "tf.contrib.layers", "import"),
        (4, "tf.nn.relu", "attribute"), (5, "tf.layers.dense", "attribute"),
        (6, "tf.contrib.slim.conv2d", "attribute"), (7, "tf.contrib.layers.flatten", "attribute")]


def test_assigned_aliases_are_followed_in_any_order_and_scope():
    assert names("""\
        import tensorflow as tf
        def build(x):
            return layers.conv2d(x, 3, 3)
        layers = tf.layers
        dense = layers.dense
        dense(x, 3)
        """) == ["tf.layers.conv2d", "tf.layers", "tf.layers.dense"]  # a bare `dense(...)`: the alias is the use


def test_imports_inside_functions_count_and_other_modules_do_not():
    assert names("""\
        import numpy as np
        from . import helpers
        np.nn.relu(1)
        def main():
            import tensorflow as tf
            tf.Session()
        tf.foo = 1
        del tf.bar
        """) == ["tf.Session"]


def test_the_scanner_raises_syntax_errors():
    with pytest.raises(SyntaxError):
        tf_scan.scan_source("import tensorflow as tf\ndef (:\n")


# ---------------------------------------------------------------- resolving names

def _stub():
    """Not yet."""
    raise NotImplementedError("later")


class _StubClass:
    def __init__(self):
        raise NotImplementedError


class _Keys:
    LOSSES = "losses"


def fake_namespace():
    """A stand-in for tasklayer: a few real names, a stub, a stub class, a module where TF1 has a function."""
    nn = types.ModuleType("fake.nn")
    nn.relu, nn.crelu = abs, _stub
    ns = types.ModuleType("fake")
    ns.nn, ns.GraphKeys, ns.Thing, ns.float32 = nn, _Keys, _StubClass, 1.5
    ns.gradients = types.ModuleType("fake.gradients")
    return ns


@pytest.mark.parametrize("path,ok,missing,reason", [
    (("nn", "relu"), True, (), ""),
    (("nn", "relu", "__name__"), True, (), ""),           # past a function: its attributes are not API names
    (("nn", "crelu"), False, ("nn", "crelu"), "a stub"),
    (("Thing",), False, ("Thing",), "a stub"),
    (("nn", "conv2d"), False, ("nn", "conv2d"), "not provided"),
    (("contrib", "rnn", "LSTMCell"), False, ("contrib",), "not provided"),
    (("GraphKeys", "LOSSES"), True, (), ""),
    (("GraphKeys", "NOPE"), False, ("GraphKeys", "NOPE"), "not provided"),
    (("float32", "as_numpy_dtype"), True, (), ""),        # an instance: its attributes are the program's business
])
def test_resolve(path, ok, missing, reason):
    res = cov.resolve(fake_namespace(), path)
    assert (res.ok, res.missing) == (ok, missing)
    assert res.reason.startswith(reason)


def test_a_module_is_not_the_function_tf1_has_there():
    assert cov.resolve(fake_namespace(), ("gradients",)).ok
    res = cov.resolve(fake_namespace(), ("gradients",), expect_symbol=True)
    assert not res.ok and "module" in res.reason


def test_a_stub_tf_itself_has_counts_as_provided(monkeypatch):
    ns = fake_namespace()
    ns.logging = types.ModuleType("fake.logging")
    ns.logging.flush = _stub
    assert cov.resolve(ns, ("logging", "flush")).ok
    assert not cov.resolve(ns, ("nn", "crelu")).ok


def test_contribs_missing_names_are_not_provided():
    import tasklayer
    assert cov.resolve(tasklayer, ("contrib", "layers", "flatten")).ok
    res = cov.resolve(tasklayer, ("contrib", "no_such_contrib_module", "Cell"))
    assert (res.ok, res.missing) == (False, ("contrib", "no_such_contrib_module"))


# ---------------------------------------------------------------- percentages on a tiny fake list

def test_percentages_per_module_and_in_all():
    api = cov.Tf1Api({"tf": ["GraphKeys", "Thing", "gradients", "float32"], "tf.nn": ["relu", "crelu", "conv2d"],
                      "tf.empty": []})
    tutorial = cov.Tf1Api({"tf": ["GraphKeys"], "tf.nn": ["relu", "conv2d"]})
    rows = report.coverage_entries(fake_namespace(), ["tf", "tf.nn", "tf.empty"], api, tutorial)
    got = {e["module"]: (e["provided"], e["total"], e["percent"], e["tutorial_provided"], e["tutorial_total"],
                         e["tutorial_percent"]) for e in rows}
    assert got == {"tf": (2, 4, 50.0, 1, 1, 100.0),           # Thing is a stub, gradients a module
                   "tf.nn": (1, 3, 33.3, 1, 2, 50.0),
                   "tf.empty": (0, 0, None, 0, 0, None),
                   "all": (3, 7, 42.9, 2, 3, 66.7)}
    assert [r.missing for r in cov.coverage(api, fake_namespace(), ["tf", "tf.nn"])] == \
        [["Thing", "gradients"], ["conv2d", "crelu"]]
    table = report.format_table(rows)
    assert table[0].split() == ["MODULE", "ALL", "SYMBOLS", "%", "TUTORIAL-USED", "%"]
    assert table[2].split() == ["tf.nn", "1/3", "33.3%", "1/2", "50.0%"]
    assert table[3].split() == ["tf.empty", "0/0", "-", "0/0", "-"]


def test_goal_line_names_the_modules_short_of_it():
    rows = [{"module": "tf.nn", "tutorial_percent": 89.9}, {"module": "tf.train", "tutorial_percent": 95.0},
            {"module": "tf.math", "tutorial_percent": 10.0}]
    assert report.goal_line(rows).endswith("not met (tf.nn 89.9%)")
    assert report.goal_line(rows[1:]).endswith(": met")


def test_missing_entries_mark_the_tutorial_used_names():
    api = cov.Tf1Api({"tf.nn": ["relu", "crelu", "conv2d"]})
    tutorial = cov.Tf1Api({"tf.nn": ["conv2d"]})
    got = report.missing_entries(fake_namespace(), "nn", api, tutorial)
    assert got["missing"] == [{"name": "tf.nn.conv2d", "tutorial_used": True},
                              {"name": "tf.nn.crelu", "tutorial_used": False}]
    with pytest.raises(cov.ProgramError, match="tf.nope: not a module"):
        report.missing_entries(fake_namespace(), "tf.nope", api, tutorial)


# ---------------------------------------------------------------- the data files

@pytest.mark.parametrize("load", [cov.load_api, cov.load_tutorial_api])
def test_symbol_lists_are_well_formed(load):
    api = load()
    raw = json.loads(pathlib.Path(cov.SYMBOLS_FILE if load is cov.load_api else cov.TUTORIAL_FILE).read_text())
    assert set(raw) == {"header", "modules"}
    assert {"generated", "generator"} <= set(raw["header"])
    for module, symbols in raw["modules"].items():
        assert module == "tf" or module.startswith("tf."), module
        assert symbols == sorted(set(symbols)), module
        for name in symbols:
            assert name.isidentifier() and not name.startswith("_") and not keyword.iskeyword(name), (module, name)
            assert f"{module}.{name}" not in api.modules, f"{module}.{name} is a module, listed as a symbol"


def test_the_lists_cover_the_table_and_the_tutorial_list_is_part_of_the_whole():
    api, tutorial = cov.load_api(), cov.load_tutorial_api()
    assert {"estimator", "sources", "tensorflow"} <= set(api.header) | set(tutorial.header)
    for module in cov.TABLE_MODULES:
        assert api.modules.get(module), module
    for module in cov.GOAL_MODULES:
        assert tutorial.modules.get(module), module
    for module, symbols in tutorial.modules.items():
        assert symbols <= api.modules[module], module


def test_symbol_of_finds_the_longest_listed_module():
    api = cov.load_api()
    assert api.symbol_of(("nn", "rnn_cell", "BasicLSTMCell", "zero_state")) == ("tf.nn.rnn_cell", "BasicLSTMCell")
    assert api.symbol_of(("compat", "v1", "placeholder")) == ("tf", "placeholder")
    assert api.symbol_of(("contrib", "layers", "flatten")) is None
    assert api.is_module(("estimator", "export"))


# ---------------------------------------------------------------- the corpus and the CLI

def test_the_tf1_corpus_uses_nothing_tasklayer_lacks():
    import tasklayer
    used, missing = cov.scan_programs([REPO / "examples" / "tf1"], tasklayer, cov.load_api())
    assert used > 100
    assert missing == [], "\n".join(m.describe() for m in missing)


def run_main(argv, capsys):
    with pytest.raises(SystemExit) as exited:
        yarnflow_cli.main(argv)
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def test_cli_table_as_a_subprocess():
    done = subprocess.run([sys.executable, "-m", "bin.yarnflow", "tf-coverage"], cwd=REPO, capture_output=True,
                          text=True, timeout=60, env=dict(os.environ))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert [line.split()[0] for line in lines[1:-2]] == list(cov.TABLE_MODULES)
    assert lines[-2].startswith("all ") and lines[-1].startswith("goal: ")


def test_cli_names_what_a_program_lacks_with_file_and_line(tmp_path, capsys):
    app = tmp_path / "app.py"
    app.write_text("import tensorflow as tf\nx = tf.placeholder(tf.float32)\n\ny = tf.nn.no_such_op_ever(x)\n")
    code, out, err = run_main(["tf-coverage", str(app)], capsys)
    assert code == 1, err
    assert f"{app}:4: tf.nn.no_such_op_ever is not provided by tasklayer (not a listed TF 1.15 symbol)" in out
    code, out, _ = run_main(["tf-coverage", "--json", str(app)], capsys)
    got = json.loads(out)
    assert code == 1 and got["missing_symbols"] == ["tf.nn.no_such_op_ever"]
    assert got["missing"][0]["line"] == 4 and got["names_used"] == 3
    app.write_text("import tensorflow as tf\nx = tf.placeholder(tf.float32)\n")
    code, out, _ = run_main(["tf-coverage", str(app), str(REPO / "examples" / "tf1")], capsys)
    assert code == 0 and "tasklayer provides all" in out


def test_cli_missing_lists_a_modules_names(capsys):
    code, out, _ = run_main(["tf-coverage", "--missing", "tf.losses", "--json"], capsys)
    got = json.loads(out)
    assert code == 0 and got["module"] == "tf.losses"
    assert got["provided"] + len(got["missing"]) == got["total"] == len(cov.load_api().modules["tf.losses"])


@pytest.mark.parametrize("make,fragments", [
    (lambda d: d / "nope.py", ["nope.py: no such file or directory"]),
    (lambda d: (d / "bad.py").write_text("def (:\n") and d / "bad.py", ["bad.py: not a Python program"]),
    (lambda d: (d / "bin.py").write_bytes(b"\xff\xfe\x00") and d / "bin.py", ["not UTF-8"]),
    (lambda d: (d / "empty").mkdir() or d / "empty", ["no Python files"]),
])
def test_cli_bad_programs_get_one_line_and_exit_2(tmp_path, capsys, make, fragments):
    code, out, err = run_main(["tf-coverage", str(make(tmp_path))], capsys)
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    for fragment in fragments:
        assert fragment in lines[0]


def test_cli_unknown_module_exits_2(capsys):
    code, _, err = run_main(["tf-coverage", "--missing", "nosuchmodule"], capsys)
    assert code == 2 and "nosuchmodule: not a module" in err


@pytest.mark.parametrize("name", ["yarnflow.tf_scan", "yarnflow.tf_coverage", "yarnflow.tf_coverage_report"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
