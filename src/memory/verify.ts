// Independent check of a stored memory: reads every record back from the log (checksums,
// sequence), then checks the invariant pairwise by brute force and, optionally, re-derives
// every decision from the records before it with the reference implementation.
// O(N^2 d): meant for audits, not for the request path.
import { findViolations, referenceDecide, type ReferenceRecord } from './reference.js';
import type { DecisionRecord, Norm } from './types.js';

export interface VerifyProblem {
  model: string;
  norm: Norm;
  kind: 'overlap' | 'rederive' | 'record';
  seq: number;
  otherSeq?: number;
  message: string;
}

export interface VerifyReport {
  memories: { model: string; norm: Norm; records: number }[];
  problems: VerifyProblem[];
  ok: boolean;
}

export interface VerifyOptions {
  /** Also replay every decision through the reference rules (default true). */
  rederive?: boolean;
  /** Stop collecting after this many problems per memory. */
  maxProblems?: number;
}

export async function verifyRecords(
  model: string,
  norm: Norm,
  records: AsyncIterable<DecisionRecord>,
  options: VerifyOptions = {},
): Promise<{ records: number; problems: VerifyProblem[] }> {
  const rederive = options.rederive ?? true;
  const maxProblems = options.maxProblems ?? 100;
  const problems: VerifyProblem[] = [];
  const stored: ReferenceRecord[] = [];
  let expectedSeq = 1;
  for await (const record of records) {
    const at = (kind: VerifyProblem['kind'], message: string, otherSeq?: number) => {
      if (problems.length < maxProblems) problems.push({ model, norm, kind, seq: record.seq, otherSeq, message });
    };
    if (record.seq !== expectedSeq) at('record', `seq ${record.seq} where ${expectedSeq} was expected`);
    expectedSeq = record.seq + 1;
    if (record.model !== model || record.norm !== norm) at('record', `record of ${record.model}/${record.norm} in the log of ${model}/${norm}`);
    if (!(record.radius >= 0) || (record.answer === null && record.radius !== 0)) at('record', `radius ${record.radius} with answer ${record.answer}`);
    if (record.action === 'repeat') at('record', 'a repeat was stored');
    if (rederive) {
      const base = { answer: record.base.answer, radius: record.base.answer === null ? 0 : record.base.radius };
      const expected = referenceDecide(stored, record.input, base, norm, record.rulesVersion ?? 1);
      if (expected.answer !== record.answer || expected.radius !== record.radius || expected.action !== record.action || expected.conflictSeq !== record.conflictSeq) {
        at('rederive', `stored ${describe(record)} but the rules give ${describe(expected)}`);
      }
    }
    stored.push({ seq: record.seq, input: record.input, answer: record.answer, radius: record.radius });
  }
  for (const v of findViolations(stored, norm, maxProblems)) {
    if (problems.length >= maxProblems) break;
    problems.push({
      model, norm, kind: 'overlap', seq: v.seqA, otherSeq: v.seqB,
      message: `regions of different answers intersect: distance ${v.distance} < ${v.radiusA} + ${v.radiusB}`,
    });
  }
  return { records: stored.length, problems };
}

function describe(d: { answer: number | null; radius: number; action: string; conflictSeq: number | null }): string {
  return `answer ${d.answer} radius ${d.radius} action ${d.action} conflictSeq ${d.conflictSeq}`;
}
