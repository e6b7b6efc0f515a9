#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build` (run by scripts/setup).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const main = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(main))) {
  console.error('certigate is not built yet: run `npm run build` (or scripts/setup) first.');
  process.exit(2);
}
await import(main.href);
