/**
 * What a guest can do to its emulator: reset, power off, halt, corrupt its
 * own memory through the NIC, or (through a faulty device model) throw inside
 * the CPU loop. Each ends or restarts that VM with one clear line; the
 * process hosting it (the CLI, a test, the debug adapter) lives on.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { EmbeddedMachine, type GuestEnd } from '../../extension/machine/embedded-machine';
import { bundledGuest, GUEST_PROMPT, GUEST_READY } from '../../extension/machine/guest-image';
import { containmentProblem } from '../support/containment';
import { HOSTILE_TX_RING, HOSTILE_TX_RING_END } from '../support/hostile-guest';

const skip = containmentProblem();
const BIN = resolve(__dirname, '../../bin/usernet.js');
const tmp = mkdtempSync(join(tmpdir(), 'usernet-power-'));
const env = { ...process.env, XDG_RUNTIME_DIR: tmp, USERNET_DEBUG: '' };
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function usernet(args: string[], timeoutMs = 150_000): Promise<Run> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((done) =>
    child.on('close', (status) => {
      clearTimeout(timer);
      done({ status, stdout, stderr, ms: performance.now() - t0 });
    }),
  );
}

const show = (r: Run) => `exit ${r.status}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
/** What must never reach a user's terminal: a wasm trap, a Node stack, v86's panic text. */
const NO_STACK = /RuntimeError|wasm:\/\/|\n\s+at |panicked at|Node\.js v/;

test('reboot -f under --exec ends the run with 0 and names the reset, no stack', { skip, timeout: 180_000 }, async () => {
  const r = await usernet(['run', '-q', '--timeout', '150', '--exec', 'reboot -f']);
  assert.equal(r.status, 0, show(r));
  assert.match(r.stderr, /usernet: the emulated CPU stopped: unimplemented #GP handler \(guest reset\); the run ends \(no-reboot\)\n/);
  assert.doesNotMatch(r.stderr, NO_STACK);
});

test('poweroff -f and halt -f end the run with 0 and a line saying so', { skip, timeout: 300_000 }, async () => {
  const off = await usernet(['run', '-q', '--timeout', '150', '--exec', 'poweroff -f']);
  assert.equal(off.status, 0, show(off));
  assert.match(off.stderr, /usernet: the guest powered off \(it halted its CPU\)\n/);
  const halt = await usernet(['run', '-q', '--timeout', '150', '--exec', 'halt -f']);
  assert.equal(halt.status, 0, show(halt));
  assert.match(halt.stderr, /usernet: the guest powered off \(it halted its CPU\)\n/);
  assert.doesNotMatch(off.stderr + halt.stderr, NO_STACK);
});

test('the hostile TX ring ends the VM with one line (a reset under --exec), not the process with a RangeError', { skip, timeout: 180_000 }, async () => {
  const r = await usernet(['run', '-q', '--timeout', '150', '--exec', HOSTILE_TX_RING]);
  assert.equal(r.status, 0, show(r));
  assert.match(r.stderr, /usernet: the emulated CPU stopped: faults nested until the stack overflowed \(guest reset: a triple fault on hardware\); the run ends \(no-reboot\)\n/);
  assert.doesNotMatch(r.stderr, NO_STACK);
  assert.doesNotMatch(r.stdout, /survived/);
});

test('a guest reset boots the guest again: the console shows the second boot, the network and probes carry over', { skip, timeout: 400_000 }, async () => {
  const vm = await EmbeddedMachine.start({});
  try {
    const slirp = vm.slirp;
    const resets: string[] = [];
    // A listener as a breakpoint has one: attached once, before the reset.
    let transmits = 0;
    let transmitsAtReset = -1;
    vm.probes.probes.start_xmit.listen(() => void transmits++);
    vm.on('reset', (why) => {
      resets.push(why);
      transmitsAtReset = transmits;
    });
    const secondBoot = vm.serial.waitFor(GUEST_READY, 300_000, 'the second boot');
    vm.serial.write(`${HOSTILE_TX_RING}\n`);
    await secondBoot;
    await vm.serial.waitForAny(GUEST_PROMPT, 60_000);
    assert.deepEqual(resets, [HOSTILE_TX_RING_END]);
    assert.equal(vm.resets, 1);
    assert.equal(vm.end, undefined, 'the run goes on');
    assert.equal(vm.slirp, slirp, 'the same slirp (NAT table, host forwards) serves the new boot');
    const lease = await vm.exec('udhcpc -i eth0 -q -n -t 5 2>&1; echo status=$?', 120_000);
    assert.match(lease.output, /status=0/, lease.output);
    assert.ok(transmitsAtReset >= 0 && transmits > transmitsAtReset, 'the new NIC fires the probes listened to before the reset (breakpoints stay attached)');
    assert.ok(vm.slirp!.dhcp.acknowledgedAddress !== undefined);
  } finally {
    await vm.stop();
  }
});

test('an exception inside the CPU loop stops that VM only, with one line; another VM runs on', { skip, timeout: 300_000 }, async () => {
  const a = await EmbeddedMachine.start({});
  const b = await EmbeddedMachine.start({});
  try {
    const ended = new Promise<GuestEnd>((r) => a.once('ended', r));
    const exited = new Promise<void>((r) => a.once('exit', r));
    // A device model bug, reached from a guest register write in the middle of an instruction.
    a.nic!.mmioWrite32 = () => {
      throw new TypeError('device model bug');
    };
    a.serial.write('ip link set eth0 down; ip link set eth0 up\n');
    const end = await ended;
    await exited;
    assert.equal(end.reason, 'failure');
    assert.match(end.message, /^the emulated CPU stopped: TypeError: device model bug \(in /);
    const r = await b.exec('echo still here', 60_000);
    assert.match(r.output, /^still here\n*$/);
  } finally {
    await a.stop();
    await b.stop();
  }
});

test('a file that is not a kernel is refused at once, naming the file', { timeout: 30_000 }, async () => {
  const r = await usernet(['run', '--kernel', '/etc/passwd', '--exec', 'true']);
  assert.equal(r.status, 1, show(r));
  assert.match(r.stderr, /^usernet: \/etc\/passwd is not a Linux kernel the embedded engine can boot \(a bzImage\): no 'HdrS' boot header at 0x202\n$/);
  assert.ok(r.ms < 5000, `refused in ${r.ms.toFixed(0)} ms`);
});

test('a kernel that prints nothing on the console ends the run after --console-timeout', { skip, timeout: 120_000 }, async () => {
  // The bundled kernel with its console on the (absent) screen: it runs, the serial port stays silent.
  const r = await usernet(['run', '-q', '--kernel', bundledGuest().bzImage, '--append', 'console=tty0', '--console-timeout', '3', '--timeout', '100']);
  assert.equal(r.status, 3, show(r));
  assert.match(r.stderr, /usernet: no console output from the guest in 3 s/);
});
