// What one random read costs here, by how much memory the reads range over: the index's search
// reads nodes, leaves and codes spread over about 1.4 GB at 10^6 records, and a change to its
// layout helps only if it saves the reads that cost. Each read's address comes from the one
// before (a pointer chase along one random cycle), so the reads cannot overlap and each one's
// time is its latency.
//   npx tsx bench/randomReads.ts
// Side by side in one run: cycles over regions of 1 to 1024 MB, through every 64-byte line of
// each 4 KiB page, or through one line per page (as many pages, a 64th of the bytes); each
// printed with its ratio to the cycle over 1 MB, which the caches hold.
import { performance } from 'node:perf_hooks';
import { rng } from '../test/helpers/memory-streams.js';

const PAGE_INTS = 1024;
const LINE_INTS = 16;
const READS = 2_000_000;

/** Nanoseconds per read along a random cycle through `linesPerPage` lines of each page of a region of `megabytes`. */
function chase(megabytes: number, linesPerPage: number, random: () => number): number {
  const cells = new Int32Array((megabytes * 2 ** 20) / 4);
  const pages = cells.length / PAGE_INTS;
  const slots = new Int32Array(pages * linesPerPage);
  for (let p = 0, i = 0; p < pages; p++) for (let l = 0; l < linesPerPage; l++) slots[i++] = p * PAGE_INTS + l * LINE_INTS;
  for (let i = slots.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const t = slots[i];
    slots[i] = slots[j];
    slots[j] = t;
  }
  for (let i = 0; i < slots.length; i++) cells[slots[i]] = slots[(i + 1) % slots.length];
  let at = slots[0];
  for (let i = 0; i < READS / 10; i++) at = cells[at];
  const started = performance.now();
  for (let i = 0; i < READS; i++) at = cells[at];
  const ns = ((performance.now() - started) * 1e6) / READS;
  // Used, so that the chase is not dropped.
  if (at < 0) throw new Error('unreachable');
  return ns;
}

const seed = 11;
const random = rng(seed);
const baseNs = chase(1, 64, random);
console.log(JSON.stringify({ megabytes: 1, linesPerPage: 64, nsPerRead: +baseNs.toFixed(1), ratio: 1, seed }));
for (const [megabytes, linesPerPage] of [
  [16, 64], [16, 1], [64, 64], [64, 1], [512, 64], [512, 1], [1024, 1],
] as const) {
  const ns = chase(megabytes, linesPerPage, random);
  console.log(JSON.stringify({ megabytes, linesPerPage, nsPerRead: +ns.toFixed(1), ratio: +(ns / baseNs).toFixed(1) }));
}
