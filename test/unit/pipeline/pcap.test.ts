import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { FilterSyntaxError } from '../../../extension/pipeline/filter';
import { attachCapture, captureStages } from '../../../extension/pipeline/capture';
import { PcapWriter } from '../../../extension/pipeline/pcap';
import { ProbeHub } from '../../../extension/pipeline/probe';
import * as P from './packets';

interface PcapRecord { sec: number; usec: number; caplen: number; origlen: number; data: Buffer }
interface PcapFile { magic: number; major: number; minor: number; thiszone: number; sigfigs: number; snaplen: number; linktype: number; records: PcapRecord[] }

/** An independent reader of the classic format, to check what the writer wrote. */
function readPcap(buf: Buffer): PcapFile {
  assert.ok(buf.length >= 24, 'file header present');
  const file: PcapFile = {
    magic: buf.readUInt32LE(0), major: buf.readUInt16LE(4), minor: buf.readUInt16LE(6), thiszone: buf.readInt32LE(8),
    sigfigs: buf.readUInt32LE(12), snaplen: buf.readUInt32LE(16), linktype: buf.readUInt32LE(20), records: [],
  };
  let off = 24;
  while (off < buf.length) {
    assert.ok(off + 16 <= buf.length, 'whole record header');
    const caplen = buf.readUInt32LE(off + 8);
    assert.ok(off + 16 + caplen <= buf.length, 'whole record');
    file.records.push({ sec: buf.readUInt32LE(off), usec: buf.readUInt32LE(off + 4), caplen, origlen: buf.readUInt32LE(off + 12), data: buf.subarray(off + 16, off + 16 + caplen) });
    off += 16 + caplen;
  }
  return file;
}

function tempFile(name: string): { path: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-pcap-'));
  return { path: join(dir, name), done: () => rmSync(dir, { recursive: true, force: true }) };
}

test('a capture writes the libpcap header and one record per frame at the net queue', async () => {
  const hub = new ProbeHub();
  const f = tempFile('all.pcap');
  let t = 1_700_000_000_123_456;
  const cap = attachCapture(hub, { file: f.path, now: () => (t += 1_000_001) });
  assert.ok(hub.probes.qemu_send_packet.armed && hub.probes.qemu_receive_packet.armed);
  assert.ok(!hub.probes.slirp_input.armed);
  hub.probes.qemu_send_packet.fire({ stage: 'qemu_send_packet', frame: P.syn });
  hub.probes.qemu_receive_packet.fire({ stage: 'qemu_receive_packet', frame: P.synAck });
  hub.probes.slirp_input.fire({ stage: 'slirp_input', frame: P.httpGet }); // not a capture stage
  const stats = await cap.stop();
  assert.ok(!hub.probes.qemu_send_packet.armed && !hub.probes.qemu_receive_packet.armed);
  assert.deepEqual({ ...stats, bytes: 0 }, { captured: 2, filtered: 0, truncated: 0, dropped: 0, bytes: 0 });
  const file = readPcap(readFileSync(f.path));
  assert.equal(stats.bytes, 24 + 16 * 2 + P.syn.length + P.synAck.length);
  assert.equal(file.magic, 0xa1b2c3d4);
  assert.deepEqual([file.major, file.minor, file.thiszone, file.sigfigs], [2, 4, 0, 0]);
  assert.equal(file.snaplen, 262144);
  assert.equal(file.linktype, 1);
  assert.equal(file.records.length, 2);
  assert.deepEqual(file.records.map((r) => [r.sec, r.usec]), [[1_700_000_001, 123_457], [1_700_000_002, 123_458]]);
  assert.deepEqual(file.records[0]!.data, Buffer.from(P.syn));
  assert.deepEqual(file.records[1]!.data, Buffer.from(P.synAck));
  assert.equal(file.records[0]!.origlen, P.syn.length);
  f.done();
});

test('the snap length cuts frames and keeps their original length', async () => {
  const hub = new ProbeHub();
  const f = tempFile('snap.pcap');
  const cap = attachCapture(hub, { file: f.path, snaplen: 64 });
  for (const frame of [P.syn, P.dhcpDiscover, P.arpRequest]) hub.probes.qemu_send_packet.fire({ stage: 'qemu_send_packet', frame });
  const stats = await cap.stop();
  assert.equal(stats.captured, 3);
  assert.equal(stats.truncated, 1);
  const file = readPcap(readFileSync(f.path));
  assert.equal(file.snaplen, 64);
  assert.deepEqual(file.records.map((r) => [r.caplen, r.origlen]), [[62, 62], [64, P.dhcpDiscover.length], [60, 60]]);
  assert.deepEqual(file.records[1]!.data, Buffer.from(P.dhcpDiscover.subarray(0, 64)));
  f.done();
});

test('the capture filter keeps only matching frames and counts the rest', async () => {
  const hub = new ProbeHub();
  const f = tempFile('filtered.pcap');
  const cap = attachCapture(hub, { file: f.path, filter: 'dns || arp.opcode == 2', stages: ['slirp_input'] });
  for (const frame of Object.values(P.ALL)) hub.probes.slirp_input.fire({ stage: 'slirp_input', frame });
  const stats = await cap.stop();
  assert.equal(stats.captured, 3);
  assert.equal(stats.filtered, Object.keys(P.ALL).length - 3);
  const file = readPcap(readFileSync(f.path));
  assert.deepEqual(file.records.map((r) => r.data), [Buffer.from(P.arpReply), Buffer.from(P.dnsQuery), Buffer.from(P.dnsResponse)]);
  f.done();
});

test('the captured frame is a copy: later changes to the live buffer do not reach the file', async () => {
  const hub = new ProbeHub();
  const f = tempFile('copy.pcap');
  const cap = attachCapture(hub, { file: f.path });
  const live = Uint8Array.from(P.ping);
  hub.probes.qemu_send_packet.fire({ stage: 'qemu_send_packet', frame: live });
  live.fill(0);
  await cap.stop();
  assert.deepEqual(readPcap(readFileSync(f.path)).records[0]!.data, Buffer.from(P.ping));
  f.done();
});

test('bad filters, snap lengths and paths fail before anything is armed', () => {
  const hub = new ProbeHub();
  const f = tempFile('never.pcap');
  assert.throws(() => attachCapture(hub, { file: f.path, filter: 'tcp.port ==' }), (e: unknown) => e instanceof FilterSyntaxError && e.column === 12);
  assert.throws(() => attachCapture(hub, { file: f.path, snaplen: 0 }), /snap length/);
  assert.throws(() => attachCapture(hub, { file: join(f.path, 'no', 'such', 'dir.pcap') }), /cannot create capture file/);
  assert.ok(!hub.probes.qemu_send_packet.armed);
  f.done();
});

test('buffering is bounded: a stream that does not drain drops frames and counts them', async () => {
  const stream = new PassThrough({ highWaterMark: 16 }); // never read while writing
  const writer = new PcapWriter(stream, 65535, 24 + 3 * (16 + 62));
  for (let i = 0; i < 10; i++) writer.write(P.syn, { stage: 'qemu_send_packet', micros: 0 });
  assert.equal(writer.stats.captured, 3);
  assert.equal(writer.stats.dropped, 7);
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await writer.close();
  assert.equal(readPcap(Buffer.concat(chunks)).records.length, 3);
});

test('stop() can be called twice and returns the same stats', async () => {
  const hub = new ProbeHub();
  const f = tempFile('twice.pcap');
  const cap = attachCapture(hub, { file: f.path });
  hub.probes.qemu_receive_packet.fire({ stage: 'qemu_receive_packet', frame: P.pong });
  const a = await cap.stop();
  const b = await cap.stop();
  assert.equal(a, b);
  assert.equal(a.captured, 1);
  f.done();
});

test('the default capture stages: the net queue, or slirp\'s edge when the engine is QEMU', () => {
  assert.deepEqual(captureStages(), ['qemu_send_packet', 'qemu_receive_packet']);
  assert.deepEqual(captureStages('embedded'), ['qemu_send_packet', 'qemu_receive_packet']);
  // QEMU owns the NIC and the net queue: only our slirp's probes fire.
  assert.deepEqual(captureStages('qemu'), ['net_slirp_receive', 'net_slirp_send_packet']);
});

test('under the QEMU engine the capture records the frames crossing net_slirp_receive and net_slirp_send_packet', async () => {
  const hub = new ProbeHub();
  const f = tempFile('qemu.pcap');
  const cap = attachCapture(hub, { file: f.path, engine: 'qemu' });
  assert.ok(hub.probes.net_slirp_receive.armed && hub.probes.net_slirp_send_packet.armed);
  assert.ok(!hub.probes.qemu_send_packet.armed && !hub.probes.qemu_receive_packet.armed);
  hub.probes.net_slirp_receive.fire({ stage: 'net_slirp_receive', frame: P.syn });
  hub.probes.slirp_input.fire({ stage: 'slirp_input', frame: P.syn }); // the same frame further in: not captured twice
  hub.probes.net_slirp_send_packet.fire({ stage: 'net_slirp_send_packet', frame: P.synAck });
  const stats = await cap.stop();
  assert.ok(!hub.probes.net_slirp_receive.armed && !hub.probes.net_slirp_send_packet.armed);
  assert.equal(stats.captured, 2);
  assert.deepEqual(readPcap(readFileSync(f.path)).records.map((r) => r.data), [Buffer.from(P.syn), Buffer.from(P.synAck)]);
  f.done();
});
