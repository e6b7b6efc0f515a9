// Public surface of the sequential memory (DESIGN section 2).
export type { BaseDecision, DecisionRecord, MemoryAction, MemoryOutcome, Norm, Proposal } from './types.js';
export { MemoryStore, memoryPath, NORMS, type MemoryStoreOptions, type ExportOptions } from './memoryStore.js';
export { SequentialMemory, type SequentialMemoryOptions } from './sequentialMemory.js';
export type { DecisionEvent, MemoryObserver } from './observer.js';
export { toExportRecord, decodeInputB64, type ExportRecord } from './exportRecord.js';
export type { VerifyOptions, VerifyProblem, VerifyReport } from './verify.js';
export { RealDisk, type Disk, type LogFile } from './disk.js';
export { DataDirLock, LOCK_INFO_FILE } from './dataDirLock.js';
export {
  DataDirLockedError, type DataDirLockHolder, LogCorruptionError, MemoryClosedError, MemoryError, MemoryInputError, MemoryQueueFullError, MemoryUnavailableError,
} from './errors.js';
export { TOUCH_REL } from './rules.js';
