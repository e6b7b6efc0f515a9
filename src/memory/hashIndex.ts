// Record indices by input hash, for exact repeats: open addressing with linear probing over
// typed arrays. A Map of a million number keys costs a heap number and ~80 bytes per entry and
// measurable garbage-collection time during a replay; this costs 12 bytes per slot.
// Records with equal hashes (different inputs that collide) take separate slots; a lookup visits
// them in the order they were added.

const EMPTY = -1;

export class HashIndex {
  private hashes: Float64Array;
  private records: Int32Array;
  private count = 0;

  constructor(capacity = 1024) {
    const slots = 2 ** Math.ceil(Math.log2(Math.max(16, capacity)));
    this.hashes = new Float64Array(slots);
    this.records = new Int32Array(slots).fill(EMPTY);
  }

  get size(): number {
    return this.count;
  }

  /** Adds `record` under `hash` (a non-negative integer below 2^53). */
  add(hash: number, record: number): void {
    if (!(record >= 0 && Number.isInteger(record))) throw new Error(`bad record index ${record}`);
    // At most half full: probe runs stay short and a lookup always meets an empty slot.
    if (2 * (this.count + 1) > this.records.length) this.grow();
    this.insert(hash, record);
    this.count++;
  }

  /** The first record added under `hash` for which `matches` holds, or null. */
  find(hash: number, matches: (record: number) => boolean): number | null {
    const mask = this.records.length - 1;
    let slot = (hash >>> 0) & mask; // the low 32 bits of the hash
    for (let probes = 0; probes <= mask; probes++) {
      const record = this.records[slot];
      if (record === EMPTY) return null;
      if (this.hashes[slot] === hash && matches(record)) return record;
      slot = (slot + 1) & mask;
    }
    return null;
  }

  bytesUsed(): number {
    return this.hashes.byteLength + this.records.byteLength;
  }

  private insert(hash: number, record: number): void {
    const mask = this.records.length - 1;
    let slot = (hash >>> 0) & mask;
    while (this.records[slot] !== EMPTY) slot = (slot + 1) & mask;
    this.hashes[slot] = hash;
    this.records[slot] = record;
  }

  private grow(): void {
    const hashes = this.hashes;
    const records = this.records;
    const slots = records.length;
    this.hashes = new Float64Array(2 * slots);
    this.records = new Int32Array(2 * slots).fill(EMPTY);
    // From an empty slot round the table: every probe run is re-added front to back, so records
    // with equal hashes keep their order.
    const start = records.indexOf(EMPTY);
    for (let k = 0; k < slots; k++) {
      const slot = (start + k) & (slots - 1);
      if (records[slot] !== EMPTY) this.insert(hashes[slot], records[slot]);
    }
  }
}
