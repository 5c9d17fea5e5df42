import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildGuestSegment, checksum, parseSegment } from './support/guest-tcp';
import { GATEWAY, GUEST, Harness } from './support/harness';
import { HostServer } from './support/host-server';

const SYN = 2,
  RST = 4,
  ACK = 16,
  FIN = 1,
  URG = 32,
  PSH = 8;

function seg(srcPort: number, dstPort: number, seq: number, ack: number, flags: number, payload?: Uint8Array, options?: number[]) {
  return buildGuestSegment({ src: GUEST, dst: GATEWAY, srcPort, dstPort, seq, ack, flags, window: 65535, payload, options });
}

test('malformed segments are counted and dropped, never thrown', () => {
  const h = new Harness();
  const s = h.stack;
  s.input(GUEST, GATEWAY, new Uint8Array(10));
  assert.equal(s.drops['truncated-header'], 1);
  const low = seg(1000, 80, 1, 0, SYN);
  low[12] = 4 << 4;
  s.input(GUEST, GATEWAY, low);
  const high = seg(1000, 80, 1, 0, SYN);
  high[12] = 15 << 4;
  s.input(GUEST, GATEWAY, high);
  assert.equal(s.drops['bad-data-offset'], 2);
  // An MSS option whose length runs past the header.
  const trunc = seg(1000, 80, 1, 0, SYN, undefined, [1, 1, 1, 2]);
  trunc[23] = 2;
  trunc[22] = 1;
  const fixed = new DataView(trunc.buffer);
  fixed.setUint16(16, 0);
  fixed.setUint16(16, checksum(GUEST, GATEWAY, trunc));
  s.input(GUEST, GATEWAY, trunc);
  assert.equal(s.drops['truncated-options'], 1);
  const badSum = seg(1000, 80, 1, 0, SYN);
  badSum[17] ^= 0xff;
  s.input(GUEST, GATEWAY, badSum);
  assert.equal(s.drops['bad-checksum'], 1);
  s.input(GUEST, GATEWAY, seg(0, 80, 1, 0, SYN));
  assert.equal(s.drops['zero-port'], 1);
  s.input(GUEST, GATEWAY, seg(1000, 80, 1, 0, SYN | FIN));
  assert.equal(s.drops['syn-fin'], 1);
  // Segments of no connection: ACK gets RST, RST gets nothing.
  s.input(GUEST, GATEWAY, seg(1000, 80, 1, 77, ACK));
  assert.equal(s.drops['no-connection'], 1);
  const rst = parseSegment(h.toGuest.at(-1)!.payload);
  assert.equal(rst.flags & RST, RST);
  assert.equal(rst.seq, 77);
  const sent = h.toGuest.length;
  s.input(GUEST, GATEWAY, seg(1000, 80, 1, 77, RST));
  assert.equal(h.toGuest.length, sent);
  assert.equal(s.drops['rst-no-connection'], 1);
  // Random garbage of every length.
  let x = 12345;
  for (let n = 0; n < 2000; n++) {
    const len = n % 80;
    const junk = new Uint8Array(len);
    for (let i = 0; i < len; i++) junk[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
    s.input(GUEST, GATEWAY, junk);
  }
  assert.equal(s.connectionCount, 0);
  h.close();
});

test('RST, SYN and FIN storms with wrong numbers leave an established connection alone', async () => {
  const h = new Harness({ limits: { challengeAcksPerSecond: 10 } });
  const server = new HostServer();
  const port = await server.start();
  try {
    const g = h.connect(port);
    await h.run(() => g.state === 'ESTABLISHED' && h.stack.list()[0]?.state === 'ESTABLISHED', 'established');
    const last = parseSegment(h.toGuest.at(-1)!.payload);
    const guestSeq = last.ack; // what the stack expects next from the guest
    const stackSeq = last.seq;
    for (let i = 0; i < 100; i++) {
      h.stack.input(GUEST, GATEWAY, seg(g.localPort, port, guestSeq + 1 + i, stackSeq, RST)); // in window, not exact
      h.stack.input(GUEST, GATEWAY, seg(g.localPort, port, guestSeq + 0x40000000, stackSeq, RST)); // far out
      h.stack.input(GUEST, GATEWAY, seg(g.localPort, port, guestSeq, stackSeq, SYN)); // SYN in window
      h.stack.input(GUEST, GATEWAY, seg(g.localPort, port, guestSeq + 0x40000000, stackSeq, FIN | ACK)); // FIN out of window
      h.stack.input(GUEST, GATEWAY, seg(g.localPort, port, guestSeq, stackSeq + 100_000, ACK)); // acks unsent data
    }
    const d = h.stack.drops;
    assert.equal(d['rst-challenged'], 100);
    assert.equal(d['rst-out-of-window'], 100);
    assert.equal(d['syn-in-window'], 100);
    assert.equal(d['out-of-window'], 100);
    assert.equal(d['ack-unsent'], 100);
    assert.ok(d['challenge-rate-limited'] > 0, 'challenge ACKs are rate limited');
    const conn = h.stack.list()[0];
    assert.equal(conn.state, 'ESTABLISHED');
    // Still works.
    g.write(Buffer.from('still alive'));
    await h.run(() => server.bytes().toString() === 'still alive', 'data after the storm');
    // Urgent data is inline data; a pointer past the end reads nothing outside the segment.
    const urg = seg(g.localPort, port, (guestSeq + 11) >>> 0, stackSeq, ACK | URG | PSH, Buffer.from('U'));
    new DataView(urg.buffer).setUint16(18, 0xffff);
    new DataView(urg.buffer).setUint16(16, 0);
    new DataView(urg.buffer).setUint16(16, checksum(GUEST, GATEWAY, urg));
    h.stack.input(GUEST, GATEWAY, urg);
    await h.run(() => server.bytes().toString() === 'still aliveU', 'urgent byte inline');
    // An exact RST does reset.
    h.stack.input(GUEST, GATEWAY, seg(g.localPort, port, (guestSeq + 12) >>> 0, 0, RST));
    assert.equal(h.stack.connectionCount, 0);
  } finally {
    h.close();
    await server.stop();
  }
});

test('SYN flood: half-open connections bounded by synBacklog, the rest dropped and counted', async () => {
  const h = new Harness({ limits: { synBacklog: 8 } });
  const server = new HostServer();
  const port = await server.start();
  try {
    for (let i = 0; i < 50; i++) h.stack.input(GUEST, GATEWAY, seg(20000 + i, port, 1000 * i, 0, SYN));
    assert.equal(h.stack.connectionCount, 8);
    assert.equal(h.stack.drops['syn-backlog'], 42);
    await h.run(() => h.stack.list().every((c) => c.state === 'SYN_RECEIVED') && h.toGuest.length >= 8, 'SYN-ACKs');
    // Never ACKed: they stay half-open and keep the backlog full.
    for (let i = 50; i < 60; i++) h.stack.input(GUEST, GATEWAY, seg(20000 + i, port, 1000 * i, 0, SYN));
    assert.equal(h.stack.drops['syn-backlog'], 52);
    // The SYN-ACK retransmissions give up and free the backlog.
    await h.run(() => h.stack.connectionCount === 0, 'half-open connections expire', 600_000);
  } finally {
    h.close();
    await server.stop();
  }
});

test('maxConnections: excess SYNs get RST', async () => {
  const h = new Harness({ limits: { maxConnections: 4 } });
  const server = new HostServer();
  const port = await server.start();
  try {
    const guests = Array.from({ length: 6 }, () => h.connect(port));
    await h.run(() => guests.filter((g) => g.state === 'ESTABLISHED').length === 4 && guests.filter((g) => g.resetReceived).length === 2, '4 up, 2 reset');
    assert.equal(h.stack.drops['max-connections'], 2);
    assert.equal(h.nat.size, 4);
  } finally {
    h.close();
    await server.stop();
  }
});
