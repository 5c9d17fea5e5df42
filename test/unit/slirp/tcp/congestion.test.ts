import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, pattern } from './support/harness';
import { HostServer } from './support/host-server';
import { parseSegment } from './support/guest-tcp';

test('slow start counts the bytes a stretch ACK covers: one ACK for the whole first flight doubles the window', async () => {
  const h = new Harness({ limits: { sendBufferBytes: 512 * 1024 }, guest: { rcvBuf: 1024 * 1024 } });
  const server = new HostServer((s) => s.end(pattern(1024 * 1024, 3)));
  const port = await server.start();
  const dataSegments = () => h.toGuest.filter((c) => parseSegment(c.payload).payload.length > 0).length;
  try {
    const g = h.connect(port);
    await h.run(() => g.state === 'ESTABLISHED', 'established');
    // The guest's own ACKs are lost from here on, so only the stretch ACK below opens the window.
    h.up.up = false;
    const conn = h.stack.list()[0]!;
    await h.run(() => conn.recvQ >= 256 * 1024, 'host data queued toward the guest');
    const firstFlight = dataSegments();
    assert.equal(firstFlight, 10, 'the initial window is 10 segments');
    h.up.up = true;
    g.sendAck();
    h.up.up = false;
    h.clock.advance(1);
    const secondFlight = dataSegments() - firstFlight;
    // One MSS per ACK would have allowed 11.
    assert.equal(secondFlight, 20, `second flight of ${secondFlight} segments`);
  } finally {
    h.close();
    await server.stop();
  }
});
