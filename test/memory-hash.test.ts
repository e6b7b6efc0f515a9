// The typed hash table of exact repeats against a Map of lists: colliding hashes, probe runs that
// wrap round the table, growth, absent keys.
import { describe, expect, it } from 'vitest';
import { HashIndex } from '../src/memory/hashIndex.js';
import { rng } from './helpers/memory-streams.js';

describe('HashIndex', () => {
  it('finds every record under its hash, in the order added, across growth', () => {
    for (const seed of [1, 2, 3]) {
      const random = rng(seed);
      const table = new HashIndex(16);
      const reference = new Map<number, number[]>();
      // Few distinct hashes (many collisions), some whose home is the last slot of a table size (their
      // runs wrap round when that table grows),
      // and large ones (53 bits).
      const pool = Array.from({ length: 40 }, (_, i) =>
        i % 4 === 0 ? 2 ** (4 + (i % 10)) - 1 : i % 4 === 1 ? Math.floor(random() * 2 ** 53) : Math.floor(random() * 64));
      for (let record = 0; record < 3000; record++) {
        const hash = pool[Math.floor(random() * pool.length)];
        table.add(hash, record);
        reference.set(hash, [...(reference.get(hash) ?? []), record]);
        if (record % 97 === 0) {
          for (const [h, records] of reference) {
            const seen: number[] = [];
            expect(table.find(h, (r) => (seen.push(r), false)), `seed=${seed}`).toBeNull();
            expect(seen, `seed=${seed} hash ${h} after ${record}`).toEqual(records);
            const target = records[Math.floor(random() * records.length)];
            expect(table.find(h, (r) => r === target)).toBe(target);
          }
        }
      }
      expect(table.size).toBe(3000);
      expect(table.find(2 ** 52 + 12345, () => true)).toBeNull();
    }
  });

  it('refuses a record index that is not one', () => {
    expect(() => new HashIndex().add(1, -1)).toThrow(/record index/);
    expect(() => new HashIndex().add(1, 0.5)).toThrow(/record index/);
  });
});
