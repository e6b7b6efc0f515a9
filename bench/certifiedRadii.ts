// A pool of REAL certify outputs of the default model on Fashion-MNIST test images, for the
// memory benchmark's stream (its radii, abstains and wrong answers come from here).
//   npx tsx bench/certifiedRadii.ts [--n 10000] [--k 300] [--seed 1] [--threads 2]
//   (or CERTIFIED_RADII_N, CERTIFIED_RADII_K, CERTIFIED_RADII_SEED, CERTIFIED_RADII_THREADS)
// Each image is certified through the engine with the gateway's default parameters (config
// defaults resolved as the gateway resolves a request without params: data-dependent sigma, the
// default solver and search budget, default alpha and N0), except N: the gateway's default
// N = 100 000 costs too much CPU for a benchmark set-up, so the pool uses N = 10 000 unless told
// otherwise. Radii at N = 10 000 are a bit smaller than at 100 000: the largest possible radius
// is sigma * PhiInv(alpha^(1/N)) (all N samples on one class), e.g. 3.2 sigma at N = 10 000 and
// alpha = 0.001 against 3.8 sigma at N = 100 000, and every pA_lower is a little lower.
// The pool is cached as JSON in bench/.cache/, keyed by model (name and file hash), N, K, alpha
// and seed, so that a second benchmark run reuses it.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { loadFashionMnist } from '../src/datasets/fashionMnist.js';
import { DEFAULT_MANIFEST, Engine, loadManifest, modelPath } from '../src/engine/index.js';
import { normalInverseCdf } from '../src/engine/stats.js';
import { loadGatewayConfig } from '../src/gateway/config.js';
import { engineRequest } from '../src/gateway/decisionService.js';
import { resolveCertifyParams } from '../src/gateway/validation.js';
import { rng } from '../test/helpers/memory-streams.js';

const CACHE_DIR = fileURLToPath(new URL('./.cache/', import.meta.url));
const TEST_IMAGES = 10_000;
/** Bumped when the pool's contents or meaning change, so that older cache files are not reused. */
const POOL_FORMAT = 1;

export interface PoolOptions {
  /** Monte Carlo samples of the certification (the gateway default is 100 000). */
  n: number;
  /** Test images certified. */
  k: number;
  /** Seeds the choice of images and every certification's noise. */
  seed: number;
  /** onnxruntime intra-op threads (not part of the cache key: results do not depend on it). */
  threads: number;
}

export const DEFAULT_POOL_OPTIONS: PoolOptions = { n: 10_000, k: 300, seed: 1, threads: 2 };

export interface PoolEntry {
  /** Index in the Fashion-MNIST test split. */
  image: number;
  label: number;
  /** The certified class, or null for an abstain. */
  answer: number | null;
  radius: number;
  sigma: number;
  pALower: number;
}

export interface RadiusPool {
  format: number;
  model: string;
  modelSha256: string;
  classes: number;
  n: number;
  n0: number;
  alpha: number;
  solver: string;
  sigma: 'auto' | number;
  k: number;
  seed: number;
  /** Wall-clock seconds the certifications took when the pool was built. */
  buildS: number;
  entries: PoolEntry[];
}

export interface LoadedPool {
  pool: RadiusPool;
  path: string;
  cached: boolean;
  /** Seconds this call took (loading the cache, or building the pool). */
  seconds: number;
}

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive integer, got "${value}"`);
  return n;
}

/** Options from CERTIFIED_RADII_* environment variables, over the defaults. */
export function poolOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): PoolOptions {
  return {
    n: positiveInteger('CERTIFIED_RADII_N', env.CERTIFIED_RADII_N, DEFAULT_POOL_OPTIONS.n),
    k: positiveInteger('CERTIFIED_RADII_K', env.CERTIFIED_RADII_K, DEFAULT_POOL_OPTIONS.k),
    seed: positiveInteger('CERTIFIED_RADII_SEED', env.CERTIFIED_RADII_SEED, DEFAULT_POOL_OPTIONS.seed),
    threads: positiveInteger('CERTIFIED_RADII_THREADS', env.CERTIFIED_RADII_THREADS, DEFAULT_POOL_OPTIONS.threads),
  };
}

/** K distinct test-image indices, a seeded sample (partial Fisher-Yates). */
function sampleImages(k: number, seed: number): number[] {
  if (k > TEST_IMAGES) throw new Error(`K = ${k} exceeds the ${TEST_IMAGES} test images`);
  const random = rng(seed);
  const order = Array.from({ length: TEST_IMAGES }, (_, i) => i);
  for (let i = 0; i < k; i++) {
    const j = i + Math.floor(random() * (TEST_IMAGES - i));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order.slice(0, k);
}

/** The per-image master seed: recorded implicitly by (pool seed, position), like a gateway seed. */
function certifySeed(seed: number, position: number): string {
  return createHash('sha256').update(`certified-radii:${seed}:${position}`).digest('hex').slice(0, 32);
}

/**
 * Loads the pool for `options` from bench/.cache/, or builds and caches it. Progress goes to
 * stderr; the caller prints the summary.
 */
export async function loadOrBuildPool(options: PoolOptions = DEFAULT_POOL_OPTIONS): Promise<LoadedPool> {
  const t0 = performance.now();
  const manifest = loadManifest(fileURLToPath(DEFAULT_MANIFEST));
  const entry = manifest.models.find((m) => m.name === manifest.default);
  if (!entry) throw new Error(`manifest default ${manifest.default} names no model`);
  const file = modelPath(manifest, entry);
  const modelSha256 = createHash('sha256').update(readFileSync(file)).digest('hex');
  // The gateway's defaults, resolved exactly as for a request that sets no params; only N differs.
  const config = loadGatewayConfig({ cores: 2 });
  const params = { ...resolveCertifyParams(undefined, entry, config), n: options.n };
  const key = `${entry.name}-${modelSha256.slice(0, 12)}-n${params.n}-k${options.k}-a${params.alpha}-s${options.seed}`;
  const path = join(CACHE_DIR, `certified-radii-${key}.json`);

  if (existsSync(path)) {
    const pool = JSON.parse(readFileSync(path, 'utf8')) as RadiusPool;
    const matches = pool.format === POOL_FORMAT && pool.modelSha256 === modelSha256 && pool.n === params.n && pool.n0 === params.n0
      && pool.alpha === params.alpha && pool.solver === params.solver && pool.k === options.k && pool.seed === options.seed
      && pool.entries.length === options.k;
    if (matches) return { pool, path, cached: true, seconds: (performance.now() - t0) / 1000 };
    process.stderr.write(`certified radii: ${path} does not match the current parameters; rebuilding\n`);
  }

  const engine = await Engine.load(entry, file, { intraOpThreads: options.threads, batchSize: config.batchSize, executionProviders: config.executionProviders });
  const request = engineRequest(params, config);
  const test = loadFashionMnist('test');
  const images = sampleImages(options.k, options.seed);
  const entries: PoolEntry[] = [];
  const started = performance.now();
  try {
    for (const [position, image] of images.entries()) {
      const d = await engine.certify(test.images[image], request, certifySeed(options.seed, position));
      entries.push({ image, label: test.labels[image], answer: d.base.answer, radius: d.base.radius, sigma: d.base.sigma, pALower: d.base.pALower });
      if ((position + 1) % 25 === 0 || position + 1 === images.length) {
        const s = (performance.now() - started) / 1000;
        process.stderr.write(`certified radii: ${position + 1}/${images.length} images, ${s.toFixed(1)} s\n`);
      }
    }
  } finally {
    await engine.close();
  }
  const pool: RadiusPool = {
    format: POOL_FORMAT, model: entry.name, modelSha256, classes: entry.labels.length,
    n: params.n, n0: params.n0, alpha: params.alpha, solver: params.solver, sigma: params.sigma,
    k: options.k, seed: options.seed, buildS: +((performance.now() - started) / 1000).toFixed(1), entries,
  };
  mkdirSync(CACHE_DIR, { recursive: true });
  // Written aside and renamed, so that an interrupted run leaves no half-written pool behind.
  writeFileSync(`${path}.tmp`, JSON.stringify(pool));
  renameSync(`${path}.tmp`, path);
  return { pool, path, cached: false, seconds: (performance.now() - t0) / 1000 };
}

function quantile(sorted: number[], q: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

/** Summary of a pool: abstain share, accuracy, radius quantiles (over the certified answers). */
export function poolStats(pool: RadiusPool) {
  const answered = pool.entries.filter((e) => e.answer !== null);
  const radii = answered.map((e) => e.radius).sort((a, b) => a - b);
  const sigmas = pool.entries.map((e) => e.sigma).sort((a, b) => a - b);
  const round = (v: number) => +v.toFixed(3);
  const maxSigma = sigmas[sigmas.length - 1] ?? NaN;
  return {
    model: pool.model,
    k: pool.k,
    n: pool.n,
    n0: pool.n0,
    alpha: pool.alpha,
    solver: pool.solver,
    seed: pool.seed,
    abstainShare: round((pool.k - answered.length) / pool.k),
    accuracy: round(answered.filter((e) => e.answer === e.label).length / pool.k),
    wrongShare: round(answered.filter((e) => e.answer !== e.label).length / pool.k),
    radiusQuantiles: Object.fromEntries([0, 0.1, 0.25, 0.5, 0.75, 0.9, 1].map((q) => [`p${q * 100}`, round(quantile(radii, q))])),
    meanRadius: round(radii.reduce((a, b) => a + b, 0) / Math.max(1, radii.length)),
    sigmaRange: [round(sigmas[0] ?? NaN), round(quantile(sigmas, 0.5)), round(maxSigma)],
    // The largest radius any image could reach at this N and alpha, for the largest sigma seen.
    radiusCeiling: round(maxSigma * -normalInverseCdf(-Math.expm1(Math.log(pool.alpha) / pool.n))),
    buildS: pool.buildS,
  };
}

async function main(): Promise<void> {
  const env = poolOptionsFromEnv();
  const { values } = parseArgs({
    options: { n: { type: 'string' }, k: { type: 'string' }, seed: { type: 'string' }, threads: { type: 'string' } },
  });
  const options: PoolOptions = {
    n: positiveInteger('--n', values.n, env.n),
    k: positiveInteger('--k', values.k, env.k),
    seed: positiveInteger('--seed', values.seed, env.seed),
    threads: positiveInteger('--threads', values.threads, env.threads),
  };
  const loaded = await loadOrBuildPool(options);
  console.log(JSON.stringify({ pool: loaded.cached ? 'cached' : 'built', seconds: +loaded.seconds.toFixed(1), ...poolStats(loaded.pool) }));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
