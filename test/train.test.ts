// One-batch smoke runs of every training method through the real PyTorch training loop
// (train/smoke.py): each completes and lowers the method's own loss on that batch.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const PYTHON = process.env.CERTIGATE_PYTHON ?? '/usr/bin/python3'; // Debian's python3 has torch
const SEED = 0;

interface SmokeResult {
  method: string;
  ds2: boolean;
  seed: number;
  before: number;
  after: number;
  sigmaStats: { mean: number; min: number; max: number } | null;
}

async function smoke(method: string, ds2: boolean): Promise<SmokeResult> {
  const args = ['train/smoke.py', method, '--seed', String(SEED), ...(ds2 ? ['--ds2'] : [])];
  const { stdout } = await run(PYTHON, args, { maxBuffer: 1 << 20 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '') as SmokeResult;
}

describe('training methods, one batch', () => {
  for (const method of ['cohen', 'smoothadv', 'macer']) {
    for (const ds2 of [false, true]) {
      it(`${method}${ds2 ? ' with data-dependent sigma (DS2)' : ''} lowers its loss (seed ${SEED})`, async () => {
        const result = await smoke(method, ds2);
        expect(result.method).toBe(method);
        expect(Number.isFinite(result.before) && Number.isFinite(result.after), JSON.stringify(result)).toBe(true);
        expect(result.after, `seed ${SEED}: ${JSON.stringify(result)}`).toBeLessThan(result.before);
        if (ds2) {
          // Algorithm 2 carried one sigma per example and Algorithm 1 moved them off sigma0 = 0.25
          expect(result.sigmaStats, JSON.stringify(result)).not.toBeNull();
          expect(result.sigmaStats!.max - result.sigmaStats!.min).toBeGreaterThan(0);
        } else {
          expect(result.sigmaStats).toBeNull();
        }
      });
    }
  }
});
