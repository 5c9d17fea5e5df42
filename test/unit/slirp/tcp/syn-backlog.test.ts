import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { buildGuestSegment, parseSegment } from './support/guest-tcp';
import { GATEWAY, GUEST, Harness } from './support/harness';
import { closedPort, HostServer } from './support/host-server';

const SYN = 2,
  RST = 4,
  ACK = 16;

/**
 * The SYN backlog is checked against a count kept as connections change state
 * (no walk of every connection per SYN): here SYNs, finished handshakes, resets,
 * a refused host connect and handshake timeouts interleave, and after each step
 * the count must equal what a walk of the connections finds, and the backlog
 * must admit or drop the next SYN accordingly.
 */
test('half-open accounting: SYNs, handshakes, resets, refusals and timeouts interleaved', async () => {
  const h = new Harness({ limits: { synBacklog: 4 } });
  const server = new HostServer();
  const port = await server.start();
  const refused = await closedPort();
  // The guest never sees our SYN-ACKs (they are read from what the stack sent): nothing answers them by itself.
  h.down.up = false;
  const seqOf = (guestPort: number) => (guestPort * 1000) >>> 0;
  const send = (guestPort: number, flags: number, ack = 0, dstPort = port) =>
    h.stack.input(GUEST, GATEWAY, buildGuestSegment({ src: GUEST, dst: GATEWAY, srcPort: guestPort, dstPort, seq: (seqOf(guestPort) + (flags & SYN ? 0 : 1)) >>> 0, ack, flags, window: 65535 }));
  const synAck = (guestPort: number) =>
    h.toGuest.map((c) => parseSegment(c.payload)).find((p) => p.dstPort === guestPort && (p.flags & (SYN | ACK)) === (SYN | ACK));
  const walked = () => h.stack.list().filter((c) => c.halfOpen && !c.inbound).length;
  const halfOpen = (expected: number, step: string) => {
    assert.equal(walked(), expected, `${step}: connections in their handshake`);
    assert.equal(h.stack.halfOpenCount, expected, `${step}: the kept count`);
  };
  const backlogDrops = () => h.stack.drops['syn-backlog'] ?? 0;
  try {
    for (const p of [1001, 1002, 1003, 1004]) send(p, SYN);
    halfOpen(4, 'four SYNs');
    send(1005, SYN);
    assert.equal(backlogDrops(), 1, 'the fifth SYN is over the backlog');
    await h.run(() => [1001, 1002, 1003, 1004].every((p) => synAck(p) !== undefined), 'SYN-ACKs');
    // A retransmitted SYN belongs to its connection: it is not counted again.
    send(1001, SYN);
    halfOpen(4, 'a repeated SYN');

    send(1001, RST);
    halfOpen(3, 'a reset in SYN_RECEIVED');
    send(1005, SYN);
    halfOpen(4, 'the freed slot taken');

    send(1002, ACK, (synAck(1002)!.seq + 1) >>> 0);
    assert.equal(h.stack.list().find((c) => c.guestPort === 1002)?.state, 'ESTABLISHED');
    halfOpen(3, 'a finished handshake');
    send(1002, RST | ACK, (synAck(1002)!.seq + 1) >>> 0);
    halfOpen(3, 'an established connection reset (it was not counted)');

    // A hostfwd connection waits for the guest's SYN-ACK in SYN_SENT: ours, not the guest's SYN, so not in the backlog.
    await h.stack.addHostForward({ protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 0, guestAddr: 0, guestPort: 22 });
    const client = net.connect({ host: '127.0.0.1', port: h.stack.hostForwardPort('127.0.0.1', 0)! });
    client.on('error', () => {});
    await h.run(() => h.stack.list().some((c) => c.inbound && c.state === 'SYN_SENT'), 'hostfwd SYN to the guest');
    halfOpen(3, 'a hostfwd connection in SYN_SENT');
    client.destroy();

    send(1006, SYN, 0, refused);
    halfOpen(4, 'a SYN to a port nobody listens on');
    send(1007, SYN);
    assert.equal(backlogDrops(), 2, 'the backlog is full again');
    await h.run(() => (h.stack.drops['connect-ECONNREFUSED'] ?? 0) === 1, 'the host refuses');
    halfOpen(3, 'the refused one released');

    // The rest never get an ACK: their SYN-ACK retransmissions give up.
    await h.run(() => h.stack.connectionCount === 0, 'half-open connections expire', 600_000);
    halfOpen(0, 'after the timeouts');
    for (const p of [2001, 2002, 2003, 2004, 2005]) send(p, SYN);
    halfOpen(4, 'a full backlog again');
    assert.equal(backlogDrops(), 3);
  } finally {
    h.close();
    await server.stop();
  }
});
