// How V8's generic JS-to-wasm wrapper costs the memory (src/util/wasmKernel.ts): many instances
// of one kernel, each called 1200 times, round robin, as the memory calls its index segments.
// Runs the same calls in two child processes, with V8's default (the generic wrapper, which
// compiles a wrapper for each export of each instance at its 1000th call) and with the wrapper
// compiled once per module (what compileKernel sets), and prints both side by side as JSON.
//   npx tsx bench/wasmCalls.ts
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { REGION_SEARCH_WASM_BASE64 } from '../src/memory/regionSearchWasm.js';

const INSTANCES = 300;
const CALLS_EACH = 1200;
/** A call this slow is far above a warm one (well under a microsecond). */
const SLOW_MS = 0.1;

/** wasm/regionSearch.wat's export (see projectionTree.ts for the parameters). */
interface SearchKernel {
  search(...args: number[]): number;
}
/** A segment of one empty leaf, 4 leading and 4 embedding coordinates: byte offsets of its parts. */
const Q = 0;
const NODES = 64;
const STACK = 256;
const OUT = 1024;

function measure(): object {
  // Compiled directly (not through compileKernel), so that the command line's flag decides.
  const module = new WebAssembly.Module(Buffer.from(REGION_SEARCH_WASM_BASE64, 'base64'));
  const kernels = Array.from({ length: INSTANCES }, () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true });
    new Int32Array(memory.buffer, NODES + 4, 1)[0] = -1; // the root is a leaf (no right child), of no points
    return new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as SearchKernel;
  });
  const times: number[] = [];
  let found = 0;
  for (let call = 0; call < CALLS_EACH; call++) {
    for (const kernel of kernels) {
      const started = performance.now();
      found += kernel.search(4, 4, 1, 1, 0, Q, NODES, OUT, OUT, OUT, STACK, OUT);
      times.push(performance.now() - started);
    }
  }
  const slow = times.filter((t) => t > SLOW_MS);
  const sorted = [...times].sort((a, b) => a - b);
  return {
    calls: times.length,
    meanUs: +((1000 * times.reduce((a, b) => a + b, 0)) / times.length).toFixed(3),
    slowCalls: slow.length,
    slowTotalMs: +slow.reduce((a, b) => a + b, 0).toFixed(1),
    maxMs: +sorted[sorted.length - 1].toFixed(3),
    found,
  };
}

if (process.argv.includes('--child')) {
  console.log(JSON.stringify(measure()));
} else {
  const script = fileURLToPath(import.meta.url);
  const run = (flag: string) => {
    const child = spawnSync(process.execPath, [...process.execArgv, flag, script, '--child'], { encoding: 'utf8' });
    if (child.status !== 0) throw new Error(`child ${flag} failed: ${child.stderr}`);
    return JSON.parse(child.stdout.trim().split('\n').pop()!) as { meanUs: number; slowCalls: number };
  };
  const generic = run('--wasm-generic-wrapper');
  const shared = run('--no-wasm-generic-wrapper');
  console.log(JSON.stringify({ instances: INSTANCES, callsEach: CALLS_EACH, slowMs: SLOW_MS, generic, shared }));
  console.log(JSON.stringify({ meanCallRatio: +(generic.meanUs / shared.meanUs).toFixed(2), slowCallsGeneric: generic.slowCalls, slowCallsShared: shared.slowCalls }));
}
