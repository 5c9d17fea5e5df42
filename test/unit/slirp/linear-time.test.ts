import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StreamFrameDecoder } from '../../../extension/machine/stream-framing';
import { TcpStack } from '../../../extension/slirp/tcp/tcp-stack';
import { arp, DNS_IP, dhcp, eth, GUEST_IP, guestUdp, HOST_IP, ipv4, u16, u32, udp, checksum, pseudoSum, icmpEcho } from './helpers/frames';
import { makeGuest, type Guest } from './helpers/harness';

/**
 * Linear time per frame: no parser may spend more on one frame than a small
 * multiple of what a plain frame of the same size costs. Each protocol's most
 * hostile frames near the 64 KiB limit are timed against a plain UDP datagram of
 * the same size (its checksum alone walks every byte), measured in the same run,
 * interleaved, the fastest of several rounds kept: a loaded machine slows both
 * sides alike. The budget is wide (a linear parser stays far below it), yet the
 * old DHCP option join, quadratic in the frame, cost ~1000 plain frames.
 */
const BUDGET = 50;
const ROUNDS = 7;
/** Each timed sample repeats its frame until it lasts this long (timer resolution). */
const SAMPLE_MS = 2;
const IP_MAX = 65535;

const repeat = (pattern: number[], bytes: number): number[] => Array.from({ length: bytes }, (_, i) => pattern[i % pattern.length]!);

/** A UDP datagram whose IPv4 total length is `ipTotal`, to a host port nobody serves. */
function plainUdp(ipTotal: number): Uint8Array {
  return guestUdp(HOST_IP, 7000, 7001, repeat([0x5a], ipTotal - 28));
}

/** A DHCP message of `ipTotal` bytes: the BOOTP header and the given option bytes. */
function dhcpOf(ipTotal: number, options: (room: number) => number[]): Uint8Array {
  const room = ipTotal - 28 - 240;
  const message = dhcp({ type: 1, raw: options(room) });
  return eth(0x0800, ipv4({ src: 0, dst: 0xffffffff, protocol: 17, payload: udp(0, 0xffffffff, 68, 67, message) }), new Uint8Array(6).fill(255));
}

function tcpSegment(ipTotal: number, options: number[]): Uint8Array {
  const hl = 20 + options.length;
  const payload = repeat([0x41], ipTotal - 20 - hl);
  const seg = [...u16(40000), ...u16(9), ...u32(1), ...u32(0), (hl / 4) << 4, 0x10, ...u16(65535), 0, 0, 0, 0, ...options, ...payload];
  const c = checksum(seg, pseudoSum(GUEST_IP, HOST_IP, 6, seg.length));
  seg[16] = c >> 8;
  seg[17] = c & 255;
  return eth(0x0800, ipv4({ dst: HOST_IP, protocol: 6, payload: seg }));
}

/** DNS query with four questions, each name a chain of 32 backward compression pointers. */
function dnsPointerChains(ipTotal: number): number[] {
  const header = [0, 1, 1, 0, 0, 4, 0, 0, 0, 0, 0, 0];
  // Labels "a" at 12..(12+2*33): a name at offset o is 'a' then a pointer to o-2.
  const body: number[] = [1, 97, 0];
  for (let i = 1; i <= 32; i++) body.push(1, 97, 0xc0 | ((12 + 3 * (i - 1)) >> 8), (12 + 3 * (i - 1)) & 0xff);
  const last = 12 + 3 + 4 * 31;
  const questions: number[] = [];
  for (let q = 0; q < 4; q++) questions.push(0xc0 | (last >> 8), last & 0xff, 0, 1, 0, 1);
  const msg = [...header, ...body, ...questions];
  return [...msg, ...repeat([0], ipTotal - 28 - msg.length)];
}

interface Case {
  readonly protocol: string;
  readonly what: string;
  /** Frames are fed to a Slirp; a chunk goes to the stream decoder instead. */
  readonly frame?: Uint8Array;
  readonly chunk?: Uint8Array;
  readonly realTcp?: boolean;
}

function cases(): Case[] {
  const room = (r: number, pattern: number[]) => [53, 1, 1, ...repeat(pattern, Math.floor((r - 4) / pattern.length) * pattern.length), 255];
  const streamChunk = new Uint8Array(IP_MAX + 14);
  // 4-byte zero lengths only: the most frame headers one chunk can hold.
  return [
    { protocol: 'dhcp', what: 'one option repeated ~21,700 times (RFC 3396 join)', frame: dhcpOf(IP_MAX, (r) => room(r, [12, 1, 97])) },
    { protocol: 'dhcp', what: 'a 255-byte option repeated', frame: dhcpOf(IP_MAX, (r) => room(r, [55, 255, ...repeat([1], 255)])) },
    { protocol: 'dhcp', what: 'every code repeated in turn', frame: dhcpOf(IP_MAX, (r) => room(r, Array.from({ length: 254 }, (_, c) => [c + 1 === 53 ? 54 : c + 1, 0]).flat())) },
    { protocol: 'dhcp', what: 'PAD to the end', frame: dhcpOf(IP_MAX, (r) => [53, 1, 1, ...repeat([0], r - 3)]) },
    { protocol: 'dns', what: 'four questions of 32 chained compression pointers', frame: guestUdp(DNS_IP, 5000, 53, dnsPointerChains(IP_MAX)) },
    { protocol: 'dns', what: 'one unterminated run of labels', frame: guestUdp(DNS_IP, 5000, 53, [0, 2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...repeat([1, 97], IP_MAX - 40)]) },
    { protocol: 'tftp', what: 'a request of 16,000 option pairs', frame: guestUdp(HOST_IP, 5000, 69, [0, 1, ...repeat([102, 0], 12), ...[111, 99, 116, 101, 116, 0], ...repeat([97, 0, 49, 0], IP_MAX - 28 - 20 - 6)]) },
    { protocol: 'tftp', what: 'a file name without its NUL', frame: guestUdp(HOST_IP, 5000, 69, [0, 1, ...repeat([97], IP_MAX - 30)]) },
    { protocol: 'tcp', what: '40 bytes of one-byte options', frame: tcpSegment(IP_MAX, repeat([1], 40)), realTcp: true },
    { protocol: 'tcp', what: 'SACK blocks and timestamps', frame: tcpSegment(IP_MAX, [1, 1, 5, 26, ...repeat([0, 0, 0, 1, 0, 0, 0, 2], 24), 1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 0].slice(0, 40)), realTcp: true },
    { protocol: 'ip', what: '40 bytes of options (record route, NOPs)', frame: eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, options: [7, 39, 4, ...repeat([0], 36), 1], payload: icmpEcho(1, 1, repeat([7], IP_MAX - 60 - 8)) })) },
    { protocol: 'ip', what: 'a fragment as large as a datagram', frame: eth(0x0800, ipv4({ dst: HOST_IP, protocol: 17, id: 9, mf: true, payload: repeat([3], IP_MAX - 20 - 7) })) },
    { protocol: 'icmp', what: 'an echo request', frame: eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpEcho(1, 1, repeat([7], IP_MAX - 28)) })) },
    { protocol: 'icmp', what: 'an error quoting a datagram', frame: eth(0x0800, ipv4({ dst: HOST_IP, protocol: 1, payload: icmpCheck([3, 3, 0, 0, 0, 0, 0, 0, ...[0x45, 0, ...u16(IP_MAX - 28), 0, 1, 0, 0, 64, 17, 0, 0, ...u32(HOST_IP), ...u32(GUEST_IP)], ...repeat([9], IP_MAX - 20 - 28)]) })) },
    { protocol: 'udp', what: 'a datagram to the broadcast address', frame: guestUdp(0x0a0002ff, 6000, 9, repeat([1], IP_MAX - 28)) },
    { protocol: 'arp', what: 'a request with 64 KiB of trailer', frame: Uint8Array.from([...arp(1, GUEST_IP, HOST_IP), ...repeat([0xff], IP_MAX - 28)]) },
    { protocol: 'stream-framing', what: 'a chunk of 16,000 empty frames', chunk: streamChunk },
  ];
}

function icmpCheck(bytes: number[]): number[] {
  const c = checksum(bytes);
  bytes[2] = c >> 8;
  bytes[3] = c & 255;
  return bytes;
}

/** Milliseconds per run of `fn`, the fastest of a sample repeated to last SAMPLE_MS. */
function timer(fn: () => void): () => number {
  const t0 = performance.now();
  fn();
  const first = performance.now() - t0;
  const times = Math.max(1, Math.ceil(SAMPLE_MS / Math.max(first, 0.001)));
  return () => {
    const start = performance.now();
    for (let i = 0; i < times; i++) fn();
    return (performance.now() - start) / times;
  };
}

test('every protocol parses a hostile 64 KiB frame in time linear in its size (a budget of plain frames of the same size)', async () => {
  const tftpRoot = mkdtempSync(join(tmpdir(), 'usernet-linear-'));
  const config = { disableHostLoopback: true, dnsUpstream: '127.0.0.1:9', tftpRoot };
  const guests: Guest[] = [makeGuest(config), makeGuest(config, { tcp: (h) => new TcpStack(h) })];
  try {
    const decoder = new StreamFrameDecoder(() => {});
    const plain = plainUdp(IP_MAX);
    const baseline = timer(() => guests[0]!.slirp.input(plain));
    const timed = cases().map((c) => {
      const g = guests[c.realTcp ? 1 : 0]!;
      const run = c.chunk ? () => decoder.push(c.chunk!) : () => g.slirp.input(c.frame!);
      if (c.frame) assert.ok(c.frame.length - 14 <= IP_MAX && c.frame.length > 60_000, `${c.protocol}: ${c.what} is near the limit (${c.frame.length})`);
      return { c, run: timer(run), best: Infinity };
    });
    let base = Infinity;
    for (let r = 0; r < ROUNDS; r++) {
      base = Math.min(base, baseline());
      for (const t of timed) t.best = Math.min(t.best, t.run());
      await new Promise((resolve) => setImmediate(resolve));
    }
    const report = timed.map((t) => ({ protocol: t.c.protocol, what: t.c.what, ratio: t.best / base }));
    const over = report.filter((r) => r.ratio > BUDGET);
    assert.deepEqual(
      over.map((r) => `${r.protocol}: ${r.what} cost ${r.ratio.toFixed(1)} plain frames`),
      [],
      `budget ${BUDGET} plain frames of the same size (${base.toFixed(3)} ms each here); all: ${report.map((r) => `${r.protocol} ${r.ratio.toFixed(1)}`).join(', ')}`,
    );
    // The frames must have reached their parsers, not an early drop in front of them.
    const drops = guests[0]!.slirp.dropSummary();
    assert.ok(!drops['udp-bad-checksum'] && !drops['ip-bad-checksum'], `checksums are right: ${JSON.stringify(drops)}`);
    console.log(`linear time: ${report.map((r) => `${r.protocol} ${r.ratio.toFixed(1)}`).join(', ')} (plain 64 KiB UDP frame ${base.toFixed(3)} ms)`);
  } finally {
    for (const g of guests) await g.slirp.close();
    rmSync(tftpRoot, { recursive: true, force: true });
  }
});
