/**
 * The hostile TX-ring program (test/support/hostile-guest.ts) under the debug
 * adapter: the guest's VM ends with one line in the Debug Console and the
 * session terminates, while the adapter process lives on and launches the VM
 * again (VS Code's Restart).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DebugProtocol } from '@vscode/debugprotocol';
import { SharedAdapter, waitFor } from '../support/adapter-process';
import { containmentProblem } from '../support/containment';
import { HOSTILE_TX_RING, HOSTILE_TX_RING_END } from '../support/hostile-guest';

const skip = containmentProblem();
const adapter = new SharedAdapter();
const PROMPT = /usernet:[^\r\n#]*# (\x1b\[6n)?$/;

async function typeLine(line: string): Promise<void> {
  await adapter.dc.customRequest('usernet.serialInput', { data: Buffer.from(`${line}\n`).toString('base64') });
}

test('the hostile TX ring ends the session with its line in the Debug Console; the adapter lives on and restarts the VM', { skip, timeout: 600_000 }, async () => {
  const { dc, child } = adapter.start();
  const output: DebugProtocol.OutputEvent['body'][] = [];
  dc.on('output', (e: DebugProtocol.Event) => output.push(e.body));
  const initialized = dc.waitForEvent('initialized');
  await dc.initializeRequest({ adapterID: 'usernet', linesStartAt1: true, columnsStartAt1: true, pathFormat: 'path' });
  await initialized;
  await dc.launchRequest({ snapshot: true, noReboot: true } as DebugProtocol.LaunchRequestArguments);
  await dc.configurationDoneRequest();
  await waitFor(adapter, 'the prompt', () => PROMPT.test(adapter.serial()), 300_000);

  const terminated = dc.waitForEvent('terminated', 300_000);
  await typeLine(HOSTILE_TX_RING);
  await terminated;
  const line = output.find((o) => o.output.includes('the emulated CPU stopped'));
  assert.ok(line, `the end is said in the Debug Console: ${JSON.stringify(output)}`);
  assert.equal(line.output, `${HOSTILE_TX_RING_END}; the run ends (no-reboot)\n`);
  assert.equal(line.category, 'important');
  assert.ok(!output.some((o) => /RuntimeError|RangeError|\n\s+at /.test(o.output)), 'no stack reaches the user');
  assert.doesNotMatch(adapter.serial(), /\nsurvived\r?\n/, "the program's last line never ran");
  assert.equal(adapter.states.at(-1)?.state, 'stopped');
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(child.exitCode, null, 'the adapter process is still up');

  // The next launch in the same adapter: the VM boots again and answers.
  const before = adapter.serial().length;
  await dc.restartRequest({});
  assert.equal(adapter.states.at(-1)?.state, 'running');
  await waitFor(adapter, 'the prompt after the restart', () => PROMPT.test(adapter.serial().slice(before)), 300_000);
  await typeLine('echo "again $((6*7))"');
  await waitFor(adapter, 'the restarted guest answering', () => /again 42/.test(adapter.serial().slice(before)), 60_000);

  const { exitCode } = await adapter.disconnect();
  assert.equal(exitCode, 0);
});
