// Typed errors of the memory for expected failures. Each carries the HTTP status and a stable
// code, so the gateway can map them without the memory importing the gateway.

export class MemoryError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds a client should wait before retrying (503). */
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'MemoryError';
  }
}

/** The bounded decision queue is full: back-pressure, nothing was decided or stored. */
export class MemoryQueueFullError extends MemoryError {
  constructor(capacity: number) {
    super(503, 'memory_queue_full', `the memory decision queue is full (${capacity} waiting); retry later`, 1);
    this.name = 'MemoryQueueFullError';
  }
}

/** A write or fsync failed: the memory refuses further decisions until it is reopened from its log. */
export class MemoryUnavailableError extends MemoryError {
  constructor(reason: string) {
    super(503, 'memory_unavailable', `the memory is unavailable: ${reason}`, 5);
    this.name = 'MemoryUnavailableError';
  }
}

export class MemoryClosedError extends MemoryError {
  constructor() {
    super(503, 'memory_closed', 'the memory is closed', 1);
    this.name = 'MemoryClosedError';
  }
}

/** The proposal does not fit this memory (input length, name); nothing was stored. */
export class MemoryInputError extends MemoryError {
  constructor(message: string) {
    super(400, 'memory_bad_input', message);
    this.name = 'MemoryInputError';
  }
}

/** The log cannot be replayed: corruption before the tail. Starting would silently drop records. */
export class LogCorruptionError extends Error {
  constructor(
    readonly file: string,
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`memory log ${file} is corrupt at byte offset ${offset}: ${reason}; refusing to start (restore the file or remove the damaged records deliberately)`);
    this.name = 'LogCorruptionError';
  }
}

/** Who holds a data directory, as its .lock file says (information only; the lock is the socket). */
export interface DataDirLockHolder {
  pid: number;
  hostname: string;
  startedAt: string;
}

/**
 * Another writer (a gateway or `certigate certify`) holds the data directory: a second writer
 * would interleave records in the logs and break the invariant. 409, not 503: the request
 * conflicts with the directory's current owner, and retrying in a few seconds does not help
 * until that writer is stopped.
 */
export class DataDirLockedError extends MemoryError {
  constructor(
    readonly dataDir: string,
    readonly holder?: DataDirLockHolder,
  ) {
    const who = holder
      ? `pid ${holder.pid} on host ${holder.hostname}, since ${holder.startedAt}`
      : 'holder unknown: its .lock file is missing or unreadable';
    super(
      409, 'data_dir_locked',
      `data directory ${dataDir} is in use by another certigate writer (${who}); ` +
      'stop that gateway or certify run, or use another data directory (memory export, memory verify and audit replay may run alongside it)',
    );
    this.name = 'DataDirLockedError';
  }
}
