// TEMPORARY: brute-force in-process memory used only until src/memory's store lands.
import { referenceDecide } from '../../src/memory/reference.js';
import { toExportRecord } from '../../src/memory/exportRecord.js';
import type { DecisionMemory } from '../../src/gateway/memoryPort.js';
import type { DecisionRecord, MemoryOutcome, Proposal } from '../../src/memory/types.js';

export async function openInterimMemory(): Promise<DecisionMemory> {
  const records = new Map<string, DecisionRecord[]>();
  let queue: Promise<unknown> = Promise.resolve();
  return {
    decide(p: Proposal): Promise<MemoryOutcome> {
      const key = `${p.model}/${p.norm}`;
      const result = queue.then(() => {
        const list = records.get(key) ?? [];
        records.set(key, list);
        const d = referenceDecide(list, p.input, p.base, p.norm);
        if (d.action === 'repeat') {
          const rec = list.find((r) => r.seq === d.repeatOf)!;
          return { seq: rec.seq, answer: rec.answer, radius: rec.radius, action: 'repeat' as const, conflictSeq: null, record: rec };
        }
        const rec: DecisionRecord = {
          seq: list.length, model: p.model, norm: p.norm, answer: d.answer, radius: d.radius, sigma: p.base.sigma, input: p.input,
          seed: p.seed, time: new Date().toISOString(), action: d.action, conflictSeq: d.conflictSeq, base: p.base, params: p.params,
          timingsMs: p.timingsMs, requestId: p.requestId, clientId: p.clientId,
        };
        list.push(rec);
        return { seq: rec.seq, answer: rec.answer, radius: rec.radius, action: d.action, conflictSeq: d.conflictSeq, record: rec };
      });
      queue = result.catch(() => undefined);
      return result;
    },
    async *export(model, norm, after) {
      for (const r of records.get(`${model}/${norm}`) ?? []) if (r.seq > after) yield toExportRecord(r) as unknown as Record<string, unknown>;
    },
    async close() {},
  };
}
