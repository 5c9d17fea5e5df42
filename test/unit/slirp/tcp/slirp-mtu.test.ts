import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { GuestOffer } from './support/guest-tcp';
import { pattern } from './support/harness';
import { HostServer } from './support/host-server';
import { checkSegmentSizes, MTU } from './support/segment-audit';
import { DEFAULT_SLIRP_CONFIG, forBundledGuest } from '../../../../extension/slirp/config';
import { SlirpGuest } from './support/slirp-guest';

const BULK = 150_000;

for (const c of [
  { name: 'MSS only', offer: { mss: 1460 } as GuestOffer, timestamps: false },
  { name: 'MSS and window scaling', offer: { mss: 1460, windowScale: 7 } as GuestOffer, timestamps: false },
  { name: 'MSS and timestamps', offer: { mss: 1460, timestamps: true } as GuestOffer, timestamps: true },
  { name: 'window scaling, timestamps and SACK (as Linux offers)', offer: { mss: 1460, windowScale: 7, timestamps: true, sackPermitted: true } as GuestOffer, timestamps: true },
]) {
  test(`through the real Slirp, a download with ${c.name} leaves as whole datagrams of at most ${MTU} bytes, never fragments`, async () => {
    const server = new HostServer((s) => s.end(pattern(BULK, 96)));
    const port = await server.start();
    const net = new SlirpGuest();
    try {
      const g = net.connect(port, c.offer);
      await net.run(() => g.finReceived, 'the whole download');
      assert.ok(g.data().equals(pattern(BULK, 96)), 'bytes intact');
      const fragments = net.datagrams.filter((d) => d.fragment);
      assert.equal(fragments.length, 0, `${fragments.length} IP fragments (lengths ${fragments.slice(0, 4).map((d) => d.totalLength)})`);
      for (const d of net.datagrams) assert.ok(d.totalLength <= MTU, `datagram of ${d.totalLength} bytes`);
      const tcp = net.datagrams.filter((d) => d.protocol === 6);
      const data = checkSegmentSizes(
        tcp.map((d) => d.payload),
        { effectiveMss: 1460, timestamps: c.timestamps },
      );
      // The stream is carried in datagrams of exactly the MTU: nothing is wasted either.
      assert.equal(Math.max(...tcp.map((d) => d.totalLength)), MTU);
      assert.equal(Math.max(...data.map((a) => a.parsed.payload.length)), 1460 - (c.timestamps ? 12 : 0));
    } finally {
      await net.close();
      await server.stop();
    }
  });
}

test('through the real Slirp, with guest data out of order (SACK blocks beside timestamps), no datagram is fragmented', async () => {
  const server = new HostServer();
  const port = await server.start();
  const net = new SlirpGuest();
  try {
    const g = net.connect(port, { mss: 1460, windowScale: 7, timestamps: true, sackPermitted: true });
    await net.run(() => g.state === 'ESTABLISHED' && server.sockets.length === 1, 'established');
    // The first transmissions of guest data segments 1, 3 and 5 are lost: three holes.
    const seen = new Set<number>();
    let n = 0;
    net.dropFromGuest = (seg) => {
      const hl = (seg[12] >> 4) * 4;
      if (seg.length === hl) return false;
      const seq = ((seg[4] << 24) | (seg[5] << 16) | (seg[6] << 8) | seg[7]) >>> 0;
      if (seen.has(seq)) return false;
      seen.add(seq);
      n++;
      return n === 1 || n === 3 || n === 5;
    };
    const UPLOAD = 8 * 1460;
    g.write(pattern(UPLOAD, 97));
    await net.run(() => net.datagrams.some((d) => d.protocol === 6 && (d.payload[12] >> 4) * 4 === 60), 'an ACK with three SACK blocks');
    server.sockets[0].write(pattern(BULK, 98));
    await net.run(() => g.receivedBytes === BULK && server.bytes().length === UPLOAD, 'both transfers');
    assert.ok(g.data().equals(pattern(BULK, 98)));
    assert.ok(server.bytes().equals(pattern(UPLOAD, 97)));
    assert.equal(net.datagrams.filter((d) => d.fragment).length, 0, 'no IP fragments');
    const data = checkSegmentSizes(
      net.datagrams.filter((d) => d.protocol === 6).map((d) => d.payload),
      { effectiveMss: 1460, timestamps: true },
    );
    const sacked = data.filter((a) => a.parsed.sack.length === 3);
    assert.ok(sacked.length > 0, 'data went out with three SACK blocks');
    assert.ok(sacked.every((a) => a.ipTotalLength <= MTU && a.parsed.payload.length <= 1420));
  } finally {
    await net.close();
    await server.stop();
  }
});

test('through the real Slirp on the bundled guest\'s jumbo link, a guest that applied the MTU gets 9000-byte datagrams, never fragments', async () => {
  const server = new HostServer((s) => s.end(pattern(BULK, 99)));
  const port = await server.start();
  const net = new SlirpGuest(forBundledGuest(DEFAULT_SLIRP_CONFIG));
  try {
    assert.equal(net.slirp.config.mtu, 9000);
    const g = net.connect(port, { mss: 8960, windowScale: 7, timestamps: true, sackPermitted: true });
    await net.run(() => g.finReceived, 'the whole download');
    assert.ok(g.data().equals(pattern(BULK, 99)), 'bytes intact');
    assert.equal(net.datagrams.filter((d) => d.fragment).length, 0, 'no IP fragments');
    const tcp = net.datagrams.filter((d) => d.protocol === 6);
    assert.equal(g.synAckOptions?.mss, 8960, 'we advertise the jumbo MSS');
    checkSegmentSizes(
      tcp.map((d) => d.payload),
      { effectiveMss: 8960, timestamps: true, mtu: 9000 },
    );
    assert.equal(Math.max(...tcp.map((d) => d.totalLength)), 9000);
  } finally {
    await net.close();
    await server.stop();
  }
});
