"""What ``yarnflow tf-coverage`` prints: the coverage table per module (all TF 1.15 symbols and the tutorial-used
ones), a module's missing names, and a program check; as text lines or as JSON-ready dicts.

>>> from yarnflow.tf_coverage import Row
>>> lines = format_table(entries([Row("tf.nn", 2, 4, ["a", "b"])], [Row("tf.nn", 1, 1, [])]))
>>> print("\\n".join(lines[:2]))
MODULE  ALL SYMBOLS  %      TUTORIAL-USED  %
tf.nn   2/4          50.0%  1/1            100.0%
"""

from yarnflow import tf_coverage as cov

__all__ = ["coverage_entries", "entries", "format_table", "goal_line", "normalize_module", "missing_entries",
           "format_missing", "scan_report", "format_scan"]


def normalize_module(name, api):
    """``"nn"`` or ``"tf.nn"`` -> ``"tf.nn"``; raises ProgramError for a module TF 1.15's lists do not have."""
    module = name if name == "tf" or name.startswith("tf.") else f"tf.{name}"
    if module not in api.modules:
        raise cov.ProgramError(f"{name}: not a module of TF 1.15's API lists (e.g. tf, tf.nn, tf.train)")
    return module


def _percent(provided, total):
    return round(100.0 * provided / total, 1) if total else None


def entries(all_rows, tutorial_rows):
    """One dict per module (and a last ``"all"`` one): provided/total and percent, against all symbols and against
    the tutorial-used ones."""
    out = []
    for row, tut in zip([*all_rows, cov.total_row(all_rows)], [*tutorial_rows, cov.total_row(tutorial_rows)]):
        out.append({"module": row.module, "provided": row.provided, "total": row.total,
                    "percent": _percent(row.provided, row.total),
                    "tutorial_provided": tut.provided, "tutorial_total": tut.total,
                    "tutorial_percent": _percent(tut.provided, tut.total)})
    return out


def coverage_entries(namespace, modules=cov.TABLE_MODULES, api=None, tutorial=None):
    """:func:`entries` of ``namespace`` over ``modules``."""
    api = api or cov.load_api()
    tutorial = tutorial or cov.load_tutorial_api()
    return entries(cov.coverage(api, namespace, modules), cov.coverage(tutorial, namespace, modules))


def _cell(provided, total, percent):
    return (f"{provided}/{total}", f"{percent:.1f}%" if percent is not None else "-")


def format_table(rows):
    """The entries as aligned text lines (a module no tutorial uses shows ``-``)."""
    headers = ["MODULE", "ALL SYMBOLS", "%", "TUTORIAL-USED", "%"]
    cells = [[e["module"], *_cell(e["provided"], e["total"], e["percent"]),
              *_cell(e["tutorial_provided"], e["tutorial_total"], e["tutorial_percent"])] for e in rows]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    return ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in [headers, *cells]]


def goal_line(rows):
    """Whether the goal modules reach GOAL_PERCENT of the tutorial-used symbols, naming those that do not."""
    short = [f"{e['module']} {e['tutorial_percent']:.1f}%" for e in rows
             if e["module"] in cov.GOAL_MODULES and e["tutorial_percent"] is not None
             and e["tutorial_percent"] < cov.GOAL_PERCENT]
    goal = f"goal: {', '.join(cov.GOAL_MODULES)} at {cov.GOAL_PERCENT}% or more of the tutorial-used symbols"
    return f"{goal}: {'met' if not short else 'not met (' + ', '.join(short) + ')'}"


def missing_entries(namespace, module, api=None, tutorial=None):
    """The names of TF 1.15's ``module`` that ``namespace`` lacks, each with whether the tutorials use it."""
    api = api or cov.load_api()
    tutorial = tutorial or cov.load_tutorial_api()
    module = normalize_module(module, api)
    used = tutorial.modules.get(module, frozenset())
    row, = cov.coverage(api, namespace, [module])
    return {"module": module, "provided": row.provided, "total": row.total,
            "missing": [{"name": f"{module}.{n}", "tutorial_used": n in used} for n in row.missing]}


def format_missing(report):
    """Text lines for :func:`missing_entries`: a summary, then one name a line (``*``: a tutorial uses it)."""
    lines = [f"{report['module']}: {report['provided']}/{report['total']} provided, "
             f"{len(report['missing'])} missing (* = used by TF's tutorials and examples)"]
    lines += [f"{'*' if m['tutorial_used'] else ' '} {m['name']}" for m in report["missing"]]
    return lines


def scan_report(paths, namespace, api=None):
    """The check of the programs ``paths`` name: how many TF names they use and each missing one."""
    api = api or cov.load_api()
    used, missing = cov.scan_programs(paths, namespace, api)
    return {"names_used": used, "missing": [m.__dict__ for m in missing],
            "missing_symbols": sorted({m.symbol for m in missing})}


def format_scan(report, paths):
    """Text lines for :func:`scan_report`: one line a missing use, then a summary."""
    lines = [cov.Missing(**m).describe() for m in report["missing"]]
    where = ", ".join(str(p) for p in paths)
    if report["missing"]:
        lines.append(f"{where}: {len(report['missing_symbols'])} TF1 name(s) missing from tasklayer, "
                     f"{len(report['missing'])} use(s); {report['names_used']} distinct TF names used")
    else:
        lines.append(f"{where}: tasklayer provides all {report['names_used']} TF names used")
    return lines
