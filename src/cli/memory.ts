// `certigate memory export|verify`: thin functions over MemoryStore (the command parser lives in main.ts).
import type { Writable } from 'node:stream';
import { LogCorruptionError } from '../memory/errors.js';
import { MemoryStore } from '../memory/memoryStore.js';
import type { Norm } from '../memory/types.js';

export interface MemoryCliOptions {
  dataDir: string;
  model?: string;
  norm?: Norm;
}

/** Writes one NDJSON line per stored record (DESIGN 3.3). Returns the number of lines. */
export async function memoryExport(opts: MemoryCliOptions & { after?: number; out?: Writable }): Promise<number> {
  const out = opts.out ?? process.stdout;
  const store = new MemoryStore({ dataDir: opts.dataDir, readOnly: true });
  let lines = 0;
  try {
    const models = opts.model !== undefined ? [opts.model] : [...new Set((await store.list()).map((m) => m.model))];
    for (const model of models) {
      for await (const record of store.export(model, { norm: opts.norm, after: opts.after })) {
        if (!out.write(`${JSON.stringify(record)}\n`)) await new Promise((resolve) => out.once('drain', resolve));
        lines++;
      }
    }
  } finally {
    await store.close();
  }
  return lines;
}

/**
 * Brute-force check of the invariant (and re-derivation of every decision) over the stored
 * records. Prints a summary and each problem to `err`; returns the exit code (0 ok, 1 violation).
 */
export async function memoryVerify(opts: MemoryCliOptions & { rederive?: boolean; out?: Writable }): Promise<number> {
  const out = opts.out ?? process.stdout;
  const store = new MemoryStore({ dataDir: opts.dataDir, readOnly: true });
  try {
    const report = await store.verify({ model: opts.model, norm: opts.norm }, { rederive: opts.rederive });
    for (const m of report.memories) out.write(`${m.model}/${m.norm}: ${m.records} records\n`);
    for (const p of report.problems) {
      out.write(`VIOLATION ${p.model}/${p.norm} seq ${p.seq}${p.otherSeq !== undefined ? ` vs ${p.otherSeq}` : ''} (${p.kind}): ${p.message}\n`);
    }
    out.write(report.ok ? 'memory verify: ok\n' : `memory verify: ${report.problems.length} problem(s)\n`);
    return report.ok ? 0 : 1;
  } catch (error) {
    if (!(error instanceof LogCorruptionError)) throw error;
    out.write(`VIOLATION ${error.message}\n`);
    return 1;
  } finally {
    await store.close();
  }
}
