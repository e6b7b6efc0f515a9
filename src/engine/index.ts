// Public surface of the engine (what the gateway, the CLI, bench/ and tests import).
export * from './types.js';
export * from './manifest.js';
