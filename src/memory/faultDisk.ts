// An in-memory Disk for tests that injects the failures a real disk can produce: failed or
// partial (torn) appends, failed fsyncs, crashes that keep only a random prefix of the
// unsynced bytes (possibly garbled), and bit rot in synced data. Every choice comes from a
// seeded generator, so a failing test can be replayed from its seed.
import type { Disk, LogFile } from './disk.js';

export interface FaultOptions {
  seed: number;
  /** Probability that an append writes only a random prefix and then fails. */
  appendFailure?: number;
  /** Probability that an fsync fails (nothing becomes durable). */
  fsyncFailure?: number;
}

interface FileState {
  /** Every byte written (what reads see before a crash). */
  data: Uint8Array;
  length: number;
  /** Bytes guaranteed to survive a crash. */
  synced: number;
}

export class FaultDisk implements Disk {
  private readonly files = new Map<string, FileState>();
  private state: number;

  constructor(private options: FaultOptions) {
    this.state = options.seed >>> 0 || 1;
  }

  /** Changes the failure probabilities (e.g. none while reopening after a crash). */
  setFaults(faults: Omit<FaultOptions, 'seed'>): void {
    this.options = { ...this.options, ...faults };
  }

  random(): number {
    // xorshift32
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return this.state / 0x100000000;
  }

  async open(path: string): Promise<LogFile> {
    let state = this.files.get(path);
    if (!state) {
      state = { data: new Uint8Array(4096), length: 0, synced: 0 };
      this.files.set(path, state);
    }
    return new FaultLogFile(path, state, this);
  }

  async exists(path: string): Promise<boolean> {
    return this.files.has(path);
  }

  async list(dir: string): Promise<string[]> {
    const prefix = dir.endsWith('/') ? dir : `${dir}/`;
    const names = new Set<string>();
    for (const path of this.files.keys()) if (path.startsWith(prefix)) names.add(path.slice(prefix.length).split('/')[0]);
    return [...names];
  }

  /**
   * Power loss: each file keeps its synced bytes plus a random prefix of the unsynced ones, whose
   * last 512 bytes may be garbled (a torn sector). Writes are not reordered: a disk that persists
   * a later unsynced sector while losing an earlier one produces damage followed by valid
   * records, which replay reports as corruption (it cannot tell that from bit rot). Open handles must not be used afterwards.
   */
  crash(): void {
    for (const state of this.files.values()) {
      const unsynced = state.length - state.synced;
      const kept = Math.floor(this.random() * (unsynced + 1));
      // The last sector written may be garbled (a torn sector write).
      const sectorStart = Math.max(state.synced, state.synced + kept - 512);
      for (let i = sectorStart; i < state.synced + kept; i++) {
        if (this.random() < 0.01) state.data[i] = Math.floor(this.random() * 256);
      }
      state.length = state.synced + kept;
      state.synced = state.length;
    }
  }

  /** Bit rot: flips one bit of a byte (synced or not). */
  corrupt(path: string, offset: number): void {
    const state = this.files.get(path);
    if (!state || offset >= state.length) throw new Error(`no byte ${offset} in ${path}`);
    state.data[offset] ^= 0x10;
  }

  bytes(path: string): Uint8Array {
    const state = this.files.get(path);
    return state ? state.data.slice(0, state.length) : new Uint8Array(0);
  }

  syncedLength(path: string): number {
    return this.files.get(path)?.synced ?? 0;
  }

  shouldFail(kind: 'append' | 'fsync'): boolean {
    const p = kind === 'append' ? this.options.appendFailure : this.options.fsyncFailure;
    return p !== undefined && p > 0 && this.random() < p;
  }
}

class FaultLogFile implements LogFile {
  private closed = false;

  constructor(
    readonly path: string,
    private readonly state: FileState,
    private readonly disk: FaultDisk,
  ) {}

  size(): number {
    return this.state.length;
  }

  read(position: number, length: number, into?: Uint8Array): Uint8Array {
    this.check();
    if (position + length > this.state.length) throw new Error(`${this.path}: short read at ${position}`);
    if (into && into.length >= length) {
      into.set(this.state.data.subarray(position, position + length));
      return into.subarray(0, length);
    }
    return this.state.data.slice(position, position + length);
  }

  async append(data: Uint8Array): Promise<void> {
    this.check();
    await Promise.resolve();
    let n = data.length;
    const fails = this.disk.shouldFail('append');
    if (fails) n = Math.floor(this.disk.random() * data.length);
    this.ensure(this.state.length + n);
    this.state.data.set(data.subarray(0, n), this.state.length);
    this.state.length += n;
    if (fails) throw Object.assign(new Error(`${this.path}: EIO (injected) after ${n} of ${data.length} bytes`), { code: 'EIO' });
  }

  async fsync(): Promise<void> {
    this.check();
    await Promise.resolve();
    if (this.disk.shouldFail('fsync')) throw Object.assign(new Error(`${this.path}: fsync EIO (injected)`), { code: 'EIO' });
    this.state.synced = this.state.length;
  }

  async truncate(size: number): Promise<void> {
    this.check();
    this.state.length = Math.min(this.state.length, size);
    this.state.synced = Math.min(this.state.synced, this.state.length);
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private check(): void {
    if (this.closed) throw new Error(`${this.path} is closed`);
  }

  private ensure(length: number): void {
    if (length <= this.state.data.length) return;
    const bigger = new Uint8Array(Math.max(length, this.state.data.length * 2));
    bigger.set(this.state.data.subarray(0, this.state.length));
    this.state.data = bigger;
  }
}
