import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseNetemOptions } from '../../../extension/cli/netem-options';
import { parsePipelineOptions } from '../../../extension/cli/pipeline-options';
import { UsageError } from '../../../extension/cli/usage-error';

function usageError(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof UsageError && message.test(e.message));
}

test('--netem rules are checked before the boot and kept as given, with the seed', () => {
  const plan = parsePipelineOptions({ netem: ['tcp_input: loss 5%', 'icmp_reflect: delay 100ms'], 'netem-seed': '42' });
  assert.deepEqual(plan.netem, { rules: ['tcp_input: loss 5%', 'icmp_reflect: delay 100ms'], seed: 42 });
});

test('a bad --netem rule names the option, the rule and the column', () => {
  usageError(() => parseNetemOptions({ netem: ['tcp_input: loss 5'] }), /^--netem 'tcp_input: loss 5': expected a percentage for loss, e.g. 5%, got '5' at column 17$/);
  usageError(() => parseNetemOptions({ netem: ['tcp_inptu: loss 5%'] }), /did you mean 'tcp_input'/);
});

test('--netem-seed takes a 32-bit whole number', () => {
  usageError(() => parseNetemOptions({ 'netem-seed': 'abc' }), /^--netem-seed expects a whole number/);
  usageError(() => parseNetemOptions({ 'netem-seed': '4294967296' }), /^--netem-seed expects/);
  assert.equal(parseNetemOptions({ 'netem-seed': '0' }).seed, 0);
});
