"""The package layers hold: ``lint-imports`` checks the contracts of ``[tool.importlinter]`` in pyproject.toml (the
task layer's layers, a pure step planner, and the "must not" column of DESIGN.md's package table)."""

import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
_LINT = "import sys; from importlinter import cli; sys.exit(cli.lint_imports(no_cache=True, no_logo=True))"


def test_import_contracts_are_kept():
    result = subprocess.run([sys.executable, "-c", _LINT], cwd=ROOT, capture_output=True, text=True, timeout=120)
    report = result.stdout + result.stderr
    assert "No module named 'importlinter'" not in report, "install import-linter (in the test extra)"
    assert result.returncode == 0, f"import contracts broken:\n{report}"
    assert "0 broken" in report and "kept" in report.lower(), report


def test_every_task_layer_module_has_a_layer():
    """A new module of ``tasklayer`` must be placed in a layer (the contract is exhaustive), so none slips by."""
    import tomllib
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    layers = next(c for c in config["contracts"] if c["id"] == "tasklayer-layers")
    assert layers["exhaustive"] is True
    placed = {name.strip(" ()") for layer in layers["layers"] for name in layer.replace("|", ":").split(":")}
    present = {p.stem if p.suffix == ".py" else p.name for p in (ROOT / "tasklayer").iterdir()
               if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()}
    assert not present - placed, f"modules of tasklayer in no layer: {sorted(present - placed)}"
