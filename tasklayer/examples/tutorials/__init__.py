"""TF1's ``tensorflow.examples.tutorials``: the MNIST tutorials' input reader and model."""
