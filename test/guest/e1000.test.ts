/**
 * Our e1000 as the guest's stock Linux driver sees it: probe, MAC, link,
 * loss-free traffic, bulk transfers both ways, the cable pulled and plugged,
 * and interrupts in proportion to traffic.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { EmbeddedMachine } from '../../extension/machine/embedded-machine';
import { containmentProblem } from '../support/containment';
import { startGuest, sh } from '../support/guest';
import { startHttpServer, startTcpSink, testFile, md5 } from '../support/host-servers';

const skip = containmentProblem();
let vm: EmbeddedMachine;
before(async () => {
  if (!skip) vm = await startGuest({});
});
after(() => vm?.stop());

async function waitForGuest(command: string, expected: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let out = '';
  while (Date.now() < deadline) {
    out = (await vm.exec(command)).output;
    if (expected.test(out)) return out;
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.fail(`'${command}' never matched ${expected}: last output ${JSON.stringify(out)}`);
}

const ethIrqs = async () => {
  const line = (await sh(vm, 'grep eth0 /proc/interrupts')).trim();
  return Number(line.split(/\s+/)[1]);
};

test('the Linux e1000 driver probes without complaint, reads the MAC and brings the link up', { skip }, async () => {
  const dmesg = await sh(vm, 'dmesg');
  assert.match(dmesg, /e1000 0000:00:03\.0 eth0: \(PCI:33MHz:32-bit\) 52:54:00:12:34:56/);
  assert.match(dmesg, /eth0: Intel\(R\) PRO\/1000 Network Connection/);
  assert.match(dmesg, /NIC Link is Up 1000 Mbps Full Duplex/);
  const complaints = dmesg.split('\n').filter((l) => /e1000/.test(l) && /(error|fail|invalid|timeout|hang|bad|unsupported)/i.test(l));
  assert.deepEqual(complaints, []);
  assert.equal((await sh(vm, 'cat /sys/class/net/eth0/address /sys/class/net/eth0/carrier')).trim(), '52:54:00:12:34:56\n1');
  assert.deepEqual(vm.nic!.refusals, {}, 'the driver never did anything the device had to refuse');
});

test('ping -c 100 through the network loses nothing', { skip, timeout: 120_000 }, async () => {
  const out = await sh(vm, 'ping -c 100 -i 0.05 10.0.2.2 | tail -2', 110_000);
  assert.match(out, /100 packets transmitted, 100 packets received, 0% packet loss/);
});

test('a 10 MiB random file goes each way with matching checksums, in proportionate interrupts', { skip, timeout: 600_000 }, async () => {
  const file = testFile(10 * 1024 * 1024, 3);
  const http = await startHttpServer({ '/ten': file });
  const sink = await startTcpSink();
  try {
    const irqsBefore = await ethIrqs();
    const rxBefore = vm.nic!.stats.rxFrames + vm.nic!.stats.txFrames;
    const down = await sh(vm, `wget -q -O - http://10.0.2.2:${http.port}/ten | md5sum`, 300_000);
    assert.equal(down.split(' ')[0], md5(file));
    const frames = vm.nic!.stats.rxFrames + vm.nic!.stats.txFrames - rxBefore;
    const irqs = (await ethIrqs()) - irqsBefore;
    // Interrupts follow traffic (not one per descriptor more than the frames, and not none).
    assert.ok(irqs > 0 && irqs <= frames, `${irqs} interrupts for ${frames} frames`);

    const received = sink.next();
    const up = await sh(vm, `dd if=/dev/urandom of=/tmp/up bs=1M count=10 2>/dev/null && md5sum /tmp/up && nc 10.0.2.2 ${sink.port} < /tmp/up`, 300_000);
    const got = await received;
    assert.equal(got.bytes, 10 * 1024 * 1024);
    assert.equal(got.md5, up.split(' ')[0]);
  } finally {
    await http.close();
    await sink.close();
    await sh(vm, 'rm -f /tmp/up');
  }
});

test('an idle link raises no interrupt storm', { skip }, async () => {
  const before = await ethIrqs();
  await new Promise((r) => setTimeout(r, 3000));
  const after = await ethIrqs();
  assert.ok(after - before < 20, `${after - before} interrupts in 3 idle seconds`);
});

test('pulling the cable is seen by the guest (carrier down), plugging it back brings it up', { skip, timeout: 120_000 }, async () => {
  vm.nic!.setLinkUp(false);
  await waitForGuest('cat /sys/class/net/eth0/carrier', /^0/, 30_000);
  assert.match(await sh(vm, 'dmesg | tail -5'), /NIC Link is Down/);
  const r = await vm.exec('ping -c 2 -W 1 10.0.2.2');
  assert.notEqual(r.status, 0, 'no traffic passes without a cable');
  vm.nic!.setLinkUp(true);
  await waitForGuest('cat /sys/class/net/eth0/carrier', /^1/, 30_000);
  // The driver re-arms after link-up: traffic flows again.
  await waitForGuest('ping -c 1 -W 2 10.0.2.2 >/dev/null && echo ok', /ok/, 30_000);
});
