/**
 * The guest's power events under the QEMU engine behave as under the embedded
 * one (power-events.test.ts): a reset boots the guest again (or ends the run
 * under --exec / --no-reboot), poweroff -f and halt -f end the run with 0 and
 * a line saying so. The bundled kernel has no ACPI: its power-off halts every
 * CPU with interrupts off, which QEMU alone never reports.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { startEngine } from '../../extension/machine/engine-start';
import { GUEST_PROMPT, GUEST_READY } from '../../extension/machine/guest-image';
import { planLaunchRequest } from '../../extension/machine/run-request';
import type { GuestEnd } from '../../extension/machine/embedded-machine';
import { containmentProblem } from '../support/containment';
import { qemuMissing } from './qemu-scenarios';

const skip = containmentProblem() ?? qemuMissing();
const ROOT = resolve(__dirname, '..', '..');
const QEMU_ARGS = ['-accel', 'tcg', '-m', '128', '-kernel', `${ROOT}/media/guest/bzImage`, '-initrd', `${ROOT}/media/guest/initramfs.cpio.gz`,
  '-append', 'console=ttyS0 quiet', '-netdev', 'user,id=n0', '-device', 'e1000,netdev=n0'];

interface Run {
  status: number | null;
  stderr: string;
  ms: number;
}

function usernetQemu(exec: string, timeoutMs = 200_000): Promise<Run> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [resolve(ROOT, 'bin/usernet.js'), 'run', '-q', '--engine', 'qemu', '--timeout', '150', '--exec', exec, '--', ...QEMU_ARGS], {
    env: { ...process.env, USERNET_DEBUG: '' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((done) => child.on('close', (status) => (clearTimeout(timer), done({ status, stderr, ms: performance.now() - t0 }))));
}

const show = (r: Run) => `exit ${r.status} after ${(r.ms / 1000).toFixed(1)} s\n${r.stderr}`;
const NO_STACK = /RuntimeError|\n\s+at |Node\.js v/;

test('QEMU engine: poweroff -f and halt -f end the run with 0 and a line saying so, long before --timeout', { skip, timeout: 450_000 }, async () => {
  for (const command of ['poweroff -f', 'halt -f']) {
    const r = await usernetQemu(command);
    assert.equal(r.status, 0, `${command}: ${show(r)}`);
    assert.match(r.stderr, /usernet: the guest powered off \(it halted its CPU\)\n/, `${command}: ${show(r)}`);
    assert.doesNotMatch(r.stderr, /timed out/);
    assert.doesNotMatch(r.stderr, NO_STACK);
  }
});

test('QEMU engine: reboot -f under --exec ends the run with 0 and names the reset', { skip, timeout: 250_000 }, async () => {
  const r = await usernetQemu('reboot -f');
  assert.equal(r.status, 0, show(r));
  assert.match(r.stderr, /usernet: the guest reset; the run ends \(no-reboot\)\n/);
  assert.doesNotMatch(r.stderr, NO_STACK);
});

test('QEMU engine: a guest reset boots the guest again with the same network; its power-off then ends the VM', { skip, timeout: 400_000 }, async () => {
  const launch = planLaunchRequest({ engine: 'qemu', qemuArgs: QEMU_ARGS });
  const vm = await startEngine(launch, { onLog: () => {} });
  try {
    const slirp = vm.slirp;
    let end: GuestEnd | undefined;
    void vm.died.then((e) => (end = e));
    const secondBoot = vm.serial.waitFor(GUEST_READY, 300_000, 'the second boot');
    vm.serial.write('reboot -f\n');
    await secondBoot;
    await vm.serial.waitForAny(GUEST_PROMPT, 60_000);
    assert.equal(end, undefined, 'the run goes on after the reset');
    assert.equal(vm.slirp, slirp, 'the same slirp serves the new boot');
    const lease = await vm.exec('udhcpc -i eth0 -q -n -t 5 2>&1; echo status=$?', 120_000);
    assert.match(lease.output, /status=0/, lease.output);
    vm.serial.write('poweroff -f\n');
    const ended = await vm.died;
    assert.deepEqual(ended, { reason: 'poweroff', message: 'the guest powered off (it halted its CPU)' });
  } finally {
    await vm.stop();
  }
});
