// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), table-driven "slicing by 8":
// eight 256-entry tables let the loop consume 8 bytes per step, which matters when a
// replay checksums gigabytes of log. The tables sit in one array (table t at t * 256): one
// base pointer instead of eight measured 1.2-1.4x faster. Inputs of WASM_MIN_BYTES or more
// (every log frame) go through the same loop in WebAssembly (wasm/crc32c.wat), which has no
// bounds check per table load, a chunk at a time through its memory; the JS loop stays for
// short inputs and as the reference the tests compare it with.
import { CRC32C_WASM_BASE64 } from './crc32cWasm.js';
import { compileKernel } from '../util/wasmKernel.js';

const POLY = 0x82f63b78;
const TABLE = buildTable();

function buildTable(): Int32Array {
  const table = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    table[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = table[n];
    for (let t = 1; t < 8; t++) {
      c = table[c & 0xff] ^ (c >>> 8);
      table[t * 256 + n] = c;
    }
  }
  return table;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

const WASM_MIN_BYTES = 256;
/** Kernel memory: the tables (8 KiB), then a chunk of the bytes to checksum (the rest of one page). */
const KERNEL_DATA = 8192;
const KERNEL_CHUNK = 65536 - KERNEL_DATA;

interface CrcKernel {
  update(crc: number, at: number, n: number): number;
}

let kernel: { update: CrcKernel['update']; bytes: Uint8Array } | null = null;

function crcKernel(): { update: CrcKernel['update']; bytes: Uint8Array } {
  if (!kernel) {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1 });
    new Int32Array(memory.buffer, 0, TABLE.length).set(TABLE);
    const exports = new WebAssembly.Instance(compileKernel(CRC32C_WASM_BASE64), { env: { memory } }).exports as unknown as CrcKernel;
    kernel = { update: exports.update, bytes: new Uint8Array(memory.buffer) };
  }
  return kernel;
}

/** Continues a CRC-32C over `bytes`; start with the default (0) for a fresh checksum. */
export function crc32c(bytes: Uint8Array, previous = 0): number {
  if (bytes.length < WASM_MIN_BYTES) return crc32cScalar(bytes, previous);
  const { update, bytes: memory } = crcKernel();
  let crc = ~previous | 0;
  for (let at = 0; at < bytes.length; at += KERNEL_CHUNK) {
    const chunk = bytes.subarray(at, Math.min(bytes.length, at + KERNEL_CHUNK));
    memory.set(chunk, KERNEL_DATA);
    crc = update(crc, KERNEL_DATA, chunk.length);
  }
  return ~crc >>> 0;
}

/** The same CRC in JS (short inputs; the reference for the kernel). */
export function crc32cScalar(bytes: Uint8Array, previous = 0): number {
  const t0 = TABLE;
  let crc = ~previous >>> 0;
  let i = 0;
  const n = bytes.length;
  // Bytewise up to a 4-byte boundary, then whole words through an aligned view.
  while (i < n && (bytes.byteOffset + i) % 4 !== 0) crc = t0[(crc ^ bytes[i++]) & 0xff] ^ (crc >>> 8);
  const words = (n - i) >> 3 << 1;
  if (LITTLE_ENDIAN && words > 0) {
    crc = crcWords(new Uint32Array(bytes.buffer, bytes.byteOffset + i, words), crc);
    i += words * 4;
  }
  while (i < n) crc = t0[(crc ^ bytes[i++]) & 0xff] ^ (crc >>> 8);
  return ~crc >>> 0;
}

/** Slicing by 8 over pairs of little-endian 32-bit words. */
function crcWords(words: Uint32Array, crc: number): number {
  const t = TABLE;
  for (let w = 0; w < words.length; w += 2) {
    const lo = words[w] ^ crc;
    const hi = words[w + 1];
    crc =
      t[1792 + (lo & 0xff)] ^ t[1536 + ((lo >>> 8) & 0xff)] ^ t[1280 + ((lo >>> 16) & 0xff)] ^ t[1024 + (lo >>> 24)] ^
      t[768 + (hi & 0xff)] ^ t[512 + ((hi >>> 8) & 0xff)] ^ t[256 + ((hi >>> 16) & 0xff)] ^ t[hi >>> 24];
  }
  return crc >>> 0;
}
