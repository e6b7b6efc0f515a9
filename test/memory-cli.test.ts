// `memory export` / `memory verify` as the CLI calls them, on real files; verify must fail on a
// log whose records overlap (written directly, bypassing the rules).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { memoryExport, memoryVerify } from '../src/cli/memory.js';
import { encodeFrame, fileHeader } from '../src/memory/logFormat.js';
import { MemoryStore } from '../src/memory/memoryStore.js';
import { nestedMargin } from '../src/memory/rules.js';
import { proposal } from './helpers/memory-streams.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'certigate-memory-cli-'));
  dirs.push(dir);
  return dir;
}
function collect(stream: PassThrough): () => string {
  let text = '';
  stream.on('data', (d) => (text += d));
  return () => text;
}

/** A record written directly; `decided` overrides the metadata (by default the base decision, kept). */
function rawRecord(seq: number, input: number[], answer: number | null, radius: number, decided: Record<string, unknown> = {}) {
  const base = { answer, radius, pALower: 0.9, countA: 90, n: 100, n0: 10, alpha: 0.001, sigma: 0.25, sigma0: 0.25, solver: 'fixed' };
  const meta = { seq, model: 'm', norm: 'l2', answer, radius, sigma: 0.25, seed: 'aa', time: new Date(0).toISOString(), action: 'none', conflictSeq: null, base, params: {}, timingsMs: {}, ...decided };
  return encodeFrame(seq, answer, radius, Float32Array.from(input), meta);
}

describe('memory CLI functions', () => {
  it('exports NDJSON lines per DESIGN 3.3 and verifies a sound memory (exit 0)', async () => {
    const dataDir = tempDir();
    const store = new MemoryStore({ dataDir });
    await store.decide(proposal('m', 'l2', Float32Array.of(0, 0), 1, 1));
    await store.decide(proposal('m', 'l2', Float32Array.of(0.5, 0), 2, 1));
    await store.decide(proposal('m', 'l1', Float32Array.of(3, 0), null, 0));
    await store.close();

    const out = new PassThrough();
    const text = collect(out);
    expect(await memoryExport({ dataDir, model: 'm', out })).toBe(3);
    const lines = text().trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.norm, l.seq, l.answer, l.action, l.rulesVersion])).toEqual([['l2', 1, 1, 'none', 3], ['l2', 2, 1, 'relabel', 3], ['l1', 1, null, 'none', 3]]);
    expect(typeof lines[0].input.b64).toBe('string');

    const after = new PassThrough();
    const afterText = collect(after);
    expect(await memoryExport({ dataDir, norm: 'l2', after: 1, out: after })).toBe(1);
    expect(JSON.parse(afterText()).seq).toBe(2);

    const report = new PassThrough();
    const reportText = collect(report);
    expect(await memoryVerify({ dataDir, out: report })).toBe(0);
    expect(reportText()).toContain('memory verify: ok');
  });

  it('re-derives each record with the rules it was decided by (records without rulesVersion: version 1)', async () => {
    // Record 2 lies 0.5 inside record 1 and proposed answer 2: relabelled to 1. Version 1 gave it
    // radius 0.5 exactly (capped against no other answer); version 2 gives 0.5 less a margin.
    const relabel = (radius: number, version?: number) => {
      const decided = { answer: 1, radius, action: 'relabel', conflictSeq: 1, ...(version ? { rulesVersion: version } : {}) };
      return rawRecord(2, [0.5, 0], 2, 1, decided);
    };
    const verify = async (second: Uint8Array) => {
      const dataDir = tempDir();
      mkdirSync(join(dataDir, 'm'), { recursive: true });
      writeFileSync(join(dataDir, 'm', 'l2.log'), Buffer.concat([fileHeader(), rawRecord(1, [0, 0], 1, 1), second]));
      const report = new PassThrough();
      const text = collect(report);
      return { code: await memoryVerify({ dataDir, out: report }), text: text() };
    };
    expect((await verify(relabel(0.5))).code).toBe(0);
    const claimed = await verify(relabel(0.5, 2));
    expect(claimed.code).toBe(1);
    expect(claimed.text).toMatch(/VIOLATION m\/l2 seq 2 \(rederive\)/);

    // The same input proposing answer 1 with radius 0.2: nested 0.5 deep in record 1. Version 2
    // kept 0.5 (capped against no other answer); version 3 keeps 0.5 less the margin.
    const nested = (radius: number, version: number) => rawRecord(2, [0.5, 0], 1, 0.2, { radius, conflictSeq: 1, rulesVersion: version });
    expect((await verify(nested(0.5, 2))).code).toBe(0);
    expect((await verify(nested(0.5, 3))).text).toMatch(/VIOLATION m\/l2 seq 2 \(rederive\)/);
    const margin = nestedMargin(1, 2);
    expect(margin).toBeGreaterThan(0);
    expect((await verify(nested(0.5 - margin, 3))).code).toBe(0);
  });

  it('exits 1 when stored regions of different answers intersect, naming both records', async () => {
    const dataDir = tempDir();
    mkdirSync(join(dataDir, 'm'), { recursive: true });
    const frames = [rawRecord(1, [0, 0], 1, 1), rawRecord(2, [1.5, 0], 2, 1), rawRecord(3, [9, 9], 2, 1)];
    writeFileSync(join(dataDir, 'm', 'l2.log'), Buffer.concat([fileHeader(), ...frames]));
    const report = new PassThrough();
    const text = collect(report);
    expect(await memoryVerify({ dataDir, out: report })).toBe(1);
    expect(text()).toMatch(/VIOLATION m\/l2 seq 1 vs 2 \(overlap\)/);
  });

  it('exits 1 on a corrupt log, naming the offset', async () => {
    const dataDir = tempDir();
    mkdirSync(join(dataDir, 'm'), { recursive: true });
    const frames = [rawRecord(1, [0, 0], 1, 1), rawRecord(2, [5, 0], 2, 1)];
    const bytes = Buffer.concat([fileHeader(), ...frames]);
    bytes[16 + 20] ^= 1;
    writeFileSync(join(dataDir, 'm', 'l2.log'), bytes);
    const report = new PassThrough();
    const text = collect(report);
    expect(await memoryVerify({ dataDir, out: report })).toBe(1);
    expect(text()).toContain('byte offset 16');
  });
});
