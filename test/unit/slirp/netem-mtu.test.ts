import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NetworkConditions } from '../../../extension/pipeline/netem';
import { checksum, GUEST_IP, guestUdp, HOST_IP } from './helpers/frames';
import { frame6, GUEST6, HOST6, ip6Fields, udp6 } from './helpers/frames6';
import { ipOf, isIcmp, makeGuest } from './helpers/harness';

/** A guest UDP datagram of `bytes` bytes to 10.0.2.2:9, with DF set or not. */
function datagram(bytes: number, df: boolean): Uint8Array {
  const f = guestUdp(HOST_IP, 40000, 9, new Uint8Array(bytes - 28));
  if (df) f[20] |= 0x40;
  f[24] = f[25] = 0;
  const c = checksum(f.subarray(14, 34));
  f[24] = c >> 8;
  f[25] = c & 255;
  return f;
}

test('mtu N: a larger IPv4 datagram with DF is dropped and the guest hears "fragmentation needed" with N from 10.0.2.2, as from a router', async () => {
  const g = makeGuest();
  const conditions = new NetworkConditions(g.probes, g.clock, { seed: 1 });
  conditions.add('ip_input: mtu 576');
  try {
    const sent = datagram(1000, true);
    g.slirp.input(sent);
    const errors = g.out.filter(isIcmp);
    assert.equal(errors.length, 1);
    const f = errors[0]!;
    assert.equal(ipOf(f).source, HOST_IP);
    assert.equal(ipOf(f).destination, GUEST_IP);
    const icmp = f.subarray(34);
    assert.deepEqual([icmp[0], icmp[1]], [3, 4], 'destination unreachable, fragmentation needed');
    assert.equal((icmp[6]! << 8) | icmp[7]!, 576, 'the next hop\'s MTU (RFC 1191)');
    assert.deepEqual([...icmp.subarray(8, 36)], [...sent.subarray(14, 42)], 'quoting the datagram');
    assert.equal(checksum(icmp), 0);
    assert.equal(g.probes.drops.count('netem-mtu', 'ip_input'), 1);

    // Without DF, or at the link's size, no error: the first is dropped (no fragmentation here), the second passes.
    g.out.length = 0;
    g.slirp.input(datagram(1000, false));
    g.slirp.input(datagram(576, true));
    assert.equal(g.out.filter(isIcmp).length, 0);
    assert.equal(g.probes.drops.count('netem-mtu', 'ip_input'), 2);
  } finally {
    conditions.dispose();
    await g.slirp.close();
  }
});

test('mtu N: a larger IPv6 packet is dropped and the guest hears "packet too big" with N from fec0::2', async () => {
  const g = makeGuest();
  const conditions = new NetworkConditions(g.probes, g.clock, { seed: 1 });
  conditions.add('slirp_input: mtu 1280');
  try {
    g.slirp.input(frame6({ dst: HOST6, nextHeader: 17, payload: udp6(GUEST6, HOST6, 40000, 9, new Uint8Array(1300)) }));
    const f = g.out.find((x) => x[12] === 0x86 && x[13] === 0xdd && x[20] === 58 && x[54] === 2);
    assert.ok(f, 'an ICMPv6 packet too big');
    const ip = ip6Fields(f);
    assert.equal((ip.payload[4]! << 24) | (ip.payload[5]! << 16) | (ip.payload[6]! << 8) | ip.payload[7]!, 1280);
    assert.deepEqual([...ip.dst], [...GUEST6]);
  } finally {
    conditions.dispose();
    await g.slirp.close();
  }
});
