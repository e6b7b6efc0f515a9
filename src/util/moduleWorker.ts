// Starts a worker thread on a module next to the caller: the compiled .js normally; when the
// caller runs from its .ts source (tests, tsx), the worker loads the .ts through tsx's
// tsImport (on Node 20 an `--import tsx` in a worker's execArgv does not reach the worker's
// own entry module).
import { Worker, type Transferable } from 'node:worker_threads';

/**
 * `callerUrl`: import.meta.url of the caller; `entry`: the module's name without extension;
 * `transferList`: objects in `workerData` that move to the worker (message ports).
 */
export function spawnModuleWorker(callerUrl: string, entry: string, workerData: unknown, transferList: Transferable[] = []): Worker {
  if (!callerUrl.endsWith('.ts')) return new Worker(new URL(`./${entry}.js`, callerUrl), { workerData, transferList });
  const source = new URL(`./${entry}.ts`, callerUrl).href;
  const tsx = import.meta.resolve('tsx/esm/api');
  const code = `import(${JSON.stringify(tsx)}).then(({ tsImport }) => tsImport(${JSON.stringify(source)}, ${JSON.stringify(callerUrl)}))`;
  return new Worker(code, { eval: true, workerData, transferList });
}
