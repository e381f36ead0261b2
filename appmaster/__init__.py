"""The per-application master: asks for an app's containers as one gang, launches its tasks with the
cluster spec, restarts failed ones and decides the app's final status."""
