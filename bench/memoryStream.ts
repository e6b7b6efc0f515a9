// The benchmark stream: Fashion-MNIST images (train + test) with perturbations, and base
// decisions whose radii follow the shape of certified l2 radii of a Fashion-MNIST model at
// sigma = 0.25 (N = 100 000, alpha = 0.001): radius = 0.25 * PhiInv(pA_lower), pA_lower drawn so
// that radii spread over (0, 0.95] with most mass around 0.3-0.9, and 15 % abstains.
import { loadFashionMnist } from '../src/datasets/fashionMnist.js';
import { gaussian, rng } from '../test/helpers/memory-streams.js';

export interface BenchItem {
  input: Float32Array;
  answer: number | null;
  radius: number;
}

/** Inverse standard normal CDF (Acklam's rational approximation, ~1e-9 relative): enough for drawing radii. */
function phiInv(p: number): number {
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const pl = 0.02425;
  if (p < pl) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - pl) return -phiInv(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

export class FashionStream {
  private readonly images: Float32Array[];
  private readonly labels: number[];
  private readonly random: () => number;
  /** Unit-norm Gaussian directions, reused with random offsets and signs (drawing 784 normals per item is slow). */
  private readonly directions: Float32Array[] = [];

  constructor(seed: number) {
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
    if (r() < 0.15) return { input, answer: null, radius: 0 };
    const answer = r() < 0.9 ? this.labels[k] : Math.floor(r() * 10);
    // 1 - pA_lower log-uniform in [7e-5, 0.5): radius = 0.25 PhiInv(pA_lower) in (0, 0.95].
    const tail = 10 ** -(0.3 + r() * 3.85);
    return { input, answer, radius: Math.max(0, 0.25 * phiInv(1 - tail)) };
  }
}
