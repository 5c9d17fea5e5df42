import assert from 'node:assert/strict';
import test from 'node:test';
import type { FlowItem, FlowPacket } from '../../../extension/pipeline/flow/record';
import { download } from './flow-download';

const packets = (items: FlowItem[]) => items.filter((i): i is FlowPacket => i.kind === 'packet');
const flagsOf = (p: FlowPacket) => (p.flags ?? []).join(',');

test('a download through the real TCP stack: handshake, data, teardown, host events and the stack samples, in order', async () => {
  const { flows, id, port, done } = await download(20_000);
  try {
    const snap = flows.snapshot(id)!;
    assert.equal(snap.endpoints.protocol, 'tcp');
    assert.equal(snap.endpoints.guest, '10.0.2.15:45000');
    assert.equal(snap.endpoints.slirp, `10.0.2.2:${port}`);
    assert.equal(snap.endpoints.host, `127.0.0.1:${port}`);
    assert.equal(snap.closed, true);
    const ps = packets(snap.items);
    assert.deepEqual([flagsOf(ps[0]!), ps[0]!.direction], ['SYN', 'tx'], 'the SYN came before its session and is kept');
    assert.equal(snap.items[0], ps[0], 'the SYN comes before the host socket connects');
    assert.ok(snap.items.every((item, i) => i === 0 || item.time >= snap.items[i - 1]!.time), 'in time order');
    assert.deepEqual([flagsOf(ps[1]!), ps[1]!.direction], ['SYN,ACK', 'rx']);
    assert.deepEqual([flagsOf(ps[2]!), ps[2]!.direction], ['ACK', 'tx']);
    assert.ok(ps.some((p) => p.direction === 'rx' && p.flags!.includes('FIN')), 'our FIN');
    assert.ok(ps.some((p) => p.direction === 'tx' && p.flags!.includes('FIN')), 'the guest FIN');
    const data = ps.filter((p) => p.direction === 'rx' && p.len > 0);
    assert.equal(data.reduce((s, p) => s + p.len, 0), 20_000, 'every data byte toward the guest is one arrow');
    assert.ok(ps.every((p) => p.journey !== undefined && !p.retransmission && !p.drop));
    assert.deepEqual(snap.items.map((i) => i.n), snap.items.map((_, k) => k), 'numbered in order');
    const host = snap.items.filter((i) => i.kind === 'host');
    assert.match(host[0]!.text, new RegExp(`^connect 127\\.0\\.0\\.1:${port}$|^connect $`));
    assert.equal(host.filter((h) => h.kind === 'host' && h.event === 'recv').reduce((s, h) => s + (h.kind === 'host' ? h.bytes ?? 0 : 0), 0), 20_000);
    assert.ok(host.some((h) => h.text === 'state ESTABLISHED'));
    assert.equal(host[host.length - 1]!.text, 'close');
    const samples = snap.items.filter((i) => i.kind === 'sample');
    assert.ok(samples.length > 3, 'samples of the stack state');
    assert.ok(samples.some((s) => s.kind === 'sample' && s.srtt > 0), 'srtt measured');
    assert.ok(samples.every((s) => s.kind === 'sample' && s.cwnd > 0 && s.peerWindow >= 0));
    // The detail of an arrow: its frame and its journey.
    const detail = flows.detail(id, ps[1]!.n)!;
    assert.ok(detail.frame && detail.frame.length >= 54);
    assert.match(detail.journey!, /^journey \d+ rx .*SYN/);
    // A live view asks only for what is new.
    const later = flows.snapshot(id, snap.next - 2)!;
    assert.equal(later.items.length, 2);
  } finally {
    await done();
  }
});

test('limits: a flow keeps its latest items and counts what it forgot', async () => {
  const { flows, id, done } = await download(60_000, { perFlow: 40, total: 1000 });
  try {
    const snap = flows.snapshot(id)!;
    assert.ok(snap.items.length <= 40);
    assert.ok(snap.forgotten > 0);
    assert.equal(snap.items[0]!.n, snap.forgotten, 'the oldest are the ones forgotten');
    assert.equal(snap.next, snap.forgotten + snap.items.length);
    assert.equal(flows.detail(id, 0), undefined, 'a forgotten packet has no detail');
  } finally {
    await done();
  }
});
