import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSegment } from './support/guest-tcp';
import { Harness, pattern } from './support/harness';
import { HostServer } from './support/host-server';

test('SYN-ACK: MSS 1460, and window scaling, timestamps, SACK-permitted only when the guest offers them', async () => {
  const server = new HostServer();
  const port = await server.start();
  try {
    const full = new Harness({ guest: { offer: { mss: 1460, windowScale: 7, timestamps: true, sackPermitted: true } } });
    const g1 = full.connect(port);
    await full.run(() => g1.state === 'ESTABLISHED', 'established');
    const sa = g1.synAckOptions!;
    assert.equal(sa.mss, 1460);
    assert.ok(sa.windowScale !== undefined && sa.windowScale > 0);
    assert.ok(sa.sackPermitted);
    assert.ok(sa.ts);
    // Every later segment carries timestamps; the advertised window exceeds 64 KiB once scaled.
    await full.run(() => full.stack.list()[0]?.state === 'ESTABLISHED', 'established');
    g1.write(pattern(3000, 60));
    await full.run(() => server.bytes(0).length === 3000 && g1.peerWindow > 65535, 'data, then an ACK with a scaled window');
    const ack = parseSegment(full.toGuest.at(-1)!.payload);
    assert.ok(ack.ts, 'timestamps on data segments');
    assert.ok(g1.peerWindow > 65535, `window ${g1.peerWindow}`);
    full.close();

    const bare = new Harness({ guest: { offer: { mss: 1000 } } });
    const g2 = bare.connect(port);
    await bare.run(() => g2.state === 'ESTABLISHED', 'established');
    const sb = g2.synAckOptions!;
    assert.equal(sb.mss, 1460);
    assert.equal(sb.windowScale, undefined);
    assert.equal(sb.sackPermitted, false);
    assert.equal(sb.ts, undefined);
    // Our segments respect the guest's smaller MSS.
    server.sockets[1].write(pattern(10_000, 61));
    await bare.run(() => g2.receivedBytes === 10_000, 'data');
    const sizes = bare.toGuest.map((c) => parseSegment(c.payload).payload.length);
    assert.equal(Math.max(...sizes), 1000);
    assert.ok(g2.peerWindow <= 65535);
    bare.close();
  } finally {
    await server.stop();
  }
});

test('SACK: after one lost segment only the hole is retransmitted', async () => {
  const h = new Harness({ guest: { offer: { mss: 1460, windowScale: 2, timestamps: true, sackPermitted: true } } });
  const server = new HostServer();
  const port = await server.start();
  try {
    const g = h.connect(port);
    await h.run(() => g.state === 'ESTABLISHED' && h.stack.list()[0]?.state === 'ESTABLISHED', 'established');
    let dataSegments = 0;
    let dropped = false;
    const orig = h.down.send.bind(h.down);
    h.down.send = (p: Uint8Array) => {
      if (parseSegment(p).payload.length) {
        dataSegments++;
        if (dataSegments === 3 && !dropped) {
          dropped = true;
          return;
        }
      }
      orig(p);
    };
    // 40 full segments: MSS 1460 less the 12 bytes of the timestamp option.
    const SIZE = 40 * 1448;
    server.sockets[0].write(pattern(SIZE, 62));
    await h.run(() => g.receivedBytes === SIZE, 'all data');
    assert.ok(g.data().equals(pattern(SIZE, 62)));
    assert.equal(dataSegments, 41, 'exactly one retransmission');
  } finally {
    h.close();
    await server.stop();
  }
});
