import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, pattern } from './support/harness';
import { HostServer } from './support/host-server';

async function established(h: Harness, server: HostServer) {
  const port = await server.start();
  const g = h.connect(port);
  await h.run(() => g.state === 'ESTABLISHED' && server.sockets.length === 1 && h.stack.list()[0]?.state === 'ESTABLISHED', 'established');
  return g;
}

test('host closes first: FIN to the guest, TIME_WAIT after the guest closes, then gone', async () => {
  const h = new Harness({ limits: { timeWaitMs: 2000 } });
  const server = new HostServer();
  try {
    const g = await established(h, server);
    server.sockets[0].end(pattern(5000, 3));
    await h.run(() => g.finReceived && h.stack.list()[0].state === 'FIN_WAIT_2', 'guest sees FIN and ACKs it');
    assert.ok(g.data().equals(pattern(5000, 3)));
    g.write(pattern(3000, 4)); // half-closed: the guest may still send
    await h.run(() => server.bytes().length === 3000, 'data after host FIN');
    g.end();
    await h.run(() => h.stack.list()[0]?.state === 'TIME_WAIT', 'TIME_WAIT');
    assert.equal(h.nat.list()[0].state, 'TIME_WAIT');
    assert.ok(h.nat.infoUsernet('user.0', h.clock.now()).includes('TCP[TIME_WAIT]'));
    await h.run(() => server.ended.size === 1, 'host sees FIN');
    await h.run(() => h.stack.connectionCount === 0, 'TIME_WAIT expires', 5000);
    assert.ok(h.clock.now() >= 2000);
  } finally {
    h.close();
    await server.stop();
  }
});

test('guest closes first: CLOSE_WAIT, host answers with data then FIN, LAST_ACK, closed', async () => {
  const h = new Harness();
  const server = new HostServer();
  try {
    const g = await established(h, server);
    g.end();
    await h.run(() => server.ended.size === 1, 'host sees FIN');
    assert.equal(h.stack.list()[0].state, 'CLOSE_WAIT');
    server.sockets[0].end(pattern(20_000, 5));
    await h.run(() => h.stack.connectionCount === 0, 'closed');
    assert.ok(g.finReceived);
    assert.ok(g.data().equals(pattern(20_000, 5)));
    assert.equal(g.state, 'TIME_WAIT');
  } finally {
    h.close();
    await server.stop();
  }
});

test('guest closes first and the host closes back at once: the ACK of the guest FIN rides on our FIN', async () => {
  const h = new Harness();
  const server = new HostServer((s) => s.on('end', () => s.end()));
  try {
    const g = await established(h, server);
    const before = g.segmentsIn;
    g.end();
    await h.run(() => h.stack.connectionCount === 0, 'closed');
    assert.ok(g.finReceived);
    assert.equal(g.state, 'TIME_WAIT');
    assert.equal(g.segmentsIn - before, 1, 'one segment: FIN and ACK together');
  } finally {
    h.close();
    await server.stop();
  }
});

test('guest closes first and the host stays open: the FIN is ACKed within the delayed-ACK time', async () => {
  const h = new Harness();
  const server = new HostServer();
  try {
    const g = await established(h, server);
    const t0 = h.clock.now();
    g.end();
    await h.run(() => g.state === 'FIN_WAIT_2', 'the guest FIN acknowledged');
    assert.ok(h.clock.now() - t0 <= h.stack.limits.delayedAckMs + 20, `acknowledged after ${h.clock.now() - t0} ms`);
    assert.equal(h.stack.list()[0]!.state, 'CLOSE_WAIT');
    assert.ok(!g.finReceived);
  } finally {
    h.close();
    await server.stop();
  }
});

test('simultaneous close: both FINs cross, CLOSING then TIME_WAIT', async () => {
  const h = new Harness({ link: { loss: 0, duplicate: 0, reorder: 0, delayMs: 20, reorderDelayMs: 0 } });
  const server = new HostServer();
  try {
    const g = await established(h, server);
    const states: string[] = [];
    h.nat.on('change', (s) => states.push(s.state));
    server.sockets[0].end();
    g.end();
    await h.run(() => g.finReceived && h.stack.list()[0]?.state === 'TIME_WAIT' && server.ended.size === 1, 'both closed');
    assert.ok(states.includes('FIN_WAIT_1'));
    assert.ok(states.includes('CLOSING') || states.includes('FIN_WAIT_2'), states.join(','));
  } finally {
    h.close();
    await server.stop();
  }
});

test('guest RST destroys the host socket', async () => {
  const h = new Harness();
  const server = new HostServer();
  try {
    const g = await established(h, server);
    g.abort();
    await h.run(() => h.stack.connectionCount === 0 && server.closed.size === 1, 'host socket closed');
    assert.equal(h.nat.size, 0);
  } finally {
    h.close();
    await server.stop();
  }
});

test('host reset (ECONNRESET) reaches the guest as RST', async () => {
  const h = new Harness();
  const server = new HostServer();
  try {
    const g = await established(h, server);
    server.sockets[0].resetAndDestroy();
    await h.run(() => g.resetReceived, 'guest RST');
    assert.equal(h.stack.connectionCount, 0);
  } finally {
    h.close();
    await server.stop();
  }
});

test('session.close() from the table aborts both sides', async () => {
  const h = new Harness();
  const server = new HostServer();
  try {
    const g = await established(h, server);
    h.nat.list()[0].close();
    await h.run(() => g.resetReceived && server.closed.size === 1, 'both aborted');
    assert.equal(h.nat.size, 0);
  } finally {
    h.close();
    await server.stop();
  }
});

test('the slirp closing (the VM or QEMU gone) ends host connections with FIN, as libslirp, not RST; data written before still arrives', async () => {
  const h = new Harness();
  const server = new HostServer();
  try {
    const g = await established(h, server);
    g.write(pattern(4000, 8));
    await h.run(() => server.bytes().length === 4000, 'guest data reached the host');
    server.sockets[0]!.write('unread by anyone');
    await new Promise((r) => setTimeout(r, 50));
    h.close();
    await h.run(() => server.ended.size === 1, 'host sees the end', 5000);
    server.sockets[0]!.end();
    await h.run(() => server.closed.size === 1, 'both halves closed', 5000);
    assert.deepEqual(server.errors, [], 'no ECONNRESET: a FIN, not a RST');
    assert.ok(server.bytes().equals(pattern(4000, 8)));
    assert.equal(h.stack.connectionCount, 0);
  } finally {
    await server.stop();
  }
});
