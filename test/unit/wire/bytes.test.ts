import assert from 'node:assert/strict';
import { test } from 'node:test';
import { copyRange, COPY_RANGE_SLACK } from '../../../extension/wire/bytes';

const pattern = (n: number, seed: number) => Uint8Array.from({ length: n }, (_, i) => (i * 7 + seed) & 255);

test('copyRange copies the range and leaves the destination before it, and past its scratch, as it was', () => {
  for (const [start, tail] of [[0, 0], [20, 0], [60, 0], [32, 5], [COPY_RANGE_SLACK - 10, 10], [COPY_RANGE_SLACK + 1, 0], [0, COPY_RANGE_SLACK + 3]] as const) {
    for (const at of [0, 10, 70, 200]) {
      const src = pattern(start + 100 + tail, 3);
      const dst = pattern(400, 101);
      const before = dst.slice();
      copyRange(dst, at, src, start, start + 100);
      const label = `start ${start}, tail ${tail}, at ${at}`;
      assert.deepEqual(dst.subarray(at, at + 100), src.subarray(start, start + 100), label);
      assert.deepEqual(dst.subarray(0, at), before.subarray(0, at), label);
      // The scratch after the range reaches at most src.length past `at`.
      assert.deepEqual(dst.subarray(at + src.length), before.subarray(at + src.length), label);
    }
  }
});

test('copyRange with no room for the whole source after `at` copies only the range, and past the end throws as TypedArray.set', () => {
  const src = pattern(160, 9);
  const dst = pattern(150, 50);
  const before = dst.slice();
  copyRange(dst, 20, src, 40, 140);
  assert.deepEqual(dst.subarray(20, 120), src.subarray(40, 140));
  assert.deepEqual(dst.subarray(120), before.subarray(120), 'no scratch used when the whole source does not fit');
  assert.throws(() => copyRange(dst, 60, src, 40, 140), RangeError);
});
