/**
 * TCP NAT as the guest sees it: many concurrent connections, hostfwd into a
 * guest server, guestfwd to host services, and half-close.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { request } from 'node:http';
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { EmbeddedMachine } from '../../extension/machine/embedded-machine';
import { containmentProblem } from '../support/containment';
import { startGuest, sh } from '../support/guest';
import { startHttpServer, testFile, md5 } from '../support/host-servers';

const skip = containmentProblem();
const HTTPD_PORT = 18_080;
let vm: EmbeddedMachine;
let echo: Server;
let echoPort = 0;

before(async () => {
  if (skip) return;
  // A host echo service that the guest reaches through a guestfwd address.
  echo = createServer((s) => s.pipe(s));
  echo.listen(0, '127.0.0.1');
  await once(echo, 'listening');
  echoPort = (echo.address() as AddressInfo).port;
  vm = await startGuest({
    netdev: `user,hostfwd=tcp::${HTTPD_PORT}-:80,guestfwd=tcp:10.0.2.100:7-tcp:127.0.0.1:${echoPort},guestfwd=tcp:10.0.2.101:9-cmd:tr a-z A-Z`,
  });
});
after(async () => {
  await vm?.stop();
  echo?.close();
});

function httpGet(port: number, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('100 concurrent connections from the guest all complete', { skip, timeout: 300_000 }, async () => {
  const small = testFile(2000, 11);
  const http = await startHttpServer({ '/small': small });
  try {
    const out = await sh(
      vm,
      `cd /tmp && for i in $(seq 1 100); do wget -q -O c$i http://10.0.2.2:${http.port}/small & done; wait; cat c* | md5sum; ls c* | wc -l; rm -f c*`,
      240_000,
    );
    // The kernel may print to the same console meanwhile (a slow host can make the
    // guest's transmit watchdog reset the adapter mid-burst): pick our two lines out.
    const lines = out.split('\n').map((l) => l.trim());
    assert.equal(lines.find((l) => /^\d+$/.test(l)), '100', out);
    assert.equal(lines.find((l) => /^[0-9a-f]{32}\b/.test(l))?.slice(0, 32), md5(Buffer.concat(Array(100).fill(small))), out);
    assert.equal(http.requests.length, 100);
  } finally {
    await http.close();
  }
});

test('hostfwd reaches busybox httpd in the guest from the host', { skip, timeout: 120_000 }, async () => {
  const page = 'served by the guest\n';
  await sh(vm, `mkdir -p /tmp/www && printf '${page.replace('\n', '\\n')}' > /tmp/www/index.html && httpd -p 80 -h /tmp/www`);
  const r = await httpGet(HTTPD_PORT, '/index.html');
  assert.equal(r.status, 200);
  assert.equal(r.body.toString(), page);
  assert.match(vm.slirp!.infoUsernet(), new RegExp(`TCP\\[HOST_FORWARD\\]\\s+-?\\d+\\s+127\\.0\\.0\\.1\\s+${HTTPD_PORT}\\s+10\\.0\\.2\\.15\\s+80`));
});

test('a hostfwd rule added at run time works, and removing it closes the port', { skip, timeout: 120_000 }, async () => {
  await vm.slirp!.addHostForward('tcp:127.0.0.1:18081-:80');
  assert.equal((await httpGet(18_081, '/index.html')).status, 200);
  assert.equal(vm.slirp!.removeHostForward('tcp:127.0.0.1:18081'), true);
  await assert.rejects(httpGet(18_081, '/index.html'), /ECONNREFUSED/);
});

test('guestfwd carries a guest connection to a host TCP service and to a command', { skip }, async () => {
  assert.equal(await sh(vm, 'echo ping-through-guestfwd | nc 10.0.2.100 7'), 'ping-through-guestfwd\n');
  assert.equal(await sh(vm, 'echo shout | nc 10.0.2.101 9'), 'SHOUT\n');
});

test('half-close: the guest shuts its sending side and still receives the whole answer', { skip, timeout: 120_000 }, async () => {
  // The host service reads until the guest's FIN, then answers: only works if FIN maps to a half-close.
  const answer = testFile(300_000, 5);
  const server = createServer((s) => {
    let got = 0;
    s.on('data', (d) => (got += d.length));
    s.on('end', () => s.end(Buffer.concat([Buffer.from(`got ${got}\n`), answer])));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  try {
    // busybox nc shuts down its write side when stdin ends and keeps reading.
    const out = await sh(vm, `head -c 5000 /dev/zero | nc 10.0.2.2 ${port} > /tmp/half; head -1 /tmp/half; tail -c +10 /tmp/half | md5sum`);
    const [first, sum] = out.trim().split('\n');
    assert.equal(first, 'got 5000');
    assert.equal(sum.split(' ')[0], md5(answer));
  } finally {
    server.close();
  }
});
