import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allocateFrame, TRANSPORT_OFFSET } from '../../../extension/slirp/core';
import { internetChecksum, sumWords } from '../../../extension/wire/checksum';
import { writeIpv4HeaderAt } from '../../../extension/wire/ipv4';

/** RFC 1071 by the book: big-endian words, one at a time. */
function referenceSum(bytes: Uint8Array, start: number, end: number): number {
  let sum = 0;
  for (let i = start; i < end; i += 2) sum += (bytes[i]! << 8) | (i + 1 < end ? bytes[i + 1]! : 0);
  return sum;
}
const fold = (s: number) => {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
};

test('the word-view checksum equals the byte-by-byte one at every alignment and length', () => {
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  const backing = new Uint8Array(70_000).map(random);
  for (const offset of [0, 1, 2, 3, 34]) {
    for (const length of [0, 1, 63, 64, 65, 1448, 1449, 65_535]) {
      const bytes = backing.subarray(offset, offset + length);
      for (const start of [0, 1, 2]) {
        if (start > length) continue;
        assert.equal(fold(sumWords(bytes, start, length)), fold(referenceSum(bytes, start, length)), `offset ${offset} length ${length} start ${start}`);
      }
    }
  }
  // All-ones words: the sum carries at every step.
  const ones = new Uint8Array(65_536).fill(0xff);
  assert.equal(internetChecksum(ones), 0);
});

test('frames cut from a slab are zeroed, disjoint and word-aligned', () => {
  const a = allocateFrame(1448);
  const b = allocateFrame(1448);
  assert.equal(a.length, TRANSPORT_OFFSET + 1448);
  assert.ok(a.every((x) => x === 0) && b.every((x) => x === 0));
  a.fill(1);
  assert.ok(b.every((x) => x === 0), 'writing one frame leaves the next alone');
  assert.equal(b.byteOffset % 8, 0);
  const big = allocateFrame(60_000);
  assert.equal(big.byteOffset, 0, 'a large frame has memory of its own');
});

test('writeIpv4HeaderAt writes every field at its offset and a header checksum the receiver accepts', () => {
  const cases = [
    { src: 0x0a000202, dst: 0x0a00020f, protocol: 6, payloadLength: 1460, id: 0x1234, ttl: 64, tos: 0, flags: 0 },
    { src: 0xffffffff, dst: 0xfffffffe, protocol: 17, payloadLength: 65515, id: 0x1ffff, ttl: 255, tos: 0xff, flags: 0x4000 },
    { src: 0, dst: 0, protocol: 1, payloadLength: 0, id: 0, ttl: 1, tos: 0x10, flags: 0x2000 | 185 },
  ];
  for (const c of cases) {
    const frame = new Uint8Array(14 + 20).fill(0xee);
    writeIpv4HeaderAt(frame, 14, c.src, c.dst, c.protocol, c.payloadLength, c.id, c.ttl, c.tos, c.flags);
    assert.deepEqual([...frame.subarray(0, 14)], new Array(14).fill(0xee), 'nothing written before the offset');
    const view = new DataView(frame.buffer, 14);
    assert.equal(frame[14], 0x45);
    assert.equal(frame[15], c.tos);
    assert.equal(view.getUint16(2), 20 + c.payloadLength);
    assert.equal(view.getUint16(4), c.id & 0xffff);
    assert.equal(view.getUint16(6), c.flags);
    assert.equal(frame[22], c.ttl);
    assert.equal(frame[23], c.protocol);
    assert.equal(view.getUint32(12), c.src);
    assert.equal(view.getUint32(16), c.dst);
    assert.equal(internetChecksum(frame, 14, 34), 0, 'the header sums to zero with its checksum');
  }
});
