/**
 * Writes the seed corpus of every fuzz target (test/fuzz/corpus/TARGET/) from
 * test/fuzz/corpus/capture.pcap, frames the bundled guest really sent and got
 * (DHCP, ARP, DNS, ping, an HTTP fetch over TCP, two TFTP reads), plus the
 * slirp fuzz test's synthetic frames for what the capture lacks (fragments, IP
 * options, ARP replies). After a new capture (test/fuzz/capture-guest.sh):
 *   node --import tsx test/fuzz/derive-corpus.ts
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeStreamFrame } from '../../extension/machine/stream-framing';
import { fuzzSeeds } from '../unit/slirp/helpers/fuzz-seeds';
import { DNS_IP, dnsQuery, HOST_IP } from '../unit/slirp/helpers/frames';
import { DNS6, frame6, GUEST6, GUEST6_LL, HOST6, icmp6, udp6 } from '../unit/slirp/helpers/frames6';
import { parseIpv6 } from '../../extension/wire/ipv6-address';
import { joinMessages } from './targets/target';

const CORPUS = join(__dirname, 'corpus');
const GUEST_MAC = '525400123456';

function readPcap(buf: Buffer): Uint8Array[] {
  if (buf.readUInt32LE(0) !== 0xa1b2c3d4) throw new Error('not a little-endian pcap file');
  const frames: Uint8Array[] = [];
  for (let at = 24; at + 16 <= buf.length; ) {
    const len = buf.readUInt32LE(at + 8);
    frames.push(new Uint8Array(buf.subarray(at + 16, at + 16 + len)));
    at += 16 + len;
  }
  return frames;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const ip32 = (b: Uint8Array, at: number) => ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
/** The first byte the udp, tcp and icmp targets read: which destination (slirp-targets.ts DESTINATIONS). */
const selector = (dst: number) => [HOST_IP, DNS_IP, 0x0a0002ff, 0xffffffff].indexOf(dst);

const all = readPcap(readFileSync(join(CORPUS, 'capture.pcap')));
const fromGuest = all.filter((f) => hex(f.subarray(6, 12)) === GUEST_MAC);
const ipv4 = (frames: Uint8Array[]) => frames.filter((f) => f[12] === 8 && f[13] === 0);
const guestIp = [...ipv4(fromGuest), ...ipv4(fuzzSeeds())];
const proto = (p: number) => guestIp.filter((f) => f[23] === p);
const l4 = (f: Uint8Array) => f.subarray(14 + (f[14]! & 15) * 4, 14 + ((f[16]! << 8) | f[17]!));
const dport = (f: Uint8Array) => { const u = l4(f); return (u[2]! << 8) | u[3]!; };
const withSelector = (f: Uint8Array) => Uint8Array.from([Math.max(0, selector(ip32(f, 30))), ...l4(f)]);
const udpPayload = (f: Uint8Array) => l4(f).subarray(8);

const seeds: Record<string, Uint8Array[][]> = {
  'ip-header': [...guestIp.map((f) => [f.subarray(14)]), proto(6).map((f) => f.subarray(14))],
  udp: proto(17).map((f) => [withSelector(f)]),
  tcp: [proto(6).map(withSelector), ...proto(6).map((f) => [withSelector(f)])],
  icmp: proto(1).map((f) => [withSelector(f)]),
  // Odd first byte: to port 69; even: to the transfer's port.
  tftp: [proto(17).filter((f) => dport(f) !== 53 && dport(f) !== 67 && ip32(f, 30) === HOST_IP).map((f) => Uint8Array.from([dport(f) === 69 ? 1 : 0, ...udpPayload(f)]))],
  dhcp: [proto(17).filter((f) => dport(f) === 67).map(udpPayload), ...proto(17).filter((f) => dport(f) === 67).map((f) => [udpPayload(f)])],
  dns: proto(17).filter((f) => dport(f) === 53).map((f) => [udpPayload(f)]),
  // The guest's own IPv6 (router and neighbour solicitations, MLD reports), and what the capture lacks: echo, UDP, DNS, DHCPv6.
  ipv6: [...fromGuest.filter((f) => f[12] === 0x86 && f[13] === 0xdd).map((f) => [f.subarray(14)]), ...ipv6Extras().map((f) => [f.subarray(14)])],
  arp: [...fromGuest, ...fuzzSeeds()].filter((f) => f[12] === 8 && f[13] === 6).map((f) => [f.subarray(14)]),
};

/** IPv6 packets the capture lacks, built with the unit tests' builders. */
function ipv6Extras(): Uint8Array[] {
  return [
    frame6({ dst: HOST6, nextHeader: 58, payload: icmp6(GUEST6, HOST6, 128, 0, [0, 1, 0, 1, 0x61, 0x62]) }),
    frame6({ dst: HOST6, nextHeader: 17, payload: udp6(GUEST6, HOST6, 40000, 7, [1, 2, 3]) }),
    frame6({ dst: DNS6, nextHeader: 17, payload: udp6(GUEST6, DNS6, 5353, 53, dnsQuery('usernet.test', 0x4242, 28)) }),
    frame6({ src: GUEST6_LL, dst: parseIpv6('ff02::1:2')!, nextHeader: 17, payload: udp6(GUEST6_LL, parseIpv6('ff02::1:2')!, 546, 547, [11, 0, 0, 1, 0, 6, 0, 2, 0, 23]) }),
  ];
}

function write(target: string, inputs: Uint8Array[]): void {
  const dir = join(CORPUS, target);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  for (const input of inputs) writeFileSync(join(dir, createHash('sha1').update(input).digest('hex').slice(0, 16)), input);
  console.log(`${target}: ${inputs.length} seeds`);
}

for (const [target, inputs] of Object.entries(seeds)) write(target, inputs.filter((m) => m.length).map(joinMessages));
// The stream target's first byte picks the chunking: whole captures, both directions, cut two ways.
const stream = Buffer.concat(all.map((f) => encodeStreamFrame(f)));
write('stream-framing', [Uint8Array.from([1, ...stream.subarray(0, 4000)]), Uint8Array.from([200, ...stream.subarray(0, 4000)])]);
// e1000 programs: each frame the guest sent, put in a TX buffer (opcode 3), described (opcode 2) and sent (opcode 4);
// each frame the guest received, arriving (opcode 5).
const txProgram = (f: Uint8Array, slot: number) => {
  const off = slot * 0x1000;
  const desc = [0, 0, 0, 0, 0, 0, 0, 0, f.length & 255, f.length >> 8, 0, 0x0b, 0, 0, 0, 0];
  return [3, off >> 8, off & 255, Math.min(255, f.length), ...f.subarray(0, 255), 2, slot, ...desc, 0, 4, 1];
};
const rx = (f: Uint8Array) => [5, f.length >> 8, f.length & 255, ...f];
write('e1000', [
  Uint8Array.from(fromGuest.slice(0, 6).flatMap((f, i) => txProgram(f, i))),
  Uint8Array.from(all.filter((f) => hex(f.subarray(6, 12)) !== GUEST_MAC).slice(0, 6).flatMap(rx)),
]);
