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
 * A 53-bit hash of the input bits for the exact-repeat lookup: four independent multiplicative
 * lanes over every fourth word (independent lanes keep the multiplier busy; this runs for every
 * record of a replay), mixed into two 32-bit halves. A match is always confirmed bit for bit.
 */
export function inputHash(x: Float32Array): number {
  const words = new Uint32Array(x.buffer, x.byteOffset, x.length);
  let a = 0x9e3779b9 ^ words.length;
  let b = 0x85ebca6b;
  let c = 0xc2b2ae35;
  let d = 0x27d4eb2f;
  const n = words.length & ~3;
  for (let i = 0; i < n; i += 4) {
    a = Math.imul(a ^ words[i], 0x01000193);
    b = Math.imul(b ^ words[i + 1], 0x5bd1e995);
    c = Math.imul(c ^ words[i + 2], 0x01000193);
    d = Math.imul(d ^ words[i + 3], 0x5bd1e995);
    a = (a << 13) | (a >>> 19);
    b = (b << 15) | (b >>> 17);
    c = (c << 11) | (c >>> 21);
    d = (d << 17) | (d >>> 15);
  }
  for (let i = n; i < words.length; i++) a = Math.imul(a ^ words[i], 0x01000193) ^ (a >>> 15);
  let h1 = Math.imul(a ^ Math.imul(c, 0x85ebca6b) ^ (b >>> 7), 0xcc9e2d51);
  let h2 = Math.imul(b ^ Math.imul(d, 0xc2b2ae35) ^ (c >>> 9), 0x1b873593);
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b) >>> 0;
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0x27d4eb2f) >>> 0;
  return (h2 & 0x1fffff) * 0x100000000 + h1;
}
