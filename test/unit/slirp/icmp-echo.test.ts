/**
 * Echo requests past the gateway through real host ping sockets, inside the
 * test's private network namespace, to addresses that exist only there
 * (test/support/ping-namespace.ts): the identifier mapping, the NAT rows of
 * both families, the limits and the expiry, and the gateway's unreachable for
 * a destination with no route.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ECHO_EXPIRE_MS, MAX_ECHO_FLOWS } from '../../../extension/slirp/icmp-echo';
import { hostPingSockets, unavailablePingSockets } from '../../../extension/slirp/ping-socket';
import { ip4 } from '../../../extension/slirp/config';
import { formatIpv4 } from '../../../extension/wire/address';
import { parseIpv6 } from '../../../extension/wire/ipv6-address';
import { NO_ROUTE4, NO_ROUTE6, PING_TARGET4, PING_TARGET6, pingNamespaceSkip, preparePingNamespace } from '../../support/ping-namespace';
import { checksum, eth, GUEST_IP, HOST_IP, icmpEcho, ipv4, u16 } from './helpers/frames';
import { frame6, GUEST6, icmp6, icmp6ChecksumOk, ip6Fields } from './helpers/frames6';
import { ipOf, makeGuest } from './helpers/harness';

const skip = pingNamespaceSkip();
if (!skip) preparePingNamespace();

const v4 = (text: string) => {
  const [a, b, c, d] = text.split('.').map(Number) as [number, number, number, number];
  return ip4(a, b, c, d);
};
const ping4 = (dst: string, id: number, seq: number, data: number[] = [1, 2, 3, 4, 5, 6, 7, 8]) =>
  eth(0x0800, ipv4({ dst: v4(dst), protocol: 1, payload: icmpEcho(id, seq, data) }));
const ping6 = (dst: string, id: number, seq: number, data: number[] = [9, 8, 7, 6]) => {
  const to = parseIpv6(dst)!;
  return frame6({ src: GUEST6, dst: to, nextHeader: 58, payload: icmp6(GUEST6, to, 128, 0, [...u16(id), ...u16(seq), ...data]) });
};
const isIcmp4 = (type: number) => (f: Uint8Array) => f[12] === 8 && f[13] === 0 && f[23] === 1 && f[34] === type;
const isIcmp6 = (type: number) => (f: Uint8Array) => f[12] === 0x86 && f[13] === 0xdd && f[20] === 58 && f[54] === type;
const forwarding = () => makeGuest({}, { pingSockets: hostPingSockets });

test('an echo request to a host address goes out a ping socket; the reply comes back with the guest identifier, sequence and data', { skip }, async () => {
  const g = forwarding();
  try {
    g.slirp.input(ping4(PING_TARGET4, 0x4242, 7));
    const reply = await g.waitFor(isIcmp4(0));
    const ip = ipOf(reply);
    assert.equal(formatIpv4(ip.source), PING_TARGET4, 'from the address the guest pinged');
    assert.equal(ip.destination, GUEST_IP);
    const icmp = ip.payload;
    assert.equal(checksum(icmp), 0, 'ICMP checksum');
    assert.equal((icmp[4]! << 8) | icmp[5]!, 0x4242, 'the guest identifier, not the host socket one');
    assert.equal((icmp[6]! << 8) | icmp[7]!, 7);
    assert.deepEqual([...icmp.subarray(8)], [1, 2, 3, 4, 5, 6, 7, 8]);
    const [row] = g.slirp.nat.list();
    assert.ok(row);
    assert.equal(row.protocol, 'icmp');
    assert.equal(row.guestPort, 0x4242);
    assert.ok(row.hostLocalPort > 0, 'the identifier the kernel gave the socket');
    assert.ok(row.fd >= 0);
    assert.deepEqual([row.packetsOut, row.packetsIn, row.bytesOut, row.bytesIn], [1, 1, 16, 16]);
    assert.match(g.slirp.infoUsernet(), new RegExp(`  ICMP\\[240 sec\\] +${row.fd} +10\\.0\\.2\\.15 +- +${PING_TARGET4.replace(/\./g, '\\.')} +-`));
  } finally {
    await g.slirp.close();
  }
});

test('successive echoes of one identifier share a flow; another identifier gets its own', { skip }, async () => {
  const g = forwarding();
  try {
    for (let seq = 1; seq <= 3; seq++) {
      g.slirp.input(ping4(PING_TARGET4, 1, seq));
      await g.waitFor((f) => isIcmp4(0)(f) && f[41] === seq);
    }
    assert.equal(g.slirp.nat.size, 1);
    g.slirp.input(ping4(PING_TARGET4, 2, 1));
    await g.waitFor((f) => isIcmp4(0)(f) && f[39] === 2);
    assert.equal(g.slirp.nat.size, 2);
    const rows = g.slirp.nat.list();
    assert.deepEqual(rows.map((r) => r.packetsIn), [3, 1]);
    assert.notEqual(rows[0]!.hostLocalPort, rows[1]!.hostLocalPort, 'each flow has its own host identifier');
  } finally {
    await g.slirp.close();
  }
});

test('ping6 to a host address is forwarded and answered with the guest identifier; its row shows both IPv6 addresses', { skip }, async () => {
  const g = forwarding();
  try {
    g.slirp.input(ping6(PING_TARGET6, 0x0606, 3));
    const reply = await g.waitFor(isIcmp6(129));
    const ip = ip6Fields(reply);
    assert.deepEqual([...ip.src], [...parseIpv6(PING_TARGET6)!]);
    assert.deepEqual([...ip.dst], [...GUEST6]);
    assert.ok(icmp6ChecksumOk(reply));
    assert.deepEqual([...ip.payload.subarray(4)], [6, 6, 0, 3, 9, 8, 7, 6]);
    const [row] = g.slirp.nat.list();
    assert.equal(row?.guestAddr6, 'fec0::5054:ff:fe12:3456');
    assert.equal(row?.remoteAddr6, PING_TARGET6);
    assert.match(g.slirp.infoUsernet(), /ICMP\[240 sec\] .*fec0::5054:ff:fe12:3456 +- +fd00:198::1 +-/);
  } finally {
    await g.slirp.close();
  }
});

test('no route to the destination: the gateway answers network unreachable quoting the request, and no row stays', { skip }, async () => {
  const g = forwarding();
  try {
    g.slirp.input(ping4(NO_ROUTE4, 9, 1));
    const err = ipOf(g.out.find(isIcmp4(3))!);
    assert.equal(err.source, HOST_IP, 'from the gateway, as a router says it');
    assert.equal(err.payload[1], 0, 'network unreachable');
    assert.equal(formatIpv4(((err.payload[24]! << 24) | (err.payload[25]! << 16) | (err.payload[26]! << 8) | err.payload[27]!) >>> 0), NO_ROUTE4, 'the quoted request');
    assert.equal(g.slirp.drops['icmp-send-error'], 1);
    g.slirp.input(ping6(NO_ROUTE6, 9, 1));
    const err6 = ip6Fields(g.out.find(isIcmp6(1))!);
    assert.equal(err6.payload[1], 0, 'no route to destination');
    assert.equal(g.slirp.drops['icmpv6-send-error'], 1);
    assert.equal(g.slirp.nat.size, 0);
  } finally {
    await g.slirp.close();
  }
});

test(`flows are bounded (${MAX_ECHO_FLOWS} per family) and expire ${ECHO_EXPIRE_MS / 1000} s after their last echo`, { skip }, async () => {
  const g = forwarding();
  try {
    for (let id = 1; id <= MAX_ECHO_FLOWS + 2; id++) g.slirp.input(ping4(PING_TARGET4, id, 1));
    assert.equal(g.slirp.nat.size, MAX_ECHO_FLOWS);
    assert.equal(g.slirp.drops['icmp-echo-flows-full'], 2);
    g.clock.advance(ECHO_EXPIRE_MS - 2000);
    g.slirp.input(ping4(PING_TARGET4, 1, 2));
    g.clock.advance(3000);
    assert.deepEqual(g.slirp.nat.list().map((r) => r.guestPort), [1], 'only the flow used since is left');
    g.clock.advance(ECHO_EXPIRE_MS);
    assert.equal(g.slirp.nat.size, 0);
    g.slirp.input(ping4(PING_TARGET4, 99, 1));
    await g.waitFor((f) => isIcmp4(0)(f) && f[39] === 99);
  } finally {
    await g.slirp.close();
  }
});

test('while the VM is paused replies wait in the socket, and arrive on resume', { skip }, async () => {
  const g = forwarding();
  try {
    g.slirp.input(ping4(PING_TARGET4, 5, 1));
    await g.waitFor(isIcmp4(0));
    g.slirp.pause();
    g.slirp.input(ping4(PING_TARGET4, 5, 2));
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(g.out.filter(isIcmp4(0)).length, 1, 'nothing relayed while paused');
    g.slirp.resume();
    await g.waitFor((f) => isIcmp4(0)(f) && f[41] === 2);
  } finally {
    await g.slirp.close();
  }
});

test('without a ping socket (ping_group_range, no FFI) echoes of both families are dropped, and each family says why once', async () => {
  const g = makeGuest({}, { pingSockets: unavailablePingSockets('group 0 is outside net.ipv4.ping_group_range') });
  for (let seq = 1; seq <= 2; seq++) {
    g.slirp.input(ping4('192.0.2.1', 1, seq));
    g.slirp.input(ping6('2001:db8::2', 1, seq));
  }
  assert.equal(g.slirp.drops['icmp-forward-unsupported'], 2);
  assert.equal(g.slirp.drops['icmpv6-forward-unsupported'], 2);
  assert.deepEqual(g.logs.filter((l) => l.includes('ping_group_range')), [
    'ping to addresses past the gateway is not forwarded: group 0 is outside net.ipv4.ping_group_range',
    'ping6 to addresses past the gateway is not forwarded: group 0 is outside net.ipv4.ping_group_range',
  ]);
  assert.equal(g.out.length, 0);
  await g.slirp.close();
});

test('echoes to addresses no host address stands for, and with restrict=on, never open a socket', async () => {
  const g = makeGuest({}, { pingSockets: { open: () => assert.fail('no socket may be opened') } });
  g.slirp.input(ping4('10.0.2.99', 1, 1));
  g.slirp.input(ping6('fe80::1', 1, 1));
  assert.equal(g.slirp.drops['icmp-no-host-address'], 1);
  assert.equal(g.slirp.drops['icmpv6-no-host-address'], 1);
  const r = makeGuest({ restrict: true }, { pingSockets: { open: () => assert.fail('no socket may be opened') } });
  r.slirp.input(ping4(PING_TARGET4, 1, 1));
  assert.equal(r.slirp.drops['icmp-restricted'], 1);
  await g.slirp.close();
  await r.slirp.close();
});

test('a fault while relaying a reply is counted as internal-error, and the sockets keep being read', { skip }, async () => {
  const { EchoFlows } = await import('../../../extension/slirp/icmp-echo');
  const { DropCounter } = await import('../../../extension/slirp/drops');
  const { NatTable } = await import('../../../extension/slirp/nat');
  const { ProbeHub } = await import('../../../extension/pipeline/probe');
  const { ManualClock } = await import('./helpers/manual-clock');
  const drops = new DropCounter();
  const replies: number[] = [];
  const echo = new EchoFlows(
    { clock: new ManualClock(), probes: new ProbeHub(), nat: new NatTable(), dropCounter: drops, sockets: hostPingSockets, log: () => {} },
    {
      family: 4,
      reply: (message) => {
        replies.push(message[7]!);
        if (message[7] === 1) throw new Error('a fault in the reply path');
      },
      unreachable: () => assert.fail('the target is reachable'),
      drops: 'icmp',
    },
  );
  const target = Uint8Array.from(PING_TARGET4.split('.').map(Number));
  const send = (seq: number) => {
    const message = icmpEcho(3, seq, [1, 2, 3, 4]);
    echo.forward({ frame: message, datagram: message, message, guest: Uint8Array.of(10, 0, 2, 15), remote: target, row: { guestAddr: GUEST_IP, remoteAddr: v4(PING_TARGET4), hostPeerAddr: PING_TARGET4 } });
  };
  const until = async (what: () => boolean) => {
    for (let i = 0; i < 100 && !what(); i++) await new Promise((r) => setTimeout(r, 20));
  };
  try {
    send(1);
    await until(() => drops.counts['internal-error'] === 1);
    assert.equal(drops.counts['internal-error'], 1);
    send(2);
    await until(() => replies.includes(2));
    assert.deepEqual(replies, [1, 2]);
  } finally {
    echo.close();
  }
});
