import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { ip4 } from '../../../../extension/slirp/config';
import type { GuestTcp } from './support/guest-tcp';
import { GATEWAY, GUEST, Harness, pattern } from './support/harness';
import { HostServer } from './support/host-server';

function collect(sock: net.Socket) {
  const chunks: Buffer[] = [];
  const st = { ended: false, closed: false, error: '' };
  sock.on('data', (d) => chunks.push(d));
  sock.on('end', () => (st.ended = true));
  sock.on('close', () => (st.closed = true));
  sock.on('error', (e: NodeJS.ErrnoException) => (st.error = e.code ?? e.message));
  return { bytes: () => Buffer.concat(chunks), st };
}

test('hostfwd: a host client reaches the guest through the listener, data both ways, then removeHostForward closes it', async () => {
  const h = new Harness();
  try {
    await h.stack.addHostForward({ protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 0, guestAddr: 0, guestPort: 22 });
    const port = h.stack.hostForwardPort('127.0.0.1', 0)!;
    assert.ok(port > 0);
    assert.match(h.nat.infoUsernet('user.0', 0), /TCP\[HOST_FORWARD\]\s+\d+\s+127\.0\.0\.1\s+\d+\s+10\.0\.2\.15\s+22/);
    let guest: GuestTcp | undefined;
    h.listen(22, (g) => (guest = g));
    const client = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const c = collect(client);
    await new Promise((r) => client.once('connect', r));
    await h.run(() => guest?.state === 'ESTABLISHED' && h.stack.list()[0]?.state === 'ESTABLISHED', 'guest accepted');
    const g = guest!;
    assert.equal(g.localAddr, GUEST);
    assert.equal(g.remoteAddr, GATEWAY, 'from 10.0.2.2');
    assert.equal(g.remotePort, client.localPort, 'the port reflects the host peer');
    const session = h.nat.list()[0];
    assert.equal(session.inbound, true);
    assert.equal(session.hostLocalPort, port);
    client.write(pattern(300_000, 41));
    g.write(pattern(200_000, 42));
    await h.run(() => g.receivedBytes === 300_000 && c.bytes().length === 200_000, 'data both ways');
    assert.ok(g.data().equals(pattern(300_000, 41)));
    assert.ok(c.bytes().equals(pattern(200_000, 42)));
    client.end();
    await h.run(() => g.finReceived, 'FIN reaches the guest');
    g.end();
    await h.run(() => c.st.ended, 'host client sees FIN');

    assert.equal(h.stack.removeHostForward({ protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: port }), true);
    assert.equal(h.nat.forwards.length, 0);
    const again = net.connect({ host: '127.0.0.1', port });
    const err = await new Promise<string>((r) => {
      again.once('error', (e: NodeJS.ErrnoException) => r(e.code ?? ''));
      again.once('connect', () => r('connected'));
    });
    assert.equal(err, 'ECONNREFUSED');
    assert.equal(h.stack.removeHostForward({ protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: port }), false);
  } finally {
    h.close();
  }
});

test('hostfwd: nothing listens in the guest, so the host client is reset', async () => {
  const h = new Harness();
  try {
    await h.stack.addHostForward({ protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 0, guestAddr: 0, guestPort: 23 });
    const port = h.stack.hostForwardPort('127.0.0.1', 0)!;
    const client = net.connect({ host: '127.0.0.1', port });
    const c = collect(client);
    await h.run(() => c.st.closed, 'host client closed');
    assert.equal(h.stack.connectionCount, 0);
    assert.ok(h.strays >= 1);
  } finally {
    h.close();
  }
});

test('hostfwd: a port in use is rejected with a message that says what to do', async () => {
  const h = new Harness();
  const busy = new HostServer();
  const port = await busy.start();
  try {
    await assert.rejects(
      h.stack.addHostForward({ protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: port, guestAddr: 0, guestPort: 22 }),
      { message: `port ${port} is in use: choose another hostfwd port` },
    );
    assert.equal(h.nat.forwards.length, 0);
  } finally {
    h.close();
    await busy.stop();
  }
});

test('guestfwd to a host TCP service', async () => {
  const server = new HostServer((s) => s.write('hello from the service'));
  const port = await server.start();
  const vaddr = ip4(10, 0, 2, 100);
  const h = new Harness({ config: { guestForwards: [{ protocol: 'tcp', serverAddr: vaddr, serverPort: 4444, target: { kind: 'tcp', host: '127.0.0.1', port } }] } });
  try {
    const g = h.connect(4444, vaddr);
    await h.run(() => g.state === 'ESTABLISHED', 'established');
    g.write(Buffer.from('hi'));
    await h.run(() => server.bytes().toString() === 'hi' && g.data().toString() === 'hello from the service', 'exchange');
    // Without a rule, 10.0.2.100 is not reachable: RST.
    const other = h.connect(4445, vaddr);
    await h.run(() => other.resetReceived, 'RST');
    assert.equal(h.stack.drops['unreachable-destination'], 1);
  } finally {
    h.close();
    await server.stop();
  }
});

test('guestfwd cmd: the command stdin/stdout is the stream (cat echoes)', async () => {
  const vaddr = ip4(10, 0, 2, 100);
  const h = new Harness({ config: { guestForwards: [{ protocol: 'tcp', serverAddr: vaddr, serverPort: 7, target: { kind: 'cmd', command: 'cat' } }] } });
  try {
    const g = h.connect(7, vaddr);
    await h.run(() => g.state === 'ESTABLISHED', 'established');
    g.write(pattern(100_000, 51));
    g.end();
    await h.run(() => g.finReceived && g.receivedBytes === 100_000, 'echo and FIN');
    assert.ok(g.data().equals(pattern(100_000, 51)));
    await h.run(() => h.stack.connectionCount === 0 || h.stack.list()[0].state === 'TIME_WAIT', 'closed');
  } finally {
    h.close();
  }
});
