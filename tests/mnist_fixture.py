"""A small, learnable MNIST look-alike written in MNIST's own gzipped IDX files, so the TF1 programs read it
through the real ``input_data`` path (no download).

Each of the 10 classes has a 28x28 prototype made of a few soft strokes; an image is its class's prototype,
shifted by up to one pixel, at a random intensity, plus pixel noise. A linear model separates the classes well
(about 0.95 and up), so a program's accuracy printout shows whether it learned.

    python -m tests.mnist_fixture /tmp/data          # the four files, for trying the programs by hand

Some programs hard-code ``/tmp/data/``; ``install_default`` puts the set there unless that directory already
holds MNIST files that this module did not write (a user's real MNIST is never overwritten).
"""

import gzip
import os
import pathlib
import struct
import sys

import numpy as np

ROWS = COLS = 28
CLASSES = 10
# read_data_sets keeps the first 5000 training images for validation; 13,000 are left to train on, enough for
# tensorflow_dataset_api.py's 100 batches of 128 from a dataset it does not repeat.
TRAIN_IMAGES, TEST_IMAGES = 18000, 1000
NOISE_STD = 90.0  # on the 0..255 pixel scale
FILES = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz")
MARKER = ".yarnflow-synthetic-mnist"  # written beside the files: they are ours to rewrite
DEFAULT_DIR = "/tmp/data"  # where aymericdamien's TensorFlow-Examples read MNIST from, with no flag to change it


def prototypes(rng):
    """The 10 class prototypes, float in [0, 255]: each the sum of 3 random soft line segments."""
    yy, xx = np.mgrid[0:ROWS, 0:COLS].astype(np.float64)
    protos = np.zeros((CLASSES, ROWS, COLS))
    for k in range(CLASSES):
        for _ in range(3):
            (y0, x0), (y1, x1) = rng.uniform(5, 23, size=(2, 2))
            for t in np.linspace(0.0, 1.0, 12):
                cy, cx = y0 + t * (y1 - y0), x0 + t * (x1 - x0)
                protos[k] = np.maximum(protos[k], np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / 2.5))
    return 255.0 * protos


def images_and_labels(n, protos, rng):
    """``n`` uint8 images ``[n, 28, 28]`` and their uint8 labels, classes drawn uniformly."""
    labels = rng.randint(0, CLASSES, size=n).astype(np.uint8)
    shifted = np.stack([[np.roll(p, (dy, dx), axis=(0, 1)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
                        for p in protos])  # [class, shift, rows, cols]
    images = shifted[labels, rng.randint(0, 9, size=n)] * rng.uniform(0.7, 1.0, size=(n, 1, 1))
    images = images + rng.normal(0.0, NOISE_STD, size=images.shape).astype(np.float32)
    return np.clip(images, 0, 255).astype(np.uint8), labels


def write_idx_images(path, images):
    """A gzipped IDX3 file (magic 2051, count, rows, cols, then the uint8 pixels)."""
    n, rows, cols = images.shape
    _write_gzip(path, struct.pack(">IIII", 2051, n, rows, cols) + images.tobytes())


def write_idx_labels(path, labels):
    """A gzipped IDX1 file (magic 2049, count, then the uint8 labels)."""
    _write_gzip(path, struct.pack(">II", 2049, len(labels)) + labels.tobytes())


def _write_gzip(path, payload):
    """Write ``payload`` gzipped to ``path`` by a rename, so a reader never sees half a file and two writers of
    the same data set (same bytes: no name or time in the header) never mix."""
    path = pathlib.Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=1) as f:
        f.write(payload)
    os.replace(tmp, path)


def write_mnist(directory, train=TRAIN_IMAGES, test=TEST_IMAGES, seed=0):
    """Write the four MNIST files into ``directory`` (made if needed); returns the directory as a Path."""
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # the marker first: a concurrent install_default then sees the directory as ours, not as someone else's
    (directory / MARKER).write_text(_signature(train, test, seed))
    rng = np.random.RandomState(seed)
    protos = prototypes(rng)
    train_images, train_labels = images_and_labels(train, protos, rng)
    test_images, test_labels = images_and_labels(test, protos, rng)
    write_idx_images(directory / FILES[0], train_images)
    write_idx_labels(directory / FILES[1], train_labels)
    write_idx_images(directory / FILES[2], test_images)
    write_idx_labels(directory / FILES[3], test_labels)
    return directory


def _signature(train, test, seed):
    return f"train={train} test={test} seed={seed} noise={NOISE_STD:g} rows={ROWS} cols={COLS}\n"


def install_default(directory=DEFAULT_DIR):
    """The default set in ``directory`` (written unless already there); None when the directory holds MNIST
    files this module did not write."""
    directory = pathlib.Path(directory)
    marker = directory / MARKER
    if not marker.exists():
        if any((directory / name).exists() for name in FILES):
            return None
    elif marker.read_text() == _signature(TRAIN_IMAGES, TEST_IMAGES, 0) and all(
            (directory / name).exists() for name in FILES):
        return directory
    return write_mnist(directory)


if __name__ == "__main__":
    print(write_mnist(sys.argv[1] if len(sys.argv) > 1 else "/tmp/data"))
