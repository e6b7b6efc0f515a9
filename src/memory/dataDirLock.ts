// An exclusive lock on a data directory: the memory is strictly sequential with one writer
// (DESIGN 2), and two writers (two gateways, or a gateway and `certigate certify`) would
// interleave records in the same logs. Read-only openers do not take it.
//
// The lock is a Unix socket bound in Linux's abstract namespace, named after the directory.
// bind() is atomic (of two starters exactly one gets the name; the other gets EADDRINUSE), and
// the kernel frees the name when the last descriptor closes, so a holder killed with SIGKILL
// leaves nothing behind: a restart after a crash needs no cleanup and no staleness timeout.
// libuv opens the socket close-on-exec, so child processes never inherit (and prolong) it.
//
// Why not proper-lockfile or another lock file with mtime staleness: the holder must refresh
// the file from a timer, and a long synchronous log replay starves that timer, so a live
// writer's lock can be judged stale and taken; and after a crash the restart must wait out the
// stale timeout. flock(2) would do, but Node has no binding for it without a native module
// (fs-ext, os-lock).
//
// Limitation: abstract socket names are per network namespace. Two containers with their own
// network namespaces that share one volume are not protected from each other; give each
// writer its own data directory there.
//
// <dataDir>/.lock (pid, host, start time) is only information for the error message; it is
// neither checked nor needed for exclusion. Its name starts with a dot, which no model name
// does, so that every model name (LOCK included) can name a memory beside it.
import { createHash } from 'node:crypto';
import { mkdir, readFile, realpath, unlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { DataDirLockedError, type DataDirLockHolder } from './errors.js';

export const LOCK_INFO_FILE = '.lock';

export class DataDirLock {
  private released: Promise<void> | null = null;

  private constructor(
    readonly dataDir: string,
    private readonly server: Server,
  ) {}

  /**
   * Takes the lock on `dataDir` (creating the directory if missing) or rejects with
   * DataDirLockedError while another process, or another store in this one, holds it.
   */
  static async acquire(dataDir: string): Promise<DataDirLock> {
    if (process.platform !== 'linux') {
      throw new Error(`locking the data directory ${dataDir} needs Linux (abstract Unix sockets); this is ${process.platform}`);
    }
    await mkdir(dataDir, { recursive: true });
    // Any connection to the name is closed at once: nobody has anything to say to a lock.
    const server = createServer((socket) => socket.destroy());
    try {
      await listen(server, await socketName(dataDir));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new DataDirLockedError(dataDir, await readHolder(dataDir));
      throw err;
    }
    server.unref(); // a held lock never keeps the process alive
    const lock = new DataDirLock(dataDir, server);
    try {
      const holder: DataDirLockHolder = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString() };
      await writeFile(join(dataDir, LOCK_INFO_FILE), `${JSON.stringify(holder)}\n`);
    } catch (err) {
      await lock.release();
      throw err;
    }
    return lock;
  }

  /** Idempotent. Removes the .lock file while still holding (so it never deletes a successor's), then frees the name. */
  release(): Promise<void> {
    this.released ??= (async () => {
      await unlink(join(this.dataDir, LOCK_INFO_FILE)).catch(() => {});
      await new Promise<void>((resolve) => this.server.close(() => resolve()));
    })();
    return this.released;
  }
}

/**
 * '\0' + a hash of the directory's real path (symlinks resolved); 75 bytes, within sun_path's
 * 107. Not its device and inode: a writer that still holds a deleted directory would then
 * block an unrelated new directory that reuses the inode. (A second bind mount of one
 * directory at another path is not recognised; mount it at one path.)
 */
async function socketName(dataDir: string): Promise<string> {
  const digest = createHash('sha256').update(await realpath(dataDir)).digest('hex');
  return `\0certigate-${digest}`;
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ path }, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

/** The holder as the .lock file describes it; undefined when it is missing, half-written or not ours. */
async function readHolder(dataDir: string): Promise<DataDirLockHolder | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dataDir, LOCK_INFO_FILE), 'utf8')) as Partial<DataDirLockHolder>;
    if (typeof parsed.pid !== 'number' || typeof parsed.hostname !== 'string' || typeof parsed.startedAt !== 'string') return undefined;
    return { pid: parsed.pid, hostname: parsed.hostname, startedAt: parsed.startedAt };
  } catch {
    return undefined;
  }
}
