// The durable log: CRC-32C, replay, torn tails, corruption before the tail, group commit,
// back-pressure, and a seeded fault-injecting disk (failed/torn appends, failed fsyncs, crashes).
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { crc32c } from '@node-rs/crc32';
import { distance } from '../src/memory/distance.js';
import { LogCorruptionError, MemoryQueueFullError, MemoryUnavailableError } from '../src/memory/errors.js';
import { decodeInputB64 } from '../src/memory/exportRecord.js';
import { FaultDisk } from '../src/memory/faultDisk.js';
import { FILE_HEADER_BYTES, encodeFrame, frameChecksum } from '../src/memory/logFormat.js';
import { MemoryStore } from '../src/memory/memoryStore.js';
import { referenceDecide, type ReferenceRecord } from '../src/memory/reference.js';
import { SequentialMemory } from '../src/memory/sequentialMemory.js';
import type { MemoryOutcome } from '../src/memory/types.js';
import { proposal, StreamGenerator } from './helpers/memory-streams.js';

const dirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'certigate-memory-'));
  dirs.push(dir);
  return dir;
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Feeds `count` proposals of a clustered d=16 stream, awaiting each. */
async function feed(store: MemoryStore, count: number, seed: number, model = 'fm'): Promise<MemoryOutcome[]> {
  const stream = new StreamGenerator('clustered', 16, 'l2', seed);
  const stored: ReferenceRecord[] = [];
  const out: MemoryOutcome[] = [];
  for (let i = 0; i < count; i++) {
    const item = stream.next(stored, (a, b) => distance(a, b, 'l2'));
    const o = await store.decide(proposal(model, 'l2', item.input, item.answer, item.radius, `seed${i}`));
    if (o.action !== 'repeat') stored.push({ seq: o.seq, input: item.input, answer: o.answer, radius: o.radius });
    out.push(o);
  }
  return out;
}

describe('CRC-32C', () => {
  it('matches the standard check values', () => {
    expect(crc32c(new TextEncoder().encode('123456789'))).toBe(0xe3069283);
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
    const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 0xff);
    expect(crc32c(bytes.subarray(300), crc32c(bytes.subarray(0, 300)))).toBe(crc32c(bytes));
    // Every alignment and length against a bit-at-a-time reference.
    const bitwise = (b: Uint8Array) => {
      let c = 0xffffffff;
      for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      }
      return ~c >>> 0;
    };
    for (let offset = 0; offset < 9; offset++) {
      for (const length of [0, 1, 3, 7, 8, 9, 15, 16, 17, 63, 200, 255, 256, 257, 263, 900]) {
        const view = bytes.subarray(offset, offset + length);
        expect(crc32c(view), `offset ${offset} length ${length}`).toBe(bitwise(view));
      }
    }
    // Frame-sized and longer inputs, whole and continued from a previous checksum.
    const random = (seed: number) => () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff;
    const next = random(7);
    const long = Uint8Array.from({ length: 200_003 }, () => next());
    for (const length of [3_600, 4_099, 65_537, 199_990]) {
      for (const offset of [0, 1, 5]) {
        const view = long.subarray(offset, offset + length);
        const cut = Math.floor(length / 3);
        expect(crc32c(view), `offset ${offset} length ${length}`).toBe(bitwise(view));
        expect(crc32c(view.subarray(cut), crc32c(view.subarray(0, cut))), `offset ${offset} length ${length} cut ${cut}`).toBe(bitwise(view));
      }
    }
    // A frame's checksum: its length field and payload, as written in its header.
    for (const [seq, length] of [[1, 0], [2, 1], [3, 784], [70_000, 3_000]]) {
      const frame = encodeFrame(seq, seq % 2 ? null : 3, 0.25, Float32Array.from({ length }, (_, i) => i / 7), { seq, note: 'x'.repeat(seq % 5) });
      const view = new DataView(frame.buffer);
      const payloadLength = view.getUint32(4, true);
      const covered = new Uint8Array(4 + payloadLength);
      covered.set(frame.subarray(4, 8));
      covered.set(frame.subarray(12), 4);
      expect(view.getUint32(8, true), `frame ${seq}`).toBe(bitwise(covered));
      expect(frameChecksum(frame, 0, payloadLength), `frame ${seq}`).toBe(bitwise(covered));
    }
  });
});

describe('memory log on real files', () => {
  it('replays every record after a restart, exports DESIGN 3.3 lines, reads records back', async () => {
    const dataDir = tempDir();
    const store = new MemoryStore({ dataDir });
    const outcomes = await feed(store, 120, 5);
    await store.close();

    const again = new MemoryStore({ dataDir });
    const memory = await again.memory('fm', 'l2');
    const lastSeq = Math.max(...outcomes.map((o) => o.seq));
    expect(memory.lastSeq).toBe(lastSeq);
    expect(memory.replaySummary?.tornTail).toBeNull();
    for (const o of outcomes.filter((o) => o.action !== 'repeat')) {
      const rec = await again.readRecord('fm', 'l2', o.seq);
      expect(rec).toMatchObject({ seq: o.seq, answer: o.answer, radius: o.radius, action: o.action, conflictSeq: o.conflictSeq });
      expect(Buffer.from(rec!.input.buffer).equals(Buffer.from(o.record.input.buffer))).toBe(true);
    }
    const lines = [];
    for await (const line of again.export('fm', { after: 100 })) lines.push(JSON.parse(JSON.stringify(line)));
    expect(lines.map((l) => l.seq)).toEqual(Array.from({ length: lastSeq - 100 }, (_, i) => 101 + i));
    const first = lines[0];
    for (const key of ['seq', 'model', 'norm', 'answer', 'radius', 'sigma', 'input', 'seed', 'time', 'action', 'conflictSeq', 'base', 'params', 'timingsMs']) {
      expect(first, key).toHaveProperty(key);
    }
    expect(first.base).toMatchObject({ pALower: 0.9, countA: 900, n: 1000, n0: 100, alpha: 0.001, solver: 'fixed' });
    expect(decodeInputB64(first.input.b64)).toEqual((await again.readRecord('fm', 'l2', 101))!.input);
    // decisions continue after the replayed ones, against the replayed index
    const next = await again.decide(proposal('fm', 'l2', outcomes.find((o) => o.action !== 'repeat')!.record.input, 0, 1));
    expect(next.action).toBe('repeat');
    expect((await again.verify()).ok).toBe(true);
    await again.close();
  });

  it('truncates and reports a torn tail (incomplete header, incomplete payload, bad CRC of the last record)', async () => {
    for (const cut of ['header', 'payload', 'crc'] as const) {
      const dataDir = tempDir();
      const store = new MemoryStore({ dataDir });
      const outcomes = await feed(store, 30, 6);
      await store.close();
      const path = join(dataDir, 'fm', 'l2.log');
      const lastSeq = Math.max(...outcomes.map((o) => o.seq));
      const size = statSync(path).size;
      const bytes = readFileSync(path);
      const lastStart = bytes.lastIndexOf(Buffer.from('CGM1'));
      if (cut === 'header') truncateSync(path, lastStart + 7);
      else if (cut === 'payload') truncateSync(path, size - 5);
      else {
        bytes[size - 3] ^= 0x01;
        writeFileSync(path, bytes);
      }
      const reopened = new MemoryStore({ dataDir });
      const memory = await reopened.memory('fm', 'l2');
      expect(memory.lastSeq, cut).toBe(lastSeq - 1);
      expect(memory.replaySummary?.tornTail, cut).toMatchObject({ offset: lastStart });
      expect(statSync(path).size, cut).toBe(lastStart);
      expect((await reopened.verify()).ok).toBe(true);
      await reopened.close();
    }
  });

  it('refuses to start on corruption before the tail, naming the file and byte offset', async () => {
    const dataDir = tempDir();
    const store = new MemoryStore({ dataDir });
    await feed(store, 20, 7);
    await store.close();
    const path = join(dataDir, 'fm', 'l2.log');
    const bytes = readFileSync(path);
    const frameStarts: number[] = [];
    for (let i = bytes.indexOf(Buffer.from('CGM1')); i >= 0; i = bytes.indexOf(Buffer.from('CGM1'), i + 1)) frameStarts.push(i);
    const victim = frameStarts[5];
    bytes[victim + 100] ^= 0x40; // inside the input of the 6th record
    writeFileSync(path, bytes);
    const reopened = new MemoryStore({ dataDir });
    const error = await reopened.memory('fm', 'l2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogCorruptionError);
    expect((error as LogCorruptionError).offset).toBe(victim);
    expect((error as Error).message).toContain(path);
    expect((error as Error).message).toContain(`byte offset ${victim}`);
    expect(statSync(path).size).toBe(bytes.length); // nothing was truncated
    // a damaged length field is caught the same way
    bytes[victim + 100] ^= 0x40;
    bytes[frameStarts[3] + 5] ^= 0x7f;
    writeFileSync(path, bytes);
    await reopened.close(); // it holds the directory's lock (one writer) until closed
    const error2 = await new MemoryStore({ dataDir }).memory('fm', 'l2').catch((e: unknown) => e);
    expect((error2 as LogCorruptionError).offset).toBe(frameStarts[3]);
  });

  it('commits concurrent proposals in groups, in queue order, each resolving after its fsync', async () => {
    const dataDir = tempDir();
    const commits: number[] = [];
    const store = new MemoryStore({ dataDir, observer: { onGroupCommit: (e) => commits.push(e.records) } });
    const stream = new StreamGenerator('adversarial', 8, 'l2', 8);
    const items = [];
    const shadow: ReferenceRecord[] = [];
    for (let i = 0; i < 300; i++) {
      const item = stream.next(shadow, (a, b) => distance(a, b, 'l2'));
      items.push(item);
      if (shadow.length < 20) shadow.push({ seq: shadow.length + 1, input: item.input, answer: item.answer, radius: item.radius });
    }
    const outcomes = await Promise.all(items.map((it) => store.decide(proposal('fm', 'l2', it.input, it.answer, it.radius))));
    expect(commits.length).toBeLessThan(300); // grouped
    expect(commits.reduce((a, b) => a + b, 0)).toBe(outcomes.filter((o) => o.action !== 'repeat').length);
    // Same results as deciding one after another in submission order.
    const ref: ReferenceRecord[] = [];
    items.forEach((it, i) => {
      const e = referenceDecide(ref, it.input, { answer: it.answer, radius: it.answer === null ? 0 : it.radius }, 'l2');
      expect({ a: outcomes[i].answer, r: outcomes[i].radius, act: outcomes[i].action }, `item ${i}`).toEqual({ a: e.answer, r: e.radius, act: e.action });
      if (e.action !== 'repeat') ref.push({ seq: ref.length + 1, input: it.input, answer: e.answer, radius: e.radius });
    });
    await store.close();
  });

  it('refuses a proposal that cannot be recorded alone, without harming its group', async () => {
    const store = new MemoryStore({ dataDir: tempDir() });
    const bad = proposal('fm', 'l2', Float32Array.of(5, 5), 1, 0.5);
    bad.params = { huge: BigInt(1) } as unknown as Record<string, unknown>;
    const results = await Promise.allSettled([
      store.decide(proposal('fm', 'l2', Float32Array.of(0, 0), 1, 0.5)),
      store.decide(bad),
      store.decide(proposal('fm', 'l2', Float32Array.of(1, 0), 2, 0.5)),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ status: 400, code: 'memory_bad_input' });
    expect((results[2] as PromiseFulfilledResult<MemoryOutcome>).value.seq).toBe(2);
    expect((await store.decide(proposal('fm', 'l2', Float32Array.of(9, 9), 0, 0.1))).seq).toBe(3);
    expect((await store.verify()).ok).toBe(true);
    await store.close();
  });

  it('refuses with a typed 503 error when the decision queue is full', async () => {
    const store = new MemoryStore({ dataDir: tempDir(), queueCapacity: 4 });
    const memory = await store.memory('fm', 'l2');
    const results = await Promise.allSettled(
      Array.from({ length: 12 }, (_, i) => memory.decide(proposal('fm', 'l2', Float32Array.of(i, 0), 1, 0.1))),
    );
    const refused = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason);
    expect(refused.length).toBeGreaterThan(0);
    for (const e of refused) {
      expect(e).toBeInstanceOf(MemoryQueueFullError);
      expect(e.status).toBe(503);
    }
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(12 - refused.length);
    await store.close();
  });
});

describe('memory log on a fault-injecting disk', () => {
  it('keeps every acknowledged decision through failed appends, failed fsyncs and crashes', async () => {
    const seed = Number(process.env.MEMORY_FAULT_SEED ?? 4242);
    const disk = new FaultDisk({ seed, appendFailure: 0.05, fsyncFailure: 0.05 });
    const stream = new StreamGenerator('adversarial', 12, 'l2', seed);
    const acknowledged = new Map<number, MemoryOutcome>();
    const shadow: ReferenceRecord[] = [];
    let failures = 0;
    let torn = 0;
    for (let round = 0; round < 25; round++) {
      disk.setFaults({ appendFailure: 0, fsyncFailure: 0 });
      const store = new MemoryStore({ dataDir: '/data', disk, maxGroup: 8 });
      const memory = await store.memory('fm', 'l2');
      if (memory.replaySummary?.tornTail) torn++;
      // Every acknowledged record is present and identical.
      for (const [seq, o] of acknowledged) {
        const rec = memory.readRecord(seq);
        expect(rec, `seed=${seed} round=${round} seq=${seq}`).toMatchObject({ answer: o.answer, radius: o.radius, action: o.action });
      }
      const report = await store.verify();
      expect(report.problems, `seed=${seed} round=${round}`).toEqual([]);
      disk.setFaults({ appendFailure: 0.05, fsyncFailure: 0.05 });
      const batch = Array.from({ length: 20 }, () => stream.next(shadow, (a, b) => distance(a, b, 'l2')));
      const results = await Promise.allSettled(batch.map((it) => memory.decide(proposal('fm', 'l2', it.input, it.answer, it.radius))));
      for (const [i, r] of results.entries()) {
        if (r.status === 'fulfilled') {
          if (r.value.action !== 'repeat') acknowledged.set(r.value.seq, r.value);
          if (shadow.length < 50) shadow.push({ seq: 0, input: batch[i].input, answer: batch[i].answer, radius: batch[i].radius });
        } else {
          expect(r.reason, `seed=${seed}`).toBeInstanceOf(MemoryUnavailableError);
          failures++;
        }
      }
      disk.crash();
    }
    expect(failures, `seed=${seed}`).toBeGreaterThan(0);
    expect(acknowledged.size, `seed=${seed}`).toBeGreaterThan(100);
    expect(torn, `seed=${seed}`).toBeGreaterThan(0);
  });

  it('refuses bit rot in a synced record before the tail', async () => {
    const disk = new FaultDisk({ seed: 9 });
    const store = new MemoryStore({ dataDir: '/d', disk });
    await feed(store, 10, 3);
    await store.close();
    disk.corrupt('/d/fm/l2.log', FILE_HEADER_BYTES + 40);
    const error = await new MemoryStore({ dataDir: '/d', disk }).memory('fm', 'l2').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LogCorruptionError);
    expect((error as LogCorruptionError).offset).toBe(FILE_HEADER_BYTES);
  });
});
