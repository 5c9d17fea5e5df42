import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatIpv6, parseIpv6 } from '../../../extension/wire/ipv6-address';
import { dnsQuery, u16 } from './helpers/frames';
import { DNS6, frame6, GUEST6, HOST6, ip6Fields, udp6, pseudoSum6 } from './helpers/frames6';
import { checksum } from './helpers/frames';
import { makeGuest } from './helpers/harness';

async function udpServer(type: 'udp4' | 'udp6', address: string, onMessage: (s: dgram.Socket, msg: Buffer, rinfo: dgram.RemoteInfo) => void): Promise<{ socket: dgram.Socket; port: number }> {
  const socket = dgram.createSocket(type);
  socket.on('message', (m, r) => onMessage(socket, m, r));
  await new Promise<void>((r) => socket.bind(0, address, r));
  return { socket, port: socket.address().port };
}
const isUdp6To = (port: number) => (f: Uint8Array) => f[12] === 0x86 && f[13] === 0xdd && f[20] === 17 && ((f[56]! << 8) | f[57]!) === port;
const udpChecksumOk = (f: Uint8Array) => {
  const ip = ip6Fields(f);
  return checksum(ip.payload, pseudoSum6(ip.src, ip.dst, 17, ip.payload.length)) === 0;
};

test('UDP to fec0::2 reaches a server on the host\'s ::1 and the reply comes back from fec0::2; the NAT table shows the IPv6 flow', async () => {
  const echo = await udpServer('udp6', '::1', (s, m, r) => s.send(m, r.port, r.address));
  const g = makeGuest();
  try {
    g.slirp.input(frame6({ dst: HOST6, nextHeader: 17, payload: udp6(GUEST6, HOST6, 40000, echo.port, Buffer.from('hello over v6')) }));
    const f = await g.waitFor(isUdp6To(40000));
    const ip = ip6Fields(f);
    assert.equal(formatIpv6(ip.src), 'fec0::2');
    assert.equal(formatIpv6(ip.dst), formatIpv6(GUEST6));
    assert.equal((ip.payload[0]! << 8) | ip.payload[1]!, echo.port);
    assert.equal(Buffer.from(ip.payload.subarray(8)).toString(), 'hello over v6');
    assert.ok(udpChecksumOk(f));
    const [s] = g.slirp.nat.list();
    assert.equal(s!.guestAddr6, 'fec0::5054:ff:fe12:3456');
    assert.equal(s!.remoteAddr6, 'fec0::2');
    assert.equal(s!.hostPeerAddr, '::1');
    assert.equal(s!.packetsIn, 1);
    const info = g.slirp.infoUsernet();
    assert.match(info, /UDP\[\d+ sec\]\s+-?\d+\s+fec0::5054:ff:fe12:3456\s+40000\s+fec0::2\s+\d+/);
    g.clock.advance(241_000);
    assert.equal(g.slirp.nat.size, 0, 'the flow expires after 240 s as over IPv4');
  } finally {
    echo.socket.close();
    await g.slirp.close();
  }
});

test('DNS to fec0::3 goes to the host resolver (an IPv4 one here) and the answer comes from fec0::3:53', async () => {
  const dns = await udpServer('udp4', '127.0.0.1', (s, m, r) => {
    const answer = Buffer.from(m);
    answer[2] |= 0x80;
    s.send(answer, r.port, r.address);
  });
  const g = makeGuest({ dnsUpstream: `127.0.0.1:${dns.port}` });
  try {
    const q = dnsQuery('usernet.test', 0x4242, 28);
    g.slirp.input(frame6({ dst: DNS6, nextHeader: 17, payload: udp6(GUEST6, DNS6, 41000, 53, q) }));
    const f = await g.waitFor(isUdp6To(41000));
    const ip = ip6Fields(f);
    assert.equal(formatIpv6(ip.src), 'fec0::3');
    assert.deepEqual([...ip.payload.subarray(0, 2)], u16(53));
    assert.equal((ip.payload[8]! << 8) | ip.payload[9]!, 0x4242);
    assert.ok(udpChecksumOk(f));
  } finally {
    dns.socket.close();
    await g.slirp.close();
  }
});

test('restrict=on, a zero UDP checksum, and addresses no host can reach are refused over IPv6', async () => {
  const g = makeGuest({ restrict: true });
  g.slirp.input(frame6({ dst: HOST6, nextHeader: 17, payload: udp6(GUEST6, HOST6, 40000, 9, [1]) }));
  g.slirp.input(frame6({ dst: DNS6, nextHeader: 17, payload: udp6(GUEST6, DNS6, 40000, 53, dnsQuery('a.test', 1, 1)) }));
  assert.equal(g.slirp.drops['udp-restricted'], 1);
  assert.equal(g.slirp.drops['dns-restricted'], 1);
  const zero = udp6(GUEST6, HOST6, 40000, 9, [1]);
  zero[6] = zero[7] = 0;
  g.slirp.input(frame6({ dst: HOST6, nextHeader: 17, payload: zero }));
  assert.equal(g.slirp.drops['udp-bad-checksum'], 1, 'IPv6 makes the UDP checksum mandatory');
  assert.equal(g.slirp.nat.size, 0);
  await g.slirp.close();

  const open = makeGuest();
  for (const dst of ['fec0::77', '::ffff:127.0.0.1']) {
    const a = parseIpv6(dst)!;
    open.slirp.input(frame6({ dst: a, nextHeader: 17, payload: udp6(GUEST6, a, 40000, 9, [1]) }));
  }
  assert.equal(open.slirp.drops['udp-unreachable'], 2);
  const unreachable = open.out.filter((f) => f[20] === 58 && f[54] === 1);
  assert.equal(unreachable.length, 2, 'the guest is told at once (destination unreachable)');
  assert.equal(formatIpv6(ip6Fields(unreachable[0]!).src), 'fec0::2', 'from the gateway');
  assert.equal(open.slirp.nat.size, 0);
  await open.slirp.close();
});

test('TFTP over IPv6: a read request to fec0::2 port 69 is served from tftp= and acknowledged block by block', async () => {
  const root = mkdtempSync(join(tmpdir(), 'usernet-tftp6-'));
  const file = Buffer.alloc(700, 0x5a);
  writeFileSync(join(root, 'boot.bin'), file);
  const g = makeGuest({ tftpRoot: root });
  try {
    const rrq = [0, 1, ...Buffer.from('boot.bin'), 0, ...Buffer.from('octet'), 0];
    g.slirp.input(frame6({ dst: HOST6, nextHeader: 17, payload: udp6(GUEST6, HOST6, 42000, 69, rrq) }));
    const data1 = await g.waitFor(isUdp6To(42000));
    const ip = ip6Fields(data1);
    assert.equal(formatIpv6(ip.src), 'fec0::2');
    assert.ok(udpChecksumOk(data1));
    const serverPort = (ip.payload[0]! << 8) | ip.payload[1]!;
    assert.deepEqual([...ip.payload.subarray(8, 12)], [0, 3, 0, 1], 'DATA block 1');
    assert.equal(ip.payload.length - 12, 512);
    g.out.length = 0;
    g.slirp.input(frame6({ dst: HOST6, nextHeader: 17, payload: udp6(GUEST6, HOST6, 42000, serverPort, [0, 4, 0, 1]) }));
    const data2 = await g.waitFor(isUdp6To(42000));
    const p2 = ip6Fields(data2).payload;
    assert.deepEqual([...p2.subarray(8, 12)], [0, 3, 0, 2], 'DATA block 2');
    assert.equal(p2.length - 12, 700 - 512);
    assert.equal(g.slirp.tftpSessions, 0, 'the IPv4 server saw nothing');
  } finally {
    await g.slirp.close();
    rmSync(root, { recursive: true, force: true });
  }
});

test('UDP to a closed port of the host\'s ::1 through fec0::2: an ICMPv6 port unreachable from fec0::2 quoting the datagram', async () => {
  const closed = dgram.createSocket('udp6');
  await new Promise<void>((r) => closed.bind(0, '::1', r));
  const port = closed.address().port;
  await new Promise<void>((r) => closed.close(() => r()));
  const g = makeGuest();
  try {
    const sent = frame6({ dst: HOST6, nextHeader: 17, payload: udp6(GUEST6, HOST6, 40002, port, Buffer.from('anyone?')) });
    g.slirp.input(sent);
    const f = await g.waitFor((x) => x[12] === 0x86 && x[13] === 0xdd && x[20] === 58 && x[54] === 1);
    const ip = ip6Fields(f);
    assert.equal(formatIpv6(ip.src), 'fec0::2');
    assert.equal(formatIpv6(ip.dst), formatIpv6(GUEST6));
    assert.deepEqual([ip.payload[0], ip.payload[1]], [1, 4], 'destination unreachable, port unreachable');
    assert.deepEqual([...ip.payload.subarray(8, 8 + 48)], [...sent.subarray(14, 14 + 48)], 'quoting the IPv6 and UDP headers');
    assert.equal(g.slirp.drops['udp-port-unreachable'], 1);
  } finally {
    await g.slirp.close();
  }
});
