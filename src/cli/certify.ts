// `certigate certify` and `certigate predict`: the server's decision path, from a file.
import type { Command } from 'commander';
import { randomUUID } from 'node:crypto';
import { GatewayError } from '../gateway/errors.js';
import { decodeInput, parseOrThrow, predictBodySchema, resolvePredictParams } from '../gateway/validation.js';
import { asBody, readInputFile } from './inputFile.js';
import { openCliRuntime } from './runtime.js';

interface DecisionFlags {
  input: string;
  model?: string;
  n?: string;
  n0?: string;
  alpha?: string;
  sigma?: string;
  norm?: string;
  solver?: string;
  data?: string;
  models?: string;
  threads?: string;
  json?: boolean;
}

/** Flags become request params; the server's schema and bounds check them (one set of rules). */
function paramsFrom(flags: DecisionFlags, certify: boolean): Record<string, unknown> {
  const params: Record<string, unknown> = {};
  const number = (v: string): number => (v.trim() === '' ? NaN : Number(v));
  if (flags.n !== undefined) params.n = number(flags.n);
  if (flags.alpha !== undefined) params.alpha = number(flags.alpha);
  if (flags.norm !== undefined) params.norm = flags.norm;
  if (flags.sigma !== undefined) params.sigma = flags.sigma === 'auto' && certify ? 'auto' : number(flags.sigma);
  if (certify && flags.n0 !== undefined) params.n0 = number(flags.n0);
  if (certify && flags.solver !== undefined) params.solver = flags.solver;
  return params;
}

function fail(command: string, message: string): never {
  process.stderr.write(`certigate ${command}: ${message}\n`);
  process.exit(2);
}

async function run(command: 'certify' | 'predict', flags: DecisionFlags): Promise<void> {
  let items: unknown[];
  try {
    items = readInputFile(flags.input);
  } catch (err) {
    fail(command, (err as Error).message);
  }
  let runtime;
  try {
    runtime = await openCliRuntime({
      dataDir: flags.data,
      models: flags.models,
      ...(flags.threads !== undefined ? { intraOpThreads: Number(flags.threads) } : {}),
    }, { memory: command === 'certify' });
  } catch (err) {
    // e.g. the data directory is locked by a running gateway, or a corrupt memory log: as `serve`.
    process.stderr.write(`certigate ${command}: cannot start: ${(err as Error).message}\n`);
    process.exit(1);
  }
  try {
    const { service, manifest } = runtime;
    const model = flags.model ?? manifest.default;
    const bodies = items.map((item) => asBody(item, paramsFrom(flags, command === 'certify')));
    // Check every line before the first decision: a bad file changes nothing.
    bodies.forEach((body, i) => {
      try {
        if (command === 'certify') service.checkCertify(model, body);
        else {
          const entry = service.model(model);
          const parsed = parseOrThrow(predictBodySchema, body, 'body');
          resolvePredictParams(parsed.params, entry, runtime.config);
          decodeInput(parsed.input, entry);
        }
      } catch (err) {
        if (err instanceof GatewayError) throw new GatewayError(err.status, err.code, `input ${i + 1}: ${err.message}`);
        throw err;
      }
    });
    for (const body of bodies) {
      const response = command === 'certify'
        ? await service.certify(model, body, randomUUID())
        : await service.predict(model, body, randomUUID());
      process.stdout.write(flags.json ? `${JSON.stringify(response)}\n` : `${summary(response)}\n`);
    }
  } catch (err) {
    if (err instanceof GatewayError) {
      await runtime.close();
      fail(command, err.message);
    }
    throw err;
  }
  await runtime.close();
}

function summary(r: { answer: number | null; label: string | null; radius?: number; sigma: number; memory?: { seq: number; action: string } }): string {
  const answer = r.answer === null ? 'ABSTAIN' : `${r.answer} (${r.label})`;
  const radius = r.radius === undefined ? '' : ` radius ${r.radius.toFixed(4)}`;
  const memory = r.memory ? ` seq ${r.memory.seq} ${r.memory.action}` : '';
  return `${answer}${radius} sigma ${r.sigma.toFixed(4)}${memory}`;
}

function decisionOptions(command: Command): Command {
  return command
    .requiredOption('--input <file>', 'one JSON array, a JSON array of arrays, or NDJSON (arrays or request bodies)')
    .option('--model <name>', 'model of the manifest (default: the manifest default)')
    .option('--n <N>', 'noise samples')
    .option('--alpha <alpha>', 'failure probability, in (0, 0.5)')
    .option('--norm <norm>', 'l2 (Gaussian noise) or l1 (uniform noise)')
    .option('--data <dir>', 'memory directory (default ./data)')
    .option('--models <file>', 'model manifest (default: the shipped models/manifest.json)')
    .option('--threads <n>', 'onnxruntime intra-op threads')
    .option('--json', 'print one response object (JSON) a line');
}

export function registerDecisionCommands(program: Command): void {
  decisionOptions(program.command('certify').description('Certify inputs through the memory, as the server does'))
    .option('--n0 <N0>', 'selection samples')
    .option('--sigma <sigma>', '"auto" (data-dependent) or a number')
    .option('--solver <solver>', 'sigma solver for "auto": batched | sga | grid | fixed')
    .action((flags: DecisionFlags) => run('certify', flags));
  decisionOptions(program.command('predict').description("Cohen's PREDICT (uncertified, no memory)"))
    .option('--sigma <sigma>', 'smoothing level (default: the model sigma0)')
    .action((flags: DecisionFlags) => run('predict', flags));
}
