/**
 * Every input a fuzz run found breaking a rule (test/fuzz/regressions/TARGET/,
 * each file named after what it found) and every seed of the corpus runs
 * cleanly through its target, uninstrumented: a fixed crash stays fixed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { targets } from '../fuzz/targets';
import { loadCorpus } from '../support/fuzz/engine';
import { CORPUS_ROOT, REGRESSIONS_ROOT } from '../support/fuzz/runner';

function files(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

for (const [name, target] of Object.entries(targets)) {
  const dir = join(REGRESSIONS_ROOT, name);
  const regressions = files(dir);
  test(`fuzz target ${name}: its seeds${regressions.length ? ` and ${regressions.length} input(s) fuzzing found` : ''} run cleanly`, async () => {
    const seeds = loadCorpus(join(CORPUS_ROOT, name));
    assert.ok(seeds.length > 0, `a seed corpus in test/fuzz/corpus/${name}`);
    const instance = await target.open();
    try {
      for (const input of seeds) instance.run(input);
      // Each found input runs a few times with pauses: what it broke may only show in a later
      // callback (a socket's error), which node:test reports as a failure of this test.
      for (const file of regressions) {
        const input = new Uint8Array(readFileSync(join(dir, file)));
        for (let i = 0; i < 5; i++) {
          assert.doesNotThrow(() => instance.run(input), `${name}/${file}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    } finally {
      await instance.close();
    }
  });
}
