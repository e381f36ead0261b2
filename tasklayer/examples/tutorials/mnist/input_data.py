"""TF1's MNIST reader (``tensorflow.examples.tutorials.mnist.input_data``), offline.

``read_data_sets(train_dir, one_hot=...)`` reads the four standard gzipped IDX files from ``train_dir`` as TF
does and returns ``Datasets(train, validation, test)`` of ``DataSet``: the first ``validation_size`` training
images become the validation set, pixels are scaled to [0, 1] float32 and flattened to 784 (``reshape``), labels
are class ids or one-hot rows. Nothing is downloaded: where a file is missing, the error names the files and the
directory to put them in.

>>> from tasklayer.examples.tutorials.mnist import input_data
>>> mnist = input_data.read_data_sets("unused", fake_data=True, one_hot=True)
>>> images, labels = mnist.train.next_batch(2, fake_data=True)
>>> len(images), len(images[0]), labels[0]
(2, 784, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0])
"""

import collections
import gzip
import os

import numpy

from tasklayer import dtypes
from tasklayer.graph import get_default_graph
from tasklayer.ops.random_ops import get_seed

TRAIN_IMAGES = "train-images-idx3-ubyte.gz"
TRAIN_LABELS = "train-labels-idx1-ubyte.gz"
TEST_IMAGES = "t10k-images-idx3-ubyte.gz"
TEST_LABELS = "t10k-labels-idx1-ubyte.gz"
FILES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)
IMAGES_MAGIC, LABELS_MAGIC = 2051, 2049  # the IDX headers of uint8 image (3-d) and label (1-d) files
DEFAULT_SOURCE_URL = "https://storage.googleapis.com/cvdf-datasets/mnist/"  # TF's default; accepted, never used

Datasets = collections.namedtuple("Datasets", ["train", "validation", "test"])


class DataSet:
    """One split of MNIST: ``images`` (N x 784 float32 in [0, 1], unless told otherwise), ``labels`` and
    ``next_batch``, which walks the split in epochs, reshuffling at each (TF's order of numpy calls)."""

    def __init__(self, images, labels, fake_data=False, one_hot=False, dtype=dtypes.float32, reshape=True,
                 seed=None):
        _seed_numpy(seed)  # TF reseeds numpy's global generator here, so its shuffles follow tf's seeds
        dtype = dtypes.as_dtype(dtype)
        if dtype not in (dtypes.uint8, dtypes.float32):
            raise TypeError("Invalid image dtype %r, expected uint8 or float32" % dtype)
        if fake_data:
            self._num_examples = 10000
            self.one_hot = one_hot
        else:
            if images.shape[0] != labels.shape[0]:
                raise ValueError("images.shape: %s labels.shape: %s" % (images.shape, labels.shape))
            self._num_examples = images.shape[0]
            if reshape:  # [N, rows, cols, 1] -> [N, rows*cols]
                if images.shape[3] != 1:
                    raise ValueError("reshape=True needs images of depth 1, got shape %s" % (images.shape,))
                images = images.reshape(images.shape[0], images.shape[1] * images.shape[2])
            if dtype == dtypes.float32:
                images = numpy.multiply(images.astype(numpy.float32), 1.0 / 255.0)
        self._images = images
        self._labels = labels
        self._epochs_completed = 0
        self._index_in_epoch = 0

    @property
    def images(self):
        """The split's images, in the current epoch's order."""
        return self._images

    @property
    def labels(self):
        """The split's labels, in the same order as ``images``."""
        return self._labels

    @property
    def num_examples(self):
        """How many examples the split holds."""
        return self._num_examples

    @property
    def epochs_completed(self):
        """How many full passes ``next_batch`` has made."""
        return self._epochs_completed

    def next_batch(self, batch_size, fake_data=False, shuffle=True):
        """The next ``batch_size`` examples as ``(images, labels)``; an epoch's tail is joined to the next's head."""
        if fake_data:
            fake_image = [1] * 784
            fake_label = [1] + [0] * 9 if self.one_hot else 0
            return [fake_image for _ in range(batch_size)], [fake_label for _ in range(batch_size)]
        start = self._index_in_epoch
        if self._epochs_completed == 0 and start == 0 and shuffle:  # shuffle for the first epoch
            self._permute()
        if start + batch_size <= self._num_examples:
            self._index_in_epoch += batch_size
            return self._images[start:self._index_in_epoch], self._labels[start:self._index_in_epoch]
        self._epochs_completed += 1
        rest = self._num_examples - start
        images_rest, labels_rest = self._images[start:], self._labels[start:]
        if shuffle:
            self._permute()
        self._index_in_epoch = batch_size - rest
        end = self._index_in_epoch
        return (numpy.concatenate((images_rest, self._images[:end]), axis=0),
                numpy.concatenate((labels_rest, self._labels[:end]), axis=0))

    def _permute(self):
        perm = numpy.arange(self._num_examples)
        numpy.random.shuffle(perm)
        self._images = self._images[perm]
        self._labels = self._labels[perm]


def _seed_numpy(seed):
    """Seed numpy's global generator as TF's DataSet does: the op seed if given, else the graph seed, else
    fresh entropy."""
    if seed is None and get_default_graph().seed is None:
        numpy.random.seed(None)
        return
    seed1, seed2 = get_seed(seed)
    numpy.random.seed((seed1 if seed is None else seed2) % 2**32)


def dense_to_one_hot(labels_dense, num_classes):
    """Class ids ``[N]`` -> one-hot rows ``[N, num_classes]`` (float64, as TF's)."""
    num_labels = labels_dense.shape[0]
    labels_one_hot = numpy.zeros((num_labels, num_classes))
    labels_one_hot.flat[numpy.arange(num_labels) * num_classes + labels_dense.ravel()] = 1
    return labels_one_hot


def _read32(bytestream):
    return int(numpy.frombuffer(bytestream.read(4), dtype=numpy.dtype(numpy.uint32).newbyteorder(">"))[0])


def _read_exactly(bytestream, count, name):
    buf = bytestream.read(count)
    if len(buf) != count:
        raise ValueError("MNIST file %s is truncated: its header promises %d bytes of data, it holds %d"
                         % (name, count, len(buf)))
    return buf


def extract_images(f):
    """A gzipped IDX image file (open, binary) -> uint8 array ``[N, rows, cols, 1]``."""
    print("Extracting", f.name)
    with gzip.GzipFile(fileobj=f) as bytestream:
        magic = _read32(bytestream)
        if magic != IMAGES_MAGIC:
            raise ValueError("Invalid magic number %d in MNIST image file: %s" % (magic, f.name))
        num_images, rows, cols = _read32(bytestream), _read32(bytestream), _read32(bytestream)
        buf = _read_exactly(bytestream, rows * cols * num_images, f.name)
        return numpy.frombuffer(buf, dtype=numpy.uint8).reshape(num_images, rows, cols, 1)


def extract_labels(f, one_hot=False, num_classes=10):
    """A gzipped IDX label file (open, binary) -> uint8 class ids ``[N]``, or one-hot rows."""
    print("Extracting", f.name)
    with gzip.GzipFile(fileobj=f) as bytestream:
        magic = _read32(bytestream)
        if magic != LABELS_MAGIC:
            raise ValueError("Invalid magic number %d in MNIST label file: %s" % (magic, f.name))
        num_items = _read32(bytestream)
        labels = numpy.frombuffer(_read_exactly(bytestream, num_items, f.name), dtype=numpy.uint8)
        return dense_to_one_hot(labels, num_classes) if one_hot else labels


def _check_present(train_dir):
    """FileNotFoundError naming every missing file and where they go; nothing is downloaded here."""
    missing = [name for name in FILES if not os.path.isfile(os.path.join(train_dir, name))]
    if missing:
        raise FileNotFoundError(
            "MNIST data not found: %s missing from directory %r. yarnflow does not download data sets; put the "
            "four standard MNIST files (%s) in that directory, or point the program at the directory that holds "
            "them (the tutorials take --data_dir)." % (", ".join(missing), os.path.abspath(train_dir),
                                                        ", ".join(FILES)))


def read_data_sets(train_dir, fake_data=False, one_hot=False, dtype=dtypes.float32, reshape=True,
                   validation_size=5000, seed=None, source_url=DEFAULT_SOURCE_URL):
    """MNIST from the gzipped IDX files in ``train_dir``: ``Datasets(train, validation, test)``."""
    del source_url  # TF downloads from it when a file is missing; offline, the error says what to put where
    if fake_data:
        def fake():
            return DataSet([], [], fake_data=True, one_hot=one_hot, dtype=dtype, seed=seed)
        return Datasets(train=fake(), validation=fake(), test=fake())
    _check_present(train_dir)
    with open(os.path.join(train_dir, TRAIN_IMAGES), "rb") as f:
        train_images = extract_images(f)
    with open(os.path.join(train_dir, TRAIN_LABELS), "rb") as f:
        train_labels = extract_labels(f, one_hot=one_hot)
    with open(os.path.join(train_dir, TEST_IMAGES), "rb") as f:
        test_images = extract_images(f)
    with open(os.path.join(train_dir, TEST_LABELS), "rb") as f:
        test_labels = extract_labels(f, one_hot=one_hot)
    if not 0 <= validation_size <= len(train_images):
        raise ValueError("Validation size should be between 0 and {}. Received: {}."
                         .format(len(train_images), validation_size))
    options = dict(dtype=dtype, reshape=reshape, seed=seed)
    train = DataSet(train_images[validation_size:], train_labels[validation_size:], **options)
    validation = DataSet(train_images[:validation_size], train_labels[:validation_size], **options)
    test = DataSet(test_images, test_labels, **options)
    return Datasets(train=train, validation=validation, test=test)
