import assert from 'node:assert/strict';
import test from 'node:test';
import type { FlowItem, FlowPacket } from '../../../extension/pipeline/flow/record';
import { flowFromFrames } from '../../../extension/pipeline/flow/record';
import { FlowRows, visibleRows } from '../../../webview/flow/flow-model';
import { StreamModel, ticks } from '../../../webview/flow/stream-model';
import { isFlowHostMessage, isFlowWebviewMessage } from '../../../webview/shared/flow-protocol';
import { download } from '../runtime/flow-download';
import { ipv4Frame, tcp, TCP } from '../pipeline/frames';

const ACK_ONLY = 0x10;
/** The guest's pure ACKs after the handshake's are lost for a while: the stack must retransmit. */
function losingAcks() {
  let seen = 0;
  return (seg: Uint8Array) => seg[13] === ACK_ONLY && seg.length === 20 + ((seg[12]! >> 4) - 5) * 4 && ++seen > 1 && seen <= 12;
}

test('flow graph rows of a real download: handshake, data, teardown and host events on their lifelines, seq/ack relative', async () => {
  const { flows, id, port, done } = await download(20_000);
  try {
    const items = flows.snapshot(id)!.items;
    const rows = new FlowRows();
    rows.append(items);
    const packetRows = rows.rows.filter((r) => r.packet);
    assert.equal(packetRows.length, items.filter((i) => i.kind === 'packet').length, 'one arrow per packet');
    assert.deepEqual(packetRows.slice(0, 3).map((r) => [r.from, r.to, r.tone]), [[0, 1, 'handshake'], [1, 0, 'handshake'], [0, 1, 'data']]);
    assert.equal(packetRows[0]!.label, 'SYN Seq=0 Len=0 Win=65535');
    assert.match(packetRows[1]!.label, /^SYN, ACK Seq=0 Ack=1 Len=0 Win=\d+$/);
    assert.match(packetRows[2]!.label, /^ACK Seq=1 Ack=1 Len=0 Win=\d+$/);
    assert.ok(packetRows.some((r) => r.tone === 'fin' && r.from === 1 && /^FIN, PSH, ACK|^FIN, ACK/.test(r.label)), 'our FIN drawn toward the guest');
    assert.ok(packetRows.some((r) => r.tone === 'fin' && r.from === 0), 'the guest FIN drawn toward slirp');
    const host = rows.rows.filter((r) => !r.packet);
    assert.deepEqual([host[0]!.from, host[0]!.to, host[0]!.label], [1, 2, `connect 127.0.0.1:${port}`]);
    assert.ok(host.some((r) => r.from === 2 && r.to === 1 && /^recv \d+ bytes$/.test(r.label)), 'host reads come from the host lifeline');
    assert.ok(host.some((r) => r.from === 1 && r.to === 1 && r.label === 'state ESTABLISHED'));
    assert.ok(rows.rows.every((r, i) => i === 0 || r.time >= rows.rows[i - 1]!.time), 'time runs forward');
    // A filter's matches keep only the packets it named.
    const kept = new Set([packetRows[0]!.n, packetRows[1]!.n]);
    assert.deepEqual(visibleRows(rows.rows, kept).map((r) => r.n), [...kept]);
    assert.equal(visibleRows(rows.rows, undefined).length, rows.rows.length);
    // Appending in pieces gives the same rows as all at once (a live view).
    const live = new FlowRows();
    for (let i = 0; i < items.length; i += 7) live.append(items.slice(i, i + 7));
    assert.deepEqual(live.rows, rows.rows);
  } finally {
    await done();
  }
});

test('TCP stream graph series of a real download: every byte once, ACKs climb to the end, the window leads the ACKs, samples from the stack', async () => {
  const { flows, id, done } = await download(50_000);
  try {
    const model = new StreamModel();
    model.add(flows.snapshot(id)!.items);
    const s = model.series;
    assert.equal(s.toGuest.bytes, 50_000);
    assert.equal(s.toHost.bytes, 0);
    const bars = [...s.toGuest.data].sort((a, b) => a[1] - b[1]);
    assert.equal(bars[0]![1], 1, 'data starts after the SYN');
    assert.ok(bars.every((b, i) => i === 0 || b[1] === bars[i - 1]![2]), 'segments are contiguous');
    assert.equal(bars[bars.length - 1]![2], 50_001);
    assert.deepEqual(s.toGuest.retransmissions, []);
    const acks = s.toGuest.acks.map((p) => p[1]);
    assert.ok(acks.every((a, i) => i === 0 || a >= acks[i - 1]!), 'cumulative ACKs never go back');
    assert.equal(acks[acks.length - 1], 50_002, 'the last ACK covers the data and our FIN');
    assert.ok(s.toGuest.window.every((w, i) => w[1] >= s.toGuest.acks[i]![1]));
    assert.ok(s.cwnd.length > 3 && s.cwnd.every((p) => p[1] > 0));
    assert.ok(s.cwnd[s.cwnd.length - 1]![1] > s.cwnd[0]![1], 'slow start opened the window');
    assert.ok(s.srtt.length > 0);
    assert.deepEqual(model.zeroWindows, []);
    // The time axis ends at the last segment; the TIME_WAIT after it is told apart.
    const items = flows.snapshot(id)!.items;
    const last = items.filter((i) => i.kind === 'packet').at(-1)!;
    assert.equal(s.end, last.time - items[0]!.time);
    assert.ok(s.timeWait && s.timeWait.from <= s.end + 1, `TIME_WAIT from the end of the transfer: ${JSON.stringify(s.timeWait)}`);
    assert.ok(s.timeWait.to! - s.timeWait.from >= 1000, 'until the session closed, long after');
  } finally {
    await done();
  }
});

test('lost ACKs: the stack retransmits, the recorder marks it, both views colour it', async () => {
  const { flows, id, done } = await download(30_000, undefined, losingAcks());
  try {
    const items = flows.snapshot(id)!.items;
    const again = items.filter((i): i is FlowPacket => i.kind === 'packet' && i.retransmission === true);
    assert.ok(again.length > 0, 'a retransmitted segment');
    assert.ok(again.every((p) => p.direction === 'rx'));
    const rows = new FlowRows();
    rows.append(items);
    assert.ok(rows.rows.some((r) => r.tone === 'retransmission' && r.comment.startsWith('[retransmission]')));
    const model = new StreamModel();
    model.add(items);
    assert.ok(model.series.toGuest.retransmissions.length > 0);
    assert.ok(model.series.retransmitTimes.length > 0, 'the stack counted it');
    assert.equal(model.series.toGuest.bytes, 30_000, 'retransmitted bytes are not counted twice');
  } finally {
    await done();
  }
});

test('frames read elsewhere (a capture) make the same packets as the live recorder', async () => {
  const { flows, id, done } = await download(5_000);
  try {
    const live = flows.snapshot(id)!.items.filter((i): i is FlowPacket => i.kind === 'packet');
    const frames = live.map((p) => ({ time: p.time, frame: flows.detail(id, p.n)!.frame! }));
    const { endpoints, items, source } = flowFromFrames([{ time: 0, frame: new Uint8Array(10) }, ...frames]);
    assert.equal(endpoints.guest, '10.0.2.15:45000');
    assert.deepEqual(source.slice(0, 2), [1, 2], 'a frame that is not IP is skipped');
    const strip = (p: FlowPacket) => [p.direction, p.flags, p.seq, p.ack, p.len, p.win, p.retransmission ?? false];
    assert.deepEqual(items.map(strip), live.map(strip));
  } finally {
    await done();
  }
});

test('the flow views\' messages are checked: well-formed ones pass, anything else is refused', () => {
  const packet: FlowItem = { kind: 'packet', n: 0, time: 1, direction: 'tx', protocol: 'tcp', summary: 's', flags: ['SYN'], seq: 1, ack: 0, len: 0, win: 5 };
  assert.ok(isFlowHostMessage({ type: 'items', items: [packet], forgotten: 0, closed: false, state: 'ESTABLISHED', host: '127.0.0.1:80' }));
  assert.ok(!isFlowHostMessage({ type: 'items', items: [{ ...packet, direction: 'up' }], forgotten: 0, closed: false, state: '', host: '' }));
  assert.ok(!isFlowHostMessage({ type: 'items', items: [{ ...packet, seq: -1 }], forgotten: 0, closed: false, state: '', host: '' }));
  assert.ok(!isFlowHostMessage({ type: 'init', view: 'pie', title: 't', endpoints: { protocol: 'tcp', guest: '', slirp: '', host: '' }, live: true }));
  assert.ok(!isFlowHostMessage({ type: 'detail', n: 1, fields: { ip: { 'ip.src': 5 } } }));
  assert.ok(isFlowWebviewMessage({ type: 'select', n: 3 }));
  assert.ok(!isFlowWebviewMessage({ type: 'select', n: -3 }));
  assert.ok(!isFlowWebviewMessage({ type: 'filter', text: 'x'.repeat(5000) }));
  assert.ok(!isFlowWebviewMessage({ type: 'export', format: 'gif', data: 'AAAA' }));
  assert.ok(!isFlowWebviewMessage(null));
  assert.deepEqual(ticks(1000), [0, 200, 400, 600, 800, 1000]);
  assert.deepEqual(ticks(0), [0]);
});

test('windows are shown in bytes: scaled by the shift each SYN announced, a SYN\'s own window never', () => {
  const G = { src: '10.0.2.15', dst: '10.0.2.2', proto: 6 };
  const R = { src: '10.0.2.2', dst: '10.0.2.15', proto: 6 };
  const seg = (o: typeof G, t: Parameters<typeof tcp>[0]) => ({ time: 0, frame: ipv4Frame(o, tcp(t)) });
  const scaled = flowFromFrames([
    seg(G, { sport: 40000, dport: 80, seq: 100, flags: TCP.SYN, window: 64240, mss: 1460, wscale: 7 }),
    seg(R, { sport: 80, dport: 40000, seq: 500, ack: 101, flags: TCP.SYN | TCP.ACK, window: 65535, wscale: 2 }),
    seg(G, { sport: 40000, dport: 80, seq: 101, ack: 501, flags: TCP.ACK, window: 502 }),
    seg(R, { sport: 80, dport: 40000, seq: 501, ack: 101, flags: TCP.ACK, window: 1000 }),
  ]).items;
  assert.deepEqual(scaled.map((p) => p.win), [64240, 65535, 502 * 128, 1000 * 4]);
  const rows = new FlowRows();
  rows.append(scaled);
  assert.match(rows.rows[2]!.label, / Win=64256$/);
  const model = new StreamModel();
  model.add(scaled);
  assert.deepEqual(model.series.toGuest.window.at(-1), [0, 1 + 64256], 'the window line toward the guest is the ACK plus the guest\'s window in bytes');
  // One side without the option: neither window is scaled (RFC 7323).
  const unscaled = flowFromFrames([
    seg(G, { sport: 40000, dport: 80, seq: 100, flags: TCP.SYN, window: 64240, wscale: 7 }),
    seg(R, { sport: 80, dport: 40000, seq: 500, ack: 101, flags: TCP.SYN | TCP.ACK, window: 65535 }),
    seg(G, { sport: 40000, dport: 80, seq: 101, ack: 501, flags: TCP.ACK, window: 502 }),
  ]).items;
  assert.deepEqual(unscaled.map((p) => p.win), [64240, 65535, 502]);
});
