// The shipped default model, loaded with real onnxruntime (no mocks), for engine tests.
import { Engine, loadManifest, modelPath, OnnxModel, Smooth, type LoadedManifest, type ModelEntry } from '../../src/engine/index.js';
import { fileURLToPath } from 'node:url';

export const MANIFEST_PATH = fileURLToPath(new URL('../../models/manifest.json', import.meta.url));

export function defaultEntry(): { manifest: LoadedManifest; entry: ModelEntry } {
  const manifest = loadManifest(MANIFEST_PATH);
  const entry = manifest.models.find((m) => m.name === manifest.default)!;
  return { manifest, entry };
}

export async function loadDefaultSmooth(batchSize = 500): Promise<Smooth> {
  const { manifest, entry } = defaultEntry();
  const model = await OnnxModel.load(modelPath(manifest, entry), entry, { batchSize, intraOpThreads: 1 });
  return new Smooth(model, entry.labels.length);
}

export async function loadDefaultEngine(batchSize = 500): Promise<Engine> {
  const { manifest, entry } = defaultEntry();
  return Engine.load(entry, modelPath(manifest, entry), { batchSize, intraOpThreads: 1 });
}
