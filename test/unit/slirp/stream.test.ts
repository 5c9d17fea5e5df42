import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import net from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PAUSE_READING_AT, serveStream } from '../../../extension/machine/stream-backend';
import { encodeStreamFrame, MAX_STREAM_FRAME, StreamFrameDecoder, StreamFramingError } from '../../../extension/machine/stream-framing';
import { DEFAULT_SLIRP_CONFIG } from '../../../extension/slirp/config';
import type { Slirp } from '../../../extension/slirp/slirp';
import { arp, eth, GUEST_IP, guestUdp, HOST_IP, icmpEcho, ipv4 } from './helpers/frames';

const frameOf = (n: number, len: number) => Uint8Array.from({ length: len }, (_, i) => (n * 31 + i) & 255);

test('the decoder yields the same frames for every way of splitting the stream', () => {
  const frames = [frameOf(1, 60), frameOf(2, 1), frameOf(3, 1514), frameOf(4, 7)];
  const stream = Buffer.concat(frames.map(encodeStreamFrame));
  for (let cut = 0; cut <= stream.length; cut += cut < 80 ? 1 : 97) {
    const got: number[][] = [];
    const d = new StreamFrameDecoder((f) => got.push([...f]));
    d.push(stream.subarray(0, cut));
    d.push(stream.subarray(cut));
    assert.deepEqual(got, frames.map((f) => [...f]), `split at ${cut}`);
    assert.equal(d.buffered, 0);
  }
  // Byte by byte, and everything in one chunk.
  const one: Uint8Array[] = [];
  const d1 = new StreamFrameDecoder((f) => one.push(f.slice()));
  for (const b of stream) d1.push(Uint8Array.of(b));
  assert.equal(one.length, 4);
  const all: Uint8Array[] = [];
  new StreamFrameDecoder((f) => all.push(f)).push(stream);
  assert.deepEqual(all.map((f) => f.length), [60, 1, 1514, 7]);
});

test('zero-length frames are skipped; a length over 64 KiB is refused and the decoder stops', () => {
  const got: Uint8Array[] = [];
  const d = new StreamFrameDecoder((f) => got.push(f));
  d.push(Buffer.concat([Buffer.from([0, 0, 0, 0]), encodeStreamFrame(frameOf(1, 10))]));
  assert.equal(got.length, 1);
  d.push(encodeStreamFrame(new Uint8Array(MAX_STREAM_FRAME)));
  assert.equal(got.length, 2, 'exactly 64 KiB is accepted');
  assert.throws(() => d.push(Buffer.from([0, 1, 0, 1])), (e: unknown) => e instanceof StreamFramingError && /65537 exceeds 65536/.test(e.message));
  d.push(encodeStreamFrame(frameOf(2, 10)));
  assert.equal(got.length, 2, 'nothing after the refusal');
});

/** A client that speaks QEMU's stream netdev framing. */
async function qemuClient(connect: net.NetConnectOpts) {
  const socket = net.connect(connect);
  await new Promise<void>((r, j) => socket.once('connect', r).once('error', j));
  const frames: Uint8Array[] = [];
  const waiters: (() => void)[] = [];
  const decoder = new StreamFrameDecoder((f) => {
    frames.push(f.slice());
    waiters.splice(0).forEach((w) => w());
  });
  socket.on('data', (c) => decoder.push(c));
  const next = async (pred: (f: Uint8Array) => boolean, ms = 2000) => {
    const deadline = Date.now() + ms;
    for (;;) {
      const f = frames.find(pred);
      if (f) return f;
      if (Date.now() > deadline) throw new Error('no frame from the backend');
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 50);
      });
    }
  };
  return { socket, frames, next, send: (f: Uint8Array) => socket.write(encodeStreamFrame(f)) };
}

test('a QEMU-like client on a unix socket gets ARP answered; disconnecting releases its sessions', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-stream-'));
  const path = join(dir, 'net.sock');
  const echo = dgram.createSocket('udp4');
  echo.on('message', (m, r) => echo.send(m, r.port, r.address));
  await new Promise<void>((r) => echo.bind(0, '127.0.0.1', r));
  const guests: Slirp[] = [];
  const logs: string[] = [];
  const server = await serveStream({ path, config: { ...DEFAULT_SLIRP_CONFIG, dnsUpstream: '127.0.0.1:9' }, onGuest: (s) => guests.push(s), log: (m) => logs.push(m) });
  try {
    assert.equal(server.address, path);
    const qemu = await qemuClient({ path });
    qemu.send(arp(1, GUEST_IP, HOST_IP));
    const reply = await qemu.next((f) => f[12] === 8 && f[13] === 6);
    assert.deepEqual([...reply.subarray(28, 32)], [10, 0, 2, 2]);
    // Two frames in one write, the second split over two writes.
    const a = encodeStreamFrame(guestUdp(HOST_IP, 41000, echo.address().port, [1]));
    const b = encodeStreamFrame(guestUdp(HOST_IP, 41001, echo.address().port, [2]));
    qemu.socket.write(Buffer.concat([a, b.subarray(0, 9)]));
    qemu.socket.write(b.subarray(9));
    await qemu.next((f) => f[23] === 17 && ((f[36]! << 8) | f[37]!) === 41001);
    assert.equal(guests.length, 1);
    assert.equal(guests[0]!.nat.size, 2);
    qemu.socket.end();
    const deadline = Date.now() + 2000;
    while (guests[0]!.nat.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(guests[0]!.nat.size, 0, 'sessions of a departed guest are gone');
    assert.ok(logs.some((l) => l.includes('QEMU disconnected')));
  } finally {
    await server.close();
    echo.close();
    assert.equal(existsSync(path), false, 'the socket file is removed');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a connection that sends an impossible length is closed with a clear log; the server keeps serving', async () => {
  const logs: string[] = [];
  const server = await serveStream({ host: '127.0.0.1', port: 0, config: DEFAULT_SLIRP_CONFIG, log: (m) => logs.push(m) });
  try {
    assert.match(server.address, /^127\.0\.0\.1:\d+$/);
    const port = Number(server.address.split(':')[1]);
    const bad = await qemuClient({ host: '127.0.0.1', port });
    const closed = new Promise<void>((r) => bad.socket.once('close', () => r()));
    bad.socket.write(Buffer.from([0x7f, 0, 0, 0]));
    await closed;
    assert.ok(logs.some((l) => /closing the QEMU connection: frame length 2130706432 exceeds 65536/.test(l)));
    const good = await qemuClient({ host: '127.0.0.1', port });
    good.send(arp(1, GUEST_IP, HOST_IP));
    await good.next((f) => f[13] === 6);
    good.socket.destroy();
  } finally {
    await server.close();
  }
});

test('a stale socket file from an earlier run does not block listening', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-stream-'));
  const path = join(dir, 'net.sock');
  // A process killed while listening leaves its socket file behind.
  spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  assert.equal(existsSync(path), true, 'the stale socket file exists');
  const server = await serveStream({ path, config: DEFAULT_SLIRP_CONFIG });
  try {
    const c = await qemuClient({ path });
    c.socket.destroy();
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('above the queue limit toward a QEMU that reads slowly, the guest\'s frames wait instead of being dropped', async () => {
  const logs: string[] = [];
  const guests: Slirp[] = [];
  const server = await serveStream({ host: '127.0.0.1', port: 0, config: DEFAULT_SLIRP_CONFIG, log: (m) => logs.push(m), onGuest: (g) => guests.push(g) });
  try {
    const port = Number(server.address.split(':')[1]);
    const qemu = await qemuClient({ host: '127.0.0.1', port });
    qemu.socket.pause();
    // Each 1400-byte ping to the gateway is answered by the stack itself: 3 x the pause limit of replies in all.
    const pings = Math.ceil((3 * PAUSE_READING_AT) / 1400);
    const data = new Uint8Array(1400 - 28).fill(0x5a);
    for (let seq = 0; seq < pings; seq++) qemu.send(eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(7, seq & 0xffff, data) })));
    const deadline = Date.now() + 20_000;
    while (!logs.some((l) => l.includes('reading slowly')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(logs.some((l) => /QEMU is reading slowly: 4 MiB are queued/.test(l)), `the pause is said: ${logs.join(' | ')}`);
    // The server stopped reading: its slirp takes no guest frame while the client still has
    // some to send (how many wait in the kernel's socket buffers depends on the machine).
    const taken = guests[0]!.link.framesIn;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(guests[0]!.link.framesIn, taken, 'no guest frame is read while paused');
    assert.ok(taken < pings, `frames wait unread: ${taken} of ${pings} taken`);
    qemu.socket.resume();
    while (qemu.frames.length < pings && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const replies = qemu.frames.filter((f) => f[23] === 1 && f[34] === 0);
    assert.equal(replies.length, pings, 'every ping was answered: none dropped');
    assert.deepEqual(replies.slice(0, 3).map((f) => (f[40]! << 8) | f[41]!), [0, 1, 2], 'in order');
    assert.ok(!logs.some((l) => l.includes('dropped')), logs.join(' | '));
    qemu.socket.destroy();
  } finally {
    await server.close();
  }
});
