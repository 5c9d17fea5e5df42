import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ip4 } from '../../../../extension/slirp/config';
import { Harness, pattern } from './support/harness';
import { HostServer } from './support/host-server';
import { parseSegment } from './support/guest-tcp';

test('a guest that stops reading closes its window: the host socket is paused and memory stays bounded; persist finds the reopened window', async () => {
  const sendBufferBytes = 128 * 1024;
  const h = new Harness({ limits: { sendBufferBytes }, guest: { rcvBuf: 64 * 1024 } });
  const SIZE = 1024 * 1024;
  const server = new HostServer((s) => s.end(pattern(SIZE, 21)));
  const port = await server.start();
  try {
    const g = h.connect(port);
    g.reading = false;
    await h.run(() => g.receivedBytes >= 64 * 1024, 'guest buffer full');
    const conn = h.stack.list()[0];
    await h.run(() => !conn.hostReading && conn.recvQ >= sendBufferBytes, 'host reading paused');
    await h.settle(30);
    h.clock.advance(5000);
    await h.settle(10);
    assert.equal(g.receivedBytes, 64 * 1024, 'nothing beyond the closed window');
    assert.equal(conn.hostReading, false);
    // One socket read may land after the pause decision: at most one 64 KiB chunk over the limit.
    assert.ok(conn.recvQ <= sendBufferBytes + 64 * 1024, `recvQ ${conn.recvQ}`);
    // The window update from the guest is lost: only the persist timer can notice the open window.
    h.up.up = false;
    g.read();
    h.up.up = true;
    const before = h.toGuest.length;
    await h.run(() => g.finReceived, 'all data after reopening', 300_000);
    assert.equal(g.receivedBytes, SIZE);
    assert.ok(g.data().equals(pattern(SIZE, 21)));
    assert.equal(parseSegment(h.toGuest[before].payload).payload.length, 1, 'a one-byte window probe came first');
  } finally {
    h.close();
    await server.stop();
  }
});

test('a host that never reads closes the window toward the guest, and reopens it when it reads', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-tcp-'));
  const fifo = join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const recvBufferBytes = 128 * 1024;
  const server = ip4(10, 0, 2, 100);
  const h = new Harness({
    limits: { recvBufferBytes },
    // The shell blocks opening the FIFO until the test reads it, so cat never reads its stdin before then.
    config: { guestForwards: [{ protocol: 'tcp', serverAddr: server, serverPort: 4000, target: { kind: 'cmd', command: `exec cat > ${fifo}` } }] },
  });
  try {
    const g = h.connect(4000, server);
    await h.run(() => g.state === 'ESTABLISHED', 'established');
    const SIZE = 1024 * 1024;
    g.write(pattern(SIZE, 31));
    await h.run(() => g.peerWindow === 0, 'window closed', 120_000);
    const conn = h.stack.list()[0];
    await h.settle(10);
    // Bounded: the pipe (64 KiB) plus our buffer plus one advertised window of slack.
    assert.ok(conn.sendQ <= 2 * recvBufferBytes, `sendQ ${conn.sendQ}`);
    assert.ok(g.bytesUnacked < SIZE);
    const got: Buffer[] = [];
    const reader = createReadStream(fifo);
    reader.on('data', (d) => got.push(d as Buffer));
    let total = 0;
    reader.on('data', (d) => (total += d.length));
    await h.run(() => total === SIZE, 'all data through the reopened window', 300_000);
    assert.ok(Buffer.concat(got).equals(pattern(SIZE, 31)));
    reader.destroy();
  } finally {
    h.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
