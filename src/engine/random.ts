// Seeded randomness for the noise. Every stream is derived from a recorded master seed and a
// label, so that a decision can be replayed and its streams are independent of each other.
import { createHash, randomBytes } from 'node:crypto';

/** A fresh crypto-random 128-bit master seed, as lowercase hex. Clients never choose seeds. */
export function newSeed(): string {
  return randomBytes(16).toString('hex');
}

const TWO_POW_NEG_53 = 2 ** -53;

/**
 * One xoshiro128** generator (Blackman & Vigna): 128-bit state, 32-bit outputs, fast with
 * V8's int32 ops. Uniform doubles take two outputs and carry the full 53 bits, which the
 * float-soundness argument (docs/soundness.md) needs.
 */
export class XoshiroLane {
  // Public so that the noise kernel can hand the state to and from WebAssembly memory.
  s0: number;
  s1: number;
  s2: number;
  s3: number;

  constructor(state: ArrayLike<number>) {
    if (state.length !== 4 || (state[0] | state[1] | state[2] | state[3]) === 0) {
      throw new Error('xoshiro128** needs a non-zero 128-bit state');
    }
    this.s0 = state[0] | 0;
    this.s1 = state[1] | 0;
    this.s2 = state[2] | 0;
    this.s3 = state[3] | 0;
  }

  /** Next 32-bit output as an unsigned integer. */
  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9);
    const t = this.s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= this.s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    return result >>> 0;
  }

  /** Uniform double in [0, 1) with 53 random bits. */
  nextDouble(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) * TWO_POW_NEG_53;
  }

  /** Uniform double in (0, 1], safe for log(). */
  nextDoubleNonZero(): number {
    return 1 - this.nextDouble();
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/** Lanes per stream: one i32x4 of WebAssembly SIMD steps all of them at once (noise.ts). */
export const LANES = 4;

/**
 * A noise stream: LANES independent xoshiro128** lanes, interleaved. Draw k of the stream
 * (one Gaussian, one uniform, or one 32-bit word) comes wholly from lane k mod LANES, so
 * that the lanes can run side by side in SIMD and still give one deterministic sequence.
 */
export class Xoshiro128 {
  /** Lane of the next draw. */
  next = 0;

  constructor(readonly lanes: XoshiroLane[]) {
    if (lanes.length !== LANES) throw new Error(`a stream has ${LANES} lanes, got ${lanes.length}`);
  }

  /** The generator of the next draw (the caller takes one draw from it); moves on to the next lane. */
  nextLane(): XoshiroLane {
    const lane = this.lanes[this.next];
    this.next = (this.next + 1) % LANES;
    return lane;
  }

  /** One draw: a 32-bit word. */
  nextUint32(): number {
    return this.nextLane().nextUint32();
  }

  /** One draw: a uniform double in [0, 1) with 53 random bits. */
  nextDouble(): number {
    return this.nextLane().nextDouble();
  }
}

/**
 * Independent stream for `label` under `seed`: lane i's state is the i-th 128 bits of
 * SHA-512(seed ":" label), so lanes and labels are seeded like independent random states.
 */
export function deriveStream(seed: string, label: string): Xoshiro128 {
  if (!/^[0-9a-f]{8,}$/.test(seed)) throw new Error(`seed must be lowercase hex, got ${JSON.stringify(seed)}`);
  const digest = createHash('sha512').update(`${seed}:${label}`).digest();
  const lanes: XoshiroLane[] = [];
  for (let lane = 0; lane < LANES; lane++) {
    const state = [0, 1, 2, 3].map((i) => digest.readUint32LE(16 * lane + 4 * i));
    if ((state[0] | state[1] | state[2] | state[3]) === 0) state[0] = 1; // probability 2^-128
    lanes.push(new XoshiroLane(state));
  }
  return new Xoshiro128(lanes);
}
