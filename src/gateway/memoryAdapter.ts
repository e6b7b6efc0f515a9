// Binds the gateway to the file memory of src/memory.
import type { LoadedManifest } from '../engine/manifest.js';
import type { GatewayConfig } from './config.js';
import type { DecisionMemory } from './memoryPort.js';

export async function openFileMemory(_config: GatewayConfig, _manifest: LoadedManifest): Promise<DecisionMemory> {
  throw new Error('file memory not wired yet');
}
