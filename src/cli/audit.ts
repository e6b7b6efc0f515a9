// `certigate audit replay`: re-runs a stored decision from its recorded seed, model and
// parameters, and reports whether the engine reproduces it exactly (a record was not invented).
import type { Writable } from 'node:stream';
import { Engine, loadManifest, modelPath, type DecisionRequest } from '../engine/index.js';
import { MemoryStore } from '../memory/memoryStore.js';
import type { Norm } from '../memory/types.js';

export interface ReplayOptions {
  dataDir: string;
  manifestPath: string;
  model: string;
  norm: Norm;
  seq: number;
  out?: Writable;
}

export interface ReplayReport {
  seq: number;
  model: string;
  norm: Norm;
  reproduced: boolean;
  /** Field-by-field comparison of the stored base decision and the replayed one. */
  fields: Record<string, { stored: unknown; replayed: unknown; equal: boolean }>;
}

/** Fields of the base decision an auditor can check: counts, sigma, answer and radius. */
const COMPARED = ['answer', 'radius', 'pALower', 'countA', 'n', 'n0', 'alpha', 'sigma', 'sigma0', 'solver'] as const;

export async function auditReplay(opts: ReplayOptions): Promise<ReplayReport> {
  const store = new MemoryStore({ dataDir: opts.dataDir, readOnly: true });
  let record;
  try {
    record = await store.readRecord(opts.model, opts.norm, opts.seq);
  } finally {
    await store.close();
  }
  if (!record) throw new Error(`no record seq ${opts.seq} in the ${opts.norm} memory of ${opts.model} under ${opts.dataDir}`);
  const manifest = loadManifest(opts.manifestPath);
  const entry = manifest.models.find((m) => m.name === record.model);
  if (!entry) throw new Error(`model ${record.model} of record ${opts.seq} is not in ${opts.manifestPath}`);

  const params = record.params as Partial<DecisionRequest> & { searchOptions?: DecisionRequest['search'] | null };
  const request: DecisionRequest = {
    n0: record.base.n0,
    n: record.base.n,
    alpha: record.base.alpha,
    sigma: params.sigma ?? record.base.sigma,
    norm: record.norm,
    solver: params.solver ?? (record.base.solver as DecisionRequest['solver']),
    search: params.searchOptions ?? undefined,
  };
  const engine = await Engine.load(entry, modelPath(manifest, entry), { intraOpThreads: 1 });
  let replayed;
  try {
    replayed = await engine.certify(record.input, request, record.seed);
  } finally {
    await engine.close();
  }
  const fields: ReplayReport['fields'] = {};
  for (const key of COMPARED) {
    const stored = record.base[key];
    const again = replayed.base[key];
    fields[key] = { stored, replayed: again, equal: Object.is(stored, again) };
  }
  return { seq: record.seq, model: record.model, norm: record.norm, reproduced: Object.values(fields).every((f) => f.equal), fields };
}
