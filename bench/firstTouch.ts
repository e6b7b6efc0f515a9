// What writing to memory the process has never touched costs here, against writing the same
// bytes again: each first touch of a 4 KiB page is a page fault, and on some virtual machines
// that fault is far dearer than the copy. A replay of 10^6 records writes about 2 GB of new
// memory on the memory's thread alone (bench/memoryReplay.ts counts its faults).
//   npx tsx bench/firstTouch.ts [megabytes=784]
// Side by side in one run: the first pass over a new WebAssembly memory of that size (as the
// sketches of a replay are copied into theirs), then a second pass over the same bytes.
import { performance } from 'node:perf_hooks';
import { WASM_PAGE_BYTES } from '../src/util/wasmKernel.js';

const megabytes = Number(process.argv[2] ?? 784);
if (!(Number.isInteger(megabytes) && megabytes >= 1 && megabytes <= 3000)) {
  console.error('usage: firstTouch [megabytes, 1 to 3000]');
  process.exit(2);
}
const CHUNK_BYTES = 4096 * 784; // one replay batch of sketches at d = 784
const chunks = Math.ceil((megabytes * 2 ** 20) / CHUNK_BYTES);
const source = new Uint8Array(CHUNK_BYTES).map((_, i) => i * 31);
// Allocated at its full size (reserved, not yet touched): the passes time only the writes.
const bytes = new Uint8Array(new WebAssembly.Memory({ initial: Math.ceil((chunks * CHUNK_BYTES) / WASM_PAGE_BYTES) }).buffer);

/** Copies `source` into every chunk; returns milliseconds. */
function pass(): number {
  const started = performance.now();
  for (let c = 0; c < chunks; c++) bytes.set(source, c * CHUNK_BYTES);
  return performance.now() - started;
}

const firstMs = pass();
const againMs = pass();
const mb = (chunks * CHUNK_BYTES) / 2 ** 20;
console.log(JSON.stringify({
  megabytes: Math.round(mb),
  firstTouchMs: Math.round(firstMs),
  secondPassMs: Math.round(againMs),
  firstTouchMicrosecondsPerPage: +((firstMs * 1000) / ((chunks * CHUNK_BYTES) / 4096)).toFixed(2),
  ratio: +(firstMs / againMs).toFixed(1),
}));
