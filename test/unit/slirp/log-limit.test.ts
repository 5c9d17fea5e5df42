import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PausableClock } from '../../../extension/pipeline/clock';
import { RateLimitedLog } from '../../../extension/slirp/log-limit';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('per kind: the first line at once, the rest of the window as one count when it closes', async () => {
  const lines: string[] = [];
  const log = new RateLimitedLog(new PausableClock(), (m) => lines.push(m), 50);
  for (let i = 0; i < 20_000; i++) log.log('tftp: refused names', `tftp: refused "x${i}"`);
  log.log('other', 'other: once');
  assert.deepEqual(lines, ['tftp: refused "x0"', 'other: once']);
  await sleep(120);
  assert.deepEqual(lines.slice(2), ['tftp: refused names: 19999 more like that in the last 0.05 s']);
  log.log('tftp: refused names', 'tftp: refused "again"');
  assert.equal(lines.at(-1), 'tftp: refused "again"', 'a new window starts with a line');
  log.close();
  assert.equal(lines.length, 4, 'nothing counted, nothing more said');
});

test('a paused clock keeps the window open; close() says what is still counted', async () => {
  const clock = new PausableClock();
  const lines: string[] = [];
  const log = new RateLimitedLog(clock, (m) => lines.push(m), 30);
  log.log('k', 'first');
  log.log('k', 'second');
  clock.pause();
  await sleep(80);
  assert.deepEqual(lines, ['first']);
  log.close();
  assert.deepEqual(lines, ['first', 'k: 1 more like that in the last 0.03 s']);
});
