// Distances between stored inputs: float64 arithmetic on float32 inputs, one fixed summation
// order, so every caller (decision, index filter, reference, verify) gets the same number.
import type { Norm } from './types.js';

export function distance(a: Float32Array, b: Float32Array, norm: Norm): number {
  return norm === 'l2' ? l2Distance(a, b) : l1Distance(a, b);
}

export function l2Distance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) {
    const diff = a[i] - b[i];
    sum += diff * diff;
  }
  return Math.sqrt(sum);
}

export function l1Distance(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += Math.abs(a[i] - b[i]);
  return sum;
}

/** Bit-for-bit equality (so -0 and 0, or two NaN payloads, are different inputs). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const wa = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const wb = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < wa.length; i++) if (wa[i] !== wb[i]) return false;
  return true;
}

/**
 * A 53-bit hash of the input bits for the exact-repeat lookup (two independent 32-bit
 * multiplicative mixes). A match is always confirmed bit for bit.
 */
export function inputHash(x: Float32Array): number {
  const words = new Uint32Array(x.buffer, x.byteOffset, x.length);
  let h1 = 0x9e3779b9 ^ words.length;
  let h2 = 0x85ebca6b;
  for (let i = 0; i < words.length; i++) {
    const w = words[i];
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h1 = (h1 << 13) | (h1 >>> 19);
    h2 = Math.imul(h2 + w, 0xc2b2ae35) ^ (h2 >>> 15);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) >>> 0;
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0x27d4eb2f) >>> 0;
  return (h2 & 0x1fffff) * 0x100000000 + h1;
}
