// The exclusive lock on a data directory, with real processes: one writer per directory, the
// kernel frees the lock when the holder dies (SIGKILL included), read-only openers run beside
// the writer, and `serve` / `certify` refuse a locked directory with one readable line.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DataDirLockedError } from '../src/memory/errors.js';
import { MemoryStore } from '../src/memory/memoryStore.js';
import { spawnGateway } from './helpers/gatewayProcess.js';
import { proposal } from './helpers/memory-streams.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CHILD = fileURLToPath(new URL('./helpers/memory-lock-child.ts', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'certigate-lock-'));
let dirCount = 0;
const children: ChildProcess[] = [];
const stores: MemoryStore[] = [];
afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

function dataDir(): string {
  return join(root, `data-${++dirCount}`);
}
function store(dir: string, readOnly = false): MemoryStore {
  const s = new MemoryStore({ dataDir: dir, readOnly });
  stores.push(s);
  return s;
}

interface Holder {
  child: ChildProcess;
  lastSeq: number;
  /** Resolves with the next line the child prints after "held". */
  nextLine(): Promise<string>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A child process that opens `dir` for writing, stores `records` decisions and holds the lock. */
function startHolder(dir: string, records: number): Promise<Holder> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, 'hold', dir, String(records)], { stdio: ['pipe', 'pipe', 'pipe'] });
  children.push(child);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let rest = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.on('data', (d) => {
    const parts = (rest + d).split('\n');
    rest = parts.pop()!;
    for (const line of parts) {
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  const nextLine = () => new Promise<string>((resolve) => {
    const line = lines.shift();
    if (line !== undefined) resolve(line);
    else waiting.push(resolve);
  });
  return new Promise((resolve, reject) => {
    void exited.then(({ code, signal }) => reject(new Error(`holder exited with ${code}/${signal} before holding:\n${stderr}`)));
    void nextLine().then((line) => {
      const [tag, seq] = line.split(' ');
      if (tag !== 'held') reject(new Error(`holder printed ${JSON.stringify(line)}`));
      resolve({ child, lastSeq: Number(seq), nextLine, exited });
    });
  });
}

/** Runs a child that tries once to open `dir` for writing; returns what it printed. */
function tryInChild(dir: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--import', 'tsx', CHILD, 'try', dir], (err, stdout, stderr) => {
      if (err) reject(new Error(`try child failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

describe('data directory lock (real processes)', () => {
  it('refuses a second writer while another process holds the directory, naming the holder', async () => {
    const dir = dataDir();
    const holder = await startHolder(dir, 5);
    const log = join(dir, 'm', 'l2.log');
    const logSize = statSync(log).size;

    const error = await store(dir).memory('m', 'l2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataDirLockedError);
    const locked = error as DataDirLockedError;
    expect(locked.status).toBe(409);
    expect(locked.code).toBe('data_dir_locked');
    expect(locked.holder).toMatchObject({ pid: holder.child.pid, hostname: hostname() });
    expect(locked.message).toContain(dir);
    expect(locked.message).toContain(`pid ${holder.child.pid} on host ${hostname()}`);
    // decide() goes through the same door, and the same directory by another path is the same lock
    await expect(store(dir).decide(proposal('m', 'l2', Float32Array.of(99, 0), 1, 0.1))).rejects.toBeInstanceOf(DataDirLockedError);
    const link = join(root, `link-${dirCount}`);
    symlinkSync(dir, link);
    await expect(store(link).memory('m', 'l2')).rejects.toBeInstanceOf(DataDirLockedError);
    expect(statSync(log).size).toBe(logSize); // the refused writers appended nothing
  });

  it('is free again the moment its holder is killed with SIGKILL; the new writer replays what the holder wrote', async () => {
    const dir = dataDir();
    const holder = await startHolder(dir, 40);
    holder.child.kill('SIGKILL');
    expect((await holder.exited).signal).toBe('SIGKILL');

    // One attempt, no retry loop, no cleanup of .lock (it still names the dead holder).
    expect(JSON.parse(readFileSync(join(dir, '.lock'), 'utf8')).pid).toBe(holder.child.pid);
    const s = store(dir);
    const memory = await s.memory('m', 'l2');
    expect(memory.lastSeq).toBe(holder.lastSeq);
    expect(holder.lastSeq).toBe(40);
    for (let seq = 1; seq <= holder.lastSeq; seq++) {
      const record = await s.readRecord('m', 'l2', seq);
      expect(Array.from(record!.input), `seq ${seq}`).toEqual([seq, 0]);
    }
    expect((await s.decide(proposal('m', 'l2', Float32Array.of(1000, 0), 1, 0.1))).seq).toBe(41);
    expect(JSON.parse(readFileSync(join(dir, '.lock'), 'utf8')).pid).toBe(process.pid);
  });

  it('leaves every model name free: a memory named LOCK opens, records and exports beside the lock', async () => {
    const dir = dataDir();
    const s = store(dir);
    expect((await s.decide(proposal('LOCK', 'l2', Float32Array.of(1, 2), 1, 0.1))).seq).toBe(1);
    expect(readdirSync(dir).sort()).toEqual(['.lock', 'LOCK']);
    expect(await s.list()).toEqual([{ model: 'LOCK', norm: 'l2' }]);
    const seqs: number[] = [];
    for await (const line of s.export('LOCK')) seqs.push(line.seq);
    expect(seqs).toEqual([1]);
  });

  it('lets read-only stores open while the lock is held', async () => {
    const dir = dataDir();
    const holder = await startHolder(dir, 7);
    const reader = store(dir, true);
    const seqs: number[] = [];
    for await (const line of reader.export('m')) seqs.push(line.seq);
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect((await reader.verify()).ok).toBe(true);
    await reader.close();
    // the holder still holds it
    expect(await tryInChild(dir)).toMatch(/^refused DataDirLockedError data_dir_locked\n/);
    expect(holder.child.exitCode).toBeNull();
  });

  it('hands the lock on when its holder closes the store, in another process and in this one', async () => {
    const dir = dataDir();
    const first = store(dir);
    await first.decide(proposal('m', 'l2', Float32Array.of(-1, 0), 1, 0.1));
    const refused = await tryInChild(dir);
    expect(refused).toMatch(/^refused DataDirLockedError data_dir_locked\n/);
    expect(refused).toContain(`pid ${process.pid}`);
    // a second store in the same process is a second writer too
    await expect(store(dir).memory('m', 'l2')).rejects.toBeInstanceOf(DataDirLockedError);
    await first.close();
    expect(await tryInChild(dir)).toBe('acquired\n');

    const holder = await startHolder(dir, 2);
    await expect(store(dir).memory('m', 'l2')).rejects.toBeInstanceOf(DataDirLockedError);
    holder.child.stdin!.end(); // the holder closes its store and keeps running: close() released it
    expect(await holder.nextLine()).toBe('released');
    expect(holder.child.exitCode).toBeNull();
    const again = store(dir);
    expect(holder.lastSeq).toBe(3);
    expect((await again.memory('m', 'l2')).lastSeq).toBe(3);
    await again.close();
    // reacquire after close in one process, with the same store options
    const third = store(dir);
    expect((await third.decide(proposal('m', 'l2', Float32Array.of(5, 0), 1, 0.1))).seq).toBe(4);
  });

  it('does not block one data directory with the lock of another', async () => {
    const a = dataDir();
    const b = dataDir();
    await startHolder(a, 1);
    const s = store(b);
    expect((await s.decide(proposal('m', 'l2', Float32Array.of(1, 0), 1, 0.1))).seq).toBe(1);
    expect(await tryInChild(a)).toMatch(/^refused /);
    expect(await tryInChild(b)).toMatch(/^refused /);
  });

  it('stops `serve` and `certify` on a locked directory with exit 1 and one readable line', async () => {
    const dir = dataDir();
    const holder = await startHolder(dir, 1);
    const expected = `cannot start: data directory ${dir} is in use by another certigate writer (pid ${holder.child.pid} on host ${hostname()},`;

    const serve = (await spawnGateway(['--data', dir]).catch((e: unknown) => e)) as Error;
    expect(serve).toBeInstanceOf(Error);
    expect(serve.message).toMatch(/^gateway exited with 1 before listening:\n/);
    const serveStderr = serve.message.slice(serve.message.indexOf('\n') + 1);
    expect(serveStderr.trimEnd().split('\n')).toHaveLength(1);
    expect(serveStderr).toMatch(/^certigate serve: /);
    expect(serveStderr).toContain(expected);

    const inputs = join(root, 'inputs.ndjson');
    writeFileSync(inputs, `${JSON.stringify(Array(784).fill(0.5))}\n`);
    const run = await cli('certify', '--input', inputs, '--data', dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(/^certigate certify: /);
    expect(run.stderr).toContain(expected);
    expect(readdirSync(dir).sort()).toEqual(['.lock', 'm']); // neither created a memory
  });
});
