// The benchmark stream: Fashion-MNIST images (train + test) with perturbations, and base
// decisions drawn from a pool of real certify outputs of the default model (bench/certifiedRadii):
// each item takes the radius of one pool entry, abstains where that entry abstained, and answers
// wrongly where that entry's answer was wrong, so radii, abstains and errors keep the model's shares.
import { loadFashionMnist } from '../src/datasets/fashionMnist.js';
import { gaussian, rng } from '../test/helpers/memory-streams.js';
import type { RadiusPool } from './certifiedRadii.js';

export interface BenchItem {
  input: Float32Array;
  answer: number | null;
  radius: number;
}

export class FashionStream {
  private readonly images: Float32Array[];
  private readonly labels: number[];
  private readonly random: () => number;
  /** Unit-norm Gaussian directions, reused with random offsets and signs (drawing 784 normals per item is slow). */
  private readonly directions: Float32Array[] = [];

  constructor(seed: number, private readonly pool: RadiusPool) {
    if (pool.entries.length === 0) throw new Error('the certified-radius pool is empty');
    if (pool.classes < 2) throw new Error(`the pool's model has ${pool.classes} classes; a wrong answer needs at least 2`);
    const train = loadFashionMnist('train');
    const test = loadFashionMnist('test');
    this.images = [...train.images, ...test.images];
    this.labels = [...train.labels, ...test.labels];
    this.random = rng(seed);
    for (let i = 0; i < 4096; i++) {
      const g = Float64Array.from({ length: 784 }, () => gaussian(this.random));
      const n = Math.hypot(...g);
      this.directions.push(Float32Array.from(g, (v) => v / n));
    }
  }

  get imageCount(): number {
    return this.images.length;
  }

  next(): BenchItem {
    const r = this.random;
    const k = Math.floor(r() * this.images.length);
    const image = this.images[k];
    // Perturbation size: near-duplicates, moderate and large changes (l2 norm).
    const mix = r();
    const size = mix < 0.3 ? 1e-3 + r() * 0.05 : mix < 0.7 ? 0.1 + r() * 0.9 : 1 + r() * 2;
    const direction = this.directions[Math.floor(r() * this.directions.length)];
    const shift = Math.floor(r() * image.length);
    const step = r() < 0.5 ? size : -size;
    const input = new Float32Array(image.length);
    for (let i = 0; i < image.length; i++) {
      const j = i + shift < image.length ? i + shift : i + shift - image.length;
      input[i] = Math.min(1, Math.max(0, image[i] + direction[j] * step));
    }
    const certified = this.pool.entries[Math.floor(r() * this.pool.entries.length)];
    if (certified.answer === null) return { input, answer: null, radius: 0 };
    const label = this.labels[k];
    // A wrong pool answer becomes a wrong answer for this image: any class but its label.
    const answer = certified.answer === certified.label ? label : (label + 1 + Math.floor(r() * (this.pool.classes - 1))) % this.pool.classes;
    return { input, answer, radius: certified.radius };
  }
}
