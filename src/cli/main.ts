// certigate command line: thin wiring of the subcommands.
import { fileURLToPath } from 'node:url';
import { Command, InvalidArgumentError } from 'commander';
import { DEFAULT_MANIFEST, loadManifest } from '../engine/manifest.js';
import type { Norm } from '../memory/types.js';
import { auditReplay } from './audit.js';
import { registerDecisionCommands } from './certify.js';
import { memoryExport, memoryVerify } from './memory.js';
import { registerServeCommand } from './serve.js';

const program = new Command('certigate')
  .description('Certified predictions with data-dependent randomized smoothing, served live')
  .showHelpAfterError();
registerServeCommand(program);
registerDecisionCommands(program);

function norm(value: string): Norm {
  if (value !== 'l2' && value !== 'l1') throw new InvalidArgumentError('norm is l2 or l1');
  return value;
}
function sequence(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError('a sequence number is a non-negative integer');
  return n;
}

const memory = program.command('memory').description('The durable memory of decisions');
memory.command('export')
  .description('NDJSON, one stored record a line: seq, model, norm, answer, radius, sigma, input.b64, seed, time, ...')
  .option('--model <name>', 'only this model')
  .option('--norm <norm>', 'only this norm (l2 | l1)', norm)
  .option('--after <seq>', 'only records with a larger seq', sequence)
  .option('--data <dir>', 'memory directory', './data')
  .action(async (o: { model?: string; norm?: Norm; after?: number; data: string }) => {
    await memoryExport({ dataDir: o.data, model: o.model, norm: o.norm, after: o.after });
  });
memory.command('verify')
  .description('Brute-force check of the memory invariant over the stored records; exit 1 on a violation')
  .option('--model <name>', 'only this model')
  .option('--norm <norm>', 'only this norm (l2 | l1)', norm)
  .option('--data <dir>', 'memory directory', './data')
  .action(async (o: { model?: string; norm?: Norm; data: string }) => {
    process.exitCode = await memoryVerify({ dataDir: o.data, model: o.model, norm: o.norm, rederive: true });
  });

program.command('audit').description('Audit stored decisions')
  .command('replay')
  .description('Re-run a stored decision from its recorded seed and parameters; exit 1 unless reproduced exactly')
  .requiredOption('--seq <seq>', 'sequence number of the record', sequence)
  .option('--model <name>', 'model (default: the manifest default)')
  .option('--norm <norm>', 'l2 | l1', norm, 'l2' as Norm)
  .option('--data <dir>', 'memory directory', './data')
  .option('--models <file>', 'model manifest', fileURLToPath(DEFAULT_MANIFEST))
  .action(async (o: { seq: number; model?: string; norm: Norm; data: string; models: string }) => {
    const model = o.model ?? loadManifest(o.models).default;
    try {
      const report = await auditReplay({ dataDir: o.data, manifestPath: o.models, model, norm: o.norm, seq: o.seq });
      process.stdout.write(`${JSON.stringify(report)}\n`);
      process.exitCode = report.reproduced ? 0 : 1;
    } catch (err) {
      process.stderr.write(`certigate audit replay: ${(err as Error).message}\n`);
      process.exitCode = 2;
    }
  });

await program.parseAsync(process.argv);
