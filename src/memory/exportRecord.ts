// The `memory export` line (DESIGN 3.3): one JSON object per record.
import type { DecisionRecord } from './types.js';

/** A DecisionRecord with its input as base64 little-endian float32 (the contract's `input.b64`). */
export type ExportRecord = Omit<DecisionRecord, 'input'> & { input: { b64: string } };

export function toExportRecord(record: DecisionRecord): ExportRecord {
  const { input, ...rest } = record;
  return {
    seq: rest.seq,
    model: rest.model,
    norm: rest.norm,
    answer: rest.answer,
    radius: rest.radius,
    sigma: rest.sigma,
    input: { b64: Buffer.from(input.buffer, input.byteOffset, input.byteLength).toString('base64') },
    seed: rest.seed,
    time: rest.time,
    action: rest.action,
    conflictSeq: rest.conflictSeq,
    ...(rest.rulesVersion !== undefined ? { rulesVersion: rest.rulesVersion } : {}),
    base: rest.base,
    params: rest.params,
    timingsMs: rest.timingsMs,
    ...(rest.requestId !== undefined ? { requestId: rest.requestId } : {}),
    ...(rest.clientId !== undefined ? { clientId: rest.clientId } : {}),
  };
}

/** Inverse of the input encoding (little-endian float32, base64). */
export function decodeInputB64(b64: string): Float32Array {
  const bytes = Buffer.from(b64, 'base64');
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}
