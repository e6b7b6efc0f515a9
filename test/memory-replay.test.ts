// Replay with a worker thread (large logs) must rebuild exactly the memory that the replay on
// one thread rebuilds, and treat torn tails, corruption and broken sequences the same way.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { RealDisk, type Disk } from '../src/memory/disk.js';
import { distance } from '../src/memory/distance.js';
import { LogCorruptionError } from '../src/memory/errors.js';
import { encodeFrame, fileHeader } from '../src/memory/logFormat.js';
import { reach } from '../src/memory/rules.js';
import { SequentialMemory } from '../src/memory/sequentialMemory.js';
import type { ReferenceRecord } from '../src/memory/reference.js';
import { proposal, searchUntilHelperAnswers, StreamGenerator } from './helpers/memory-streams.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function logPath(): string {
  const dir = mkdtempSync(join(tmpdir(), 'certigate-replay-'));
  dirs.push(dir);
  return join(dir, 'm', 'l2.log');
}

const open = (path: string, inWorker: boolean, searchHelper = false, more: { warmupDecisions?: number; readOnly?: boolean } = {}) =>
  SequentialMemory.open({
    disk: new RealDisk(), path, model: 'm', norm: 'l2', maxGroup: 512, queueCapacity: 8192,
    workerReplayMinBytes: inWorker ? 0 : Number.MAX_SAFE_INTEGER, searchHelper, ...more,
  });

/** Decides `count` proposals of a clustered stream at d = 49 (past the index's rotation at 4096 records). */
async function fill(path: string, count: number, seed: number): Promise<ReferenceRecord[]> {
  const memory = await open(path, false);
  const stream = new StreamGenerator('clustered', 49, 'l2', seed);
  const stored: ReferenceRecord[] = [];
  const items = Array.from({ length: count }, () => stream.next(stored, (a, b) => distance(a, b, 'l2')));
  const outcomes = await Promise.all(items.map((it) => memory.decide(proposal('m', 'l2', it.input, it.answer, it.radius))));
  outcomes.forEach((o, i) => {
    if (o.action !== 'repeat') stored.push({ seq: o.seq, input: items[i].input, answer: o.answer, radius: o.radius });
  });
  await memory.close();
  return stored;
}

/** A copy of a log in a directory of its own. */
function copyLog(path: string): string {
  const copy = logPath();
  mkdirSync(dirname(copy), { recursive: true });
  writeFileSync(copy, readFileSync(path));
  return copy;
}

/** Decides the same 200 adversarial proposals on two memories of the same records; their outcomes must agree. */
async function expectSameDecisions(a: SequentialMemory, b: SequentialMemory, stored: readonly ReferenceRecord[], seed: number): Promise<void> {
  const next = new StreamGenerator('adversarial', 49, 'l2', seed);
  const seen: ReferenceRecord[] = [...stored];
  for (let i = 0; i < 200; i++) {
    const item = next.next(seen, (x, y) => distance(x, y, 'l2'));
    const oa = await a.decide(proposal('m', 'l2', item.input, item.answer, item.radius));
    const ob = await b.decide(proposal('m', 'l2', item.input, item.answer, item.radius));
    expect({ ...ob, record: undefined }, `seed=${seed} i=${i}`).toEqual({ ...oa, record: undefined });
    if (oa.action !== 'repeat') seen.push({ seq: oa.seq, input: item.input, answer: oa.answer, radius: oa.radius });
  }
}

function frameStarts(bytes: Buffer): number[] {
  const starts: number[] = [];
  for (let i = bytes.indexOf(Buffer.from('CGM1')); i >= 0; i = bytes.indexOf(Buffer.from('CGM1'), i + 1)) starts.push(i);
  return starts;
}

describe('replay in a worker thread', () => {
  it('rebuilds the same memory as a replay on one thread: candidates, repeats and later decisions', async () => {
    const seed = 41;
    const path = logPath();
    const stored = await fill(path, 5000, seed);
    const sequential = await open(path, false);
    const parallel = await open(path, true);
    expect(parallel.lastSeq).toBe(stored.length);
    expect(parallel.replaySummary).toEqual(sequential.replaySummary);
    const probe = new StreamGenerator('clustered', 49, 'l2', seed + 1);
    for (let q = 0; q < 60; q++) {
      const item = probe.next(stored, (a, b) => distance(a, b, 'l2'));
      const scan = stored.filter((rec) => distance(item.input, rec.input, 'l2') < reach(item.radius, rec.radius)).map((rec) => rec.seq - 1);
      const found = parallel.conflictCandidates(item.input, item.radius).sort((a, b) => a - b);
      expect(found, `seed=${seed} q=${q}`).toEqual(scan);
      expect(sequential.conflictCandidates(item.input, item.radius).sort((a, b) => a - b), `seed=${seed} q=${q}`).toEqual(scan);
    }
    // An exact repeat is found through the hashes the worker computed.
    const old = stored[1234];
    const repeat = await parallel.decide(proposal('m', 'l2', old.input, 0, 0.5));
    expect(repeat).toMatchObject({ action: 'repeat', seq: old.seq, answer: old.answer, radius: old.radius });
    await sequential.close();
    await parallel.close();
    // New decisions after either replay agree (each on its own copy of the log).
    const copy = copyLog(path);
    const a = await open(path, false);
    const b = await open(copy, true);
    await expectSameDecisions(a, b, stored, seed + 2);
    await a.close();
    await b.close();
  });

  it('warms up after the replay without changing the log or any later decision', async () => {
    const seed = 47;
    const path = logPath();
    const stored = await fill(path, 5000, seed);
    const bytes = readFileSync(path);
    const copy = copyLog(path);
    const cold = await open(path, false);
    const warm = await open(copy, true, true, { warmupDecisions: 300 });
    expect(cold.warmup.decisions).toBe(0);
    expect(warm.warmup.decisions).toBe(300);
    expect(warm.lastSeq).toBe(stored.length);
    expect(readFileSync(copy).equals(bytes)).toBe(true);
    await expectSameDecisions(cold, warm, stored, seed + 1);
    await cold.close();
    await warm.close();
    // A read-only memory (export, verify, audit) serves no decisions: no warm-up.
    const reader = await open(path, false, false, { warmupDecisions: 300, readOnly: true });
    expect(reader.warmup.decisions).toBe(0);
    await reader.close();
  });

  it('closes the log and refuses to start when the warm-up cannot read a stored input back', async () => {
    const path = logPath();
    await fill(path, 300, 48);
    // A disk whose reads of one input (49 float32) fail: only the warm-up reads inputs alone.
    let closes = 0;
    const disk: Disk = {
      exists: (p) => new RealDisk().exists(p),
      list: (d) => new RealDisk().list(d),
      open: async (p) => {
        const file = await new RealDisk().open(p);
        return {
          path: file.path,
          size: () => file.size(),
          read: (position, length, into) => {
            if (length === 49 * 4) throw new Error('EIO: i/o error, read');
            return file.read(position, length, into);
          },
          append: (data) => file.append(data),
          fsync: () => file.fsync(),
          truncate: (size) => file.truncate(size),
          close: () => (closes++, file.close()),
        };
      },
    };
    const opening = SequentialMemory.open({ disk, path, model: 'm', norm: 'l2', warmupDecisions: 10 });
    await expect(opening).rejects.toThrow(/EIO/);
    expect(closes).toBe(1);
    // Without the warm-up the same disk replays (and would fail only the decision that reads).
    const memory = await SequentialMemory.open({ disk, path, model: 'm', norm: 'l2' });
    expect(memory.lastSeq).toBeGreaterThan(0);
    await memory.close();
  });

  it('replays more batches than the reader keeps input buffers for, each record from its own bytes', async () => {
    // 7 batches of 4096 and a part: the reader (replayReader.ts) fills the input buffers that come back to it again.
    const seed = 45;
    const count = 7 * 4096 + 321;
    const path = logPath();
    mkdirSync(dirname(path), { recursive: true });
    const stream = new StreamGenerator('random', 49, 'l2', seed);
    const records: ReferenceRecord[] = [];
    const frames: Uint8Array[] = [fileHeader()];
    for (let seq = 1; seq <= count; seq++) {
      const item = stream.next([], (a, b) => distance(a, b, 'l2'));
      records.push({ seq, input: item.input, answer: item.answer, radius: item.radius });
      frames.push(encodeFrame(seq, item.answer, item.radius, item.input, { seq }));
    }
    writeFileSync(path, Buffer.concat(frames));
    const sequential = await open(path, false);
    // With the search helper: it searches the segments built in the memories the replay staged.
    const parallel = await open(path, true, true);
    await parallel.searchHelperReady();
    expect(parallel.lastSeq).toBe(count);
    const probe = new StreamGenerator('random', 49, 'l2', seed + 1);
    const check = (q: number) => {
      const item = probe.next([], (a, b) => distance(a, b, 'l2'));
      const scan = records.filter((rec) => distance(item.input, rec.input, 'l2') < reach(item.radius, rec.radius)).map((rec) => rec.seq - 1);
      expect(parallel.conflictCandidates(item.input, item.radius).sort((a, b) => a - b), `seed=${seed} q=${q}`).toEqual(scan);
      expect(sequential.conflictCandidates(item.input, item.radius).sort((a, b) => a - b), `seed=${seed} q=${q}`).toEqual(scan);
    };
    for (let q = 0; q < 40; q++) check(q);
    await searchUntilHelperAnswers(() => parallel.searchHelperCounts!.answered, check, 40, 1000);
    // Exact repeats of records from every batch, found through the hashes of their inputs.
    for (const index of [0, 4095, 4096, 9000, 5 * 4096 + 7, 6 * 4096 + 1, count - 1]) {
      const old = records[index];
      expect(await parallel.decide(proposal('m', 'l2', old.input, 0, 0.5)), `seed=${seed} record=${index}`)
        .toMatchObject({ action: 'repeat', seq: old.seq });
    }
    expect(parallel.searchHelperCounts?.answered, `seed=${seed}`).toBeGreaterThan(0);
    await sequential.close();
    await parallel.close();
  });

  it('truncates and reports a torn tail, and refuses corruption before the tail with its offset', async () => {
    const path = logPath();
    await fill(path, 300, 43);
    const bytes = readFileSync(path);
    const starts = frameStarts(bytes);
    const last = starts[starts.length - 1];
    truncateSync(path, bytes.length - 7);
    const torn = await open(path, true);
    expect(torn.lastSeq).toBe(starts.length - 1);
    expect(torn.replaySummary?.tornTail).toMatchObject({ offset: last, bytes: bytes.length - 7 - last });
    expect(statSync(path).size).toBe(last);
    await torn.close();

    const damaged = readFileSync(path);
    damaged[starts[100] + 200] ^= 0x10;
    writeFileSync(path, damaged);
    const error = await open(path, true).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogCorruptionError);
    expect((error as LogCorruptionError).offset).toBe(starts[100]);
    expect(statSync(path).size).toBe(damaged.length); // nothing truncated
  });

  it('refuses a log whose sequence skips a number, naming the frame', async () => {
    const path = logPath();
    await fill(path, 3, 44); // creates the directory and a valid header
    const input = new Float32Array(49).fill(0.5);
    const frames = [1, 2, 4].map((seq) => encodeFrame(seq, 1, 0.1, input.map((v) => v + seq), { seq }));
    writeFileSync(path, Buffer.concat([fileHeader(), ...frames]));
    const error = await open(path, true).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogCorruptionError);
    expect((error as Error).message).toContain('sequence 4 follows 2');
    expect((error as LogCorruptionError).offset).toBe(fileHeader().length + frames[0].length + frames[1].length);
  });
});
