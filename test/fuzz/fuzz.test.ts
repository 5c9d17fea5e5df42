/**
 * The bounded fuzzing run of CI: every target, coverage-guided, for
 * USERNET_FUZZ_SECONDS (default 12) each, from its seed corpus. Fails on a crash
 * or a hang and names the input file; `npm run fuzz` is the deep run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { targets } from './targets';
import { containmentProblem } from '../support/containment';
import { buildFuzzer } from '../support/fuzz/instrument';
import { fuzzTarget } from '../support/fuzz/runner';

const SECONDS = Number(process.env.USERNET_FUZZ_SECONDS ?? 12);
const SEED = Number(process.env.USERNET_FUZZ_SEED ?? 1);
const ARTIFACTS = resolve(__dirname, '../../.fuzz');

test(`fuzz: every target for ${SECONDS} s, coverage-guided from its seeds (seed ${SEED})`, async (t) => {
  const problem = containmentProblem();
  if (problem) return t.skip(`not in a private network namespace (${problem}): run through npm test or npm run test:fuzz`);
  const bundle = await buildFuzzer();
  for (const name of Object.keys(targets)) {
    await t.test(name, async () => {
      const r = await fuzzTarget({ bundle, target: name, seconds: SECONDS, seed: SEED, hangSeconds: 20, artifacts: join(ARTIFACTS, name) });
      const failure = r.failure && `${r.failure.kind}: ${r.failure.error}\ninput: ${r.failure.artifact}\nreplay: npm run fuzz -- --target ${name} --replay ${r.failure.artifact}`;
      assert.equal(failure, undefined);
      assert.ok(r.seeds > 0, `${name} has a seed corpus in test/fuzz/corpus/${name}`);
      assert.ok(r.execs > r.seeds, `${name} ran mutants beyond its ${r.seeds} seeds (${r.execs} inputs)`);
      assert.ok(r.features > 0, `${name} reported coverage`);
      console.log(`${name}: ${r.execs} inputs in ${r.seconds.toFixed(1)} s, corpus ${r.corpus}, ${r.features} features (${r.found} new)`);
    });
  }
});
