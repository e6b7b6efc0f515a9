// Child process for the crash test: appends decisions to a real memory under load (many
// proposals in flight) and prints one line per acknowledged decision, until it is killed.
//   node --import tsx test/helpers/memory-crash-child.ts <dataDir> <seed>
// Line: ack <seq> <action> <answer|null> <radius> <crc32c of the input bytes>
import { crc32c } from '@node-rs/crc32';
import { MemoryStore } from '../../src/memory/memoryStore.js';
import { proposal, rng, StreamGenerator } from './memory-streams.js';

const [dataDir, seedText] = process.argv.slice(2);
const seed = Number(seedText);
const store = new MemoryStore({ dataDir, maxGroup: 32 });
const stream = new StreamGenerator('clustered', 64, 'l2', seed);
const random = rng(seed ^ 0x5bd1e995);
const recent: Float32Array[] = [];
const IN_FLIGHT = 24;

function nextInput() {
  // Some exact repeats of recent inputs, the rest a clustered stream.
  if (recent.length > 0 && random() < 0.05) {
    return { input: new Float32Array(recent[Math.floor(random() * recent.length)]), answer: 1, radius: 0.5 };
  }
  const item = stream.next([], () => 0);
  recent.push(item.input);
  if (recent.length > 50) recent.shift();
  return item;
}

async function worker(): Promise<void> {
  for (;;) {
    const item = nextInput();
    const o = await store.decide(proposal('crash', 'l2', item.input, item.answer, item.radius, seed.toString(16)));
    const crc = crc32c(new Uint8Array(item.input.buffer, item.input.byteOffset, item.input.byteLength));
    // Pipes are written synchronously on Linux: once this returns the parent has the line.
    process.stdout.write(`ack ${o.seq} ${o.action} ${o.answer} ${o.radius} ${crc}\n`);
  }
}

await store.memory('crash', 'l2');
process.stdout.write('ready\n');
await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
