/**
 * Network conditions as the guest's own tools see them: ping's RTTs and
 * losses, a download's checksum and pace, a UDP reply arriving twice. One
 * guest for the file; each test sets its rules and clears them after.
 */
import { test, before, after, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import type { EmbeddedMachine } from '../../extension/machine/embedded-machine';
import { NetworkConditions } from '../../extension/pipeline/netem';
import { containmentProblem } from '../support/containment';
import { startGuest, sh } from '../support/guest';
import { startDnsServer, startHttpServer, testFile, md5 } from '../support/host-servers';

const skip = containmentProblem();
let vm: EmbeddedMachine;
let conditions: NetworkConditions;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
before(async () => {
  if (skip) return;
  dns = await startDnsServer({ 'netem.test': '10.9.9.9' });
  vm = await startGuest({ dnsPort: dns.port });
  conditions = new NetworkConditions(vm.probes, vm.clock, { seed: 17 });
});
afterEach(() => conditions?.clear());
after(async () => {
  await vm?.stop();
  await dns?.close();
});

/** ping's per-reply times and its loss line. */
async function ping(count: number, intervalS: number): Promise<{ rtts: number[]; received: number }> {
  const out = await vm.exec(`ping -c ${count} -i ${intervalS} -W 2 10.0.2.2`, 120_000);
  const rtts = [...out.output.matchAll(/time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  const received = Number(/(\d+) packets received/.exec(out.output)?.[1] ?? NaN);
  assert.ok(Number.isFinite(received), `no ping summary: ${out.output}`);
  return { rtts, received };
}

test('delay 100ms on echo replies: every RTT is at least 100 ms', { skip, timeout: 120_000 }, async () => {
  const before = await ping(3, 0.2);
  conditions.add('icmp_reflect: delay 100ms');
  const { rtts, received } = await ping(5, 0.2);
  assert.equal(received, 5);
  assert.ok(rtts.every((t) => t >= 100), `RTTs ${rtts.join(', ')} (without the rule: ${before.rtts.join(', ')})`);
  assert.equal(conditions.list()[0]!.counters.delayed, 5);
});

test('loss 50% on icmp_input loses 25-75% of 40 pings, each counted as netem-loss', { skip, timeout: 120_000 }, async () => {
  const droppedBefore = vm.probes.drops.count('netem-loss', 'icmp_input');
  conditions.add('icmp_input: loss 50%');
  const { received } = await ping(40, 0.05);
  const lost = 40 - received;
  assert.ok(lost >= 10 && lost <= 30, `lost ${lost} of 40`);
  assert.equal(vm.probes.drops.count('netem-loss', 'icmp_input') - droppedBefore, lost);
});

test('mtu 576 on ip_input: the guest learns the path MTU from our "fragmentation needed", fragments its next pings, and they are answered', { skip, timeout: 120_000 }, async () => {
  conditions.add('ip_input if icmp: mtu 576');
  // busybox ping sets DF (path MTU discovery): the first 1000-byte ping is refused with the MTU to use.
  const dropsBefore = vm.probes.drops.count('netem-mtu', 'ip_input');
  const out = await vm.exec('ping -c 4 -i 0.3 -W 2 -s 1000 10.0.2.2', 60_000);
  const received = Number(/(\d+) packets received/.exec(out.output)?.[1] ?? NaN);
  // The later ones only pass `mtu 576` as fragments of at most 576 bytes: the guest learnt the path MTU from our error.
  assert.equal(received, 3, `the first ping refused, the rest answered: ${out.output}`);
  assert.match(out.output, /seq=3 /);
  assert.equal(vm.probes.drops.count('netem-mtu', 'ip_input') - dropsBefore, 1, 'only the first was too big');
  await vm.exec('ip route flush cache');
});

test('UDP duplicate 100%: the guest kernel takes in every DNS answer twice', { skip, timeout: 120_000 }, async () => {
  conditions.add('ip_output if udp.srcport == 53: duplicate 100%');
  const queriesBefore = dns.queries.length;
  const inBefore = await ipArrivals();
  await sh(vm, 'nslookup netem.test 10.0.2.3', 30_000);
  const queries = dns.queries.length - queriesBefore;
  assert.ok(queries >= 1, 'the query reached the host resolver');
  // The last copy may still be on its way when nslookup has its answer.
  let arrived = 0;
  for (let i = 0; i < 20 && arrived < 2 * queries; i++) arrived = (await ipArrivals()) - inBefore;
  assert.equal(arrived, 2 * queries, 'two datagrams in per answer');
  assert.equal(conditions.list()[0]!.counters.duplicated, queries);
});

/**
 * IP datagrams the guest kernel took in (/proc/net/snmp, Ip: InReceives). Not
 * Udp: InDatagrams, which Linux counts only when a program reads one.
 */
async function ipArrivals(): Promise<number> {
  const lines = (await sh(vm, 'grep ^Ip: /proc/net/snmp')).trim().split('\n');
  const names = lines[0]!.split(/\s+/);
  const values = lines[1]!.split(/\s+/);
  return Number(values[names.indexOf('InReceives')]);
}

test('rate 1mbit holds a download to 1 Mbit/s within 10%', { skip, timeout: 180_000 }, async () => {
  const file = testFile(768 * 1024, 5);
  const http = await startHttpServer({ '/f': file });
  // The pace the guest is given: TCP payload bytes reaching its NIC, on the VM clock (the rule's own time base).
  let first = -1;
  let last = 0;
  let bytes = 0;
  const stop = vm.probes.probes.qemu_receive_packet.listen((hit) => {
    const f = hit.frame;
    if (f.length < 54 || f[23] !== 6 || ((f[34]! << 8) | f[35]!) !== http.port) return;
    const payload = ((f[16]! << 8) | f[17]!) - 20 - (f[46]! >> 4) * 4;
    if (payload <= 0) return;
    const now = vm.clock.now();
    if (first < 0) first = now;
    else bytes += payload;
    last = now;
  });
  try {
    conditions.add('tcp_output: rate 1mbit');
    const out = await sh(vm, `wget -q -O - http://10.0.2.2:${http.port}/f | md5sum`, 150_000);
    assert.equal(out.split(' ')[0], md5(file));
    const mbit = (bytes * 8) / ((last - first) / 1000) / 1e6;
    assert.ok(mbit >= 0.9 && mbit <= 1.1, `${mbit.toFixed(3)} Mbit/s over ${((last - first) / 1000).toFixed(2)} s`);
  } finally {
    stop();
    await http.close();
  }
});

test('loss 5% on TCP toward the guest: a 10 MiB download is intact and our stack retransmitted', { skip, timeout: 600_000 }, async () => {
  const file = testFile(10 * 1024 * 1024, 9);
  const http = await startHttpServer({ '/ten': file });
  const retransmissions = countRetransmissions();
  try {
    const rule = conditions.add(`tcp_output if tcp.srcport == ${http.port}: loss 5%`);
    const out = await sh(vm, `wget -q -O - http://10.0.2.2:${http.port}/ten | md5sum`, 540_000);
    assert.equal(out.split(' ')[0], md5(file));
    const c = conditions.list().find((r) => r.id === rule.id)!.counters;
    assert.ok(c.dropped > 0 && c.dropped < c.matched * 0.1, `dropped ${c.dropped} of ${c.matched}`);
    assert.ok(retransmissions.count >= c.dropped * 0.5, `retransmissions ${retransmissions.count} for ${c.dropped} losses`);
  } finally {
    retransmissions.stop();
    await http.close();
  }
});

/**
 * Our stack's retransmissions toward the guest, seen at tcp_output (before any
 * rule there): a data segment that ends at or below the highest end sent so far.
 */
function countRetransmissions(): { readonly count: number; stop(): void } {
  let highest = -1;
  let count = 0;
  const stop = vm.probes.probes.tcp_output.listen((hit) => {
    const f = hit.frame;
    if (f.length < 54) return;
    const seq = ((f[38]! << 24) | (f[39]! << 16) | (f[40]! << 8) | f[41]!) >>> 0;
    const payload = f.length - 34 - (f[46]! >> 4) * 4;
    if (payload <= 0) return;
    const end = (seq + payload) >>> 0;
    if (highest >= 0 && ((end - highest) | 0) <= 0) count++;
    else highest = end;
  });
  return {
    get count() {
      return count;
    },
    stop,
  };
}
