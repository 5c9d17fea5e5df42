import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as net from 'node:net';
import type { GuestOffer, GuestTcp } from './support/guest-tcp';
import { Harness, pattern } from './support/harness';
import { HostServer } from './support/host-server';
import { audit, checkSegmentSizes, MTU } from './support/segment-audit';

const BULK = 200_000;

interface Combination {
  name: string;
  offer: GuestOffer;
  effectiveMss: number;
  timestamps: boolean;
  /** The slirp's link MTU (mtu=); Ethernet's when not given. */
  mtu?: number;
}

const COMBINATIONS: Combination[] = [
  // No MSS option: RFC 9293 3.7.1's default of 536.
  { name: 'no options at all', offer: {}, effectiveMss: 536, timestamps: false },
  { name: 'MSS only', offer: { mss: 1460 }, effectiveMss: 1460, timestamps: false },
  { name: 'MSS and timestamps', offer: { mss: 1460, timestamps: true }, effectiveMss: 1460, timestamps: true },
  { name: 'MSS and window scaling', offer: { mss: 1460, windowScale: 7 }, effectiveMss: 1460, timestamps: false },
  { name: 'window scaling, timestamps and SACK', offer: { mss: 1460, windowScale: 7, timestamps: true, sackPermitted: true }, effectiveMss: 1460, timestamps: true },
  // A jumbo MSS from the guest is capped at ours (MTU 1500 - 40).
  { name: 'a jumbo MSS with timestamps', offer: { mss: 8960, timestamps: true, sackPermitted: true }, effectiveMss: 1460, timestamps: true },
  { name: 'a small MSS with timestamps', offer: { mss: 1000, timestamps: true }, effectiveMss: 1000, timestamps: true },
  // On a jumbo link (mtu=9000, the default): the guest that applied the lease's MTU gets 9000-byte datagrams...
  { name: 'a jumbo MSS on a jumbo link', offer: { mss: 8960, windowScale: 7, timestamps: true, sackPermitted: true }, effectiveMss: 8960, timestamps: true, mtu: 9000 },
  // ...and one that kept 1500 is never sent more than its own MSS allows.
  { name: 'an Ethernet MSS on a jumbo link', offer: { mss: 1460, windowScale: 7, timestamps: true, sackPermitted: true }, effectiveMss: 1460, timestamps: true, mtu: 9000 },
];

for (const c of COMBINATIONS) {
  test(`host -> guest bulk data with ${c.name}: every datagram fits the MTU, full segments carry MSS minus options`, async () => {
    const server = new HostServer((s) => s.end(pattern(BULK, 90)));
    const port = await server.start();
    const h = new Harness({ guest: { offer: c.offer }, ...(c.mtu ? { config: { mtu: c.mtu } } : {}) });
    try {
      const g = h.connect(port);
      await h.run(() => g.finReceived, 'the whole download');
      assert.ok(g.data().equals(pattern(BULK, 90)), 'bytes intact');
      const data = checkSegmentSizes(
        h.toGuest.map((d) => d.payload),
        c,
      );
      if (c.mtu) assert.ok(data.every((a) => a.ipTotalLength <= Math.min(c.mtu!, c.effectiveMss + 40)), 'no datagram larger than the guest announced it takes');
      const fullPayload = c.effectiveMss - (c.timestamps ? 12 : 0);
      const largest = Math.max(...data.map((a) => a.parsed.payload.length));
      assert.equal(largest, fullPayload, 'full-size segments use all the room the options leave');
      assert.ok(data.filter((a) => a.parsed.payload.length === fullPayload).length >= BULK / fullPayload - 2, 'the stream goes out in full-size segments');
      assert.ok(data.every((a) => a.parsed.sack.length === 0), 'no SACK blocks without out-of-order guest data');
      const synAck = audit(h.toGuest[0].payload).parsed;
      assert.equal(synAck.mss, (c.mtu ?? MTU) - 40, 'we advertise MTU - 40 for the guest -> host direction');
    } finally {
      h.close();
      await server.stop();
    }
  });
}

/** Drops the first transmission of chosen guest data segments (by their order), so the stack holds out-of-order data. */
function dropGuestSegments(h: Harness, which: ReadonlySet<number>): void {
  const send = h.up.send.bind(h.up);
  const seen = new Set<number>();
  let n = 0;
  h.up.send = (p: Uint8Array) => {
    const a = audit(p).parsed;
    if (a.payload.length && !seen.has(a.seq)) {
      seen.add(a.seq);
      if (which.has(++n)) return;
    }
    send(p);
  };
}

for (const c of [
  { name: 'timestamps and SACK (three blocks fit)', offer: { mss: 1460, windowScale: 7, timestamps: true, sackPermitted: true }, timestamps: true, blocks: 3 },
  { name: 'SACK without timestamps (four blocks fit)', offer: { mss: 1460, sackPermitted: true }, timestamps: false, blocks: 4 },
]) {
  test(`host -> guest bulk data while guest data waits out of order, ${c.name}: SACK blocks shrink the payload, never grow the datagram`, async () => {
    const server = new HostServer();
    const port = await server.start();
    const h = new Harness({ guest: { offer: c.offer } });
    try {
      const g = h.connect(port);
      await h.run(() => g.state === 'ESTABLISHED' && h.stack.list()[0]?.state === 'ESTABLISHED' && server.sockets.length === 1, 'established');
      // Holes at guest segments 1, 3, 5 and 7 of 10: four out-of-order ranges in the stack.
      dropGuestSegments(h, new Set([1, 3, 5, 7]));
      const UPLOAD = 10 * 1460;
      g.write(pattern(UPLOAD, 91));
      await h.run(() => h.toGuest.some((d) => audit(d.payload).parsed.sack.length > 0), 'an ACK with SACK blocks');
      server.sockets[0].write(pattern(BULK, 92));
      await h.run(() => g.receivedBytes === BULK && server.bytes().length === UPLOAD, 'the upload repaired and the download done');
      assert.ok(g.data().equals(pattern(BULK, 92)), 'download intact');
      assert.ok(server.bytes().equals(pattern(UPLOAD, 91)), 'upload intact');

      const data = checkSegmentSizes(
        h.toGuest.map((d) => d.payload),
        { effectiveMss: 1460, timestamps: c.timestamps },
      );
      const withSack = data.filter((a) => a.parsed.sack.length > 0);
      assert.ok(withSack.length > 0, 'data segments went out while the guest data was out of order');
      const most = Math.max(...withSack.map((a) => a.parsed.sack.length));
      assert.equal(most, c.blocks, 'as many SACK blocks as fit beside the other options');
      for (const a of withSack) {
        const optionBytes = (c.timestamps ? 12 : 0) + 4 + 8 * a.parsed.sack.length;
        assert.equal(a.optionBytes, optionBytes, 'SACK blocks and timestamps, nothing else');
      }
      const fullest = withSack.filter((a) => a.parsed.sack.length === c.blocks);
      assert.ok(
        fullest.some((a) => a.parsed.payload.length === 1460 - fullest[0].optionBytes),
        'a segment with the most blocks still carries all the payload it may',
      );
      // Once the holes are filled, SACK blocks stop and segments are full size again.
      const after = h.toGuest.length;
      server.sockets[0].write(pattern(20 * 1460, 95));
      await h.run(() => g.receivedBytes === BULK + 20 * 1460, 'a second burst');
      const later = checkSegmentSizes(
        h.toGuest.slice(after).map((d) => d.payload),
        { effectiveMss: 1460, timestamps: c.timestamps },
      );
      assert.ok(later.every((a) => a.parsed.sack.length === 0), 'no SACK blocks after the holes were filled');
      assert.equal(Math.max(...later.map((a) => a.parsed.payload.length)), 1460 - (c.timestamps ? 12 : 0));
    } finally {
      h.close();
      await server.stop();
    }
  });
}

test('hostfwd (our SYN to the guest): we advertise MSS 1460 and data toward the guest fits the MTU', async () => {
  const h = new Harness({ guest: { offer: { mss: 1460, windowScale: 7, timestamps: true, sackPermitted: true } } });
  try {
    await h.stack.addHostForward({ protocol: 'tcp', hostAddr: '127.0.0.1', hostPort: 0, guestAddr: 0, guestPort: 8080 });
    const port = h.stack.hostForwardPort('127.0.0.1', 0)!;
    let guest: GuestTcp | undefined;
    h.listen(8080, (g) => (guest = g));
    const client = net.connect({ host: '127.0.0.1', port });
    client.on('error', () => {});
    await new Promise((r) => client.once('connect', r));
    await h.run(() => guest?.state === 'ESTABLISHED', 'guest accepted');
    const syn = audit(h.toGuest[0].payload).parsed;
    assert.equal(syn.flags & 0x12, 0x02, 'our SYN');
    assert.equal(syn.mss, 1460);
    client.write(pattern(BULK, 93));
    await h.run(() => guest!.receivedBytes === BULK, 'data');
    const data = checkSegmentSizes(
      h.toGuest.map((d) => d.payload),
      { effectiveMss: 1460, timestamps: true },
    );
    assert.equal(Math.max(...data.map((a) => a.parsed.payload.length)), 1448);
    client.destroy();
  } finally {
    h.close();
  }
});

test('a smaller configured MSS (a smaller link MTU) is what we advertise and what bounds our segments', async () => {
  const server = new HostServer((s) => s.end(pattern(BULK, 94)));
  const port = await server.start();
  const h = new Harness({ limits: { mss: 1200 }, guest: { offer: { mss: 1460, windowScale: 7, timestamps: true, sackPermitted: true } } });
  try {
    const g = h.connect(port);
    await h.run(() => g.finReceived, 'the whole download');
    assert.equal(g.synAckOptions!.mss, 1200);
    const data = checkSegmentSizes(
      h.toGuest.map((d) => d.payload),
      { effectiveMss: 1200, timestamps: true },
    );
    assert.equal(Math.max(...data.map((a) => a.parsed.payload.length)), 1188);
    assert.ok(data.every((a) => a.ipTotalLength <= 1240 && a.ipTotalLength <= MTU));
  } finally {
    h.close();
    await server.stop();
  }
});
