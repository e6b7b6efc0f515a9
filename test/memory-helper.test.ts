// The index's search helper (a second thread searching trees, src/memory/searchHelper.ts) on a
// real worker thread and real shared memories: what it answers is what this thread's own search
// of the same segments finds; a task it does not answer in time is taken back; an index with a
// helper finds exactly what a float64 scan finds, with a constant radius and with a bound that
// falls as conflicts are found. Seeds are printed on failure.
import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { distance } from '../src/memory/distance.js';
import { ProjectionTree, TreeQuery } from '../src/memory/projectionTree.js';
import { RegionIndex, answerKey } from '../src/memory/regionIndex.js';
import { capRadius, reach } from '../src/memory/rules.js';
import { SearchHelper } from '../src/memory/searchHelper.js';
import { gaussian, rng, searchUntilHelperAnswers } from './helpers/memory-streams.js';

describe('search helper thread', () => {
  it('takes back every task before its thread runs, then answers what this thread finds in the same segments', async () => {
    const seed = 5;
    const random = rng(seed);
    const [leading, length] = [8, 16];
    const helper = new SearchHelper(8, 16);
    const trees = [0, 1, 2].map((id) => new ProjectionTree(leading, length, (shapes) => helper.register(id, shapes)));
    const query = new TreeQuery(leading, length);
    const newQuery = () => query.set(Float64Array.from({ length: leading }, () => gaussian(random)), 3, null);
    // Sealed segments (an open segment seals at 128 points) and a few points in each open one.
    for (const [t, tree] of trees.entries()) {
      for (let i = 0; i < 300 + 50 * t; i++) {
        const lead = Float64Array.from({ length: leading }, () => gaussian(random));
        tree.add({ lead, codes: null, codeError: Infinity, norm: 3 }, random(), false, 1000 * t + i);
      }
    }
    // The thread has not started (it loads its module first): nothing is answered, all comes back.
    expect(helper.begin(newQuery(), [0, 1, 2], [1, 1, 1])).toBe(3);
    expect([0, 1, 2].map((t) => helper.collect(t)), `seed=${seed}`).toEqual([null, null, null]);
    expect(helper.takenBack).toBe(3);
    await helper.ready();
    // This thread takes no task: the helper takes them all (from the back). Waiting until it has
    // answered each keeps the test independent of how fast the machine schedules it.
    for (let search = 0; search < 40; search++) {
      const radius = [0, 0.5, 1.5, 3][search % 4];
      helper.begin(newQuery(), [0, 1, 2], [radius, radius, null]);
      for (const t of [2, 1, 0]) {
        for (let waitedMs = 0; !helper.hasAnswered(t) && waitedMs < 5000; waitedMs++) await new Promise((resolve) => setTimeout(resolve, 1));
        const ids = helper.collect(t);
        expect(ids, `seed=${seed} search=${search} tree=${t}: not answered`).not.toBeNull();
        const expected: number[] = [];
        if (t < 2) trees[t].candidates(query, radius, expected);
        expect([...ids!].sort((a, b) => a - b), `seed=${seed} search=${search} tree=${t}`).toEqual(expected.sort((a, b) => a - b));
      }
    }
    expect(helper.answered, `seed=${seed}`).toBe(120);
    helper.close();
  });
});

/** Nice values of this process's threads by thread id (Linux procfs), and the calling thread's. */
function niceValues(): { threads: Map<string, number>; self: number } {
  // Field 19 of stat; the fields after the command's closing parenthesis start at field 3.
  const nice = (stat: string) => Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]);
  const threads = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      threads.set(tid, nice(readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')));
    } catch {
      // The thread exited meanwhile.
    }
  }
  return { threads, self: nice(readFileSync('/proc/thread-self/stat', 'utf8')) };
}

describe('search helper priority', () => {
  it.runIf(process.platform === 'linux')('runs the helper thread at nice 19 and leaves this thread as it was', async () => {
    const before = niceValues();
    const helper = new SearchHelper(8, 16);
    try {
      await helper.ready();
      const after = niceValues();
      expect(after.self).toBe(before.self);
      // Threads started meanwhile: the helper's (others, if any, keep the process's priority).
      const started = [...after.threads].filter(([tid]) => !before.threads.has(tid)).map(([, nice]) => nice);
      expect(started.filter((nice) => nice === 19)).toHaveLength(1);
      expect(started.filter((nice) => nice !== 19 && nice !== before.self)).toHaveLength(0);
    } finally {
      helper.close();
    }
  });
});

describe('index with a search helper', () => {
  it('finds what a float64 scan finds, with a constant radius and with a falling bound, through seals and merges', async () => {
    const seed = 17;
    const random = rng(seed);
    const dim = 36;
    const helped = new RegionIndex(dim, { searchHelper: true });
    helped.build(); // online from the start
    const inputs: Float32Array[] = [];
    const answers: (number | null)[] = [];
    const radii: number[] = [];
    const centres = Array.from({ length: 5 }, () => Float64Array.from({ length: dim }, () => 3 * gaussian(random)));
    const near = () => {
      const c = centres[Math.floor(random() * centres.length)];
      return Float32Array.from(c, (v) => v + gaussian(random));
    };
    const add = (count: number) => {
      for (let i = 0; i < count; i++) {
        const input = near();
        const answer = random() < 0.1 ? null : Math.floor(random() * 4);
        const radius = answer === null ? 0 : 4 * random() ** 2;
        helped.add(helped.project(input), answer, radius, true);
        inputs.push(input);
        answers.push(answer);
        radii.push(radius);
      }
      helped.maintain();
    };
    const within = (x: Float32Array, radiusOf: (answer: number) => number | null) => inputs.flatMap((input, id) => {
      const r = radiusOf(answerKey(answers[id]));
      return r !== null && distance(x, input, 'l2') < reach(r, radii[id]) ? [id] : [];
    });
    add(200);
    await helped.helperReady();
    const check = (size: number, q: number) => {
      const x = near();
      const own = Math.floor(random() * 4);
      const r = [0, 0.5, 2, 6][q % 4];
      const context = `seed=${seed} size=${size} q=${q} r=${r}`;
      const query = helped.prepare(helped.project(x));
      // A constant radius for every answer but one (searched with 0).
      const radiusOf = (answer: number) => (answer === own ? 0 : r);
      const found: number[] = [];
      helped.search(query, radiusOf, (ids, answer) => {
        for (const id of ids) if (distance(x, inputs[id], 'l2') < reach(radiusOf(answer), radii[id])) found.push(id);
      });
      expect(found.sort((a, b) => a - b), context).toEqual(within(x, radiusOf));
      // A bound that falls to the smallest cap of the other answers' regions (cappingCandidates).
      let bound = r;
      helped.search(query, (answer) => (answer === own ? null : bound), (ids) => {
        for (const id of ids) {
          const d = distance(x, inputs[id], 'l2');
          if (d < reach(bound, radii[id])) bound = Math.max(0, Math.min(bound, capRadius(d, radii[id])));
        }
      });
      let smallest = r;
      inputs.forEach((input, id) => {
        if (answerKey(answers[id]) !== own) smallest = Math.max(0, Math.min(smallest, capRadius(distance(x, input, 'l2'), radii[id])));
      });
      expect(bound, context).toBe(smallest);
    };
    for (const size of [1500, 5000]) {
      add(size - inputs.length);
      for (let q = 0; q < 60; q++) check(size, q);
    }
    await searchUntilHelperAnswers(() => helped.helperCounts!.answered, (q) => check(5000, q), 60, 2000);
    expect(helped.helperCounts!.answered, `seed=${seed}`).toBeGreaterThan(0);
    // Without its helper (stopped, or failed) the index searches alone, and finds the same.
    helped.close();
    const x = near();
    const query = helped.prepare(helped.project(x));
    const found: number[] = [];
    helped.search(query, () => 2, (ids) => found.push(...ids.filter((id) => distance(x, inputs[id], 'l2') < reach(2, radii[id]))));
    expect(found.sort((a, b) => a - b), `seed=${seed} after close`).toEqual(within(x, () => 2));
  });
});
