// The file operations the log needs, behind a small interface so that tests can substitute a
// fault-injecting disk (faultDisk.ts) for real files.
import { closeSync, fsyncSync, openSync, readSync } from 'node:fs';
import { mkdir, open, readdir, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface LogFile {
  readonly path: string;
  /** Path in the operating system's file system, for readers in other threads; undefined for simulated disks. */
  readonly osPath?: string;
  /** Bytes in the file, appended but unsynced ones included. */
  size(): number;
  /**
   * Synchronous positional read: candidate inputs are read on the (serialised) decision path.
   * With `into` (at least `length` bytes), reads into it and returns a view of it (no allocation).
   */
  read(position: number, length: number, into?: Uint8Array): Uint8Array;
  append(data: Uint8Array): Promise<void>;
  fsync(): Promise<void>;
  truncate(size: number): Promise<void>;
  close(): Promise<void>;
}

export interface Disk {
  /** Opens (creating it and its directory if missing) a file for appending and positional reads. */
  open(path: string): Promise<LogFile>;
  exists(path: string): Promise<boolean>;
  /** Names in a directory ([] if it does not exist). */
  list(dir: string): Promise<string[]>;
}

export class RealDisk implements Disk {
  async open(path: string): Promise<LogFile> {
    const dir = dirname(path);
    await mkdir(dir, { recursive: true });
    const existed = await this.exists(path);
    const handle = await open(path, 'a+');
    if (!existed) syncDirectory(dir); // the new directory entry must survive a crash too
    const stat = await handle.stat();
    return new RealLogFile(path, handle, stat.size);
  }

  async exists(path: string): Promise<boolean> {
    try {
      const h = await open(path, 'r');
      await h.close();
      return true;
    } catch {
      return false;
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      return await readdir(dir);
    } catch {
      return [];
    }
  }
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

class RealLogFile implements LogFile {
  get osPath(): string {
    return this.path;
  }

  constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private length: number,
  ) {}

  size(): number {
    return this.length;
  }

  read(position: number, length: number, into?: Uint8Array): Uint8Array {
    const out = into && into.length >= length ? into.subarray(0, length) : new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.handle.fd, out, done, length - done, position + done);
      if (n === 0) throw new Error(`${this.path}: short read at ${position + done}`);
      done += n;
    }
    return out;
  }

  async append(data: Uint8Array): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, null);
      done += bytesWritten;
      this.length += bytesWritten;
    }
  }

  async fsync(): Promise<void> {
    await this.handle.sync();
  }

  async truncate(size: number): Promise<void> {
    await this.handle.truncate(size);
    await this.handle.sync();
    this.length = size;
  }

  async close(): Promise<void> {
    await this.handle.close();
  }
}
