// A bounded pool of engine worker threads with a bounded admission queue.
// Model evaluation of many requests overlaps (one task per worker at a time); requests
// beyond `size` running + `maxQueue` waiting are refused with 429 instead of piling up.
import type { Worker } from 'node:worker_threads';
import { spawnModuleWorker } from '../util/moduleWorker.js';
import { DeadlineError, GatewayError, OverloadedError, ShuttingDownError } from './errors.js';
import type { EngineTask, EngineTaskResult, EngineWorkerData, FromWorker, ToWorker } from './workerProtocol.js';

export interface EnginePoolOptions {
  size: number;
  maxQueue: number;
  workerData: EngineWorkerData;
  /** Called whenever the number of waiting tasks changes. */
  onQueueDepth?: (depth: number) => void;
  /** Called whenever the number of workers running a task changes. */
  onBusy?: (busy: number) => void;
  onWorkerError?: (err: Error) => void;
}

interface PendingTask {
  id: number;
  task: EngineTask;
  deadlineMs: number;
  timer: NodeJS.Timeout | null;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  /** Set once the caller was answered (deadline); the worker's late result is dropped. */
  settled: boolean;
  startedAt: number;
}

interface Slot {
  worker: Worker;
  running: PendingTask | null;
}

function spawnEngineWorker(workerData: EngineWorkerData): Worker {
  return spawnModuleWorker(import.meta.url, 'engineWorker', workerData);
}

/** Worker data for a pool serving every model of `manifestPath` with the configured runner. */
export function workerDataFor(
  config: { models: string; intraOpThreads: number; executionProviders: string[]; batchSize: number },
  modelNames: string[],
): EngineWorkerData {
  return {
    manifestPath: config.models,
    models: modelNames,
    runner: { intraOpThreads: config.intraOpThreads, executionProviders: config.executionProviders, batchSize: config.batchSize },
  };
}

export class EnginePool {
  private readonly slots: Slot[] = [];
  private readonly queue: PendingTask[] = [];
  private nextId = 1;
  private closing = false;
  private idleWaiters: Array<() => void> = [];
  /** Exponentially weighted mean task time, for Retry-After. */
  private meanTaskMs = 1000;

  private constructor(private readonly options: EnginePoolOptions) {}

  static async start(options: EnginePoolOptions): Promise<EnginePool> {
    const pool = new EnginePool(options);
    try {
      await Promise.all(Array.from({ length: options.size }, () => pool.spawn()));
    } catch (err) {
      await Promise.all(pool.slots.map((s) => s.worker.terminate()));
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  get queueDepth(): number {
    return this.queue.length;
  }

  get running(): number {
    return this.slots.filter((s) => s.running !== null).length;
  }

  /** Seconds until a refused client could expect a free worker. */
  retryAfterS(): number {
    const waves = (this.queue.length + this.slots.length) / Math.max(1, this.slots.length);
    return Math.min(60, Math.max(1, Math.ceil((waves * this.meanTaskMs) / 1000)));
  }

  run<T extends EngineTask>(task: T, deadlineMs: number): Promise<EngineTaskResult<T>> {
    if (this.closing) return Promise.reject(new ShuttingDownError());
    const idle = this.slots.find((s) => s.running === null);
    if (!idle && this.queue.length >= this.options.maxQueue) return Promise.reject(new OverloadedError(this.retryAfterS()));
    return new Promise((resolve, reject) => {
      const pending: PendingTask = {
        id: this.nextId++, task, deadlineMs, timer: null, settled: false, startedAt: 0,
        resolve: resolve as (value: unknown) => void, reject,
      };
      const remainingMs = deadlineMs - Date.now();
      pending.timer = setTimeout(() => this.expire(pending), Math.max(0, remainingMs));
      if (idle) this.dispatch(idle, pending);
      else {
        this.queue.push(pending);
        this.options.onQueueDepth?.(this.queue.length);
      }
    });
  }

  /** Stops admitting, waits for queued and running tasks, then closes the workers. */
  async close(): Promise<void> {
    this.closing = true;
    if (this.queue.length > 0 || this.running > 0) await new Promise<void>((r) => this.idleWaiters.push(r));
    await Promise.all(this.slots.map((slot) => this.closeWorker(slot)));
  }

  private spawn(): Promise<Slot> {
    const worker = spawnEngineWorker(this.options.workerData);
    const slot: Slot = { worker, running: null };
    return new Promise((resolve, reject) => {
      let ready = false;
      worker.on('message', (msg: FromWorker) => {
        if (msg.kind === 'ready') {
          ready = true;
          this.slots.push(slot);
          resolve(slot);
          this.pump(slot);
        } else if (msg.kind === 'startFailed') {
          reject(new Error(`engine worker failed to start: ${msg.message}`));
          void worker.terminate();
        } else if (msg.kind === 'done' || msg.kind === 'failed') {
          this.finish(slot, msg);
        }
      });
      worker.on('error', (err) => {
        if (!ready) reject(err);
        else this.replace(slot, err);
      });
      worker.on('exit', (code) => {
        if (!ready) reject(new Error(`engine worker exited with code ${code} before it was ready`));
        else if (!this.closing) this.replace(slot, new Error(`engine worker exited with code ${code}`));
      });
    });
  }

  /** A crashed worker fails its task with a 500 and is replaced, so the pool keeps its size. */
  private replace(slot: Slot, err: Error): void {
    const index = this.slots.indexOf(slot);
    if (index < 0) return;
    this.slots.splice(index, 1);
    this.options.onWorkerError?.(err);
    const task = slot.running;
    slot.running = null;
    this.options.onBusy?.(this.running);
    if (task) this.settle(task, new GatewayError(500, 'engine_failed', 'the engine worker failed; nothing was stored'));
    if (!this.closing) {
      this.spawn().catch((spawnErr: Error) => this.options.onWorkerError?.(spawnErr));
    }
    this.notifyIdle();
  }

  private dispatch(slot: Slot, pending: PendingTask): void {
    slot.running = pending;
    this.options.onBusy?.(this.running);
    pending.startedAt = performance.now();
    const msg: ToWorker = { kind: 'task', id: pending.id, task: pending.task, deadlineAtMs: pending.deadlineMs };
    slot.worker.postMessage(msg);
  }

  private finish(slot: Slot, msg: Extract<FromWorker, { kind: 'done' | 'failed' }>): void {
    const pending = slot.running;
    slot.running = null;
    this.options.onBusy?.(this.running);
    if (pending && pending.id === msg.id) {
      this.meanTaskMs = 0.8 * this.meanTaskMs + 0.2 * (performance.now() - pending.startedAt);
      if (msg.kind === 'done') this.settle(pending, null, msg.result);
      // The engine can see the deadline pass before this thread's timer fires (a busy event loop).
      else if (msg.deadline) this.settle(pending, new DeadlineError('evaluation'));
      else this.settle(pending, new GatewayError(500, 'engine_failed', `engine error: ${msg.message}`));
    }
    this.pump(slot);
  }

  private pump(slot: Slot): void {
    // A queued task whose deadline has passed (its timer may not have fired yet) never starts.
    while (this.queue.length > 0 && this.queue[0].deadlineMs <= Date.now()) this.expire(this.queue[0]);
    const next = this.queue.shift();
    if (next) {
      this.options.onQueueDepth?.(this.queue.length);
      this.dispatch(slot, next);
    } else this.notifyIdle();
  }

  private expire(pending: PendingTask): void {
    const queued = this.queue.indexOf(pending);
    if (queued >= 0) {
      this.queue.splice(queued, 1);
      this.options.onQueueDepth?.(this.queue.length);
      this.settle(pending, new DeadlineError('queue', this.retryAfterS()));
      this.notifyIdle();
    } else {
      // Still running: answer now; the worker's result is discarded when it arrives.
      this.settle(pending, new DeadlineError('evaluation'));
    }
  }

  private settle(pending: PendingTask, err: Error | null, value?: unknown): void {
    if (pending.settled) return;
    pending.settled = true;
    if (pending.timer) clearTimeout(pending.timer);
    if (err) pending.reject(err);
    else pending.resolve(value);
  }

  private notifyIdle(): void {
    if (this.queue.length > 0 || this.running > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private closeWorker(slot: Slot): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => void slot.worker.terminate().then(() => resolve()), 5000);
      slot.worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
      slot.worker.postMessage({ kind: 'close' } satisfies ToWorker);
    });
  }
}
