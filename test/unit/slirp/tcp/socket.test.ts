/**
 * The TcpSocket alone: segments in, segments out, over a seeded lossy link to
 * the reference guest TCP, on a manual clock. No stack, no host socket, no
 * event loop.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpOptions, TcpSegmentView } from '../../../../extension/slirp/tcp/segment';
import { pattern } from './support/harness';
import { SocketRig } from './support/socket-rig';

const SYN = 0x02,
  RST = 0x04,
  ACK = 0x10;

const LOSSY = { loss: 0.03, duplicate: 0.02, reorder: 0.05, delayMs: 2, reorderDelayMs: 6 };
const SIZE = 1024 * 1024;

for (const seed of [1, 2, 3]) {
  for (const [name, offer] of [
    ['all options', { mss: 1460, windowScale: 3, timestamps: true, sackPermitted: true }],
    ['MSS only', { mss: 1460 }],
  ] as const) {
    test(`1 MiB each way over a lossy link (seed ${seed}, ${name}) arrive intact; losses are repaired by retransmission`, () => {
      const rig = new SocketRig({ seed, link: LOSSY, guest: { offer } });
      rig.guestConnects();
      assert.ok(rig.runUntil(() => rig.guest.state === 'ESTABLISHED' && rig.socket?.state === 'ESTABLISHED'), 'established');
      rig.sendToGuest(pattern(SIZE, seed), true);
      rig.guest.write(pattern(SIZE, seed + 100));
      rig.guest.end();
      assert.ok(rig.runUntil(() => rig.peerFinished && rig.guest.finReceived), `both streams ended (state ${rig.socket!.state})`);
      assert.ok(rig.data().equals(pattern(SIZE, seed + 100)), 'guest -> socket bytes intact');
      assert.ok(rig.guest.data().equals(pattern(SIZE, seed)), 'socket -> guest bytes intact');
      const st = rig.socket!.stats;
      assert.ok(rig.down.lost > 0, 'the link lost segments toward the guest');
      assert.ok(st.retransmitted > 0, 'and the socket sent data again');
      assert.ok(st.retransmitted < st.segmentsSent / 4, `retransmissions stay a fraction (${st.retransmitted} of ${st.segmentsSent})`);
      assert.ok(rig.runUntil(() => rig.released, 60_000), 'the connection ends and is released');
      assert.equal(rig.aborted, false, 'no reset on a clean ending');
    });
  }
}

/** A link toward the guest that loses exactly the data segments whose ordinal is listed. */
function loseDataSegments(rig: SocketRig, ordinals: number[]): void {
  const send = rig.down.send.bind(rig.down);
  let n = 0;
  rig.down.send = (seg: Uint8Array) => {
    const headerLength = (seg[12] >> 4) * 4;
    if (seg.length > headerLength && ordinals.includes(++n)) {
      rig.down.lost++;
      return;
    }
    send(seg);
  };
}

for (const sack of [false, true]) {
  test(`one lost segment in a bulk transfer is repaired by fast recovery, not a timeout (${sack ? 'SACK' : 'NewReno'})`, () => {
    const rig = new SocketRig({ guest: { offer: { mss: 1460, windowScale: 3, timestamps: true, sackPermitted: sack } } });
    loseDataSegments(rig, [20]);
    rig.guestConnects();
    assert.ok(rig.runUntil(() => rig.socket?.state === 'ESTABLISHED'));
    rig.sendToGuest(pattern(SIZE, 5), true);
    assert.ok(rig.runUntil(() => rig.guest.finReceived), 'the guest got everything and the FIN');
    assert.ok(rig.guest.data().equals(pattern(SIZE, 5)));
    const st = rig.socket!.stats;
    assert.equal(st.fastRecoveries, 1, 'one fast recovery');
    assert.equal(st.timeouts, 0, 'no retransmission timeout');
    assert.equal(st.retransmitted, 1, 'exactly the lost segment was sent again');
  });
}

test('a dead link: timeouts back off, then the socket gives up with RST and reports the reset', () => {
  const rig = new SocketRig({ limits: { maxRetransmits: 5 } });
  rig.guestConnects();
  assert.ok(rig.runUntil(() => rig.socket?.state === 'ESTABLISHED'));
  rig.down.up = false;
  const sentAt: number[] = [];
  const output = rig.down.send.bind(rig.down);
  rig.down.send = (seg) => {
    if (seg.length > (seg[12] >> 4) * 4) sentAt.push(rig.clock.now());
    output(seg);
  };
  rig.sendToGuest(pattern(10_000, 1));
  assert.ok(rig.runUntil(() => rig.aborted, 10 * 60_000), 'aborted');
  const st = rig.socket!.stats;
  assert.equal(st.timeouts, 5, 'one timeout per allowed retransmission');
  assert.equal(rig.socket!.state, 'CLOSED');
  assert.equal(rig.released, true);
  assert.equal(rig.produced.at(-1)!.flags & RST, RST, 'the last segment is a RST');
  // The first flight, then one retransmission per timeout, each gap at least double the one before.
  const resends = sentAt.slice(sentAt.length - 5);
  const gaps = resends.slice(1).map((t, i) => t - resends[i]);
  for (let i = 1; i < gaps.length; i++) assert.ok(gaps[i] >= 2 * gaps[i - 1] - 1, `back-off ${gaps.join(', ')} ms`);
});

test('handshake: the SYN-ACK answers the options the guest offered, and only those', () => {
  for (const offer of [{ mss: 1200, windowScale: 2, timestamps: true, sackPermitted: true }, { mss: 1460 }]) {
    const rig = new SocketRig({ guest: { offer } });
    rig.guestConnects();
    assert.ok(rig.runUntil(() => rig.socket?.state === 'ESTABLISHED'));
    const synAck = rig.produced[0];
    assert.equal(synAck.flags, SYN | ACK);
    assert.equal(synAck.mss, rig.limits.mss);
    assert.equal(synAck.windowScale !== undefined, offer.windowScale !== undefined, 'window scale only when offered');
    assert.equal(synAck.sackPermitted, !!offer.sackPermitted, 'SACK-permitted only when offered');
    assert.equal(synAck.ts !== undefined, !!offer.timestamps, 'timestamps only when offered');
    rig.sendToGuest(pattern(20_000, 2));
    assert.ok(rig.runUntil(() => rig.guest.receivedBytes === 20_000));
    const data = rig.produced.filter((p) => p.payload.length > 0);
    const optionBytes = offer.timestamps ? 12 : 0;
    assert.equal(Math.max(...data.map((p) => p.payload.length)), offer.mss - optionBytes, 'segments are the guest MSS less the options they carry');
  }
});

test('active open: the socket connects to a listening guest and both sides exchange bytes', () => {
  const rig = new SocketRig();
  rig.socketConnects();
  assert.ok(rig.runUntil(() => rig.socket?.state === 'ESTABLISHED' && rig.guest.state === 'ESTABLISHED'), 'established');
  assert.equal(rig.produced[0].flags, SYN);
  rig.sendToGuest(Buffer.from('hello guest'));
  rig.guest.write(Buffer.from('hello host'));
  assert.ok(rig.runUntil(() => rig.guest.receivedBytes === 11 && rig.deliveredBytes === 10));
  assert.equal(rig.guest.data().toString(), 'hello guest');
  assert.equal(rig.data().toString(), 'hello host');
});

test('the guest closes first: CLOSE_WAIT, then our FIN, LAST_ACK and released without TIME_WAIT', () => {
  const rig = new SocketRig();
  rig.guestConnects();
  assert.ok(rig.runUntil(() => rig.socket?.state === 'ESTABLISHED'));
  rig.guest.end();
  assert.ok(rig.runUntil(() => rig.peerFinished));
  assert.equal(rig.socket!.state, 'CLOSE_WAIT');
  rig.sendToGuest(Buffer.from('last words'), true);
  assert.ok(rig.runUntil(() => rig.released), 'released');
  assert.equal(rig.guest.data().toString(), 'last words');
  assert.equal(rig.guest.finReceived, true);
  assert.equal(rig.timeWaitEntered, false);
  assert.equal(rig.aborted, false);
});

test('the socket closes first: FIN_WAIT_1, FIN_WAIT_2, TIME_WAIT for timeWaitMs, then released', () => {
  const rig = new SocketRig({ limits: { timeWaitMs: 5000 } });
  rig.guestConnects();
  assert.ok(rig.runUntil(() => rig.socket?.state === 'ESTABLISHED'));
  rig.sendToGuest(new Uint8Array(0), true);
  assert.equal(rig.socket!.state, 'FIN_WAIT_1');
  assert.ok(rig.runUntil(() => rig.socket!.state === 'FIN_WAIT_2'));
  rig.guest.end();
  assert.ok(rig.runUntil(() => rig.timeWaitEntered));
  assert.equal(rig.socket!.state, 'TIME_WAIT');
  const entered = rig.clock.now();
  assert.ok(rig.runUntil(() => rig.released));
  assert.ok(rig.clock.now() - entered >= 5000, 'TIME_WAIT lasted its time');
});

test('RST: in window it resets the socket; out of window it is challenged, not obeyed', () => {
  const rig = new SocketRig();
  rig.guestConnects();
  assert.ok(rig.runUntil(() => rig.socket?.state === 'ESTABLISHED'));
  rig.guest.write(Buffer.from('abc'));
  assert.ok(rig.runUntil(() => rig.deliveredBytes === 3));
  // A RST whose sequence is inside the window but not rcvNxt (RFC 5961 3.2).
  const s = rig.socket!;
  const before = rig.produced.length;
  s.input(...rstAt(s.rcvNxt + 100));
  assert.equal(rig.drops['rst-challenged'], 1);
  assert.equal(s.state, 'ESTABLISHED');
  assert.equal(rig.produced.length, before + 1, 'a challenge ACK');
  assert.equal(rig.produced.at(-1)!.flags, ACK);
  rig.guest.abort();
  assert.ok(rig.runUntil(() => rig.aborted));
  assert.equal(s.state, 'CLOSED');
  assert.equal(rig.released, true);
});

/** A bare RST at `seq`, built here: the guest's own RST always carries its rcvNxt. */
function rstAt(seq: number): [TcpSegmentView, TcpOptions] {
  const seg = new Uint8Array(20);
  new DataView(seg.buffer).setUint32(4, seq >>> 0);
  seg[12] = 5 << 4;
  seg[13] = RST;
  const v = new TcpSegmentView();
  v.wrap(seg);
  return [v, new TcpOptions()];
}

test('a consumer that stops taking bytes closes the window; taking them reopens it with a window update', () => {
  const rig = new SocketRig({ limits: { recvBufferBytes: 64 * 1024 } });
  rig.guestConnects();
  assert.ok(rig.runUntil(() => rig.socket?.state === 'ESTABLISHED'));
  rig.consuming = false;
  rig.guest.write(pattern(256 * 1024, 9));
  assert.ok(rig.runUntil(() => rig.guest.minPeerWindowSeen === 0, 5000), 'the window closed');
  const held = rig.deliveredBytes;
  assert.ok(held <= 64 * 1024, `no more than the buffer was delivered (${held})`);
  rig.consume();
  assert.ok(rig.runUntil(() => rig.deliveredBytes === 256 * 1024), 'the rest arrived after the window reopened');
  assert.ok(rig.data().equals(pattern(256 * 1024, 9)));
});

test('an idle connection keeps no clock timer from its handshake (keepalive off): the SYN-ACK and SYN retransmit timers go at establishment', () => {
  for (const open of ['guestConnects', 'socketConnects'] as const) {
    const rig = new SocketRig({ limits: { keepaliveIdleMs: 0 } });
    rig[open]();
    assert.ok(rig.runUntil(() => rig.socket?.state === 'ESTABLISHED' && rig.guest.state === 'ESTABLISHED'), `${open}: established`);
    // Past the link's delay: nothing in flight, the guest has nothing to retransmit.
    rig.clock.advance(5);
    assert.equal(rig.clock.pending, 0, `${open}: timers left armed on an idle connection`);
  }
});
