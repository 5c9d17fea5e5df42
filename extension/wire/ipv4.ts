import { get16, get32 } from './bytes';
import { internetChecksum } from './checksum';

export const IPV4_MIN_HEADER = 20;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IP_FLAG_DF = 0x4000;
export const IP_FLAG_MF = 0x2000;
export const IP_OFFSET_MASK = 0x1fff;

/**
 * A view over an IPv4 header and its payload. `bytes` starts at the header; the
 * datagram ends at `totalLength`, which `check` has proved lies inside `bytes`
 * (Ethernet padding after it is ignored, as the header says where the data ends).
 */
export class Ipv4View {
  private constructor(readonly bytes: Uint8Array) {}

  /**
   * Checks what ip_input must check before trusting any field: the version, the
   * header length against the buffer and the total length, the total length
   * against the buffer, and the header checksum. Returns the drop reason or the view.
   */
  static check(bytes: Uint8Array): Ipv4View | string {
    if (bytes.length < IPV4_MIN_HEADER) return 'ip-truncated';
    if (bytes[0]! >> 4 !== 4) return 'ip-bad-version';
    const headerLength = (bytes[0]! & 15) * 4;
    if (headerLength < IPV4_MIN_HEADER) return 'ip-bad-ihl';
    if (headerLength > bytes.length) return 'ip-options-overrun';
    const total = get16(bytes, 2);
    if (total < headerLength) return 'ip-bad-length';
    if (total > bytes.length) return 'ip-length-exceeds-frame';
    if (internetChecksum(bytes, 0, headerLength) !== 0) return 'ip-bad-checksum';
    return new Ipv4View(bytes);
  }

  /** Wraps a buffer the stack itself fills (ip_output); no checks. */
  static wrap(bytes: Uint8Array): Ipv4View {
    if (bytes.length < IPV4_MIN_HEADER) throw new RangeError('buffer too short for IPv4');
    return new Ipv4View(bytes);
  }

  get headerLength(): number {
    return (this.bytes[0]! & 15) * 4;
  }
  get tos(): number {
    return this.bytes[1]!;
  }
  get totalLength(): number {
    return get16(this.bytes, 2);
  }
  get identification(): number {
    return get16(this.bytes, 4);
  }
  get flagsAndOffset(): number {
    return get16(this.bytes, 6);
  }
  get moreFragments(): boolean {
    return (this.flagsAndOffset & IP_FLAG_MF) !== 0;
  }
  /** Fragment offset in bytes. */
  get fragmentOffset(): number {
    return (this.flagsAndOffset & IP_OFFSET_MASK) * 8;
  }
  get isFragment(): boolean {
    return this.moreFragments || this.fragmentOffset !== 0;
  }
  get ttl(): number {
    return this.bytes[8]!;
  }
  get protocol(): number {
    return this.bytes[9]!;
  }
  get source(): number {
    return get32(this.bytes, 12);
  }
  get destination(): number {
    return get32(this.bytes, 16);
  }
  /** The bytes after the header, up to total length (never the Ethernet padding). */
  get payload(): Uint8Array {
    return this.bytes.subarray(this.headerLength, this.totalLength);
  }
  /** The header and payload, without trailing padding. */
  get datagram(): Uint8Array {
    return this.bytes.subarray(0, this.totalLength);
  }
}

/**
 * Writes a 20-byte IPv4 header (no options) at bytes[at..at+20) and its
 * checksum, with plain arguments: every frame for the guest goes through it,
 * so it allocates nothing (no view, no options object) and sums the ten header
 * words inline. `flags` is the whole flags + fragment offset word.
 */
export function writeIpv4HeaderAt(bytes: Uint8Array, at: number, src: number, dst: number, protocol: number, payloadLength: number, id: number, ttl = 64, tos = 0, flags = 0): void {
  const total = IPV4_MIN_HEADER + payloadLength;
  id &= 0xffff;
  bytes[at] = 0x45;
  bytes[at + 1] = tos;
  bytes[at + 2] = total >>> 8;
  bytes[at + 3] = total & 0xff;
  bytes[at + 4] = id >>> 8;
  bytes[at + 5] = id & 0xff;
  bytes[at + 6] = flags >>> 8;
  bytes[at + 7] = flags & 0xff;
  bytes[at + 8] = ttl;
  bytes[at + 9] = protocol;
  bytes[at + 12] = src >>> 24;
  bytes[at + 13] = (src >>> 16) & 0xff;
  bytes[at + 14] = (src >>> 8) & 0xff;
  bytes[at + 15] = src & 0xff;
  bytes[at + 16] = dst >>> 24;
  bytes[at + 17] = (dst >>> 16) & 0xff;
  bytes[at + 18] = (dst >>> 8) & 0xff;
  bytes[at + 19] = dst & 0xff;
  let sum = 0x4500 + tos + total + id + flags + ((ttl << 8) | protocol) + (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff);
  sum = (sum & 0xffff) + (sum >>> 16);
  sum = ~((sum & 0xffff) + (sum >>> 16)) & 0xffff;
  bytes[at + 10] = sum >>> 8;
  bytes[at + 11] = sum & 0xff;
}
