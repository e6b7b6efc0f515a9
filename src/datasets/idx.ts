// Reader for the IDX format of (Fashion-)MNIST, gzip-compressed as Debian ships it.
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface ImageSet {
  images: Float32Array[]; // each flat, pixels scaled to [0, 1]
  labels: Uint8Array;
  shape: [number, number, number]; // [channels, height, width]
}

function readIdx(path: string): { dims: number[]; data: Uint8Array } {
  const raw = readFileSync(path);
  const bytes = path.endsWith('.gz') ? gunzipSync(raw) : raw;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  if (magic >> 8 !== 0x08) throw new Error(`${path}: not an unsigned-byte IDX file (magic ${magic.toString(16)})`);
  const rank = magic & 0xff;
  const dims = Array.from({ length: rank }, (_, i) => view.getUint32(4 + 4 * i));
  const offset = 4 + 4 * rank;
  const expected = dims.reduce((a, b) => a * b, 1);
  if (bytes.byteLength - offset !== expected) throw new Error(`${path}: expected ${expected} bytes of data, found ${bytes.byteLength - offset}`);
  return { dims, data: bytes.subarray(offset) };
}

export function readImageSet(imagesPath: string, labelsPath: string, limit = Infinity): ImageSet {
  const images = readIdx(imagesPath);
  const labels = readIdx(labelsPath);
  const [count, height, width] = images.dims;
  if (labels.dims[0] !== count) throw new Error(`${imagesPath}: ${count} images but ${labels.dims[0]} labels`);
  const take = Math.min(count, limit);
  const size = height * width;
  const out: Float32Array[] = [];
  for (let i = 0; i < take; i++) {
    const image = new Float32Array(size);
    for (let j = 0; j < size; j++) image[j] = images.data[i * size + j] / 255;
    out.push(image);
  }
  return { images: out, labels: labels.data.slice(0, take), shape: [1, height, width] };
}
