/**
 * The same guest, the same scenarios, two user-mode networks behind QEMU's
 * e1000: QEMU's own `-netdev user` (libslirp) and ours through `usernet serve`
 * (over TCP, -netdev stream addr.type=inet). What the guest observes must match.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { QemuMachine } from '../../extension/machine/qemu-machine';
import { containmentProblem } from '../support/containment';
import { startDnsServer } from '../support/host-servers';
import { alive, assertExpected, freePort, observeNetwork, qemuMissing, type Observed, type ScenarioContext } from './qemu-scenarios';

const skip = containmentProblem() ?? qemuMissing();
const ROOT = resolve(__dirname, '..', '..');
const GUEST = ['-accel', 'tcg', '-m', '128', '-kernel', join(ROOT, 'media/guest/bzImage'), '-initrd', join(ROOT, 'media/guest/initramfs.cpio.gz'),
  '-append', 'console=ttyS0 quiet'];
const DNS_NAME = 'usernet.test';
const DNS_ADDRESS = '10.9.8.7';

let dns: Awaited<ReturnType<typeof startDnsServer>>;
let relay53: UdpSocket | undefined;
const observed: Record<string, Observed> = {};

before(async () => {
  if (skip) return;
  dns = await startDnsServer({ [DNS_NAME]: DNS_ADDRESS });
  // libslirp forwards DNS to resolv.conf's server on port 53 (127.0.0.1 in this namespace): relay it to the test server.
  const sock = createSocket('udp4');
  const clients = new Map<string, { port: number; address: string }>();
  sock.on('message', (msg, from) => {
    if (from.port === dns.port && from.address === '127.0.0.1') {
      const id = msg.readUInt16BE(0).toString();
      const to = clients.get(id);
      if (to) sock.send(msg, to.port, to.address);
    } else {
      clients.set(msg.readUInt16BE(0).toString(), from);
      sock.send(msg, dns.port, '127.0.0.1');
    }
  });
  sock.bind(53, '127.0.0.1');
  await once(sock, 'listening');
  relay53 = sock;
});
after(async () => {
  relay53?.close();
  await dns?.close();
});

/** Starts QEMU on the bundled guest with the given network arguments, serial and QMP ours. */
function startQemu(network: string[]): Promise<QemuMachine> {
  return QemuMachine.start({
    slirp: undefined,
    kvm: false,
    waitForPrompt: true,
    bootTimeoutMs: 60_000,
    onLog: () => {},
    buildArgs: (s) => [...GUEST, ...network,
      '-chardev', `socket,id=ser0,path=${s.serial},server=on,wait=off`, '-serial', 'chardev:ser0',
      '-qmp', `unix:${s.qmp},server=on,wait=off`, '-display', 'none', '-monitor', 'none'],
  });
}

/** One function, every backend: the scenarios, then what the guest saw. */
async function scenarios(name: string, vm: QemuMachine, ctx: ScenarioContext): Promise<void> {
  try {
    observed[name] = await observeNetwork(vm, ctx);
    assertExpected(observed[name]!, ctx);
  } finally {
    await vm.stop();
  }
}

test("QEMU's own user network (libslirp)", { skip, timeout: 240_000 }, async () => {
  const forwardedPort = await freePort();
  const vm = await startQemu(['-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${forwardedPort}-:5555`, '-device', 'e1000,netdev=n0']);
  await scenarios('libslirp', vm, { forwardedPort, dnsName: DNS_NAME, dnsAddress: DNS_ADDRESS });
});

test('our slirp through usernet serve --listen (TCP); it cleans up and exits when its QEMU goes away (--once)', { skip, timeout: 240_000 }, async () => {
  const forwardedPort = await freePort();
  const listenPort = await freePort();
  const serve: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'extension', 'cli.ts'), 'serve', '--listen', `127.0.0.1:${listenPort}`, '--once',
    // No mtu=: a guest that is not the bundled one (serve cannot know) gets libslirp's lease, compared whole below.
    '--netdev', `user,hostfwd=tcp:127.0.0.1:${forwardedPort}-:5555,dns-upstream=127.0.0.1:${dns.port}`], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  serve.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => serve.on('exit', (code) => r(code)));
  try {
    while (!/serving on/.test(stderr)) {
      if (serve.exitCode !== null) assert.fail(`usernet serve ended: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.match(stderr, new RegExp(`addr.type=inet,addr.host=127.0.0.1,addr.port=${listenPort}`));
    const vm = await startQemu(['-netdev', `stream,id=n0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=${listenPort}`, '-device', 'e1000,netdev=n0']);
    await scenarios('usernet', vm, { forwardedPort, dnsName: DNS_NAME, dnsAddress: DNS_ADDRESS });
    assert.equal(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]), 0, `usernet serve --once ends with its QEMU: ${stderr}`);
    const refused = (port: number) => new Promise<boolean>((r) => connect(port, '127.0.0.1').on('error', () => r(true)).on('connect', () => r(false)));
    assert.equal(await refused(forwardedPort), true, 'the hostfwd listener is closed');
    assert.equal(await refused(listenPort), true, 'the stream listener is closed');
  } finally {
    if (serve.pid && alive(serve.pid) && serve.exitCode === null) serve.kill();
  }
});

test('both backends give the same observable results', { skip }, () => {
  assert.ok(observed.libslirp && observed.usernet, 'both scenario runs completed');
  assert.deepEqual(observed.usernet, observed.libslirp);
});
