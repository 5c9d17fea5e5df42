import { test } from 'node:test';
import { Harness, pattern } from '/work/main/test/unit/slirp/tcp/support/harness';
import { HostServer } from '/work/main/test/unit/slirp/tcp/support/host-server';
const LOSSY = { loss: 0.03, duplicate: 0.02, reorder: 0.05, delayMs: 2, reorderDelayMs: 6 };
const SIZE = 2 * 1024 * 1024;
test('p', async () => {
  for (const offer of [{ mss: 1460, windowScale: 3, timestamps: true, sackPermitted: true }]) {
    const h = new Harness({ seed: 7, link: LOSSY, guest: { offer } });
    const server = new HostServer((s) => s.end(pattern(SIZE, 11)));
    const port = await server.start();
    const t0 = Date.now();
    const g = h.connect(port);
    await h.run(() => g.state === 'ESTABLISHED', 'established');
    g.write(pattern(SIZE, 12)); g.end();
    await h.run(() => server.ended.size === 1 && g.finReceived, 'x', 600000, 20000);
    console.log('virtual', h.clock.now(), 'real', Date.now() - t0, 'down sent', h.down.sent, 'lost', h.down.lost, 'up sent', h.up.sent, 'guest rexmit', g.retransmissions, JSON.stringify(h.stack.drops));
    h.close(); await server.stop();
  }
});
