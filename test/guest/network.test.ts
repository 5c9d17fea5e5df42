/**
 * The slirp core as the guest sees it: DHCP, the gateway, DNS through 10.0.2.3,
 * UDP and TCP to host services through 10.0.2.2, and inbound via hostfwd.
 * Every host peer listens on loopback inside the run's private namespace.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import type { EmbeddedMachine } from '../../extension/machine/embedded-machine';
import { containmentProblem } from '../support/containment';
import { startGuest, sh } from '../support/guest';
import { startCollector, startDnsServer, startTftpServer, testFile, md5 } from '../support/host-servers';

const skip = containmentProblem();
let vm: EmbeddedMachine;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
const FORWARDED_PORT = 18_022;

before(async () => {
  if (skip) return;
  dns = await startDnsServer({ 'usernet.test': '10.9.8.7' });
  vm = await startGuest({ dnsPort: dns.port, netdev: `user,hostfwd=tcp::${FORWARDED_PORT}-:5555` });
});
after(async () => {
  await vm?.stop();
  await dns?.close();
});

test('udhcpc gets 10.0.2.15 with router 10.0.2.2, DNS 10.0.2.3 and the jumbo MTU 9000, and applies them', { skip }, async () => {
  const out = await sh(vm, 'ip link show eth0; ip -4 addr show eth0; ip route; cat /etc/resolv.conf; echo resets=$(dmesg | grep -c "Reset adapter")');
  assert.match(out, /eth0: .* mtu 9000 /);
  assert.match(out, /resets=0/, 'the MTU change did not make the e1000 driver reset the NIC');
  assert.match(out, /inet 10\.0\.2\.15\/24/);
  assert.match(out, /default via 10\.0\.2\.2 dev eth0/);
  assert.match(out, /nameserver 10\.0\.2\.3/);
});

test('pings to the gateway and the DNS address lose nothing', { skip, timeout: 120_000 }, async () => {
  const out = await sh(vm, 'ping -c 30 -i 0.1 10.0.2.2 | tail -2; ping -c 5 -i 0.1 10.0.2.3 | tail -2', 100_000);
  const losses = [...out.matchAll(/(\d+)% packet loss/g)].map((m) => Number(m[1]));
  assert.deepEqual(losses, [0, 0], out);
  assert.match(out, /30 packets transmitted, 30 packets received/);
});

test('at the jumbo MTU a 4000-byte ping leaves the guest as one frame through our e1000, and its reply comes back in 1500-byte fragments', { skip, timeout: 60_000 }, async () => {
  const sent: number[] = [];
  const received: number[] = [];
  const stopTx = vm.probes.probes.e1000_send_packet.listen((hit) => void sent.push(hit.frame.length));
  const stopRx = vm.probes.probes.e1000_receive_iov.listen((hit) => void received.push(hit.frame.length));
  try {
    const out = await sh(vm, 'ping -c 3 -s 4000 10.0.2.2 | tail -2', 30_000);
    assert.match(out, /3 packets transmitted, 3 packets received/);
  } finally {
    stopTx();
    stopRx();
  }
  assert.equal(sent.filter((n) => n === 14 + 20 + 8 + 4000).length, 3, `frames from the guest: ${sent.join(' ')}`);
  assert.ok(received.every((n) => n <= 1514), `frames to the guest: ${received.join(' ')}`);
  assert.ok(received.filter((n) => n === 1514).length >= 6, `three replies in fragments: ${received.join(' ')}`);
});

test('nslookup through 10.0.2.3 is answered by the test DNS server on loopback', { skip }, async () => {
  const out = await sh(vm, 'nslookup usernet.test 10.0.2.3');
  assert.match(out, /Address:? 10\.9\.8\.7/);
  assert.ok(dns.queries.includes('usernet.test'), `queries seen: ${dns.queries.join(', ')}`);
  const r = await vm.exec('nslookup nowhere.test 10.0.2.3');
  assert.notEqual(r.status, 0, 'an unknown name is an error in the guest too');
});

test('a UDP conversation with a host service through 10.0.2.2 (TFTP) carries the file intact', { skip }, async () => {
  const file = testFile(5000, 7);
  const tftp = await startTftpServer({ 'hello.bin': file });
  try {
    const out = await sh(vm, `cd /tmp && tftp -g -r hello.bin 10.0.2.2 ${tftp.port} && md5sum hello.bin`);
    assert.match(out, new RegExp(md5(file)));
    assert.equal(tftp.transfers, 1);
    assert.match(vm.slirp!.infoUsernet(), /UDP\[\d+ sec\]\s+-?\d+\s+10\.0\.2\.15\s+\d+\s+10\.0\.2\.2\s+\d+/);
  } finally {
    await tftp.close();
  }
});

test('the seed experiment, guest to host: nc 10.0.2.2 PORT reaches a listener on host loopback', { skip }, async () => {
  const collector = await startCollector();
  try {
    await sh(vm, `echo hello from the guest | nc 10.0.2.2 ${collector.port}`);
    assert.equal(await collector.received, 'hello from the guest\n');
  } finally {
    await collector.close();
  }
});

test('the seed experiment, host to guest: hostfwd reaches nc -l in the guest', { skip }, async () => {
  await sh(vm, 'rm -f /tmp/got; (nc -l -p 5555 > /tmp/got &) ; sleep 1');
  const sock = connect(FORWARDED_PORT, '127.0.0.1');
  await once(sock, 'connect');
  sock.end('hello from the host\n');
  await once(sock, 'close');
  // The guest's nc exits when the host side closes; give its write a moment.
  let got = '';
  for (let i = 0; i < 20 && got !== 'hello from the host\n'; i++) {
    got = (await vm.exec('cat /tmp/got 2>/dev/null')).output;
    if (got !== 'hello from the host\n') await new Promise((r) => setTimeout(r, 250));
  }
  assert.equal(got, 'hello from the host\n');
});

test('UDP to a closed host port: the guest hears port unreachable from 10.0.2.2, so traceroute ends at hop 1', { skip, timeout: 60_000 }, async () => {
  const r = await vm.exec('traceroute -n -m 3 -w 2 -q 1 10.0.2.2 2>&1; grep Icmp: /proc/net/snmp | tail -1', 30_000);
  assert.match(r.output, /^ 1 {2}10\.0\.2\.2 {2}[\d.]+ ms$/m, r.output);
  assert.doesNotMatch(r.output, /^ 2 /m, 'the destination answered: no second hop');
  // Icmp: InMsgs InErrors InCsumErrors InDestUnreachs ...
  const inDestUnreachs = Number(r.output.trim().split('\n').at(-1)!.split(/\s+/)[4]);
  assert.ok(inDestUnreachs >= 1, r.output);
});

test('a refused host port fails fast in the guest', { skip }, async () => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  server.close();
  const t0 = performance.now();
  const r = await vm.exec(`echo x | nc 10.0.2.2 ${port}`);
  assert.notEqual(r.status, 0);
  assert.ok(performance.now() - t0 < 10_000, 'refusal is an RST, not a timeout');
});
