// The model manifest `models/manifest.json` (DESIGN 3.3): parsed once, validated, typed.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';

const trainingSchema = z.object({
  method: z.string(), // cohen | smoothadv | macer
  ds2: z.boolean(), // trained with per-example data-dependent sigma (paper Algorithm 2)
  sigma: z.number().positive(),
  epochs: z.number().int().nonnegative(),
  seed: z.number().int(),
  command: z.string(), // the command that reproduces the model
  seconds: z.number().nonnegative().optional(), // training time
}).passthrough();

export const modelEntrySchema = z.object({
  // No dots: a model name is one NATS subject token (certigate.decisions.{model}).
  name: z.string().regex(/^[A-Za-z0-9_-]+$/, 'model names use letters, digits, "_" and "-" (no dots: they are NATS subject tokens)'),
  file: z.string(),
  dataset: z.string(),
  inputName: z.string(),
  outputName: z.string(),
  inputShape: z.array(z.number().int().positive()).min(1), // without the batch axis
  labels: z.array(z.string()).min(2),
  domain: z.object({ min: z.number(), max: z.number() }), // data domain of the input (normalisation is inside the model)
  sigma0: z.number().positive(),
  norm: z.enum(['l2', 'l1']),
  sigmaMode: z.enum(['auto', 'fixed']), // default of `params.sigma` for this model
  training: trainingSchema,
  cleanAccuracy: z.number().min(0).max(1), // base classifier on the clean 10k test set
}).passthrough();

export const manifestSchema = z.object({
  default: z.string(),
  models: z.array(modelEntrySchema).min(1),
}).refine((m) => m.models.some((e) => e.name === m.default), { message: 'default names no model of the manifest' });

export type ModelEntry = z.infer<typeof modelEntrySchema>;
export type Manifest = z.infer<typeof manifestSchema>;

export interface LoadedManifest extends Manifest {
  /** Directory of the manifest; model files are relative to it. */
  dir: string;
}

export function loadManifest(path: string): LoadedManifest {
  const parsed = manifestSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  if (!parsed.success) throw new Error(`invalid model manifest ${path}: ${parsed.error.message}`);
  return { ...parsed.data, dir: dirname(resolve(path)) };
}

export function modelPath(manifest: LoadedManifest, entry: ModelEntry): string {
  return resolve(manifest.dir, entry.file);
}

export function inputSize(entry: ModelEntry): number {
  return entry.inputShape.reduce((a, b) => a * b, 1);
}

export const DEFAULT_MANIFEST = new URL('../../models/manifest.json', import.meta.url);
