import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteQueue } from '../../../../extension/slirp/tcp/byte-queue';
import { tcpChecksum } from '../../../../extension/slirp/tcp/checksum';
import { ReassemblyQueue } from '../../../../extension/slirp/tcp/reassembly';
import { SackScoreboard } from '../../../../extension/slirp/tcp/sack-scoreboard';
import { buildSegment, parseOptions, TcpOptions, TcpSegmentView, ACK, SYN } from '../../../../extension/slirp/tcp/segment';
import { seqLt, seqAdd } from '../../../../extension/slirp/tcp/seq';
import { checksum as referenceChecksum, parseSegment } from './support/guest-tcp';

test('sequence comparisons wrap at 2^32', () => {
  assert.ok(seqLt(0xfffffff0, 5));
  assert.equal(seqAdd(0xffffffff, 2), 1);
});

test('byte queue copies across chunk boundaries and never past its end', () => {
  const q = new ByteQueue();
  q.push(Buffer.from('hello '));
  q.push(Buffer.from('wide '));
  q.push(Buffer.from('world'));
  q.drop(3);
  const out = new Uint8Array(10).fill(42);
  q.copyOut(1, 8, out, 1);
  assert.equal(Buffer.from(out.subarray(1, 9)).toString(), 'o wide w');
  const untouched = new Uint8Array(4).fill(7);
  q.copyOut(5, 100, untouched, 0);
  assert.deepEqual([...untouched], [7, 7, 7, 7]);
  assert.equal(q.length, 13);
});

test('reassembly: overlapping and duplicate pieces come out once, in order; the count is bounded', () => {
  const r = new ReassemblyQueue(3);
  assert.ok(r.insert(110, Buffer.from('klmno'), false));
  assert.ok(r.insert(105, Buffer.from('fghijklm'), false));
  assert.equal(r.insert(106, Buffer.from('gh'), false), false, 'duplicate');
  assert.ok(r.insert(120, Buffer.from('uvw'), true));
  assert.equal(r.insert(130, Buffer.from('x'), false), false, 'full');
  assert.deepEqual(r.sackBlocks(4), [120, 123, 105, 115]);
  const got: string[] = [];
  let fin = false;
  let next = r.pull(100, (d) => got.push(Buffer.from(d).toString()), () => (fin = true));
  assert.equal(next, 100, 'hole at 100');
  next = r.pull(105, (d) => got.push(Buffer.from(d).toString()), () => (fin = true));
  assert.equal(got.join(''), 'fghijklmno');
  assert.equal(next, 115);
  assert.equal(fin, false);
});

test('SACK scoreboard merges, clamps to the flight and advances', () => {
  const s = new SackScoreboard(2);
  s.add(200, 300, 100, 1000);
  s.add(400, 500, 100, 1000);
  s.add(290, 410, 100, 1000);
  assert.equal(s.sackedUntil(250), 500);
  assert.equal(s.sackedUntil(150), -1);
  assert.equal(s.nextSackedAfter(100), 200);
  s.add(50, 2000, 100, 1000);
  assert.equal(s.highest(0), 1000);
  s.advance(1000);
  assert.ok(s.empty);
});

test('segments built here parse back and checksum like an independent implementation', () => {
  const seg = buildSegment(
    { src: 0x0a000202, dst: 0x0a00020f, srcPort: 80, dstPort: 40000, seq: 123, ack: 456, flags: SYN | ACK, window: 65535, options: { mss: 1460, windowScale: 4, sackPermitted: true, timestamp: [7, 9] } },
  );
  assert.equal(tcpChecksum(0x0a000202, 0x0a00020f, seg), 0);
  const copy = Uint8Array.from(seg);
  copy[16] = copy[17] = 0;
  assert.equal(referenceChecksum(0x0a000202, 0x0a00020f, copy), (seg[16] << 8) | seg[17]);
  const p = parseSegment(seg);
  assert.equal(p.mss, 1460);
  assert.equal(p.windowScale, 4);
  assert.ok(p.sackPermitted);
  assert.deepEqual(p.ts, [7, 9]);
  const v = new TcpSegmentView();
  assert.equal(v.wrap(seg), null);
  const o = new TcpOptions();
  assert.equal(parseOptions(seg, v.headerLength, o), null);
  assert.equal(o.windowScale, 4);
  const withSack = buildSegment(
    { src: 1, dst: 2, srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: ACK, window: 1, options: { timestamp: [1, 2], sackBlocks: [10, 20, 30, 40, 50, 60] } },
    3,
    { fill: (dst, at) => dst.set([1, 2, 3], at) },
  );
  assert.equal(withSack.length, 20 + 40 + 3);
  assert.deepEqual(parseSegment(withSack).sack, [[10, 20], [30, 40], [50, 60]]);
  assert.deepEqual([...parseSegment(withSack).payload], [1, 2, 3]);
});
