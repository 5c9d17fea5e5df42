import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EmbeddedMachine } from '../../extension/machine/embedded-machine';
import { containmentProblem } from '../support/containment';

const skip = containmentProblem();
let vm: EmbeddedMachine | undefined;
after(() => vm?.stop());

test('the bundled guest boots (or restores) and answers through the serial console', { skip, timeout: 300_000 }, async () => {
  vm = await EmbeddedMachine.start({});
  const r = await vm.exec('uname -m; cat /proc/cmdline', 30_000);
  assert.equal(r.status, 0);
  const [arch, cmdline] = r.output.trim().split('\n');
  assert.equal(arch, 'i686');
  assert.match(cmdline, /console=ttyS0/);
});

test('a command\'s exit status comes back', { skip, timeout: 60_000 }, async () => {
  assert.ok(vm, 'the VM of the first test');
  const r = await vm.exec('echo before; exit 3', 30_000);
  assert.equal(r.status, 3);
  assert.equal(r.output, 'before\n');
  // The shell survived the subshell's exit.
  assert.equal((await vm.exec('echo still here', 30_000)).output, 'still here\n');
});

test('bytes typed on the serial port reach the guest shell and come back', { skip, timeout: 60_000 }, async () => {
  assert.ok(vm);
  const seen = vm.serial.waitFor('round-trip-42', 20_000);
  vm.serial.write('echo round-trip-$((40+2))\n');
  await seen;
});
