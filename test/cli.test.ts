// The command line as a user runs it: certify through the memory, predict, bad input, export,
// verify and audit replay, in child processes on real files.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadFashionMnist } from '../src/datasets/fashionMnist.js';
import { MemoryStore } from '../src/memory/memoryStore.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'certigate-cli-'));
const data = join(dir, 'data');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Run { code: number; stdout: string; stderr: string }
function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

const images = loadFashionMnist('test', 3).images.map((x) => Array.from(x));
const inputs = join(dir, 'inputs.ndjson');
writeFileSync(inputs, images.map((x) => JSON.stringify(x)).join('\n'));
const small = ['--n', '300', '--n0', '20'];

describe('certigate certify', () => {
  it('prints one DESIGN 3.1 response a line and accumulates in the memory across runs', async () => {
    const first = await cli('certify', '--input', inputs, ...small, '--data', data, '--json');
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const responses = first.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(responses.map((r) => r.memory.seq)).toEqual([1, 2, 3]);
    for (const r of responses) {
      expect(r.model).toBe('fmnist-cohen-025');
      expect(r.base.n).toBe(300);
      expect(r.base.sigma0).toBe(0.25);
      expect(r.seed).toMatch(/^[0-9a-f]{32}$/);
    }
    const second = await cli('certify', '--input', inputs, ...small, '--data', data, '--json');
    const again = second.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(again.map((r) => r.memory.action)).toEqual(['repeat', 'repeat', 'repeat']);
    expect(again.map((r) => r.radius)).toEqual(responses.map((r) => r.radius));
  });

  it('rejects bad input with a message and exit status 2, storing nothing', async () => {
    const before = (await cli('memory', 'export', '--data', data)).stdout;
    const short = join(dir, 'short.json');
    writeFileSync(short, JSON.stringify([0.1, 0.2]));
    const nan = join(dir, 'nan.ndjson');
    writeFileSync(nan, `${JSON.stringify(images[0])}\n${JSON.stringify(images[1]).replace(/^\[[^,]+/, '[NaN')}`);
    const cases: Array<[string[], RegExp]> = [
      [['--input', short], /784/],
      [['--input', nan], /not JSON/],
      [['--input', inputs, '--model', 'no-such-model'], /unknown model/],
      [['--input', inputs, '--n', '0'], /params\.n/],
      [['--input', inputs, '--alpha', '0.5'], /params\.alpha/],
      [['--input', inputs, '--alpha', '0'], /params\.alpha/],
      [['--input', inputs, '--sigma', '-1'], /params\.sigma/],
      [['--input', inputs, '--norm', 'linf'], /params\.norm/],
      [['--input', join(dir, 'missing.json')], /ENOENT|no such file/],
    ];
    for (const [args, message] of cases) {
      const run = await cli('certify', ...args, '--data', data, '--json');
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr).toMatch(message);
      expect(run.stdout).toBe('');
    }
    expect((await cli('memory', 'export', '--data', data)).stdout).toBe(before);
  });

  it('predict answers without a memory', async () => {
    const fresh = join(dir, 'predict-data');
    const run = await cli('predict', '--input', inputs, '--n', '200', '--data', fresh, '--json');
    expect(run.code).toBe(0);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(3);
    for (const p of lines) expect(p.countA + p.countB).toBeLessThanOrEqual(200);
    expect(existsSync(fresh) ? readdirSync(fresh) : []).toEqual([]);
  });
});

describe('certigate memory and audit', () => {
  it('exports the contract fields, verifies the invariant and replays a decision exactly', async () => {
    const exported = (await cli('memory', 'export', '--data', data)).stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(exported).toHaveLength(3);
    for (const r of exported) for (const key of ['seq', 'model', 'norm', 'answer', 'radius', 'sigma', 'input', 'seed', 'time']) expect(r).toHaveProperty(key);
    const verify = await cli('memory', 'verify', '--data', data);
    expect(verify.code).toBe(0);
    expect(verify.stdout).toMatch(/ok/);
    const replay = await cli('audit', 'replay', '--seq', '2', '--data', data);
    expect(replay.code).toBe(0);
    const report = JSON.parse(replay.stdout);
    expect(report.reproduced).toBe(true);
    expect(report.fields.countA.stored).toBe(report.fields.countA.replayed);
  });

  it('audit replay exposes an invented record', async () => {
    const forged = join(dir, 'forged');
    const store = new MemoryStore({ dataDir: forged });
    await store.decide({
      model: 'fmnist-cohen-025', norm: 'l2', input: Float32Array.from(images[0]!), seed: '0123456789abcdef0123456789abcdef',
      base: { answer: 3, radius: 2.5, pALower: 0.9999, countA: 300, n: 300, n0: 20, alpha: 0.001, sigma: 0.25, sigma0: 0.25, solver: 'fixed' },
      params: { n0: 20, n: 300, alpha: 0.001, sigma: 0.25, norm: 'l2', solver: 'fixed' }, timingsMs: {},
    });
    await store.close();
    const replay = await cli('audit', 'replay', '--seq', '1', '--data', forged);
    expect(replay.code).toBe(1);
    expect(JSON.parse(replay.stdout).reproduced).toBe(false);
    expect((await cli('audit', 'replay', '--seq', '9', '--data', forged)).code).toBe(2);
  });
});
