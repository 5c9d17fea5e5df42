import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSegment } from './support/guest-tcp';
import { Harness } from './support/harness';
import { HostServer } from './support/host-server';

async function established(h: Harness, server: HostServer) {
  const port = await server.start();
  const g = h.connect(port);
  await h.run(() => g.state === 'ESTABLISHED' && server.sockets.length === 1 && h.stack.list()[0]?.state === 'ESTABLISHED', 'established');
  return g;
}

test('RTO: retransmissions back off exponentially on the virtual clock, then the connection is reset', async () => {
  const h = new Harness({ limits: { maxRetransmits: 4, minRtoMs: 200 } });
  const server = new HostServer();
  try {
    const g = await established(h, server);
    h.down.up = false;
    const start = h.toGuest.length;
    server.sockets[0].write('lost in the link');
    await h.run(() => h.stack.connectionCount === 0, 'gave up', 60_000);
    // 1 original + 4 retransmissions, then RST.
    const segs = h.toGuest.slice(start).map((c) => parseSegment(c.payload));
    assert.equal(segs.filter((p) => p.payload.length === 16).length, 5);
    assert.ok(segs.at(-1)!.flags & 4, 'ends with RST');
    await h.run(() => server.closed.size === 1, 'host socket reset too');
    assert.equal(g.resetReceived, false, 'the link is down');
  } finally {
    h.close();
    await server.stop();
  }
});

test('RTO intervals double (measured on the manual clock)', async () => {
  const h = new Harness({ limits: { maxRetransmits: 5, minRtoMs: 200 } });
  const server = new HostServer();
  try {
    await established(h, server);
    h.down.up = false;
    const stamps: number[] = [];
    const orig = h.down.send.bind(h.down);
    h.down.send = (p: Uint8Array) => {
      if (parseSegment(p).payload.length) stamps.push(h.clock.now());
      orig(p);
    };
    server.sockets[0].write('x');
    await h.run(() => h.stack.connectionCount === 0, 'gave up', 120_000);
    const gaps = stamps.slice(1).map((t, i) => t - stamps[i]);
    assert.equal(gaps.length, 5);
    for (let i = 1; i < gaps.length; i++) {
      const ratio = gaps[i] / gaps[i - 1];
      assert.ok(ratio > 1.7 && ratio < 2.3, `gaps ${gaps.join(',')}`);
    }
    assert.ok(gaps[0] >= 200, 'never below the minimum RTO');
  } finally {
    h.close();
    await server.stop();
  }
});

test('keepalive: an answering guest keeps the connection, a silent one loses it', async () => {
  const h = new Harness({ limits: { keepaliveIdleMs: 1000, keepaliveIntervalMs: 300, keepaliveProbes: 3 } });
  const server = new HostServer();
  try {
    const g = await established(h, server);
    const start = h.toGuest.length;
    const t0 = h.clock.now();
    await h.run(() => h.clock.now() - t0 > 5000, '5 s idle');
    assert.equal(h.stack.connectionCount, 1, 'the guest answered the probes');
    assert.ok(h.toGuest.length - start >= 4, 'probes were sent');
    h.up.up = false;
    await h.run(() => h.stack.connectionCount === 0, 'dead peer detected', 10_000);
    assert.ok(g.resetReceived, 'the guest is told with RST');
    await h.run(() => server.closed.size === 1, 'host socket closed');
  } finally {
    h.close();
    await server.stop();
  }
});

test('delayed ACK: one segment is ACKed after the timer, a second one at once', async () => {
  const h = new Harness({ limits: { delayedAckMs: 40 } });
  const server = new HostServer();
  try {
    const g = await established(h, server);
    const acks: number[] = [];
    const orig = h.down.send.bind(h.down);
    h.down.send = (p: Uint8Array) => {
      acks.push(h.clock.now());
      orig(p);
    };
    const t0 = h.clock.now();
    g.write(Buffer.alloc(100, 1));
    await h.run(() => acks.length === 1, 'ACK');
    assert.ok(acks[0] - t0 >= 40, `acked after ${acks[0] - t0} ms`);
    const t1 = h.clock.now();
    g.write(Buffer.alloc(3000, 2)); // two full segments
    await h.run(() => acks.length === 2, 'ACK');
    assert.ok(acks[1] - t1 < 10, `acked after ${acks[1] - t1} ms`);
  } finally {
    h.close();
    await server.stop();
  }
});
