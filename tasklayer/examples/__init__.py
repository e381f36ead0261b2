"""TF1's ``tensorflow.examples`` package, for the programs that import from it (``tasklayer.examples``)."""
