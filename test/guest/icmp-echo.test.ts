/**
 * The bundled guest's ping and ping6 past the gateway, through host ping
 * sockets: to 198.18.0.1 and fd00:198::1, which exist only on the loopback of
 * the run's private namespace (test/support/ping-namespace.ts), with 0% loss
 * and one ICMP row per flow in `info usernet`; to an address with no route, the
 * gateway's unreachable; and fec0::2 still answered by the stack itself.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { EmbeddedMachine } from '../../extension/machine/embedded-machine';
import { containmentProblem } from '../support/containment';
import { startGuest, sh, waitForSlaac } from '../support/guest';
import { NO_ROUTE4, PING_TARGET4, PING_TARGET6, pingNamespaceSkip, preparePingNamespace } from '../support/ping-namespace';

const skip = containmentProblem() ?? pingNamespaceSkip();
const GUEST6 = 'fec0::5054:ff:fe12:3456';
let vm: EmbeddedMachine;

const losses = (out: string) => [...out.matchAll(/(\d+)% packet loss/g)].map((m) => Number(m[1]));

before(async () => {
  if (skip) return;
  preparePingNamespace();
  vm = await startGuest();
  await waitForSlaac(vm, GUEST6);
});
after(async () => {
  await vm?.stop();
});

test(`ping -c 3 ${PING_TARGET4} goes out a host ping socket and loses nothing; info usernet shows the flow`, { skip, timeout: 60_000 }, async () => {
  const out = await sh(vm, `ping -c 3 -W 2 ${PING_TARGET4}`);
  assert.deepEqual(losses(out), [0], out);
  assert.match(out, new RegExp(`3 packets transmitted, 3 packets received`), out);
  assert.match(vm.slirp!.infoUsernet(), new RegExp(`ICMP\\[\\d+ sec\\] +\\d+ +10\\.0\\.2\\.15 +- +${PING_TARGET4.replace(/\./g, '\\.')} +-`));
});

test(`ping6 -c 3 ${PING_TARGET6} goes out a host ping socket and loses nothing`, { skip, timeout: 60_000 }, async () => {
  const out = await sh(vm, `ping6 -c 3 -W 2 ${PING_TARGET6}`);
  assert.deepEqual(losses(out), [0], out);
  assert.match(vm.slirp!.infoUsernet(), new RegExp(`ICMP\\[\\d+ sec\\] +\\d+ +${GUEST6} +- +${PING_TARGET6} +-`));
});

test('a ping to an address with no route gets network unreachable from the gateway, quoting it, at the guest NIC', { skip, timeout: 60_000 }, async () => {
  // busybox ping does not print ICMP errors: watch what reaches the e1000.
  const errors: string[] = [];
  const stop = vm.probes.probes.e1000_receive_iov.listen((hit) => {
    const f = hit.frame;
    if (f.length < 14 + 20 + 8 + 20 || f[12] !== 8 || f[13] !== 0 || f[23] !== 1 || f[34] !== 3) return;
    errors.push(`${f.subarray(26, 30).join('.')} code ${f[35]} about ${f.subarray(42 + 16, 42 + 20).join('.')}`);
  });
  try {
    const r = await vm.exec(`ping -c 1 -W 2 ${NO_ROUTE4}`, 30_000);
    assert.notEqual(r.status, 0, r.output);
  } finally {
    stop();
  }
  assert.deepEqual(errors, [`10.0.2.2 code 0 about ${NO_ROUTE4}`]);
  assert.ok((vm.slirp!.drops['icmp-send-error'] ?? 0) >= 1);
});

test('ping6 to fec0::2 is still answered by the gateway itself, with no host socket', { skip, timeout: 60_000 }, async () => {
  const rows = () => vm.slirp!.nat.list().filter((s) => s.protocol === 'icmp').length;
  const before = rows();
  const out = await sh(vm, 'ping6 -c 3 -W 2 fec0::2');
  assert.deepEqual(losses(out), [0], out);
  assert.equal(rows(), before, 'no new echo flow');
});
