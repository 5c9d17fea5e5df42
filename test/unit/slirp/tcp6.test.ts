import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { formatIpv6 } from '../../../extension/wire/ipv6-address';
import { checksum, u16 } from './helpers/frames';
import { frame6, GUEST6, HOST6, ip6Fields, pseudoSum6 } from './helpers/frames6';
import { makeGuest } from './helpers/harness';
import { parseHostForwardRule, readNetdevUser } from '../../../extension/slirp/netdev-options';

/** A TCP segment (no options but MSS) with its checksum over the IPv6 pseudo-header. */
function tcp6(src: Uint8Array, dst: Uint8Array, sport: number, dport: number, seq: number, ack: number, flags: number, data: number[] = []): number[] {
  const b = [...u16(sport), ...u16(dport), seq >>> 24, (seq >>> 16) & 255, (seq >>> 8) & 255, seq & 255, ack >>> 24, (ack >>> 16) & 255, (ack >>> 8) & 255, ack & 255, 0x60, flags, ...u16(65535), 0, 0, 0, 0, 2, 4, ...u16(1440), ...data];
  const c = checksum(b, pseudoSum6(src, dst, 6, b.length));
  b[16] = c >> 8;
  b[17] = c & 255;
  return b;
}
const isTcp6 = (f: Uint8Array) => f[12] === 0x86 && f[13] === 0xdd && f[20] === 6;
const seqOf = (p: Uint8Array) => ((p[4]! << 24) | (p[5]! << 16) | (p[6]! << 8) | p[7]!) >>> 0;

test('TCP over IPv6: a connection to fec0::2 reaches a server on the host\'s ::1, data flows both ways, checksums are IPv6 ones', async () => {
  const got: Buffer[] = [];
  const server = net.createServer((s) => {
    // The stack may close its host sockets with RST when it shuts down.
    s.on('error', () => {});
    s.on('data', (d) => {
      got.push(d);
      s.write('pong');
    });
  });
  await new Promise<void>((r) => server.listen(0, '::1', r));
  const port = (server.address() as net.AddressInfo).port;
  const g = makeGuest();
  try {
    g.slirp.input(frame6({ dst: HOST6, nextHeader: 6, payload: tcp6(GUEST6, HOST6, 50000, port, 1000, 0, 0x02) }));
    const synAck = await g.waitFor(isTcp6);
    const ip = ip6Fields(synAck);
    assert.equal(formatIpv6(ip.src), 'fec0::2');
    assert.equal(ip.payload[13], 0x12, 'SYN-ACK');
    assert.equal(checksum(ip.payload, pseudoSum6(ip.src, ip.dst, 6, ip.payload.length)), 0, 'checksum over the IPv6 pseudo-header');
    const mssAt = ip.payload.indexOf(2, 20);
    assert.equal((ip.payload[mssAt + 2]! << 8) | ip.payload[mssAt + 3]!, g.slirp.config.mtu - 60, 'the MSS counts the 40-byte IPv6 header');
    const serverSeq = seqOf(ip.payload);
    g.out.length = 0;
    g.slirp.input(frame6({ dst: HOST6, nextHeader: 6, payload: tcp6(GUEST6, HOST6, 50000, port, 1001, serverSeq + 1, 0x18, [...Buffer.from('ping')]) }));
    const reply = await g.waitFor((f) => isTcp6(f) && ip6Fields(f).payload.length > 20);
    assert.equal(Buffer.from(ip6Fields(reply).payload.subarray(20)).toString(), 'pong');
    assert.equal(Buffer.concat(got).toString(), 'ping');
    const [s] = g.slirp.nat.list();
    assert.equal(s!.guestAddr6, 'fec0::5054:ff:fe12:3456');
    assert.equal(s!.remoteAddr6, 'fec0::2');
    assert.match(g.slirp.infoUsernet(), /TCP\[ESTABLISHED\]\s+-?\d+\s+fec0::5054:ff:fe12:3456\s+50000\s+fec0::2\s+\d+/);
  } finally {
    await g.slirp.close();
    server.close();
  }
});

test('TCP over IPv6 with a bad checksum is dropped; a closed port is refused with RST', async () => {
  const g = makeGuest();
  try {
    const bad = tcp6(GUEST6, HOST6, 50001, 9, 1, 0, 0x02);
    bad[16] ^= 0xff;
    g.slirp.input(frame6({ dst: HOST6, nextHeader: 6, payload: bad }));
    assert.equal(g.slirp.dropSummary()['tcp-bad-checksum'], 1);
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '::1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    g.slirp.input(frame6({ dst: HOST6, nextHeader: 6, payload: tcp6(GUEST6, HOST6, 50002, port, 1, 0, 0x02) }));
    const rst = await g.waitFor((f) => isTcp6(f) && (ip6Fields(f).payload[13]! & 0x04) !== 0, 5000);
    assert.equal(formatIpv6(ip6Fields(rst).src), 'fec0::2');
  } finally {
    await g.slirp.close();
  }
});

test('hostfwd takes IPv6 addresses in brackets, on the host side and the guest side', () => {
  assert.deepEqual(parseHostForwardRule('tcp:[::1]:2222-:22'), { protocol: 'tcp', hostAddr: '::1', hostPort: 2222, guestAddr: 0, guestPort: 22 });
  assert.deepEqual(parseHostForwardRule('tcp::2222-[fec0::15]:22'), { protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 2222, guestAddr: 0, guestAddr6: 'fec0::15', guestPort: 22 });
  assert.throws(() => parseHostForwardRule('tcp:[::1:2222-:22'), /missing the host address field.*write hostfwd=\[tcp\|udp\]/);
  assert.throws(() => parseHostForwardRule('tcp:::1:2222-:22'), /hostfwd host port ":1:2222" must be a number/);
  assert.throws(() => parseHostForwardRule('tcp:[fe80::zz]:2222-:22'), /hostfwd host address "\[fe80::zz\]" is not an IPv4 address or a bracketed IPv6 one/);
  assert.throws(() => parseHostForwardRule('udp::5353-[fec0::15]:53'), /not supported/);
  // The .qemu language server reads the same.
  assert.deepEqual(readNetdevUser('id=n0,hostfwd=tcp:[::1]:2222-[fec0::15]:22').issues, []);
  assert.match(JSON.stringify(readNetdevUser('id=n0,hostfwd=tcp:[nope]:2222-:22').issues), /not an IPv4 address or a bracketed IPv6 one/);
});

test('a hostfwd rule to an IPv6 guest address opens the guest connection over IPv6', async () => {
  const g = makeGuest();
  try {
    await g.slirp.addHostForward('tcp:[::1]:0-[fec0::5054:ff:fe12:3456]:22');
    const listing = g.slirp.nat.forwards.find((f) => f.guestAddr6 === 'fec0::5054:ff:fe12:3456');
    assert.ok(listing);
    assert.match(g.slirp.infoUsernet(), /TCP\[HOST_FORWARD\]\s+-?\d+\s+::1\s+\d+\s+fec0::5054:ff:fe12:3456\s+22/);
    const sock = net.connect(listing.hostPort, '::1');
    sock.on('error', () => {});
    const syn = await g.waitFor(isTcp6);
    const ip = ip6Fields(syn);
    assert.equal(formatIpv6(ip.dst), 'fec0::5054:ff:fe12:3456');
    assert.equal(formatIpv6(ip.src), 'fec0::2');
    assert.equal(ip.payload[13], 0x02, 'SYN to the guest');
    assert.equal((ip.payload[2]! << 8) | ip.payload[3]!, 22);
    assert.equal(checksum(ip.payload, pseudoSum6(ip.src, ip.dst, 6, ip.payload.length)), 0);
    sock.destroy();
  } finally {
    await g.slirp.close();
  }
});
