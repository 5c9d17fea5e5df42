/** The fuzzer finds what only coverage feedback finds, and names the input of a hang. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildFuzzer } from '../support/fuzz/instrument';
import { fuzzTarget } from '../support/fuzz/runner';

test('the engine reaches a crash behind four nested comparisons and stops a hang, saving each input', async () => {
  const bundle = await buildFuzzer(resolve(__dirname, 'engine-self-check.ts'));
  const artifacts = mkdtempSync(join(tmpdir(), 'usernet-fuzz-self-'));
  try {
    const crash = await fuzzTarget({ bundle, target: 'magic', seconds: 60, seed: 3, hangSeconds: 20, artifacts });
    assert.equal(crash.failure?.kind, 'crash', `found the magic bytes in ${crash.execs} inputs`);
    assert.match(crash.failure.error, /reached the magic bytes/);
    assert.equal(Buffer.from(readFileSync(crash.failure.artifact)).subarray(0, 4).toString(), 'FUZ!');

    const hang = await fuzzTarget({ bundle, target: 'hang', seconds: 60, seed: 3, hangSeconds: 2, artifacts });
    assert.equal(hang.failure?.kind, 'hang');
    assert.equal(readFileSync(hang.failure.artifact)[0], 7, 'the saved input is the one that hung');
  } finally {
    rmSync(artifacts, { recursive: true, force: true });
  }
});
