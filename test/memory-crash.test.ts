// Crash test with real files: a child process appends decisions under load and is killed with
// SIGKILL at seeded random moments; after each kill every acknowledged decision must be in the
// log, identical, and the invariant must hold. The same data directory is reused across rounds,
// so replay-then-append is exercised too.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { crc32c } from '@node-rs/crc32';
import { MemoryStore } from '../src/memory/memoryStore.js';
import { rng } from './helpers/memory-streams.js';

interface Ack {
  seq: number;
  action: string;
  answer: number | null;
  radius: number;
  crc: number;
}

/** Runs the child until `acksBeforeKill` acknowledgements (then waits `extraMs`) and kills it. */
function runChild(dataDir: string, seed: number, acksBeforeKill: number, extraMs: number): Promise<{ acks: Ack[]; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(__dirname, 'helpers', 'memory-crash-child.ts'), dataDir, String(seed)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const acks: Ack[] = [];
    let buffer = '';
    let stderr = '';
    let killing = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => {
      buffer += d;
      const lines = buffer.split('\n');
      buffer = lines.pop()!;
      for (const line of lines) {
        const [tag, seq, action, answer, radius, crc] = line.split(' ');
        if (tag !== 'ack') continue;
        acks.push({ seq: Number(seq), action, answer: answer === 'null' ? null : Number(answer), radius: Number(radius), crc: Number(crc) });
      }
      if (!killing && acks.length >= acksBeforeKill) {
        killing = true;
        setTimeout(() => child.kill('SIGKILL'), extraMs);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal !== 'SIGKILL') reject(new Error(`child exited with ${code}/${signal}: ${stderr}`));
      else resolve({ acks, signal });
    });
  });
}

describe('memory crash safety (SIGKILL under load, real files)', () => {
  it('keeps every acknowledged decision, identical, and the invariant', async () => {
    const seed = Number(process.env.MEMORY_CRASH_SEED ?? 77);
    const random = rng(seed);
    const dataDir = mkdtempSync(join(tmpdir(), 'certigate-crash-'));
    const all = new Map<number, Ack>();
    try {
      for (let round = 0; round < 5; round++) {
        const acksBeforeKill = 20 + Math.floor(random() * 400);
        const extraMs = Math.floor(random() * 30);
        const { acks } = await runChild(dataDir, seed * 100 + round, acksBeforeKill, extraMs);
        expect(acks.length, `seed=${seed} round=${round}`).toBeGreaterThanOrEqual(acksBeforeKill);
        for (const a of acks) if (a.action !== 'repeat') all.set(a.seq, a);

        const store = new MemoryStore({ dataDir });
        const memory = await store.memory('crash', 'l2');
        for (const a of all.values()) {
          const rec = await store.readRecord('crash', 'l2', a.seq);
          const context = `seed=${seed} round=${round} seq=${a.seq}`;
          expect(rec, context).toBeDefined();
          expect({ action: rec!.action, answer: rec!.answer, radius: rec!.radius }, context).toEqual({ action: a.action, answer: a.answer, radius: a.radius });
          expect(crc32c(new Uint8Array(rec!.input.buffer, rec!.input.byteOffset, rec!.input.byteLength)), context).toBe(a.crc);
        }
        expect(memory.lastSeq, `seed=${seed} round=${round}`).toBeGreaterThanOrEqual(Math.max(...all.keys()));
        const report = await store.verify({}, { rederive: round === 4 });
        expect(report.problems, `seed=${seed} round=${round}`).toEqual([]);
        await store.close();
      }
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
