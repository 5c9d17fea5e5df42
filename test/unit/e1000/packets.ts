/** Frames for the tests, and checksums computed independently of the model's code. */

export function csum(bytes: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < bytes.length; i += 2) s += (bytes[i] << 8) + (i + 1 < bytes.length ? bytes[i + 1] : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

export const GUEST_MAC = [0x52, 0x54, 0x00, 0x12, 0x34, 0x56];
export const GW_MAC = [0x52, 0x55, 0x0a, 0x00, 0x02, 0x02];

export interface TcpOpts {
  dst?: number[];
  src?: number[];
  id?: number;
  seq?: number;
  flags?: number;
  payload: Uint8Array;
  /** Leave the IP checksum zero and the TCP checksum holding the pseudo-header sum (what a driver hands to offload). */
  offload?: 'csum' | 'tso';
  udp?: boolean;
}

/** Ethernet + IPv4 (20 bytes) + TCP (20 bytes) or UDP (8 bytes). */
export function ipv4Frame(o: TcpOpts): Uint8Array {
  const l4h = o.udp ? 8 : 20;
  const f = new Uint8Array(14 + 20 + l4h + o.payload.length);
  const d = new DataView(f.buffer);
  f.set(o.dst ?? GW_MAC, 0);
  f.set(o.src ?? GUEST_MAC, 6);
  d.setUint16(12, 0x0800);
  const ip = 14;
  f[ip] = 0x45;
  d.setUint16(ip + 2, 20 + l4h + o.payload.length);
  d.setUint16(ip + 4, o.id ?? 0x1234);
  d.setUint16(ip + 6, 0x4000);
  f[ip + 8] = 64;
  f[ip + 9] = o.udp ? 17 : 6;
  f.set([10, 0, 2, 15], ip + 12);
  f.set([10, 0, 2, 2], ip + 16);
  const t = ip + 20;
  d.setUint16(t, 40000);
  d.setUint16(t + 2, 80);
  if (o.udp) {
    d.setUint16(t + 4, 8 + o.payload.length);
  } else {
    d.setUint32(t + 4, o.seq ?? 1000);
    d.setUint32(t + 8, 5000);
    f[t + 12] = 5 << 4;
    f[t + 13] = o.flags ?? 0x18;
    d.setUint16(t + 14, 65535);
  }
  f.set(o.payload, t + l4h);
  if (o.offload) {
    // Pseudo-header sum folded, not complemented; TSO leaves the length out.
    const len = o.offload === 'tso' ? 0 : l4h + o.payload.length;
    let s = 0x0a00 + 0x020f + 0x0a00 + 0x0202 + (o.udp ? 17 : 6) + len;
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    d.setUint16(t + (o.udp ? 6 : 16), s);
  } else {
    d.setUint16(ip + 10, csum(f.subarray(ip, ip + 20)));
    d.setUint16(t + (o.udp ? 6 : 16), l4Checksum(f));
  }
  return f;
}

/** The TCP/UDP checksum the frame should carry (computed with its checksum field zeroed). */
export function l4Checksum(frame: Uint8Array): number {
  const ip = 14;
  const proto = frame[ip + 9];
  const total = (frame[ip + 2] << 8) | frame[ip + 3];
  const l4 = frame.slice(ip + 20, ip + total);
  const at = proto === 17 ? 6 : 16;
  l4[at] = 0;
  l4[at + 1] = 0;
  const pseudo = new Uint8Array(12 + l4.length);
  pseudo.set(frame.subarray(ip + 12, ip + 20), 0);
  pseudo[9] = proto;
  pseudo[10] = l4.length >> 8;
  pseudo[11] = l4.length & 0xff;
  pseudo.set(l4, 12);
  const c = csum(pseudo);
  return proto === 17 && c === 0 ? 0xffff : c;
}

export function ipChecksumOk(frame: Uint8Array): boolean {
  return csum(frame.subarray(14, 34)) === 0;
}

export function l4ChecksumOk(frame: Uint8Array): boolean {
  const proto = frame[14 + 9];
  const at = 14 + 20 + (proto === 17 ? 6 : 16);
  return ((frame[at] << 8) | frame[at + 1]) === l4Checksum(frame);
}

export function be16(f: Uint8Array, at: number): number {
  return (f[at] << 8) | f[at + 1];
}

export function be32(f: Uint8Array, at: number): number {
  return ((f[at] << 24) | (f[at + 1] << 16) | (f[at + 2] << 8) | f[at + 3]) >>> 0;
}

export function pattern(n: number, seed = 1): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

/** A plain Ethernet frame to `dst` with a given length. */
export function ethFrame(dst: number[], len = 64, type = 0x0800, seed = 3): Uint8Array {
  const f = pattern(len, seed);
  f.set(dst, 0);
  f.set(GW_MAC, 6);
  f[12] = type >> 8;
  f[13] = type & 0xff;
  return f;
}
