"""The distributed runtime: a master service and a worker service on every ``tf.train.Server``; tensors
cross processes as raw-byte chunks."""
