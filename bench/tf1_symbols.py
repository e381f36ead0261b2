"""Write the TF1 symbol lists of ``yarnflow/tf1_api/``: TF 1.15's public Python symbols, module by module, and the
ones TF 1.x's own tutorials and examples use.

Run once, outside the suite (the suite only reads the files this writes). All the symbols, with an interpreter that
has TensorFlow 2.x and ``tf_keras``::

    /opt/peers/bin/python bench/tf1_symbols.py

The tutorial-used ones, by scanning programs with ``yarnflow tf-coverage``'s scanner (``examples/tf1/``, the MNIST
tutorial model under ``tasklayer/examples``, and each DIR given: its ``*.py`` files, with a ``SOURCES.json`` that
names the repository, commit and path each came from; TF's tutorials are read through a code search, not kept here)::

    python bench/tf1_symbols.py --tutorials DIR...

``tf.compat.v1`` of TensorFlow 2.x keeps TF 1.15's API (the v1 names that TF 2 still exports); ``tf.layers`` comes
from ``tf_keras`` with ``TF_USE_LEGACY_KERAS=1``. ``tf.estimator`` is gone from TF 2.16+, so its names are the
TF 1.x API golden files of tensorflow/tensorflow (``tensorflow/tools/api/golden/v1/tensorflow.estimator*.pbtxt``),
copied below with the commit each came from.

A *public symbol* of a module is a name in its ``dir()`` that does not start with ``_`` and is not itself a module:
a submodule is a module of its own (its own key), never a symbol of its parent, so nothing is counted twice.
Every module of the v1 API is walked (``tf.compat.v1``/``v2`` inside ``tf.compat`` are not: they are the whole
API again); modules that are not TensorFlow's API (a helper module a wrapper happens to import) are not.
"""

import argparse
import datetime
import json
import os
import sys
import types

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "yarnflow", "tf1_api", "tf1_symbols.json")
TUTORIAL_OUT = os.path.join(REPO, "yarnflow", "tf1_api", "tf1_tutorial_symbols.json")
# The programs of this repository that are TF 1.x's own (or well-known) examples: scanned for the tutorial list.
LOCAL_CORPUS = ["examples/tf1", "tasklayer/examples/tutorials/mnist/mnist.py"]

# tf.estimator of TF 1.15 (tensorflow_estimator 1.15), from the TF 1.x API golden files: module -> (names, source).
_GOLDEN = "tensorflow/tensorflow tensorflow/tools/api/golden/v1/{file} @ {commit}"
ESTIMATOR = {
    "tf.estimator": (
        ["BaselineClassifier", "BaselineEstimator", "BaselineRegressor", "BestExporter", "BinaryClassHead",
         "BoostedTreesClassifier", "BoostedTreesEstimator", "BoostedTreesRegressor", "CheckpointSaverHook",
         "CheckpointSaverListener", "DNNClassifier", "DNNEstimator", "DNNLinearCombinedClassifier",
         "DNNLinearCombinedEstimator", "DNNLinearCombinedRegressor", "DNNRegressor", "Estimator", "EstimatorSpec",
         "EvalSpec", "Exporter", "FeedFnHook", "FinalExporter", "FinalOpsHook", "GlobalStepWaiterHook", "Head",
         "LatestExporter", "LinearClassifier", "LinearEstimator", "LinearRegressor", "LoggingTensorHook",
         "LogisticRegressionHead", "ModeKeys", "MultiClassHead", "MultiHead", "MultiLabelHead",
         "NanLossDuringTrainingError", "NanTensorHook", "PoissonRegressionHead", "ProfilerHook", "RegressionHead",
         "RunConfig", "SecondOrStepTimer", "SessionRunArgs", "SessionRunContext", "SessionRunHook",
         "SessionRunValues", "StepCounterHook", "StopAtStepHook", "SummarySaverHook", "TrainSpec", "VocabInfo",
         "WarmStartSettings", "add_metrics", "classifier_parse_example_spec", "regressor_parse_example_spec",
         "train_and_evaluate"],
        _GOLDEN.format(file="tensorflow.estimator.pbtxt", commit="ac27afa3cd7af68f1140694c45c0ba9e219f327c")
        + "; the BoostedTrees* classes from the same file @ 2f2ab3d916d64762e1a369b0dc8b469bd6f80ae3 (TF 1.15's "
          "API docs list them: tensorflow.org/versions/r1.15/api_docs/python/tf/estimator)"),
    "tf.estimator.experimental": (
        ["InMemoryEvaluatorHook", "KMeans", "LinearSDCA", "build_raw_supervised_input_receiver_fn",
         "call_logit_fn", "dnn_logit_fn_builder", "linear_logit_fn_builder", "make_early_stopping_hook",
         "make_stop_at_checkpoint_step_hook", "stop_if_higher_hook", "stop_if_lower_hook",
         "stop_if_no_decrease_hook", "stop_if_no_increase_hook"],
        _GOLDEN.format(file="tensorflow.estimator.experimental.pbtxt",
                       commit="04849a04356c0b5d82a579bfb9e81d18f97eb5a9")),
    "tf.estimator.export": (
        ["ClassificationOutput", "ExportOutput", "PredictOutput", "RegressionOutput", "ServingInputReceiver",
         "TensorServingInputReceiver", "build_parsing_serving_input_receiver_fn",
         "build_raw_serving_input_receiver_fn"],
        _GOLDEN.format(file="tensorflow.estimator.export.pbtxt", commit="15899aa777da37887a26aee6b4676547ad681d18")),
    "tf.estimator.inputs": (
        ["numpy_input_fn", "pandas_input_fn"],
        _GOLDEN.format(file="tensorflow.estimator.inputs.pbtxt", commit="c3bd2f4bcdcf440cb6bbc3d88cef3f3bc56dbb70")),
    "tf.estimator.tpu": (
        ["InputPipelineConfig", "RunConfig", "TPUConfig", "TPUEstimator", "TPUEstimatorSpec"],
        _GOLDEN.format(file="tensorflow.estimator.tpu.pbtxt", commit="6d93d85b277d938b0f168b6622d111ee23425d27")),
    "tf.estimator.tpu.experimental": (
        ["EmbeddingConfigSpec"],
        "TF 1.15's API docs (tensorflow.org/versions/r1.15/api_docs/python/tf/estimator/tpu/experimental)"),
}

# Module names (``__name__``) whose contents are TensorFlow's public v1 API; anything else met while walking is a
# helper module some wrapper imports (absl's flags pulls in inspect, email, ...), not API.
API_MODULE_PREFIXES = ("tensorflow._api.v2.compat.v1", "tensorflow.compat.v1", "tf_keras.api._v1")
# Modules of the v1 API that are not generated API modules but are TF 1.x's own (tf.flags is absl's flags, as in
# TF 1.15's tensorflow/python/platform/flags.py): their names count, their submodules are not walked.
FOREIGN_API_MODULES = {"tf.flags", "tf.app.flags"}
# Whole-API aliases: walking them would list the API again.
SKIP = {"tf.compat.v1", "tf.compat.v2"}


def public_members(module):
    """``(symbols, submodules)``: the public names of ``module`` that are not modules, and those that are."""
    symbols, submodules = [], []
    for name in dir(module):
        if name.startswith("_"):
            continue
        try:
            value = getattr(module, name)
        except Exception:  # noqa: BLE001 - a lazily loaded name that fails to load is not usable API
            continue
        (submodules if isinstance(value, types.ModuleType) else symbols).append(name)
    return sorted(symbols), sorted(submodules)


def is_api_module(module):
    """Whether ``module`` is one of TensorFlow's generated v1 API modules."""
    return getattr(module, "__name__", "").startswith(API_MODULE_PREFIXES)


def walk(module, path, out, stack=()):
    """Fill ``out[path]`` with the public symbols of ``module`` and of each API module under it."""
    symbols, submodules = public_members(module)
    out[path] = symbols
    if path in FOREIGN_API_MODULES:
        return
    for name in submodules:
        sub, sub_path = getattr(module, name), f"{path}.{name}"
        if sub_path in SKIP or id(sub) in stack:
            continue
        if is_api_module(sub) or sub_path in FOREIGN_API_MODULES:
            walk(sub, sub_path, out, stack + (id(module),))


def generate():
    """The data file's content: a header saying where every list came from, and ``modules``: path -> names."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"  # tf.compat.v1.layers is tf_keras's legacy layers
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
    import tensorflow as tf
    import tf_keras

    modules = {}
    walk(tf.compat.v1, "tf", modules)
    for path, (names, _source) in ESTIMATOR.items():
        modules[path] = sorted(names)
    header = {
        "what": "TF 1.15's public Python symbols: module path -> its public names that are not modules",
        "tensorflow": f"tf.compat.v1 of TensorFlow {tf.__version__} (keeps TF 1.15's API); tf.layers from "
                      f"tf_keras {tf_keras.__version__} (TF_USE_LEGACY_KERAS=1); tf.flags is absl's flags as in "
                      f"TF 1.x",
        "estimator": {path: source for path, (_names, source) in ESTIMATOR.items()},
        "public_symbol": "a dir() name not starting with '_' that is not a module; every submodule is its own key "
                         "and is not counted in its parent; tf.compat.v1/v2 inside tf.compat are not walked",
        "caveat": "TF 2.x's compat.v1 also exports a few v1 names added after 1.15 and lacks ones it removed; "
                  "tf.keras is tf_keras's v1 API, newer than TF 1.15's Keras; tf.contrib is not listed",
        "generated": datetime.date.today().isoformat(),
        "generator": "/opt/peers/bin/python bench/tf1_symbols.py",
    }
    return {"header": header, "modules": dict(sorted(modules.items()))}


def generate_tutorials(dirs):
    """The tutorial-used list: the TF1 symbols the corpus programs use, with where each program came from."""
    sys.path.insert(0, REPO)
    from yarnflow import tf_coverage

    api = tf_coverage.load_api()
    sources = [(os.path.join(REPO, p), f"{p} (this repository: TF 1.x programs, their headers name their source)")
               for p in LOCAL_CORPUS]
    for d in dirs:
        with open(os.path.join(d, "SOURCES.json")) as f:
            origin = json.load(f)
        for name, where in sorted(origin.items()):
            sources.append((os.path.join(d, name), where))
    files, provenance = [], []
    for path, where in sources:
        found = tf_coverage.python_files([path])
        files.extend(found)
        provenance.append({"source": where, "programs": len(found)})
    symbols, unlisted = tf_coverage.tutorial_symbols(files, api)
    header = {
        "what": "the TF 1.15 symbols that TF 1.x's own tutorials and examples use: module path -> names",
        "how": "each program scanned by yarnflow.tf_scan (the scanner of `yarnflow tf-coverage app.py`); a use "
               "counts when it names a symbol of tf1_symbols.json",
        "sources": provenance,
        "third_party_copies": "TF's tutorials were read through a code search and scanned from a transcription of "
                              "their TF import lines and TF-using statements; no copy is kept in this repository",
        "unlisted_uses": sorted(unlisted),
        "generated": datetime.date.today().isoformat(),
        "generator": "python bench/tf1_symbols.py --tutorials DIR...",
    }
    return {"header": header, "modules": {m: sorted(n) for m, n in sorted(symbols.items())}}


def main(argv=None):
    """Write the data file (or print it with ``--stdout``) and a one-line summary."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", default=None,
                   help=f"where to write (default {os.path.relpath(OUT, REPO)}, or "
                        f"{os.path.relpath(TUTORIAL_OUT, REPO)} with --tutorials)")
    p.add_argument("--stdout", action="store_true", help="print the JSON instead of writing it")
    p.add_argument("--tutorials", nargs="*", metavar="DIR", default=None,
                   help="write the tutorial-used list instead, from examples/tf1 and these directories")
    args = p.parse_args(argv)
    args.out = args.out or (TUTORIAL_OUT if args.tutorials is not None else OUT)
    if args.tutorials is not None:
        data = generate_tutorials(args.tutorials)
    else:
        try:
            data = generate()
        except ImportError as exc:
            print(f"tf1_symbols: needs TensorFlow 2.x and tf_keras in this interpreter ({sys.executable}): {exc}",
                  file=sys.stderr)
            return 2
    text = json.dumps(data, indent=1) + "\n"
    if args.stdout:
        sys.stdout.write(text)
        return 0
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        f.write(text)
    total = sum(len(v) for v in data["modules"].values())
    print(f"wrote {args.out}: {len(data['modules'])} modules, {total} symbols")
    return 0


if __name__ == "__main__":
    sys.exit(main())
