import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { CaptureFileError, packetBytes, readCaptureFile, type CaptureFile } from '../../../extension/pipeline/capture-file';
import { PcapWriter } from '../../../extension/pipeline/pcap';
import { PcapngWriter } from '../../../extension/pipeline/pcapng';
import { arp, icmpEcho, ipv4Frame, GUEST_MAC } from './frames';

const wiresharkMissing = ['tshark', 'editcap', 'mergecap'].map((t) => (spawnSync(t, ['--version'], { stdio: 'ignore' }).error ? t : '')).filter(Boolean);
const skipTools = wiresharkMissing.length ? `${wiresharkMissing.join(', ')} not installed: apt-get install tshark` : undefined;

const PING = ipv4Frame({ src: '10.0.2.15', dst: '10.0.2.2', proto: 1 }, icmpEcho(8, 7, 1));
const PONG = ipv4Frame({ src: '10.0.2.2', dst: '10.0.2.15', proto: 1 }, icmpEcho(0, 7, 1));
const WHO_HAS = arp(1, GUEST_MAC, '10.0.2.15', '00:00:00:00:00:00', '10.0.2.2');

/** Runs a writer over a stream and gives back every byte it wrote. */
async function collect(write: (stream: PassThrough) => { close(): Promise<unknown> }): Promise<Buffer> {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  await write(stream).close();
  return Buffer.concat(chunks);
}

function ourPcapng(): Promise<Buffer> {
  return collect((s) => {
    const w = new PcapngWriter(s);
    w.write(PING, { stage: 'qemu_send_packet', micros: 1_700_000_000_123_456, comment: 'journey 1 stage qemu_send_packet' });
    w.write(PONG, { stage: 'net_slirp_send_packet', micros: 1_700_000_000_223_456, comment: 'journey 2 reply-to 1 nat 10.0.2.15:7 <-> 127.0.0.1:7' });
    w.write(WHO_HAS, { stage: 'qemu_send_packet', micros: 1_700_000_001_000_000 });
    return w;
  });
}

function tool(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
}

test('our pcapng reads back: an interface per stage with its name, each packet on it, with its comment, direction and time', async () => {
  const bytes = await ourPcapng();
  const f = readCaptureFile(bytes);
  assert.equal(f.format, 'pcapng');
  assert.equal(f.problem, undefined);
  assert.deepEqual(f.interfaces.map((i) => [i.name, i.linkType]), [['qemu_send_packet', 1], ['net_slirp_send_packet', 1]]);
  assert.match(f.interfaces[0]!.description, /guest to host/);
  assert.deepEqual(f.packets.map((p) => p.interfaceId), [0, 1, 0]);
  assert.deepEqual(f.packets.map((p) => p.comments), [['journey 1 stage qemu_send_packet'], ['journey 2 reply-to 1 nat 10.0.2.15:7 <-> 127.0.0.1:7'], []]);
  assert.deepEqual(f.packets.map((p) => p.direction), [2, 1, 2]);
  assert.deepEqual([f.packets[0]!.seconds, f.packets[0]!.nanos], [1_700_000_000, 123_456_000]);
  assert.deepEqual(Uint8Array.from(packetBytes(bytes, f.packets[1]!)), PONG);
  assert.deepEqual(Uint8Array.from(packetBytes(bytes, f.packets[2]!)), WHO_HAS);
});

test('our classic pcap reads back: one Ethernet interface, microsecond times, the bytes as written', async () => {
  const bytes = await collect((s) => {
    const w = new PcapWriter(s, 64);
    w.write(PING, { stage: 'qemu_send_packet', micros: 1_700_000_000_000_001 });
    w.write(PONG, { stage: 'qemu_send_packet', micros: 1_700_000_002_500_000 });
    return w;
  });
  const f = readCaptureFile(bytes);
  assert.equal(f.format, 'pcap');
  assert.deepEqual(f.interfaces.map((i) => [i.linkType, i.snaplen]), [[1, 64]]);
  assert.deepEqual(f.packets.map((p) => [p.seconds, p.nanos]), [[1_700_000_000, 1000], [1_700_000_002, 500_000_000]]);
  // The snap length cut the frames: captured and original lengths both kept.
  assert.deepEqual(f.packets.map((p) => [p.capturedLength, p.originalLength]), [[60, 60], [60, 60]].map(([c, o]) => [Math.min(64, c!), o]));
  assert.deepEqual(Uint8Array.from(packetBytes(bytes, f.packets[0]!)), PING.subarray(0, 64));
});

/** A classic pcap by hand: either byte order, either unit. */
function handPcap(littleEndian: boolean, nanos: boolean, records: Array<{ s: number; frac: number; data: Uint8Array }>): Buffer {
  const h = Buffer.alloc(24);
  const w32 = (b: Buffer, v: number, o: number) => (littleEndian ? b.writeUInt32LE(v, o) : b.writeUInt32BE(v, o));
  const w16 = (b: Buffer, v: number, o: number) => (littleEndian ? b.writeUInt16LE(v, o) : b.writeUInt16BE(v, o));
  w32(h, nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  w16(h, 2, 4);
  w16(h, 4, 6);
  w32(h, 65535, 16);
  w32(h, 1, 20);
  const parts = [h];
  for (const r of records) {
    const rh = Buffer.alloc(16);
    w32(rh, r.s, 0);
    w32(rh, r.frac, 4);
    w32(rh, r.data.length, 8);
    w32(rh, r.data.length, 12);
    parts.push(rh, Buffer.from(r.data));
  }
  return Buffer.concat(parts);
}

test('classic pcap in both byte orders and both units gives the same packets and times', () => {
  for (const le of [true, false]) {
    const us = readCaptureFile(handPcap(le, false, [{ s: 10, frac: 250_000, data: PING }]));
    const ns = readCaptureFile(handPcap(le, true, [{ s: 10, frac: 250_000_001, data: PING }]));
    assert.deepEqual([us.packets[0]!.seconds, us.packets[0]!.nanos], [10, 250_000_000], `le=${le} us`);
    assert.deepEqual([ns.packets[0]!.seconds, ns.packets[0]!.nanos], [10, 250_000_001], `le=${le} ns`);
    assert.equal(us.packets[0]!.capturedLength, PING.length);
  }
});

/** pcapng blocks by hand, in either byte order. */
class NgBuilder {
  private parts: Buffer[] = [];
  constructor(private readonly le = true) {}
  private u32(v: number): Buffer { const b = Buffer.alloc(4); if (this.le) b.writeUInt32LE(v >>> 0); else b.writeUInt32BE(v >>> 0); return b; }
  private u16(v: number): Buffer { const b = Buffer.alloc(2); if (this.le) b.writeUInt16LE(v); else b.writeUInt16BE(v); return b; }
  private pad(b: Buffer): Buffer { return Buffer.concat([b, Buffer.alloc((4 - (b.length % 4)) % 4)]); }
  opts(list: Array<[number, Buffer]>): Buffer {
    if (!list.length) return Buffer.alloc(0);
    return Buffer.concat([...list.flatMap(([c, v]) => [this.u16(c), this.u16(v.length), this.pad(v)]), Buffer.alloc(4)]);
  }
  block(type: number, body: Buffer): this {
    const total = 12 + body.length;
    this.parts.push(this.u32(type), this.u32(total), body, this.u32(total));
    return this;
  }
  shb(): this { return this.block(0x0a0d0d0a, Buffer.concat([this.u32(0x1a2b3c4d), this.u16(1), this.u16(0), Buffer.alloc(8, 0xff)])); }
  idb(linkType: number, opts: Array<[number, Buffer]> = [], snaplen = 0): this {
    return this.block(1, Buffer.concat([this.u16(linkType), this.u16(0), this.u32(snaplen), this.opts(opts)]));
  }
  epb(iface: number, hi: number, lo: number, data: Uint8Array, opts: Array<[number, Buffer]> = []): this {
    return this.block(6, Buffer.concat([this.u32(iface), this.u32(hi), this.u32(lo), this.u32(data.length), this.u32(data.length), this.pad(Buffer.from(data)), this.opts(opts)]));
  }
  spb(data: Uint8Array): this { return this.block(3, Buffer.concat([this.u32(data.length), this.pad(Buffer.from(data))])); }
  opb(data: Uint8Array): this { return this.block(2, Buffer.concat([this.u16(0), this.u16(0), this.u32(0), this.u32(0), this.u32(data.length), this.u32(data.length), this.pad(Buffer.from(data))])); }
  build(): Buffer { return Buffer.concat(this.parts); }
}

test('pcapng by hand: big-endian sections, nanosecond and binary resolutions, time offsets, SPB read, OPB and statistics passed over and counted', () => {
  const tsresol = (r: number) => Buffer.from([r]);
  const offset = Buffer.alloc(8);
  offset.writeBigInt64BE(100n);
  const be = new NgBuilder(false).shb()
    .idb(1, [[2, Buffer.from('eth0')], [9, tsresol(9)], [14, offset]])
    .idb(101, [[2, Buffer.from('tun0')], [9, tsresol(0x80 | 10)]])
    .epb(0, 0, 1_500_000_000, PING, [[1, Buffer.from('first')], [1, Buffer.from('second')], [2, Buffer.from([0, 0, 0, 1])]])
    .epb(1, 0, 1024 * 5 + 512, PONG)
    .opb(PING)
    .block(5, Buffer.alloc(8))
    .build();
  const le = new NgBuilder(true).shb().idb(1, [], 128).spb(WHO_HAS).build();
  const f = readCaptureFile(Buffer.concat([be, le]));
  assert.equal(f.problem, undefined);
  assert.deepEqual(f.interfaces.map((i) => [i.id, i.name, i.linkType]), [[0, 'eth0', 1], [1, 'tun0', 101], [2, '', 1]]);
  assert.deepEqual(f.packets.map((p) => [p.interfaceId, p.seconds, p.nanos]), [[0, 101, 500_000_000], [1, 5, 500_000_000], [2, 0, 0]]);
  assert.deepEqual(f.packets[0]!.comments, ['first', 'second']);
  assert.equal(f.packets[0]!.direction, 1);
  assert.deepEqual(f.skipped, { 'obsolete packet': 1, 'interface statistics': 1 });
  assert.deepEqual(Uint8Array.from(packetBytes(Buffer.concat([be, le]), f.packets[2]!)), WHO_HAS);
});

test('bad files: not a capture throws with offset 0; damage later keeps the packets before it and says where', async () => {
  assert.throws(() => readCaptureFile(Buffer.from('hello, world, not a capture')), (e: unknown) => e instanceof CaptureFileError && e.offset === 0 && /unknown magic/.test(e.message));
  assert.throws(() => readCaptureFile(Buffer.alloc(2)), /only 2 bytes/);
  const good = await ourPcapng();
  // The second packet's block says its length is 0: a problem at that length field, the first packet kept.
  const secondBlock = readCaptureFile(good).packets[1]!.offset - 28;
  const broken = Buffer.from(good);
  broken.writeUInt32LE(0, secondBlock + 4);
  const r = readCaptureFile(broken);
  assert.equal(r.packets.length, 1);
  assert.equal(r.problem?.offset, secondBlock + 4);
  assert.match(r.problem!.message, /block length 0 .* \(at byte \d+\)/);
  // An interface the section never described.
  const stray = new NgBuilder().shb().idb(1).epb(3, 0, 0, PING).build();
  assert.match(readCaptureFile(stray).problem!.message, /interface 3, which this section does not describe/);
  // A classic record that claims more than the limit.
  const huge = handPcap(true, false, [{ s: 1, frac: 0, data: PING }]);
  huge.writeUInt32LE(0x7fffffff, 24 + 8);
  assert.match(readCaptureFile(huge).problem!.message, /larger than the \d+-byte limit/);
});

test('every truncation of a pcapng and of a pcap ends in packets read so far plus a problem, never a throw of anything else, never a hang', async () => {
  const ng = await ourPcapng();
  const classic = handPcap(true, false, [{ s: 1, frac: 0, data: PING }, { s: 2, frac: 0, data: PONG }]);
  for (const whole of [ng, classic]) {
    const full = readCaptureFile(whole).packets.length;
    // Only a cut inside the file's own header (pcapng: its first block) leaves nothing to show.
    const header = whole === ng ? whole.readUInt32LE(4) : 24;
    for (let n = 0; n < whole.length; n++) {
      let f: CaptureFile;
      try {
        f = readCaptureFile(whole.subarray(0, n));
      } catch (e) {
        assert.ok(e instanceof CaptureFileError, `cut at ${n}: ${String(e)}`);
        assert.ok(n < header, `cut at ${n} threw instead of keeping what was read`);
        continue;
      }
      assert.ok(f.packets.length < full || n === whole.length, `cut at ${n}`);
      // A cut on a record boundary is a shorter file; anywhere else it is a problem at or before the cut.
      if (f.problem) assert.ok(f.problem.offset <= n, `cut at ${n}: problem at ${f.problem.offset}`);
    }
  }
});

test('the packet limit is explicit: the rest is not read and the problem says so', async () => {
  const limits = { maxPackets: 2, maxBlockBytes: 1 << 20, maxInterfaces: 8, maxCommentChars: 10 };
  const f = readCaptureFile(await ourPcapng(), limits);
  assert.equal(f.packets.length, 2);
  assert.match(f.problem!.message, /more than 2 packets/);
  // Comments are cut at the limit with an ellipsis.
  assert.equal(f.packets[0]!.comments[0], 'journey 1 …');
});

test('files written by tshark, editcap and mergecap: pcapng, nanosecond pcap, comments, several interfaces with their link types', { skip: skipTools }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'usernet-capture-file-'));
  try {
    const ours = join(dir, 'ours.pcap');
    writeFileSync(ours, handPcap(true, false, [{ s: 1_700_000_000, frac: 1, data: PING }, { s: 1_700_000_000, frac: 2, data: PONG }, { s: 1_700_000_001, frac: 0, data: WHO_HAS }]));
    const expected = readCaptureFile(readFileSync(ours));
    const sameFrames = (f: CaptureFile, bytes: Buffer) => {
      assert.equal(f.problem, undefined);
      assert.deepEqual(f.packets.map((p) => Buffer.from(packetBytes(bytes, p)).toString('hex')), expected.packets.map((p) => Buffer.from(packetBytes(readFileSync(ours), p)).toString('hex')));
      assert.deepEqual(f.packets.map((p) => [p.seconds, p.nanos]), expected.packets.map((p) => [p.seconds, p.nanos]));
    };

    const viaTshark = join(dir, 'tshark.pcapng');
    tool('tshark', ['-r', ours, '-F', 'pcapng', '-w', viaTshark]);
    const t = readFileSync(viaTshark);
    sameFrames(readCaptureFile(t), t);
    assert.equal(readCaptureFile(t).format, 'pcapng');

    const commented = join(dir, 'commented.pcapng');
    tool('editcap', ['-F', 'pcapng', '-a', '2:a comment from editcap', ours, commented]);
    const c = readFileSync(commented);
    const cf = readCaptureFile(c);
    sameFrames(cf, c);
    assert.deepEqual(cf.packets.map((p) => p.comments), [[], ['a comment from editcap'], []]);

    const nsec = join(dir, 'nsec.pcap');
    tool('editcap', ['-F', 'nsecpcap', ours, nsec]);
    const n = readFileSync(nsec);
    sameFrames(readCaptureFile(n), n);

    // Ethernet frames and raw IP packets merged: two interfaces, two link types.
    const raw = join(dir, 'raw.pcap');
    tool('editcap', ['-T', 'rawip', '-C', '14', ours, raw]);
    const merged = join(dir, 'merged.pcapng');
    tool('mergecap', ['-F', 'pcapng', '-w', merged, ours, raw]);
    const m = readCaptureFile(readFileSync(merged));
    assert.equal(m.problem, undefined);
    assert.deepEqual(m.interfaces.map((i) => i.linkType).sort((a, b) => a - b), [1, 101]);
    assert.equal(m.packets.length, 6);
    assert.deepEqual(new Set(m.packets.map((p) => m.interfaces[p.interfaceId]!.linkType)), new Set([1, 101]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('2,000 damaged copies (bytes overwritten at random, seeded): each reads to packets plus at most a problem, or a CaptureFileError, and every packet lies inside the file', async () => {
  const files = [await ourPcapng(), handPcap(false, true, [{ s: 1, frac: 5, data: PING }, { s: 2, frac: 6, data: WHO_HAS }])];
  let seed = 0x2545f491;
  const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0);
  for (let round = 0; round < 2000; round++) {
    const bytes = Buffer.from(files[round % 2]!);
    for (let k = 1 + (next() % 4); k > 0; k--) bytes[next() % bytes.length] = next() & 0xff;
    try {
      const f = readCaptureFile(bytes);
      for (const p of f.packets) assert.ok(p.offset + p.capturedLength <= bytes.length, `round ${round}: packet past the end`);
    } catch (e) {
      assert.ok(e instanceof CaptureFileError, `round ${round}: ${(e as Error).stack}`);
    }
  }
});
