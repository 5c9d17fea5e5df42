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

test('limits: a flow a view reads keeps its head and its latest items, and counts what it let go', async () => {
  const { flows, id, done } = await download(60_000, { perFlow: 40, total: 1000, head: 8, tail: 16 }, undefined, true);
  try {
    const snap = flows.snapshot(id)!;
    assert.ok(snap.items.length <= 40);
    assert.ok(snap.forgotten > 0);
    assert.deepEqual(snap.items.slice(0, 8).map((i) => i.n), [0, 1, 2, 3, 4, 5, 6, 7], 'the head (the handshake) stays');
    assert.equal(snap.items[8]!.n, 8 + snap.forgotten, 'the oldest after it are the ones let go');
    assert.equal(snap.next, snap.forgotten + snap.items.length);
    assert.equal(flows.detail(id, 8), undefined, 'a packet let go has no detail');
    assert.equal(flows.snapshot(id, snap.items[9]!.n)!.items[0], snap.items[9], 'a live view asks from any n');
  } finally {
    await done();
  }
});

test('a flow no view reads keeps only its head and its latest items; one that is read is kept whole', async () => {
  const limits = { perFlow: 20_000, total: 200_000, head: 10, tail: 40 };
  const unread = await download(200_000, limits);
  try {
    const snap = unread.flows.snapshot(unread.id)!;
    assert.ok(snap.items.length <= 10 + 40 * 1.25, `${snap.items.length} items kept`);
    assert.ok(snap.forgotten > 100, `${snap.forgotten} let go`);
    assert.deepEqual(packets(snap.items).slice(0, 3).map(flagsOf), ['SYN', 'SYN,ACK', 'ACK'], 'how it began');
    const end = snap.items.at(-1)!;
    assert.equal(end.kind === 'host' ? end.text : end.kind, 'close', 'how it ended');
    assert.ok(snap.items.every((item, i) => i === 0 || item.n > snap.items[i - 1]!.n));
    const last = packets(snap.items).at(-1)!;
    assert.match(unread.flows.detail(unread.id, last.n)!.journey!, /^journey \d+ /, 'a kept packet has its journey');
  } finally {
    await unread.done();
  }
  const read = await download(200_000, limits, undefined, true);
  try {
    const snap = read.flows.snapshot(read.id)!;
    assert.equal(snap.forgotten, 0, 'read all along: nothing let go');
    assert.equal(packets(snap.items).filter((p) => p.direction === 'rx').reduce((s, p) => s + p.len, 0), 200_000);
  } finally {
    await read.done();
  }
});

test('a guest segment the stack drops keeps its arrow, marked with the stage and the reason', async () => {
  let corrupted = 0;
  // The guest's third pure ACK reaches the slirp with a bad checksum (the segment is TCP only: its checksum is at 16).
  const corrupt = (seg: Uint8Array) => {
    if (seg[13] === 0x10 && seg.length === 20 + ((seg[12]! >> 4) - 5) * 4 && ++corrupted === 3) seg[16]! ^= 0xff;
    return false;
  };
  const { flows, id, done } = await download(30_000, undefined, corrupt);
  try {
    const dropped = packets(flows.snapshot(id)!.items).filter((p) => p.drop);
    assert.deepEqual(dropped.map((p) => [p.direction, flagsOf(p), p.drop]), [['tx', 'ACK', { reason: 'tcp-bad-checksum', stage: 'tcp_input' }]]);
  } finally {
    await done();
  }
});
