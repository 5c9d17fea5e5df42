/**
 * IPv6 as the bundled guest sees it, with QEMU's defaults: SLAAC in fec0::/64
 * from our router advertisements, ping6 to the gateway and the DNS address,
 * TCP to a host service on ::1 through fec0::2 (nc and wget, md5-equal), DNS
 * AAAA through fec0::3, and a hostfwd rule bound to the host's [::1].
 * Every host peer listens on loopback inside the run's private namespace.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo, type Server } from 'node:net';
import type { EmbeddedMachine } from '../../extension/machine/embedded-machine';
import { containmentProblem } from '../support/containment';
import { startGuest, sh, waitForSlaac } from '../support/guest';
import { md5, startDnsServer, testFile } from '../support/host-servers';

const skip = containmentProblem();
const GUEST6 = 'fec0::5054:ff:fe12:3456';
const FORWARDED_PORT = 18_122;
const BIG = testFile(10 * 1024 * 1024, 61);
let vm: EmbeddedMachine;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
let blob: Server;
let http: ReturnType<typeof createHttpServer>;

const portOf = (s: { address(): unknown }) => (s.address() as AddressInfo).port;

before(async () => {
  if (skip) return;
  dns = await startDnsServer({ 'v6.usernet.test': 'fd00::1234', 'usernet.test': '10.9.8.7' });
  // Services on the host's ::1 only: the guest reaches them through fec0::2.
  blob = createServer((s) => {
    s.on('error', () => {});
    s.end(BIG);
  });
  blob.listen(0, '::1');
  await once(blob, 'listening');
  http = createHttpServer((req, res) => {
    if (req.url !== '/big.bin') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-length': BIG.length }).end(BIG);
  });
  http.listen(0, '::1');
  await once(http, 'listening');
  vm = await startGuest({ dnsPort: dns.port, netdev: `user,hostfwd=tcp:[::1]:${FORWARDED_PORT}-:5555` });
  await waitForSlaac(vm, GUEST6);
});
after(async () => {
  await vm?.stop();
  await dns?.close();
  blob?.close();
  http?.close();
});

test('the guest takes fec0::/64 by SLAAC from our router advertisement, with a default route via fe80::2', { skip, timeout: 60_000 }, async () => {
  const out = await sh(vm, 'ip -6 addr show eth0; ip -6 route');
  // fec0::/10 is site-local to Linux (scope site), as under QEMU's own slirp.
  assert.match(out, new RegExp(`inet6 ${GUEST6}/64 scope (global|site) dynamic`), out);
  assert.match(out, /default via fe80::2 dev eth0/, out);
  assert.doesNotMatch(out, /tentative|dadfailed/, out);
});

test('ping6 to fec0::2 and fec0::3 loses nothing', { skip, timeout: 120_000 }, async () => {
  const out = await sh(vm, 'ping6 -c 20 -i 0.1 fec0::2 | tail -2; ping6 -c 5 -i 0.1 fec0::3 | tail -2', 100_000);
  const losses = [...out.matchAll(/(\d+)% packet loss/g)].map((m) => Number(m[1]));
  assert.deepEqual(losses, [0, 0], out);
  assert.match(out, /20 packets transmitted, 20 packets received/);
});

test('nc over IPv6 to a host service on ::1 through fec0::2 carries 10 MiB md5-equal', { skip, timeout: 300_000 }, async () => {
  const out = await sh(vm, `nc fec0::2 ${portOf(blob)} > /tmp/big6 && wc -c < /tmp/big6 && md5sum /tmp/big6; rm -f /tmp/big6`, 280_000);
  assert.match(out, new RegExp(`^${BIG.length}$`, 'm'), out);
  assert.match(out, new RegExp(md5(BIG)), out);
  assert.equal(vm.slirp!.dropSummary()['tcp6-unsupported'] ?? 0, 0);
});

test('wget over IPv6 (http://[fec0::2]:port/) fetches 10 MiB md5-equal; the NAT table shows the IPv6 flow', { skip, timeout: 300_000 }, async () => {
  const seen: string[] = [];
  const listener = (s: { guestAddr6?: string; remoteAddr6?: string }) => void seen.push(`${s.guestAddr6} ${s.remoteAddr6}`);
  vm.slirp!.nat.on('open', listener);
  try {
    const out = await sh(vm, `wget -q -O /tmp/w6 http://[fec0::2]:${portOf(http)}/big.bin && md5sum /tmp/w6; rm -f /tmp/w6`, 280_000);
    assert.match(out, new RegExp(md5(BIG)), out);
  } finally {
    vm.slirp!.nat.off('open', listener);
  }
  assert.ok(seen.includes(`${GUEST6} fec0::2`), seen.join(', '));
});

test('DNS over IPv6: an AAAA query to fec0::3 is answered by the test DNS server on loopback', { skip, timeout: 60_000 }, async () => {
  const out = await sh(vm, 'nslookup -type=AAAA v6.usernet.test fec0::3');
  assert.match(out, /fd00::1234/, out);
  assert.ok(dns.queries.includes('v6.usernet.test'));
});

test('UDP to a closed port of the host\'s ::1: the guest hears port unreachable from fec0::2, so traceroute6 ends at hop 1', { skip, timeout: 60_000 }, async () => {
  const r = await vm.exec('traceroute6 -n -m 3 -w 2 -q 1 fec0::2 2>&1; grep Icmp6InDestUnreachs /proc/net/snmp6', 30_000);
  assert.match(r.output, /^ 1 {2}fec0::2 {2}[\d.]+ ms$/m, r.output);
  assert.doesNotMatch(r.output, /^ 2 /m);
  assert.match(r.output, /Icmp6InDestUnreachs\s+[1-9]/);
});

test('hostfwd from the host\'s [::1] reaches nc -l in the guest', { skip, timeout: 60_000 }, async () => {
  await sh(vm, 'rm -f /tmp/got6; (nc -l -p 5555 > /tmp/got6 &) ; sleep 1');
  const sock = connect(FORWARDED_PORT, '::1');
  await once(sock, 'connect');
  sock.end('hello from [::1]\n');
  await once(sock, 'close');
  let got = '';
  for (let i = 0; i < 20 && got !== 'hello from [::1]\n'; i++) {
    got = (await vm.exec('cat /tmp/got6 2>/dev/null')).output;
    if (got !== 'hello from [::1]\n') await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(got, 'hello from [::1]\n');
});
