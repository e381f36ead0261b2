"""``tf.summary``: TF1's summary ops, the ``FileWriter`` that writes them to events files for TensorBoard, and
the protos (``tf.Summary``, ``tf.Event``, ``tf.SessionLog``) they are made of.

>>> import tasklayer as tf, tempfile
>>> logdir = tempfile.mkdtemp()
>>> with tf.Graph().as_default():
...     x = tf.placeholder(tf.float32, [None])
...     _ = tf.summary.scalar("average", tf.reduce_mean(x))
...     _ = tf.summary.histogram("values", x)
...     merged = tf.summary.merge_all()
...     with tf.Session() as sess, tf.summary.FileWriter(logdir, sess.graph) as writer:
...         writer.add_summary(sess.run(merged, {x: [1.0, 2.0, 6.0]}), global_step=1)
>>> events = list(tf.train.summary_iterator(writer.event_file))
>>> [e.WhichOneof("what") for e in events]
['file_version', 'graph_def', 'summary']
>>> [(v.tag, v.WhichOneof("value")) for v in events[-1].summary.value]
[('average', 'simple_value'), ('values', 'histo')]
"""

from tasklayer.summary.messages import (Event, SessionLog, Summary, SummaryDescription,  # noqa: F401
                                        SummaryMetadata, TaggedRunMetadata)
from tasklayer.summary.event_file import summary_iterator  # noqa: F401
from tasklayer.summary.summary_ops import (audio, histogram, image, merge, merge_all, scalar,  # noqa: F401
                                           tensor_summary, text)
from tasklayer.summary.writer import FileWriter, FileWriterCache  # noqa: F401
