// bench/sigma: certified accuracy and ACR of fixed sigma0 vs data-dependent sigma (the paper's SGA,
// the batched bracketing search, the grid baseline), side by side on the same images, N, N0, alpha
// and seeds. Usage: npx tsx bench/sigma.ts [--images 500] [--n 10000] [--n0 100] [--alpha 0.001]
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadFashionMnist } from '../src/datasets/fashionMnist.js';
import { Engine, loadManifest, modelPath, PAPER_SGA, type DecisionRequest, type SigmaSolver } from '../src/engine/index.js';

const { values: args } = parseArgs({
  options: {
    images: { type: 'string', default: '500' },
    n: { type: 'string', default: '10000' },
    n0: { type: 'string', default: '100' },
    alpha: { type: 'string', default: '0.001' },
    model: { type: 'string' },
    'cost-images': { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
  },
});
const count = Number(args.images);
const n = Number(args.n);
const n0 = Number(args.n0);
const alpha = Number(args.alpha);
const RADII = [0, 0.25, 0.5, 0.75, 1.0];

const manifest = loadManifest(new URL('../models/manifest.json', import.meta.url).pathname);
const entry = manifest.models.find((m) => m.name === (args.model ?? manifest.default))!;
const engine = await Engine.load(entry, modelPath(manifest, entry), { intraOpThreads: Number(args.threads), batchSize: 1000 });
const data = loadFashionMnist('test', count);
const seedOf = (i: number): string => createHash('sha256').update(`bench-sigma:${i}`).digest('hex').slice(0, 32);

interface Method { name: string; request: Omit<DecisionRequest, 'n' | 'n0' | 'alpha' | 'norm'> }
// Equal search budget for the data-dependent solvers: batched = 32 x (1 + 16 x 3) = 1568 evaluations;
// SGA at the paper's n = 1 gets 784 steps x 2 (central difference) = 1568 + 1; grid = 32 x (1 + 48).
const methods: Method[] = [
  { name: `fixed sigma0 = ${entry.sigma0}`, request: { sigma: entry.sigma0, solver: 'fixed' } },
  { name: 'SGA (paper Alg. 1, n = 1)', request: { sigma: 'auto', solver: 'sga', search: { ...PAPER_SGA, steps: 784 } } },
  { name: 'SGA (paper settings, K = 100)', request: { sigma: 'auto', solver: 'sga', search: { ...PAPER_SGA } } },
  { name: 'grid (48 sigmas)', request: { sigma: 'auto', solver: 'grid', search: { gridSize: 48 } } },
  { name: 'batched (16 x 3 rounds)', request: { sigma: 'auto', solver: 'batched' as SigmaSolver } },
];

interface Totals { certified: number[]; radiusSum: number; sigmaSum: number; evals: number; searchMs: number; certifyMs: number }
const totals: Totals[] = methods.map(() => ({ certified: RADII.map(() => 0), radiusSum: 0, sigmaSum: 0, evals: 0, searchMs: 0, certifyMs: 0 }));
// Methods interleaved per image, so that they share the machine's conditions; same seed per image.
for (let i = 0; i < count; i++) {
  for (const [m, method] of methods.entries()) {
    const t = totals[m];
    const d = await engine.certify(data.images[i], { ...method.request, n, n0, alpha, norm: 'l2' }, seedOf(i));
    if (d.base.answer === data.labels[i]) {
      t.radiusSum += d.base.radius;
      RADII.forEach((r, k) => { if (d.base.radius >= r) t.certified[k]++; });
    }
    t.sigmaSum += d.base.sigma;
    t.evals += d.search?.evaluations ?? 0;
    t.searchMs += d.timingsMs.sigma;
    t.certifyMs += d.timingsMs.certify;
  }
  if ((i + 1) % 50 === 0) process.stderr.write(`${i + 1}/${count} images\n`);
}
const rows = methods.map((method, m) => {
  const t = totals[m];
  return { name: method.name, certified: t.certified.map((c) => c / count), acr: t.radiusSum / count, meanSigma: t.sigmaSum / count, searchEvals: t.evals / count, searchMs: t.searchMs / count, certifyMs: t.certifyMs / count };
});

// Search cost relative to certification at N = 100 000 (the default), on a few images.
const costImages = Number(args['cost-images']);
let searchAt100k = 0, certifyAt100k = 0;
for (let i = 0; i < costImages; i++) {
  const d = await engine.certify(data.images[i], { sigma: 'auto', solver: 'batched', n: 100_000, n0: 100, alpha, norm: 'l2' }, seedOf(i));
  searchAt100k += d.timingsMs.sigma;
  certifyAt100k += d.timingsMs.certify;
}
await engine.close();

const fixed = rows[0];
console.log(`model ${entry.name}, ${count} Fashion-MNIST test images, N = ${n}, N0 = ${n0}, alpha = ${alpha}, l2`);
console.log(`| method | ${RADII.map((r) => `cert. acc. @${r}`).join(' | ')} | ACR | ACR / fixed | mean sigma | search evals / input | search ms / input | certify ms / input |`);
console.log(`|---|${RADII.map(() => '---:').join('|')}|---:|---:|---:|---:|---:|---:|`);
for (const r of rows) {
  console.log(`| ${r.name} | ${r.certified.map((c) => c.toFixed(3)).join(' | ')} | ${r.acr.toFixed(4)} | ${(r.acr / fixed.acr).toFixed(3)} | ${r.meanSigma.toFixed(3)} | ${r.searchEvals.toFixed(0)} | ${r.searchMs.toFixed(1)} | ${r.certifyMs.toFixed(1)} |`);
}
console.log(`search cost at N = 100000 (batched, ${costImages} images): ${(searchAt100k / costImages).toFixed(1)} ms search vs ${(certifyAt100k / costImages).toFixed(1)} ms certification = ${(100 * searchAt100k / certifyAt100k).toFixed(2)} %`);
