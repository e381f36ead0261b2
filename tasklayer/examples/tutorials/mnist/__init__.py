"""TF1's ``tensorflow.examples.tutorials.mnist``: ``input_data`` (the MNIST reader) and ``mnist`` (the model)."""
