import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { DNS_IP, dnsQuery, GUEST_IP, guestUdp, HOST_IP } from './helpers/frames';
import { ipOf, isUdpTo, makeGuest, udpOf } from './helpers/harness';

async function bound(onMessage: (msg: Buffer, rinfo: dgram.RemoteInfo) => void = () => {}): Promise<{ socket: dgram.Socket; port: number }> {
  const socket = dgram.createSocket('udp4');
  socket.on('message', onMessage);
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return { socket, port: socket.address().port };
}

const bytes = (s: string) => Array.from(Buffer.from(s));
const text = (f: Uint8Array) => Buffer.from(udpOf(f).payload).toString();

test('a host service answering from another port (as TFTP does) reaches the guest from 10.0.2.2 and that port', async () => {
  // The service listens on one socket and answers from a second one, as a TFTP server's transfer port.
  const transfer = await bound();
  const listener = await bound((msg, rinfo) => transfer.socket.send(Buffer.concat([Buffer.from('re:'), msg]), rinfo.port, rinfo.address));
  const g = makeGuest();
  try {
    g.slirp.input(guestUdp(HOST_IP, 41000, listener.port, bytes('RRQ')));
    const frame = await g.waitFor(isUdpTo(41000));
    assert.equal(ipOf(frame).source, HOST_IP, 'host loopback appears as the gateway');
    assert.equal(ipOf(frame).destination, GUEST_IP);
    assert.equal(udpOf(frame).sourcePort, transfer.port, 'the port the service answered from');
    assert.equal(text(frame), 're:RRQ');

    // The guest answers the new port (a TFTP ACK): it leaves from the same host socket.
    const acked = new Promise<dgram.RemoteInfo>((r) => transfer.socket.once('message', (_m, rinfo) => r(rinfo)));
    g.slirp.input(guestUdp(HOST_IP, 41000, transfer.port, bytes('ACK')));
    const from = await acked;
    const s = g.slirp.nat.list();
    assert.equal(s.length, 1, 'one entry per guest port, as libslirp has one socket');
    assert.equal(from.port, s[0]!.hostLocalPort, 'the same host socket sent both datagrams');
    assert.equal(s[0]!.remotePort, transfer.port, 'the entry shows the last destination');
    assert.deepEqual([s[0]!.packetsOut, s[0]!.packetsIn], [2, 1]);
    assert.match(g.slirp.infoUsernet(), new RegExp(`UDP\\[240 sec\\]\\s+-1\\s+10\\.0\\.2\\.15 41000\\s+10\\.0\\.2\\.2\\s+${transfer.port}\\s`));
  } finally {
    await g.slirp.close();
    listener.socket.close();
    transfer.socket.close();
  }
});

test('a loopback sender the guest never addressed still appears as 10.0.2.2, with its own port', async () => {
  const echo = await bound((msg, rinfo) => echo.socket.send(msg, rinfo.port, rinfo.address));
  const stranger = await bound();
  const g = makeGuest();
  try {
    g.slirp.input(guestUdp(HOST_IP, 41001, echo.port, bytes('hi')));
    await g.waitFor(isUdpTo(41001));
    const hostPort = g.slirp.nat.list()[0]!.hostLocalPort;
    stranger.socket.send(Buffer.from('unsolicited'), hostPort, '127.0.0.1');
    const frame = await g.waitFor((f) => isUdpTo(41001)(f) && text(f) === 'unsolicited');
    assert.equal(ipOf(frame).source, HOST_IP);
    assert.equal(udpOf(frame).sourcePort, stranger.port);
  } finally {
    await g.slirp.close();
    echo.socket.close();
    stranger.socket.close();
  }
});

test('replies from other ports are held while paused and delivered on resume with their source ports', async () => {
  const second = await bound();
  const first = await bound((msg, rinfo) => {
    first.socket.send(Buffer.from('one'), rinfo.port, rinfo.address);
    second.socket.send(Buffer.from('two'), rinfo.port, rinfo.address);
  });
  const g = makeGuest();
  try {
    g.slirp.input(guestUdp(HOST_IP, 41002, first.port, bytes('go')));
    g.slirp.pause();
    const deadline = Date.now() + 2000;
    while (g.slirp.nat.list()[0]!.recvQ < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(g.out.filter(isUdpTo(41002)).length, 0);
    g.slirp.resume();
    const got = g.out.filter(isUdpTo(41002)).map((f) => [text(f), udpOf(f).sourcePort]);
    assert.deepEqual(got.sort(), [['one', first.port], ['two', second.port]]);
  } finally {
    await g.slirp.close();
    first.socket.close();
    second.socket.close();
  }
});

test('a guest port whose last destination is port 53 expires after 10 s, as libslirp', async () => {
  const g = makeGuest();
  const sink = await bound();
  try {
    g.slirp.input(guestUdp(HOST_IP, 41003, sink.port, bytes('x')));
    assert.equal(g.slirp.nat.list()[0]!.expiresAt, g.clock.now() + 240_000);
    g.slirp.input(guestUdp(HOST_IP, 41003, 53, dnsQuery('a.test')));
    assert.equal(g.slirp.nat.size, 1);
    assert.equal(g.slirp.nat.list()[0]!.expiresAt, g.clock.now() + 10_000);
    g.clock.advance(10_001);
    assert.equal(g.slirp.nat.size, 0);
  } finally {
    await g.slirp.close();
    sink.socket.close();
  }
});

test('DNS through 10.0.2.3 keeps a connected socket: its own entry, replies from 10.0.2.3:53 only', async () => {
  const other = await bound();
  const resolver = await bound((msg, rinfo) => {
    // A stray datagram from another port of the host must not pass for the resolver.
    other.socket.send(Buffer.from('stray'), rinfo.port, rinfo.address);
    const answer = Buffer.from(msg);
    answer[2] = 0x81;
    setTimeout(() => resolver.socket.send(answer, rinfo.port, rinfo.address), 30);
  });
  const g = makeGuest({ dnsUpstream: `127.0.0.1:${resolver.port}` });
  try {
    g.slirp.input(guestUdp(DNS_IP, 41004, 53, dnsQuery('b.test', 0x7777)));
    const frame = await g.waitFor(isUdpTo(41004));
    assert.equal(ipOf(frame).source, DNS_IP);
    assert.equal(udpOf(frame).sourcePort, 53);
    assert.equal(udpOf(frame).payload[2], 0x81);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(g.out.filter(isUdpTo(41004)).length, 1, 'the stray datagram was not delivered');
    // The same guest port talking to the host uses the guest port's own socket.
    g.slirp.input(guestUdp(HOST_IP, 41004, other.port, bytes('x')));
    assert.deepEqual(g.slirp.nat.list().map((s) => s.remoteAddr).sort(), [HOST_IP, DNS_IP].sort());
  } finally {
    await g.slirp.close();
    resolver.socket.close();
    other.socket.close();
  }
});
