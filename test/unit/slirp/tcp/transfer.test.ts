import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, pattern } from './support/harness';
import { HostServer } from './support/host-server';

const LOSSY = { loss: 0.03, duplicate: 0.02, reorder: 0.05, delayMs: 2, reorderDelayMs: 6 };
const SIZE = 2 * 1024 * 1024;

for (const [name, offer] of [
  ['with window scaling, timestamps and SACK', { mss: 1460, windowScale: 3, timestamps: true, sackPermitted: true }],
  ['with no options but MSS (like libslirp)', { mss: 1460 }],
] as const) {
  test(`2 MiB each way through a lossy link arrive once and in order, ${name}`, async () => {
    const h = new Harness({ seed: 7, link: LOSSY, guest: { offer } });
    const server = new HostServer((s) => s.end(pattern(SIZE, 11)));
    const port = await server.start();
    try {
      const g = h.connect(port);
      await h.run(() => g.state === 'ESTABLISHED', 'established');
      g.write(pattern(SIZE, 12));
      g.end();
      await h.run(() => server.ended.size === 1 && g.finReceived, 'both streams complete', 600_000, 9000);
      assert.equal(g.receivedBytes, SIZE);
      assert.ok(g.data().equals(pattern(SIZE, 11)), 'host -> guest bytes intact');
      assert.ok(server.bytes().equals(pattern(SIZE, 12)), 'guest -> host bytes intact');
      assert.ok(h.down.lost > 0 && h.up.lost > 0, 'the link did lose segments');
      await h.run(() => h.stack.connectionCount === 0 || h.stack.list()[0].state === 'TIME_WAIT', 'closing');
    } finally {
      h.close();
      await server.stop();
    }
  });
}
