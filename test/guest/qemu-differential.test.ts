/**
 * The same guest, the same scenarios, two user-mode networks behind QEMU's
 * e1000: QEMU's own `-netdev user` (libslirp) and ours through `usernet serve`
 * (over TCP, -netdev stream addr.type=inet). What the guest observes must match,
 * or differ only where docs/libslirp-differences.md says ours is better (a dead
 * DNS upstream). Both backends forward DNS to the relay on 127.0.0.1:53, so
 * closing it makes the upstream dead for both at once.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, createServer, type AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { QemuMachine } from '../../extension/machine/qemu-machine';
import { containmentProblem } from '../support/containment';
import { PING_TARGET4, PING_TARGET6, preparePingNamespace } from '../support/ping-namespace';
import { startCollector, startDnsServer } from '../support/host-servers';
import { alive, assertExpected, freePort, observeNetwork, qemuMissing, sh, type GuestShell, type Observed, type ScenarioContext } from './qemu-scenarios';

const skip = containmentProblem() ?? qemuMissing();
const ROOT = resolve(__dirname, '..', '..');
const GUEST = ['-accel', 'tcg', '-m', '128', '-kernel', join(ROOT, 'media/guest/bzImage'), '-initrd', join(ROOT, 'media/guest/initramfs.cpio.gz'),
  '-append', 'console=ttyS0 quiet'];
const DNS_NAME = 'usernet.test';
const DNS_ADDRESS = '10.9.8.7';

let dns: Awaited<ReturnType<typeof startDnsServer>>;
let relay53: UdpSocket | undefined;
/** QEMU's default MAC 52:54:00:12:34:56 as SLAAC's EUI-64 in fec0::/64. */
const GUEST6 = 'fec0::5054:ff:fe12:3456';
const observed: Record<string, Observed & IPv6Observed> = {};
const deadDns: Record<string, DeadDnsObserved> = {};
const restricted: Record<string, RestrictObserved> = {};
const outward: Record<string, OutwardPingObserved> = {};

before(async () => {
  if (skip) return;
  // Ping sockets allowed and 198.18.0.1 / fd00:198::1 on this namespace's loopback, for both backends.
  preparePingNamespace();
  dns = await startDnsServer({ [DNS_NAME]: DNS_ADDRESS });
  await openRelay53();
});
after(async () => {
  relay53?.close();
  await dns?.close();
});

async function openRelay53(): Promise<void> {
  // libslirp forwards DNS to resolv.conf's server on port 53 (127.0.0.1 in this namespace), ours is told to: relay it to the test server.
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
}

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

interface IPv6Observed {
  /** eth0's fec0:: address and the default route, as `ip -6` shows them. */
  slaac: string[];
  ping6Loss: number[];
  /** What `wget http://[fec0::2]:PORT/` fetched from a host server on [::1]. */
  fetched6: string;
}

/** SLAAC, ping6 to the gateway and DNS addresses, TCP to the host's ::1 through fec0::2. */
async function observeIPv6(vm: GuestShell): Promise<IPv6Observed> {
  let out = '';
  for (let i = 0; i < 3; i++) {
    // The guest solicits a router when its link comes up; flip it if the address is not there yet.
    out = await sh(vm, `for n in $(seq 20); do ip -6 addr show eth0 | grep -q '${GUEST6}/64' && ! ip -6 addr show eth0 | grep -q tentative && break; sleep 0.5; done; ip -6 addr show eth0; ip -6 route`, 60_000);
    if (out.includes(`${GUEST6}/64`) && !out.includes('tentative')) break;
    await sh(vm, 'ip link set eth0 down; ip link set eth0 up');
  }
  const slaac = out.split('\n').map((l) => l.trim()).filter((l) => /^inet6 fec0:|^default /.test(l))
    .map((l) => l.replace(/\s+(flags|valid_lft|proto|metric|expires|pref|hoplimit)\b.*$/, '').replace(/\s+/g, ' '));
  const ping = await sh(vm, 'ping6 -c 2 -i 0.2 fec0::2 | tail -2; ping6 -c 2 -i 0.2 fec0::3 | tail -2', 60_000);
  const ping6Loss = [...ping.matchAll(/(\d+)% packet loss/g)].map((m) => Number(m[1]));
  const server = createServer((c) => c.end('HTTP/1.0 200 OK\r\nContent-Length: 16\r\n\r\nhello over IPv6\n'));
  server.listen(0, '::1');
  await once(server, 'listening');
  try {
    const fetched6 = (await vm.exec(`wget -q -O - http://[fec0::2]:${(server.address() as AddressInfo).port}/ 2>&1`, 30_000)).output;
    return { slaac, ping6Loss, fetched6 };
  } finally {
    server.close();
  }
}

interface OutwardPingObserved {
  pingLoss: number[];
  ping6Loss: number[];
}

/** Pings past the gateway, to addresses that exist only in this namespace: each backend's ping sockets. */
async function observeOutwardPing(vm: GuestShell): Promise<OutwardPingObserved> {
  const loss = (out: string) => [...out.matchAll(/(\d+)% packet loss/g)].map((m) => Number(m[1]));
  const pingLoss = loss((await vm.exec(`ping -c 3 -i 0.2 -W 2 ${PING_TARGET4} | tail -2`, 60_000)).output);
  const ping6Loss = loss((await vm.exec(`ping6 -c 3 -i 0.2 -W 2 ${PING_TARGET6} | tail -2`, 60_000)).output);
  return { pingLoss, ping6Loss };
}

interface DeadDnsObserved {
  output: string;
  /** Whether nslookup ended before the guest resolver's 5 s timeout. */
  answeredBeforeTimeout: boolean;
}

/** A DNS query while nothing listens where the backend forwards DNS (the relay on 127.0.0.1:53 closed). */
async function observeDeadDns(vm: GuestShell): Promise<DeadDnsObserved> {
  relay53?.close();
  relay53 = undefined;
  try {
    const t0 = performance.now();
    const r = await vm.exec(`nslookup ${DNS_NAME} 10.0.2.3 2>&1`, 60_000);
    const answeredBeforeTimeout = performance.now() - t0 < 4_500;
    return { output: r.output.split('\n').filter((l) => /server can't find|timed out|no servers|SERVFAIL|REFUSED/i.test(l)).join('\n').trim(), answeredBeforeTimeout };
  } finally {
    await openRelay53();
  }
}

/** One function, every backend: the scenarios, then what the guest saw. */
async function scenarios(name: string, vm: QemuMachine, ctx: ScenarioContext): Promise<void> {
  try {
    const seen = await observeNetwork(vm, ctx);
    assertExpected(seen, ctx);
    observed[name] = { ...seen, ...(await observeIPv6(vm)) };
    outward[name] = await observeOutwardPing(vm);
    deadDns[name] = await observeDeadDns(vm);
  } finally {
    await vm.stop();
  }
}

interface RestrictObserved {
  lease: string[];
  routes: string;
  resolvConf: string;
  hostReached: boolean;
}

/** restrict=on: the lease names no router and no DNS; the host's loopback stays out of reach. */
async function observeRestricted(vm: QemuMachine): Promise<RestrictObserved> {
  try {
    const dhcp = await sh(vm, 'udhcpc -i eth0 -q -n -t 5 2>&1', 60_000);
    const lease = dhcp.split('\n').filter((l) => /lease|router|dns/.test(l)).map((l) => l.trim());
    const routes = (await sh(vm, 'ip -4 route')).trim();
    const resolvConf = (await vm.exec('cat /etc/resolv.conf 2>/dev/null')).output.trim();
    const collector = await startCollector();
    try {
      await vm.exec(`echo through | nc -w 3 10.0.2.2 ${collector.port}`, 30_000);
      const got = await Promise.race([collector.received, new Promise<string>((r) => setTimeout(() => r(''), 1_000))]);
      return { lease, routes, resolvConf, hostReached: got !== '' };
    } finally {
      await collector.close();
    }
  } finally {
    await vm.stop();
  }
}

/** `usernet serve --once` for one QEMU: the netdev QEMU's stream client connects to, and its end. */
async function startServe(netdev: string): Promise<{ streamNetdev: string; listenPort: number; exited: Promise<number | null>; stderr: () => string; stop(): void }> {
  const listenPort = await freePort();
  const serve: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'extension', 'cli.ts'), 'serve', '--listen', `127.0.0.1:${listenPort}`, '--once',
    '--netdev', netdev], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  serve.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((r) => serve.on('exit', (code) => r(code)));
  const stop = () => {
    if (serve.pid && alive(serve.pid) && serve.exitCode === null) serve.kill();
  };
  while (!/serving on/.test(stderr)) {
    if (serve.exitCode !== null) {
      stop();
      assert.fail(`usernet serve ended: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const streamNetdev = `stream,id=n0,server=off,addr.type=inet,addr.host=127.0.0.1,addr.port=${listenPort}`;
  return { streamNetdev, listenPort, exited, stderr: () => stderr, stop };
}

test("QEMU's own user network (libslirp)", { skip, timeout: 300_000 }, async () => {
  const forwardedPort = await freePort();
  const vm = await startQemu(['-netdev', `user,id=n0,hostfwd=tcp:127.0.0.1:${forwardedPort}-:5555`, '-device', 'e1000,netdev=n0']);
  await scenarios('libslirp', vm, { forwardedPort, dnsName: DNS_NAME, dnsAddress: DNS_ADDRESS });
});

test('our slirp through usernet serve --listen (TCP); it cleans up and exits when its QEMU goes away (--once)', { skip, timeout: 300_000 }, async () => {
  const forwardedPort = await freePort();
  // No mtu=: a guest that is not the bundled one (serve cannot know) gets libslirp's lease, compared whole below.
  const serve = await startServe(`user,hostfwd=tcp:127.0.0.1:${forwardedPort}-:5555,dns-upstream=127.0.0.1:53`);
  try {
    assert.match(serve.stderr(), new RegExp(`addr.type=inet,addr.host=127.0.0.1,addr.port=${serve.listenPort}`));
    const vm = await startQemu(['-netdev', serve.streamNetdev, '-device', 'e1000,netdev=n0']);
    await scenarios('usernet', vm, { forwardedPort, dnsName: DNS_NAME, dnsAddress: DNS_ADDRESS });
    assert.equal(await Promise.race([serve.exited, new Promise((r) => setTimeout(() => r('still running'), 10_000))]), 0, `usernet serve --once ends with its QEMU: ${serve.stderr()}`);
    const refused = (port: number) => new Promise<boolean>((r) => connect(port, '127.0.0.1').on('error', () => r(true)).on('connect', () => r(false)));
    assert.equal(await refused(forwardedPort), true, 'the hostfwd listener is closed');
    assert.equal(await refused(serve.listenPort), true, 'the stream listener is closed');
  } finally {
    serve.stop();
  }
});

test('both backends give the same observable results, IPv6 included', { skip }, () => {
  assert.ok(observed.libslirp && observed.usernet, 'both scenario runs completed');
  assert.deepEqual(observed.usernet, observed.libslirp);
  const v6 = observed.usernet;
  assert.ok(v6.slaac.some((l) => new RegExp(`^inet6 ${GUEST6}/64 scope (global|site) dynamic`).test(l)), v6.slaac.join('\n'));
  assert.ok(v6.slaac.some((l) => /^default via fe80::2 dev eth0/.test(l)), v6.slaac.join('\n'));
  assert.deepEqual(v6.ping6Loss, [0, 0]);
  assert.equal(v6.fetched6, 'hello over IPv6\n');
});

test('outward ping goes through host ping sockets on both; ping6 only on ours (libslirp forwards no ICMPv6 echo, docs/libslirp-differences.md)', { skip }, (t) => {
  assert.ok(outward.libslirp && outward.usernet, 'both scenario runs completed');
  for (const [name, o] of Object.entries(outward)) t.diagnostic(`${name}: ${JSON.stringify(o)}`);
  assert.deepEqual(outward.libslirp.pingLoss, [0]);
  assert.deepEqual(outward.usernet.pingLoss, [0]);
  assert.deepEqual(outward.usernet.ping6Loss, [0]);
  assert.deepEqual(outward.libslirp.ping6Loss, [100]);
});

test('a dead DNS upstream: ours answers SERVFAIL before the guest times out; libslirp lets it wait (docs/libslirp-differences.md)', { skip }, (t) => {
  assert.ok(deadDns.libslirp && deadDns.usernet, 'both scenario runs completed');
  for (const [name, d] of Object.entries(deadDns)) t.diagnostic(`${name}: ${d.answeredBeforeTimeout ? 'before' : 'after'} the timeout: ${d.output}`);
  assert.equal(deadDns.usernet.answeredBeforeTimeout, true, deadDns.usernet.output);
  assert.match(deadDns.usernet.output, /SERVFAIL/, deadDns.usernet.output);
  assert.equal(deadDns.libslirp.answeredBeforeTimeout, false, `libslirp answered in time: ${deadDns.libslirp.output}`);
  assert.doesNotMatch(deadDns.libslirp.output, /SERVFAIL/);
});

test('restrict=on: on both the lease names no router and no DNS, and the host is out of reach', { skip, timeout: 300_000 }, async (t) => {
  restricted.libslirp = await observeRestricted(await startQemu(['-netdev', 'user,id=n0,restrict=on', '-device', 'e1000,netdev=n0']));
  const serve = await startServe('user,restrict=on');
  try {
    restricted.usernet = await observeRestricted(await startQemu(['-netdev', serve.streamNetdev, '-device', 'e1000,netdev=n0']));
  } finally {
    serve.stop();
  }
  for (const [name, r] of Object.entries(restricted)) {
    t.diagnostic(`${name}: ${JSON.stringify(r)}`);
    assert.ok(r.lease.some((l) => /lease of 10\.0\.2\.15 obtained/.test(l)), `${name}: ${r.lease.join('\n')}`);
    assert.ok(!r.lease.some((l) => /router 10\.|dns 10\./.test(l)), `${name}: ${r.lease.join('\n')}`);
    assert.doesNotMatch(r.routes, /default/, name);
    assert.doesNotMatch(r.resolvConf, /nameserver 10\.0\.2\.3/, name);
    assert.equal(r.hostReached, false, name);
  }
  assert.deepEqual(restricted.usernet, restricted.libslirp);
});
