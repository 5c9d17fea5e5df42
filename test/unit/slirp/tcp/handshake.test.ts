import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, pattern } from './support/harness';
import { HostServer, closedPort } from './support/host-server';

test('guest connects, data flows both ways, guest closes first', async () => {
  const h = new Harness();
  const server = new HostServer((s) => s.write(pattern(100_000, 2)));
  const port = await server.start();
  try {
    const g = h.connect(port);
    await h.run(() => g.state === 'ESTABLISHED' && h.nat.list()[0]?.state === 'ESTABLISHED', 'established');
    const session = h.nat.list()[0];
    assert.equal(session.state, 'ESTABLISHED');
    assert.equal(session.remotePort, port);
    g.write(pattern(50_000, 1));
    await h.run(() => server.bytes().length === 50_000 && g.receivedBytes === 100_000, 'data both ways');
    assert.ok(server.bytes().equals(pattern(50_000, 1)));
    assert.ok(g.data().equals(pattern(100_000, 2)));
    g.end();
    await h.run(() => server.ended.size === 1, 'host sees FIN');
    assert.equal(h.stack.list()[0].state, 'CLOSE_WAIT');
    server.sockets[0].end();
    await h.run(() => g.finReceived && h.stack.connectionCount === 0, 'closed');
    assert.equal(h.nat.size, 0);
  } finally {
    h.close();
    await server.stop();
  }
});

test('refused port: the guest gets RST', async () => {
  const h = new Harness();
  const port = await closedPort();
  const g = h.connect(port);
  await h.run(() => g.resetReceived, 'RST');
  assert.equal(g.state, 'CLOSED');
  assert.equal(h.stack.connectionCount, 0);
  assert.equal(h.stack.drops['connect-ECONNREFUSED'], 1);
  h.close();
});
