/**
 * IPv6 under the QEMU engine (TCG): QEMU's own e1000, our slirp over -netdev
 * stream. The bundled guest takes fec0::/64 by SLAAC, pings the gateway and
 * the DNS address, and fetches a file from a host server on ::1 through fec0::2.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startEngine, type RunningMachine } from '../../extension/machine/engine-start';
import { planLaunchRequest } from '../../extension/machine/run-request';
import { containmentProblem } from '../support/containment';
import { md5, testFile } from '../support/host-servers';
import { qemuMissing, sh } from './qemu-scenarios';

const skip = containmentProblem() ?? qemuMissing();
const ROOT = resolve(__dirname, '..', '..');
const GUEST6 = 'fec0::5054:ff:fe12:3456';
const FILE = testFile(2 << 20, 23);
const dir = mkdtempSync(join(tmpdir(), 'usernet-qemu-ipv6-'));
let vm: RunningMachine;
let http: ReturnType<typeof createHttpServer>;

before(async () => {
  if (skip) return;
  http = createHttpServer((_req, res) => void res.writeHead(200, { 'content-length': FILE.length }).end(FILE));
  http.listen(0, '::1');
  await once(http, 'listening');
  vm = await startQemu('user,id=n0');
});

/** The bundled guest under QEMU with these -netdev options. */
function startQemu(netdev: string): Promise<RunningMachine> {
  const file = join(dir, `guest-${netdev.replace(/\W/g, '_')}.qemu`);
  writeFileSync(
    file,
    [
      '# usernet: engine=qemu',
      'qemu-system-x86_64 -accel tcg -m 128 -nographic \\',
      `  -kernel ${ROOT}/media/guest/bzImage -initrd ${ROOT}/media/guest/initramfs.cpio.gz \\`,
      `  -append 'console=ttyS0 quiet' \\`,
      `  -netdev ${netdev} -device e1000,netdev=n0,mac=52:54:00:12:34:56`,
      '',
    ].join('\n'),
  );
  return startEngine(planLaunchRequest({ profile: file }), { onLog: () => {} });
}
after(async () => {
  await vm?.stop();
  http?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('under QEMU the guest takes fec0::/64 by SLAAC, ping6 reaches fec0::2 and fec0::3, wget over IPv6 reaches ::1 through fec0::2', { skip, timeout: 240_000 }, async () => {
  // The link comes up at boot and the guest solicits a router; flip it if the address is not there yet.
  let out = '';
  for (let i = 0; i < 3; i++) {
    out = await sh(vm, `for n in $(seq 20); do ip -6 addr show eth0 | grep -q '${GUEST6}/64' && ! ip -6 addr show eth0 | grep -q tentative && break; sleep 0.5; done; ip -6 addr show eth0; ip -6 route`, 60_000);
    if (out.includes(`${GUEST6}/64`) && !out.includes('tentative')) break;
    await sh(vm, 'ip link set eth0 down; ip link set eth0 up');
  }
  assert.match(out, new RegExp(`inet6 ${GUEST6}/64 scope (global|site) dynamic`), out);
  assert.match(out, /default via fe80::2 dev eth0/, out);
  const ping = await sh(vm, 'ping6 -c 5 -i 0.2 fec0::2 | tail -2; ping6 -c 3 -i 0.2 fec0::3 | tail -2', 60_000);
  assert.deepEqual([...ping.matchAll(/(\d+)% packet loss/g)].map((m) => Number(m[1])), [0, 0], ping);
  const got = await sh(vm, `wget -q -O - http://[fec0::2]:${(http.address() as AddressInfo).port}/f | md5sum`, 120_000);
  assert.equal(got.trim().split(/\s+/)[0], md5(FILE));
});

test('ipv6=off turns IPv6 off: no router answers, the guest keeps only its link-local address', { skip, timeout: 120_000 }, async () => {
  const off = await startQemu('user,id=n0,ipv6=off');
  try {
    await sh(off, 'ip link set eth0 up; sleep 6');
    const out = await sh(off, 'ip -6 addr show eth0; ip -6 route; ping6 -c 1 -W 2 fe80::2%eth0 >/dev/null 2>&1 && echo answered || echo silent');
    assert.doesNotMatch(out, /fec0::/, out);
    assert.doesNotMatch(out, /default via/, out);
    assert.match(out, /inet6 fe80::5054:ff:fe12:3456\/64 scope link/, out);
    assert.match(out, /silent/, out);
  } finally {
    await off.stop();
  }
});
