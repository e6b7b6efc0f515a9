// Fashion-MNIST as installed by Debian's `dataset-fashion-mnist` (scripts/setup installs it).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readImageSet, type ImageSet } from './idx.js';

export const FASHION_MNIST_DIR = process.env.CERTIGATE_FASHION_MNIST_DIR ?? '/usr/share/datasets/fashion-mnist';

export const FASHION_MNIST_LABELS = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
];

export function loadFashionMnist(split: 'train' | 'test', limit = Infinity, dir = FASHION_MNIST_DIR): ImageSet {
  const prefix = split === 'train' ? 'train' : 't10k';
  const images = join(dir, `${prefix}-images-idx3-ubyte.gz`);
  if (!existsSync(images)) {
    throw new Error(`Fashion-MNIST not found at ${dir}: run scripts/setup (Debian package dataset-fashion-mnist)`);
  }
  return readImageSet(images, join(dir, `${prefix}-labels-idx1-ubyte.gz`), limit);
}
