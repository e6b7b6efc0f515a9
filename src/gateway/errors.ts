// Typed errors for expected failures: each carries the HTTP status and a stable code
// that goes into `{ error: { code, message } }` (DESIGN 3.1).
import { MemoryError } from '../memory/errors.js';

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds a client should wait before retrying (429/503). */
    readonly retryAfterS?: number,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

export const badRequest = (code: string, message: string) => new GatewayError(400, code, message);
export const notFound = (code: string, message: string) => new GatewayError(404, code, message);

export class OverloadedError extends GatewayError {
  constructor(retryAfterS: number) {
    super(429, 'overloaded', `admission queue is full; retry after ${retryAfterS} s`, retryAfterS);
  }
}

export class DeadlineError extends GatewayError {
  constructor(stage: 'queue' | 'evaluation', retryAfterS = 1) {
    super(
      stage === 'queue' ? 503 : 504,
      'deadline_exceeded',
      `the request deadline passed while ${stage === 'queue' ? 'queued' : 'evaluating'}; nothing was stored`,
      stage === 'queue' ? retryAfterS : undefined,
    );
  }
}

export class ShuttingDownError extends GatewayError {
  constructor() {
    super(503, 'shutting_down', 'the gateway is shutting down', 1);
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export function errorBody(err: GatewayError): ErrorBody {
  return { error: { code: err.code, message: err.message } };
}

/** Maps anything thrown to a GatewayError; unexpected errors become a 500 without internals. */
export function asGatewayError(err: unknown): GatewayError {
  if (err instanceof GatewayError) return err;
  if (err instanceof MemoryError) return new GatewayError(err.status, err.code, err.message, err.retryAfterS);
  return new GatewayError(500, 'internal', 'internal error');
}
