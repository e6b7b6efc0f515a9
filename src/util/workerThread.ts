// What the memory's worker threads (the search helper, the segment builder) share: a lower
// priority for the thread, and a collector for memories they let go of.
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { basename } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Sets this thread's nice value (Linux: a thread's nice value is its own). Where it cannot, the thread runs as before. */
export function lowerPriority(nice: number): void {
  if (process.platform !== 'linux') return;
  try {
    setPriority(Number(basename(readlinkSync('/proc/thread-self'))), nice);
  } catch {
    // No procfs, or not permitted: only speed depends on it.
  }
}

/**
 * Shared memories a thread lets go of stay allocated until its collector runs, and a thread that
 * allocates little on its own heap rarely runs it: this one collects once `bytes` were let go.
 */
export class ReleasedMemories {
  private released = 0;
  private readonly collect: () => void;

  constructor(private readonly bytes: number) {
    setFlagsFromString('--expose-gc');
    this.collect = runInNewContext('gc') as () => void;
  }

  /** Notes memories let go of. */
  release(bytes: number): void {
    this.released += bytes;
  }

  /** Collects (a full collection) if enough were let go: call it where a pause costs nothing. */
  collectIfDue(): void {
    if (this.released < this.bytes) return;
    this.released = 0;
    this.collect();
  }
}
