/**
 * A launch of a guest that is not ours (engine qemu, the user's image) is
 * ready when its console shows a shell: the runtime over a fake VM whose
 * console the test prints to, and the launch attributes that shape the wait.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { VmRuntime, type RuntimeStop } from '../../../extension/runtime/vm-runtime';
import { LaunchCancelled } from '../../../extension/runtime/guest-shell';
import { planLaunch } from '../../../extension/debug/launch-args';
import type { LaunchPlan } from '../../../extension/runtime/runtime-types';
import { ProgressEcho } from '../../../extension/debug/progress-echo';
import type { VmStateBody } from '../../../extension/debug/protocol';
import { FakeMachine, fakeFactory, launchPlan, TX_DHCP } from '../runtime/fake-machine';
import * as P from '../pipeline/packets';

const ROOT = resolve(__dirname, '../../..');
const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

function booting(shell: NonNullable<LaunchPlan['shell']>) {
  const machine = new FakeMachine();
  const rt = new VmRuntime({ startMachine: fakeFactory(machine), stagePollMs: 10_000 });
  const states: VmStateBody[] = [];
  const progress: string[] = [];
  const output: string[] = [];
  const stops: RuntimeStop[] = [];
  rt.on('vmState', (s) => states.push(s));
  rt.on('progress', (m) => progress.push(m));
  rt.on('output', (text, category) => output.push(`${category}: ${text}`));
  rt.on('stopped', (s) => stops.push(s));
  let settled: 'ready' | Error | undefined;
  const started = rt.start(launchPlan({ shell })).then(() => (settled = 'ready'), (e: Error) => (settled = e));
  return { machine, rt, states, progress, output, stops, started, settled: () => settled };
}
const typed = (m: FakeMachine) => m.serialIn.map((b) => Buffer.from(b).toString()).join('');

test('the VM is "running" only once the console shows a shell prompt; until then it boots, with progress naming the last line', async () => {
  const b = booting({ timeoutMs: 10_000 });
  await tick(20);
  assert.equal(b.rt.running, true, 'the VM runs while the guest boots (its console takes input)');
  b.machine.printSerial('[    1.2] systemd[1]: Starting services...\r\n');
  await tick(1300);
  assert.equal(b.settled(), undefined);
  assert.deepEqual(b.states.map((s) => s.state), ['booting']);
  assert.match(b.progress.at(-1)!, /^waiting for the guest's shell: 1 s, last line: \[    1\.2\] systemd\[1\]: Starting services\.\.\.$/);
  b.machine.printSerial('root@debian:~# ');
  await b.started;
  assert.equal(b.settled(), 'ready');
  assert.equal(b.states.at(-1)!.state, 'running');
  assert.ok(b.states.at(-1)!.bootMs! >= 1300, `the boot time counts the wait for the shell (${b.states.at(-1)!.bootMs} ms)`);
  await b.rt.terminate();
});

test('with "login" the user name is typed at the login prompt; without it the login prompt is ready and the user is told how to log in', async () => {
  const withLogin = booting({ timeoutMs: 10_000, login: 'root' });
  withLogin.machine.printSerial('\r\nDebian GNU/Linux 12 debian ttyS0\r\n\r\ndebian login: ');
  await tick(500);
  assert.equal(typed(withLogin.machine), 'root\n');
  assert.equal(withLogin.settled(), undefined, 'not ready at the login prompt when logging in');
  withLogin.machine.printSerial('root\r\nroot@debian:~# ');
  await withLogin.started;
  assert.equal(withLogin.settled(), 'ready');
  await withLogin.rt.terminate();

  const interactive = booting({ timeoutMs: 10_000 });
  interactive.machine.printSerial('debian login: ');
  await interactive.started;
  assert.equal(interactive.settled(), 'ready');
  assert.equal(typed(interactive.machine), '', 'nothing typed');
  assert.ok(interactive.output.some((o) => /^important: the guest asks for a login \("debian login:"\): log in in the serial console .*set "login" in the launch configuration/.test(o)), interactive.output.join('\n'));
  await interactive.rt.terminate();
});

test('a prompt that never shows times out with the last line and the attribute to change; the VM is stopped and the state says why', async () => {
  const b = booting({ timeoutMs: 700, prompt: /^\$ $/ });
  b.machine.printSerial('root@debian:~# ');
  await b.started;
  const e = b.settled() as Error;
  assert.match(e.message, /no shell prompt on the guest's console after 1 s \(last line: "root@debian:~#"\); if its prompt looks otherwise, give "prompt" \(a regular expression/);
  assert.equal(b.machine.stopped, true);
  assert.equal(b.rt.running, false);
  assert.deepEqual([b.states.at(-1)!.state, b.states.at(-1)!.message], ['failed', e.message]);
});

test('a stop at a breakpoint during the boot does not count against the timeout', async () => {
  const b = booting({ timeoutMs: 800 });
  await tick(20);
  b.rt.setBreakpoints([{ name: 'udp_input' }]);
  b.machine.send(P.dhcpDiscover, TX_DHCP);
  assert.equal(b.stops.length, 1, 'the DHCP of the boot stopped');
  await tick(1200);
  assert.equal(b.settled(), undefined, 'still waiting: the VM stood still');
  b.rt.setBreakpoints([]);
  await b.rt.continue();
  b.machine.printSerial('root@debian:~# ');
  await b.started;
  assert.equal(b.settled(), 'ready');
  await b.rt.terminate();
});

test('stopping the VM while the guest boots cancels the launch (no failure); the VM going away fails it with the reason', async () => {
  const b = booting({ timeoutMs: 10_000 });
  await tick(20);
  await b.rt.terminate();
  await b.started;
  assert.ok(b.settled() instanceof LaunchCancelled);
  assert.equal(b.machine.stopped, true);
  assert.equal(b.states.at(-1)!.state, 'stopped');
  assert.ok(!b.states.some((s) => s.state === 'failed'));

  const gone = booting({ timeoutMs: 10_000 });
  await tick(20);
  await gone.machine.stop(); // as if QEMU exited on its own
  await gone.started;
  assert.match((gone.settled() as Error).message, /the VM went away before the guest showed its shell/);
  assert.equal(gone.states.at(-1)!.state, 'failed');
});

test('launch attributes: "prompt" and "login" are checked, waited on only for an image of the user\'s under QEMU, and named as ignored elsewhere', () => {
  const own = { engine: 'qemu' as const, kernel: resolve(ROOT, 'media/guest/bzImage'), initrd: resolve(ROOT, 'package.json') };
  assert.deepEqual(planLaunch({ ...own, prompt: '\\$ $', login: 'admin', bootTimeoutMs: 60_000 }).shell, { prompt: /\$ $/, login: 'admin', timeoutMs: 60_000 });
  assert.equal(planLaunch(own).shell?.timeoutMs, 15 * 60_000);
  assert.equal(planLaunch(own).shell?.prompt, undefined, 'the default pattern is the wait\'s own');
  const bundled = planLaunch({ engine: 'qemu', prompt: '# $' });
  assert.equal(bundled.shell, undefined);
  assert.ok(bundled.notes.includes('"prompt" is ignored: the bundled guest is ready at its own prompt'), bundled.notes.join('\n'));
  assert.ok(planLaunch({ login: 'root', prompt: 'x' }).notes.some((n) => /^"prompt" and "login" are ignored: the embedded engine/.test(n)));
  assert.throws(() => planLaunch({ ...own, prompt: '([' }), /launch attribute 'prompt' is not a regular expression: .*\(\[/);
  assert.throws(() => planLaunch({ ...own, login: 'root\nrm -rf /' }), /launch attribute 'login' expects a user name/);
  assert.throws(() => planLaunch({ ...own, login: 7 as unknown as string }), /launch attribute 'login' must be a string/);
});

test('the Debug Console gets each kind of boot progress at once and the shell wait\'s ticks every 10 s', () => {
  let now = 0;
  const printed: string[] = [];
  const echo = new ProgressEcho((t) => printed.push(t), () => now);
  echo.show('starting qemu-system-x86_64 under TCG');
  for (let s = 1; s <= 25; s++) {
    now = s * 1000;
    echo.show(`waiting for the guest's shell: ${s} s, last line: booting`);
  }
  assert.deepEqual(printed, [
    'starting qemu-system-x86_64 under TCG\n',
    "waiting for the guest's shell: 1 s, last line: booting\n",
    "waiting for the guest's shell: 11 s, last line: booting\n",
    "waiting for the guest's shell: 21 s, last line: booting\n",
  ]);
});
