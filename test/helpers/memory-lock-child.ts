// Child process for the data directory lock test: a second writer in its own process.
//   node --import tsx test/helpers/memory-lock-child.ts hold <dataDir> <records>
//     opens a writable store, stores <records> decisions (input [i, 0], answer 1), prints
//     "held <lastSeq>" and keeps the lock until killed, or until its stdin ends: then it closes
//     the store, prints "released" and stays alive (without the lock) until killed.
//   node --import tsx test/helpers/memory-lock-child.ts try <dataDir>
//     tries to open a writable store once; prints "acquired" (and closes it) or
//     "refused <error name> <error code>" followed by the message line.
import { DataDirLockedError } from '../../src/memory/errors.js';
import { MemoryStore } from '../../src/memory/memoryStore.js';
import { proposal } from './memory-streams.js';

const [mode, dataDir, recordsText] = process.argv.slice(2);
const store = new MemoryStore({ dataDir });

if (mode === 'hold') {
  let lastSeq = 0;
  await store.memory('m', 'l2');
  for (let i = 1; i <= Number(recordsText); i++) lastSeq = (await store.decide(proposal('m', 'l2', Float32Array.of(i, 0), 1, 0.1))).seq;
  process.stdout.write(`held ${lastSeq}\n`);
  process.stdin.resume(); // the open stdin keeps this process (and the lock) alive
  process.stdin.on('end', () => {
    void store.close().then(() => {
      process.stdout.write('released\n');
      setInterval(() => {}, 1 << 30); // alive without the lock, until killed
    });
  });
} else if (mode === 'try') {
  try {
    await store.memory('m', 'l2');
    process.stdout.write('acquired\n');
  } catch (err) {
    if (!(err instanceof DataDirLockedError)) throw err;
    process.stdout.write(`refused ${err.name} ${err.code}\n${err.message}\n`);
  }
  await store.close();
} else {
  throw new Error(`unknown mode ${mode}`);
}
