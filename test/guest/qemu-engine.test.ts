/**
 * The bundled guest under the QEMU engine (TCG), booted from a .qemu profile:
 * QEMU's e1000, our slirp over -netdev stream, serial and QMP on sockets. One
 * VM serves the network tests; the CLI runs get their own.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEngine, type RunningMachine } from '../../extension/machine/engine-start';
import type { QemuMachine } from '../../extension/machine/qemu-machine';
import { planLaunchRequest } from '../../extension/machine/run-request';
import { containmentProblem } from '../support/containment';
import { startDnsServer, startHttpServer, testFile, md5 } from '../support/host-servers';
import { alive, assertExpected, childrenOf, freePort, observeNetwork, qemuMissing, sh } from './qemu-scenarios';

const skip = containmentProblem() ?? qemuMissing();
const ROOT = resolve(__dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'usernet-qemu-test-'));
let vm: RunningMachine;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let forwardedPort: number;
let bootMs = 0;

function profileText(dnsPort: number, fwd: number): string {
  return [
    '# usernet: engine=qemu',
    `qemu-system-x86_64 -accel tcg -m 128 -nographic \\`,
    `  -kernel ${ROOT}/media/guest/bzImage -initrd ${ROOT}/media/guest/initramfs.cpio.gz \\`,
    `  -append 'console=ttyS0 quiet' \\`,
    `  -netdev user,id=n0,dns-upstream=127.0.0.1:${dnsPort},hostfwd=tcp:127.0.0.1:${fwd}-:5555 \\`,
    '  -device e1000,netdev=n0',
    '',
  ].join('\n');
}

before(async () => {
  if (skip) return;
  dns = await startDnsServer({ 'usernet.test': '10.9.8.7' });
  forwardedPort = await freePort();
  const file = join(dir, 'guest.qemu');
  writeFileSync(file, profileText(dns.port, forwardedPort));
  const launch = planLaunchRequest({ profile: file });
  assert.equal(launch.engine, 'qemu');
  const t0 = performance.now();
  vm = await startEngine(launch, { onLog: () => {} });
  bootMs = performance.now() - t0;
  process.stderr.write(`# QEMU TCG boot to the bundled guest's prompt: ${(bootMs / 1000).toFixed(1)} s\n`);
});
after(async () => {
  await vm?.stop();
  await dns?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the profile boots the bundled guest under QEMU with TCG, to its shell prompt', { skip }, async () => {
  assert.equal(vm.engine, 'qemu');
  assert.equal(vm.bootNote, 'QEMU, TCG');
  assert.ok(bootMs < 120_000);
  const status = await (vm.machine as QemuMachine).status();
  assert.equal(status.running, true);
});

test('the serial console goes both ways', { skip }, async () => {
  const echoed = vm.serial.waitFor(/round-trip-(\d+)\r?\n/, 10_000);
  vm.serial.write('echo round-trip-$((6 * 7))\n');
  assert.match(await echoed, /round-trip-42/);
});

test('the seed experiments on our slirp: lease, ping, DNS, nc both ways, a refused port', { skip, timeout: 180_000 }, async () => {
  const observed = await observeNetwork(vm, { forwardedPort, dnsName: 'usernet.test', dnsAddress: '10.9.8.7' });
  assertExpected(observed, { forwardedPort, dnsName: 'usernet.test', dnsAddress: '10.9.8.7' });
  assert.ok(dns.queries.includes('usernet.test'), `the test DNS server on loopback answered (queries: ${dns.queries.join(', ')})`);
  const applied = await sh(vm, 'ip -4 addr show eth0; ip route; cat /etc/resolv.conf');
  assert.match(applied, /inet 10\.0\.2\.15\/24/);
  assert.match(applied, /default via 10\.0\.2\.2/);
  assert.match(applied, /nameserver 10\.0\.2\.3/);
  assert.equal(observed.mtu, 9000, "the lease's jumbo MTU is applied to QEMU's e1000");
  assert.match(vm.slirp!.infoUsernet(), /TCP\[HOST_FORWARD\]/);
});

test('a 10 MiB download from a host HTTP server arrives intact', { skip, timeout: 180_000 }, async () => {
  const file = testFile(10 << 20, 11);
  const http = await startHttpServer({ '/big.bin': file });
  try {
    const out = await sh(vm, `wget -q -O - http://10.0.2.2:${http.port}/big.bin | md5sum`, 150_000);
    assert.equal(out.trim().split(/\s+/)[0], md5(file));
  } finally {
    await http.close();
  }
});

test('QMP stop and cont: query-status says paused then running; the guest clock stood still and the console resumes', { skip, timeout: 60_000 }, async () => {
  const qemu = vm.machine as QemuMachine;
  const uptime = async () => Number((await sh(vm, 'cut -d" " -f1 /proc/uptime')).trim());
  const before = await uptime();
  const t0 = performance.now();
  await vm.pause();
  assert.deepEqual(await qemu.status().then((s) => [s.status, s.running]), ['paused', false]);
  vm.serial.write('echo typed-while-paused\n');
  await new Promise((r) => setTimeout(r, 3000));
  assert.ok(!vm.serial.recentOutput.slice(-200).includes('typed-while-paused\r\n'), 'a paused guest does not answer');
  await vm.resume();
  assert.deepEqual(await qemu.status().then((s) => [s.status, s.running]), ['running', true]);
  await vm.serial.waitForAny('typed-while-paused', 10_000);
  const hostSeconds = (performance.now() - t0) / 1000;
  const guestSeconds = (await uptime()) - before;
  assert.ok(guestSeconds < hostSeconds - 2, `guest time ran ${guestSeconds.toFixed(1)} s of ${hostSeconds.toFixed(1)} s: the CPU was stopped`);
});

test('stop quits QEMU: no process left, sockets and files gone, the hostfwd port closed', { skip, timeout: 30_000 }, async () => {
  const qemu = vm.machine as QemuMachine;
  const pid = qemu.pid!;
  assert.ok(alive(pid));
  await vm.stop();
  assert.equal(alive(pid), false);
  const exit = await qemu.exited;
  assert.equal(exit.requested, true);
  const { connect } = await import('node:net');
  const refused = await new Promise<boolean>((r) => connect(forwardedPort, '127.0.0.1').on('error', () => r(true)).on('connect', () => r(false)));
  assert.equal(refused, true, 'the hostfwd listener is closed with the VM');
});

/** `usernet run` as a user runs it (through tsx, from the source). */
function cli(args: string[]) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'extension', 'cli.ts'), 'run', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, done, out: () => stdout, err: () => stderr };
}

async function qemuChildOf(pid: number, timeoutMs = 60_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const q = childrenOf(pid).find((c) => c.comm.startsWith('qemu-system'));
    if (q) return q.pid;
    if (Date.now() > deadline) throw new Error('no QEMU child appeared');
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('usernet run -- QEMU arguments --exec: the command runs in the guest, its status comes back, QEMU is gone after', { skip, timeout: 120_000 }, async () => {
  const run = cli(['--engine', 'qemu', '--exec', 'udhcpc -i eth0 -q -n -t 5 >/dev/null 2>&1; ip -4 addr show eth0 | grep -o "inet [0-9./]*"; exit 3',
    '--', '-accel', 'tcg', '-m', '128', '-kernel', `${ROOT}/media/guest/bzImage`, '-initrd', `${ROOT}/media/guest/initramfs.cpio.gz`,
    '-append', 'console=ttyS0 quiet', '-netdev', 'user,id=n0', '-device', 'e1000,netdev=n0']);
  const qemuPid = await qemuChildOf(run.child.pid!);
  const code = await run.done;
  assert.equal(code, 3, run.err());
  assert.equal(run.out().trim(), 'inet 10.0.2.15/24');
  assert.match(run.err(), /guest ready in [\d.]+ s \(QEMU, TCG\)/);
  assert.equal(alive(qemuPid), false, 'QEMU does not outlive usernet run');
});

test('a QEMU that dies is reported with its status, and usernet run ends instead of hanging', { skip, timeout: 120_000 }, async () => {
  const run = cli(['--engine', 'qemu', '--exec', 'sleep 100', '--', '-accel', 'tcg', '-m', '128', '-kernel', `${ROOT}/media/guest/bzImage`,
    '-initrd', `${ROOT}/media/guest/initramfs.cpio.gz`, '-append', 'console=ttyS0 quiet']);
  const qemuPid = await qemuChildOf(run.child.pid!);
  while (!/guest ready/.test(run.err())) await new Promise((r) => setTimeout(r, 100));
  const t0 = performance.now();
  process.kill(qemuPid, 'SIGKILL');
  const code = await run.done;
  assert.ok(performance.now() - t0 < 10_000, 'reported at once');
  assert.equal(code, 3, 'the documented status for an emulator that failed');
  assert.match(run.err(), /qemu-system-x86_64 was killed by SIGKILL/);
});

test('profile errors stop usernet run before QEMU starts, with file:line:col', { skip, timeout: 30_000 }, async () => {
  const file = join(dir, 'bad.qemu');
  writeFileSync(file, '# usernet: engine=qemu\nqemu-system-x86_64 -m 128\n  -kernel nowhere/bzImage -frobnicate\n');
  const run = cli(['--profile', file]);
  assert.equal(await run.done, 2);
  assert.match(run.err(), new RegExp(`${file.replace(/[.]/g, '\\.')}:3:11: error: kernel not found: nowhere/bzImage`));
  assert.match(run.err(), /:3:27: error: unknown option -frobnicate/);
  assert.ok(!existsSync(join(dir, 'nowhere')));
});
