import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProbeHit } from '../../../../extension/pipeline/probe';
import { parseSegment } from './support/guest-tcp';
import { Harness } from './support/harness';
import { HostServer } from './support/host-server';

async function established(h: Harness, server: HostServer) {
  const port = await server.start();
  const g = h.connect(port);
  await h.run(() => g.state === 'ESTABLISHED' && server.sockets.length === 1 && h.stack.list()[0]?.state === 'ESTABLISHED', 'established');
  return g;
}

test('tcp_input and tcp_output see every segment, with the session', async () => {
  const h = new Harness();
  const server = new HostServer();
  const inputs: ProbeHit[] = [];
  const outputs: ProbeHit[] = [];
  h.probes.probes.tcp_input.listen((hit) => void inputs.push(hit));
  h.probes.probes.tcp_output.listen((hit) => void outputs.push(hit));
  try {
    const g = await established(h, server);
    assert.equal(outputs.length, h.toGuest.length);
    assert.equal(inputs.length, h.up.sent);
    assert.equal(inputs[0].session, undefined, 'the SYN has no session yet');
    assert.equal(inputs.at(-1)!.session?.state, 'SYN_RECEIVED');
    g.write(Buffer.from('abc'));
    await h.run(() => server.bytes().length === 3, 'data');
    assert.equal(inputs.at(-1)!.session?.state, 'ESTABLISHED');
    assert.equal(inputs.at(-1)!.session?.guestPort, g.localPort);
    assert.equal(outputs.at(-1)!.session?.hostPort, server.port);
  } finally {
    h.close();
    await server.stop();
  }
});

test('a hold at sosend stops the stream there; later data waits behind it and all arrives in order on resume', async () => {
  const h = new Harness();
  const server = new HostServer();
  try {
    const g = await established(h, server);
    let held = 0;
    const off = h.probes.probes.sosend.listen((hit) => {
      if (held++ === 0) {
        assert.equal(Buffer.from(hit.payload!).toString(), 'first ');
        assert.equal(hit.frame.length, 0, 'socket stages carry stream bytes, not a frame');
        return 'hold';
      }
    });
    g.write(Buffer.from('first '));
    await h.run(() => h.probes.heldPackets.length === 1, 'held');
    g.write(Buffer.from('second '));
    g.write(Buffer.from('third'));
    await h.run(() => held === 1 && h.up.sent > 0 && h.stack.list()[0].sendQ === 'second third'.length + 6, 'queued behind');
    await h.settle(5);
    assert.equal(server.bytes().length, 0);
    off();
    h.probes.releaseAll();
    await h.run(() => server.bytes().toString() === 'first second third', 'in order');
  } finally {
    h.close();
    await server.stop();
  }
});

test('a hold at soread keeps host data in order toward the guest; tcp_output can hold and resume a segment', async () => {
  const h = new Harness();
  const server = new HostServer();
  try {
    const g = await established(h, server);
    let first = true;
    const off = h.probes.probes.soread.listen(() => {
      if (first) {
        first = false;
        return 'hold';
      }
    });
    server.sockets[0].write('one ');
    await h.run(() => h.probes.heldPackets.length === 1, 'held');
    server.sockets[0].write('two');
    await h.settle(10);
    h.clock.advance(50);
    assert.equal(g.receivedBytes, 0);
    off();
    h.probes.releaseAll();
    await h.run(() => g.data().toString() === 'one two', 'in order');

    const offOut = h.probes.probes.tcp_output.listen(() => 'hold');
    server.sockets[0].write('!');
    await h.run(() => h.probes.heldPackets.length === 1, 'segment held');
    const held = h.probes.heldPackets[0].hit;
    assert.equal(held.stage, 'tcp_output');
    // The probe sees the frame the segment was built in; this host leaves no headroom, so that is the segment.
    assert.equal(Buffer.from(parseSegment(held.frame).payload).toString(), '!');
    offOut();
    h.probes.releaseAll();
    await h.run(() => g.data().toString() === 'one two!', 'released');
  } finally {
    h.close();
    await server.stop();
  }
});

test('pause() stops reading host sockets; resume() restarts them', async () => {
  const h = new Harness();
  const server = new HostServer();
  try {
    const g = await established(h, server);
    h.stack.pause();
    server.sockets[0].write('while paused');
    await h.settle(20);
    h.clock.advance(100);
    assert.equal(g.receivedBytes, 0);
    assert.equal(h.stack.list()[0].hostReading, false);
    h.stack.resume();
    await h.run(() => g.data().toString() === 'while paused', 'after resume');
  } finally {
    h.close();
    await server.stop();
  }
});

test('NAT session: counters, queues and fd are real', async () => {
  const h = new Harness();
  const server = new HostServer();
  try {
    const g = await established(h, server);
    let changes = 0;
    h.nat.on('change', () => changes++);
    g.write(Buffer.alloc(10_000, 7));
    server.sockets[0].write(Buffer.alloc(20_000, 8));
    await h.run(() => server.bytes().length === 10_000 && g.receivedBytes === 20_000, 'data');
    await h.run(() => h.stack.list()[0].recvQ === 0, 'acked');
    const s = h.nat.list()[0];
    assert.equal(s.bytesOut, 10_000);
    assert.equal(s.bytesIn, 20_000);
    assert.ok(s.packetsOut >= 8 && s.packetsIn >= 15, `packets ${s.packetsOut} ${s.packetsIn}`);
    assert.equal(s.sendQ, 0);
    assert.ok(s.fd > 2, `fd ${s.fd}`);
    await h.run(() => changes > 0, 'a counters update reaches the table');
    assert.match(h.nat.infoUsernet('user.0', h.clock.now()), new RegExp(`TCP\\[ESTABLISHED\\]\\s+${s.fd}\\s+10\\.0\\.2\\.15\\s+${g.localPort}\\s+10\\.0\\.2\\.2\\s+${server.port}\\s+0\\s+0`));
  } finally {
    h.close();
    await server.stop();
  }
});

test('the TCP stages count what reaches them with nothing armed: segments at tcp_input and tcp_output, reads and writes at soread and sosend', async () => {
  const h = new Harness();
  const server = new HostServer((s) => s.on('data', (d) => s.write(d)));
  const stages = h.probes.probes;
  try {
    const g = await established(h, server);
    g.write(Buffer.from('echo me'));
    await h.run(() => g.data().toString() === 'echo me', 'echoed');
    h.clock.advance(10); // what is still on the link arrives
    assert.equal(stages.tcp_input.packets, h.up.sent, 'every guest segment');
    assert.equal(stages.tcp_output.packets, h.toGuest.length, 'every segment toward the guest');
    assert.ok(stages.sosend.packets >= 1 && stages.soread.packets >= 1, `sosend ${stages.sosend.packets}, soread ${stages.soread.packets}`);
    assert.equal(stages.tcp_input.hits + stages.tcp_output.hits, 0, 'no listener was consulted');
  } finally {
    h.close();
    await server.stop();
  }
});
